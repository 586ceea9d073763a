"""`yuqing run` (what `make run` starts): embedded broker, demo server, worker and beat as real
processes; they fill the queue from the demo feeds; Ctrl-C stops everything and leaves
nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.models import Item
from responders.models import Alert
from tests.integration.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True)
    tree = [tuple(map(int, line.split())) for line in out.stdout.splitlines() if line.strip()]
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in tree if pp == parent]
        found += kids
        frontier += kids
    return found


@pytest.mark.timeout(600)
def test_run_polls_through_beat_and_stops_cleanly(db_url, home, sessions):
    if os.environ.get("YUQING_TEST_BROKER_URL"):
        broker = os.environ["YUQING_TEST_BROKER_URL"]
    else:
        broker = ""  # the embedded Redis, started and owned by `yuqing run`
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
                "YUQING_POLL_TICK_SECONDS": "2", "YUQING_POLL_PER_HOST": "10",
                "YUQING_WEB_PORT": str(_free_port()), "YUQING_ADMIN_PASSWORD": "test-admin-pw",
                "PYTHONUNBUFFERED": "1"})
    if broker:
        env["YUQING_BROKER_URL"] = broker
    log = home / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tasks.cli", "run", "--demo-port", str(_free_port())],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            def filled() -> bool:
                with sessions() as s:
                    items = s.scalar(select(func.count()).select_from(Item)) or 0
                    pending = s.scalar(select(func.count()).select_from(Item).where(
                        Item.analyzed_at.is_(None))) or 0
                    alerts = s.scalar(select(func.count()).select_from(Alert)) or 0
                return items >= 150 and pending == 0 and alerts > 10

            wait_until(lambda: filled() or proc.poll() is not None, 300,
                       "the demo feeds stored, analysed and flagged")
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            children = _children_of(proc.pid)
            assert len(children) >= 3  # demo server, worker (+ its pool), beat
            time.sleep(1)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=90) == 0
        finally:
            if proc.poll() is None:
                # A failed assertion above: stop the service the way a user would, and make
                # sure none of its children (each in its own session) outlives the test.
                leftovers = _children_of(proc.pid)
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                for pid in leftovers:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
    text = log.read_text(errors="replace")
    assert "[beat]" in text and "[worker]" in text and "[run] stopped" in text
    still = [p for p in children if Path(f"/proc/{p}").exists()]
    assert still == [], f"processes left running: {still}"
