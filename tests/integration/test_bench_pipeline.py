"""bench/pipeline.py's contract form, small: real worker processes on the embedded broker and
SQLite. Checks the JSON it prints and that its counts add up — never a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"items", "items_per_s", "preload", "preload_items_per_s", "naive_items_per_s",
        "ratio_vs_naive", "stage_share"}


def test_bench_runs_the_items_through_workers_with_and_without_a_preload(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env["YUQING_HOME"] = str(tmp_path / "home")
    r = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "pipeline.py"), "--json", "--items", "150",
         "--preload", "400", "--workers", "2", "--naive-items", "20", "--timeout", "300"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert KEYS <= set(out)
    # Every served item was polled, stored and analysed, in both runs.
    assert out["items"] == 150
    assert out["preload"] == 400
    assert out["naive_items"] == 20
    for key in ("items_per_s", "preload_items_per_s", "naive_items_per_s"):
        assert out[key] > 0, key
    assert out["ratio_vs_naive"] == round(out["items_per_s"] / out["naive_items_per_s"], 2)
    # The demo's stories raise alerts in both runs: alerts are part of what is measured.
    assert out["alerts"] > 0 and out["preload_alerts"] > 0
    share = out["stage_share"]
    assert set(share) == {"parse", "store", "analyze", "alerts", "commit"}
    assert abs(sum(share.values()) - 1) < 0.01
    assert out["workers"] == 2 and out["database"] == "sqlite"
