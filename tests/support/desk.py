"""Shared by the browser tests and scripts/screenshots.py: a free port, `yuqing web` started
as a real process and waited for, and how Debian's chromium is launched (never a browser
downloaded by Playwright)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium keeps dialling out, which this closed
# network refuses many times a start.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_web(env: Mapping[str, str], log: IO[bytes], log_path: Path,
              timeout: float = 60) -> tuple[subprocess.Popen[bytes], str]:
    """`yuqing web` on a free port; returns the process and its URL once /healthz answers.
    Raises RuntimeError with the server's log when it does not come up."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tasks.cli", "web", "--port", str(port),
                             "--loglevel", "warning"], env=dict(env), cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise RuntimeError("yuqing web did not start:\n"
                               + log_path.read_text(errors="replace"))
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def served_desk(db_url: str, home: Path) -> Iterator[str]:
    """`yuqing web` on this home and database, as a process of its own; yields its URL and
    stops it after. A desk that does not come up fails the test with its log's reason."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
                "PYTHONUNBUFFERED": "1"})
    with open(home / "web.log", "wb") as log:
        try:
            proc, url = start_web(env, log, home / "web.log")
        except RuntimeError as exc:
            raise AssertionError(str(exc)) from None
        try:
            yield url
        finally:
            stop(proc)
