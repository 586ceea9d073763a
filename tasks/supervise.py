"""Child processes for `yuqing run` and `yuqing demo`: start, prefix their logs, stop cleanly.

Children run in their own sessions so a Ctrl-C reaches only the supervisor, which then stops
them in order: beat first (no new work), then workers (warm shutdown: running tasks finish),
then the demo server, and the embedded broker last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO


class Child:
    def __init__(self, name: str, argv: list[str], env: Mapping[str, str],
                 log_to: Path | None = None) -> None:
        self.name = name
        self._log_file: IO[bytes] | None = None
        if log_to is not None:
            log_to.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(log_to, "ab")  # noqa: SIM115 (closed in stop())
            out: int | IO[bytes] = self._log_file
        else:
            out = subprocess.PIPE
        self.proc = subprocess.Popen(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if log_to is None:
            threading.Thread(target=self._pump, daemon=True, name=f"log-{name}").start()

    def _pump(self) -> None:
        if self.proc.stdout is None:
            return
        for raw in iter(self.proc.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip()
            sys.stdout.write(f"[{self.name}] {line}\n")
            sys.stdout.flush()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def yuqing_argv(*args: str) -> list[str]:
    """Run a `yuqing` subcommand with this interpreter (works without the script on PATH)."""
    return [sys.executable, "-m", "tasks.cli", *args]
