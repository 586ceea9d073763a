"""`yuqing run` (the whole service, until Ctrl-C) and `yuqing demo` (one shot, then report)."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import func, select

from monitor.errors import MonitorError, YuqingError
from monitor.models import Item, Source
from monitor.settings import Settings
from responders.models import Alert
from tasks.bootstrap import DEFAULT_DEMO_PORT, DEMO_DIR_NAME, demo_specs, init_database
from tasks.embedded import EmbeddedBroker
from tasks.supervise import Child, yuqing_argv

# What `yuqing run`'s main worker serves; the `clock` worker serves `schedule` alone.
WORK_QUEUES = "poll,analyze,notify"
# Where `yuqing run` leaves a first admin's generated password (mode 0600), beside the
# database: the console's copy scrolls away under the workers' logs.
FIRST_ADMIN_FILE = "first-admin-password.txt"
DESK_START_TIMEOUT_S = 60.0


class ServiceError(YuqingError):
    """The service cannot start as asked (a port taken): exit 1, with the sentence."""


def port_problem(host: str, port: int) -> str | None:
    """Why nothing could listen on host:port now (None: it can). Bound as uvicorn and
    http.server bind (SO_REUSEADDR), then released at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def check_port(what: str, host: str, port: int, option: str) -> None:
    problem = port_problem(host, port)
    if problem is not None:
        raise ServiceError(
            f"the {what} cannot listen on {host}:{port} ({problem}): another program (or "
            f"another `yuqing run`) uses that port; stop it, or choose another port with "
            f"`{option} N`")


def announce_first_admin(home: Path, password: str, *, generated: bool) -> tuple[str, Path | None]:
    """The framed lines `yuqing run` prints once the desk answers, and (for a generated
    password) the 0600 file under YUQING_HOME that keeps it. `yuqing users passwd admin`
    sets a new one; delete the file once the password is changed or noted."""
    path: Path | None = None
    if generated:
        home.mkdir(parents=True, exist_ok=True)
        path = home / FIRST_ADMIN_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(f"user: admin\npassword: {password}\n"
                      "# change it: yuqing users passwd admin  (then delete this file)\n")
        os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    shown = password if generated else "(the one in YUQING_ADMIN_PASSWORD)"
    lines = ["first desk user (首个管理员账号)", "  user:     admin", f"  password: {shown}"]
    if path is not None:
        lines.append(f"  also kept in {path} (mode 0600)")
    lines.append("  change it: yuqing users passwd admin")
    width = max(len(line) for line in lines) + 2
    bar = "=" * width
    return "\n".join([bar, *lines, bar]), path


def _wait_for_desk(url: str, web: Child, timeout: float) -> bool:
    """True once the desk answers /healthz; False when it exited or the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and web.alive():
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def _child_env(settings: Settings, broker: str) -> dict[str, str]:
    env = dict(os.environ)
    env["YUQING_HOME"] = str(settings.home)
    if broker:
        env["YUQING_BROKER_URL"] = broker
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _start_broker(settings: Settings) -> tuple[str, EmbeddedBroker | None]:
    """The configured broker URL, or the embedded one started (and owned) here."""
    if settings.broker_url:
        return settings.broker_url, None
    broker = EmbeddedBroker(settings.home)
    started = broker.start()
    return broker.url, broker if started else None


def run_service(settings: Settings, *, demo: bool, demo_port: int,
                host: str = "127.0.0.1", port: int | None = None) -> int:
    """Exit 0 after Ctrl-C; 1 when a process of the service stopped by itself, or (before
    anything starts) when the desk's or the demo feeds' port is taken (ServiceError)."""
    from tasks.celery_app import create_app

    desk_port = settings.web.port if port is None else port
    # Before anything starts: a taken port is a sentence and exit 1, not a web child that
    # dies after the workers started (`yuqing run` used to carry on and exit 0).
    check_port("press desk", host, desk_port, "yuqing run --port")
    if demo:
        check_port("demo feed server", "127.0.0.1", demo_port, "yuqing run --demo-port")
    settings.home.mkdir(parents=True, exist_ok=True)
    broker_url, owned = _start_broker(settings)
    failed = False
    children: list[Child] = []
    stopping = False

    def _stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        demo_url = f"http://127.0.0.1:{demo_port}/feeds" if demo else None
        info = init_database(settings, demo_base_url=demo_url)
        print(f"[run] database {settings.database_url} at revision {info['revision']}; "
              f"broker {broker_url}", flush=True)
        env = _child_env(settings, broker_url)
        if demo:
            children.append(Child("demo", yuqing_argv("demo-server", "--port", str(demo_port)),
                                  env))
        children.append(Child("worker", yuqing_argv("worker", "--queues", WORK_QUEUES), env))
        # Beat's clock on a worker of its own: a backlog of polls never delays the tick.
        children.append(Child("clock", yuqing_argv("worker", "--queues", "schedule",
                                                   "--concurrency", "1"), env))
        children.append(Child("beat", yuqing_argv("beat"), env))
        # The press desk. A first admin is made when there are no users yet; its password
        # (random, or YUQING_ADMIN_PASSWORD) is printed this once.
        from tasks.cli_desk import ensure_first_admin

        given = os.environ.get("YUQING_ADMIN_PASSWORD")
        first = ensure_first_admin(settings, given)
        web = Child("web", yuqing_argv("web", "--host", host, "--port", str(desk_port)), env)
        children.append(web)
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        desk_url = f"http://{shown_host}:{desk_port}/"
        # Poll at once instead of waiting for beat's first tick.
        create_app(settings).send_task("monitor.schedule_due", queue="schedule")
        if _wait_for_desk(desk_url, web, DESK_START_TIMEOUT_S):
            print(f"[run] press desk at {desk_url}", flush=True)
        if first is not None:
            # Last of the start-up, framed, and kept in a file: the workers' banners and
            # logs no longer scroll it away before anyone reads it.
            framed, _ = announce_first_admin(settings.home, first, generated=not given)
            print(framed, flush=True)
        print("[run] running; Ctrl-C stops everything", flush=True)
        while not stopping:
            for child in children:
                if not child.alive():
                    print(f"[run] {child.name} exited with code {child.proc.returncode}; "
                          "stopping", flush=True)
                    stopping = failed = True
            time.sleep(0.5)
    finally:
        print("[run] stopping …", flush=True)
        for child in reversed(children):  # web, beat, clock, worker, demo server
            child.stop()
        if owned is not None:
            owned.stop()
        print("[run] stopped", flush=True)
    if failed:
        print("yuqing: the service stopped because one of its processes exited (see its "
              "lines above)", file=sys.stderr, flush=True)
        return 1
    return 0


def _demo_counts(session: Any, source_ids: list[int]) -> dict[str, int]:
    in_demo = Item.source_id.in_(source_ids)
    items = session.scalar(select(func.count()).select_from(Item).where(in_demo)) or 0
    pending = session.scalar(select(func.count()).select_from(Item).where(
        in_demo, Item.analyzed_at.is_(None))) or 0
    scored = session.scalar(select(func.count()).select_from(Item).where(
        in_demo, Item.sentiment_score.is_not(None))) or 0
    alerts = session.scalar(select(func.count()).select_from(Alert).join(Item).where(
        in_demo)) or 0
    return {"items": items, "pending": pending, "scored": scored, "alerts": alerts}


def run_demo_once(settings: Settings, *, timeout: float, port: int | None = None
                  ) -> dict[str, Any]:
    """Serve the demo feeds, poll each once through a real worker, wait for analysis, report."""
    from monitor.db import make_engine, make_sessionmaker
    from tasks.celery_app import create_app
    from tasks.demo_server import DemoServer

    started = time.monotonic()
    settings.home.mkdir(parents=True, exist_ok=True)
    root = Path(settings.config_dir) / DEMO_DIR_NAME
    if port is not None:  # asked for: a taken port is an error, not another port
        check_port("demo feed server", "127.0.0.1", port, "yuqing demo --port")
        server = DemoServer(root, port=port)
    else:
        try:
            server = DemoServer(root, port=DEFAULT_DEMO_PORT)
        except OSError:  # the port is taken (e.g. `make run` is up): any free port will do
            server = DemoServer(root, port=0)
    server.start()
    broker_url, owned = _start_broker(settings)
    worker: Child | None = None
    engine = None
    try:
        init_database(settings, demo_base_url=server.base_url)
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        names = [spec.name for spec in demo_specs(settings, server.base_url)]
        with sessions() as session:
            ids = list(session.scalars(select(Source.id).where(Source.name.in_(names))))
            before = _demo_counts(session, ids)
        poll_started = datetime.now(UTC)
        worker = Child("worker", yuqing_argv("worker", "--loglevel", "WARNING"),
                       _child_env(settings, broker_url),
                       log_to=settings.home / "logs" / "demo-worker.log")
        app = create_app(settings)
        for source_id in ids:
            app.send_task("monitor.poll_source", args=[source_id], queue="poll")
        deadline = time.monotonic() + timeout
        while True:
            with sessions() as session:
                polled = session.scalar(select(func.count()).select_from(Source).where(
                    Source.id.in_(ids), Source.last_checked_at >= poll_started)) or 0
                now_counts = _demo_counts(session, ids)
            if polled == len(ids) and now_counts["pending"] == 0:
                break
            if not worker.alive():
                raise MonitorError(f"the worker stopped (exit {worker.proc.returncode}); see "
                                   f"{settings.home / 'logs' / 'demo-worker.log'}")
            if time.monotonic() > deadline:
                raise MonitorError(
                    f"demo did not finish within {timeout:.0f} s ({polled}/{len(ids)} sources "
                    f"polled, {now_counts['pending']} items waiting for analysis)")
            time.sleep(0.3)
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        if owned is not None:
            owned.stop()
        if engine is not None:
            engine.dispose()
    return {
        "sources": len(ids),
        "items": now_counts["items"],
        "new_items": now_counts["items"] - before["items"],
        "scored": now_counts["scored"],
        "alerts": now_counts["alerts"],
        "seconds": round(time.monotonic() - started, 2),
    }
