"""Shared by the browser tests and scripts/screenshots.py: a free port, `yuqing web` started
as a real process and waited for, and how Debian's chromium is launched (never a browser
downloaded by Playwright)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
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
