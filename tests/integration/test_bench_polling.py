"""bench/polling.py's contract form, small (200 sources on 4 loopback hosts), on the real
PostgreSQL and Redis: `yuqing beat`, a clock worker and two worker processes (each named
yuqing-<pid>@host, so two Celery nodes share the broker and the database as two machines
would). Checks the JSON it prints, that every source was polled exactly once in each cycle
(no claim handed to both workers, no redelivery polled twice) and that no item was analysed
twice — never a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BROKER_URL, PG_URL

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"sources", "cycle_seconds", "polls_per_s", "first_cycle_seconds", "late_polls"}


@pytest.mark.skipif(not (PG_URL and BROKER_URL.startswith("redis")),
                    reason="needs YUQING_TEST_DATABASE_URL (PostgreSQL) and a Redis "
                           "YUQING_TEST_BROKER_URL")
def test_bench_polls_every_source_once_per_cycle_on_two_workers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env["YUQING_HOME"] = str(tmp_path / "home")
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "polling.py"), "--json", "--sources", "200",
         "--hosts", "4", "--interval", "20", "--changed", "0.1", "--timeout", "300",
         "--database-url", PG_URL, "--broker-url", BROKER_URL],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert KEYS <= set(out)
    assert out["sources"] == 200 and out["hosts"] == 4
    # Each feed requested exactly once in the first cycle and once in the catch-up cycle,
    # though two workers took the per-host batches from one queue.
    assert out["polled_once_per_cycle"] is True
    # Every feed's first item stored, plus those of the feeds that changed; all analysed,
    # none twice.
    assert out["items"] >= 200
    assert out["unanalysed"] == 0 and out["analysed_twice"] == 0
    # The catch-up cycle finds most feeds unchanged: conditional GET with the stored ETag.
    assert out["catch_up_not_modified_share"] > 0.5
    # The steady window saw the sources come back at their slots.
    assert out["steady_polls"] > 0 and isinstance(out["late_polls"], int)
    # Both are rounded (polls/s to 0.1, the cycle to 0.01 s): their product is 200 within
    # what the roundings allow — a fixed tolerance on polls/s fails once a cycle is
    # sub-second (0.51 s gave 389.3 against 200 / 0.51 = 392.2).
    cycle, rate = out["cycle_seconds"], out["polls_per_s"]
    assert abs(rate * cycle - 200) <= 0.05 * cycle + 0.005 * rate + 0.01
