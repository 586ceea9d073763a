"""`yuqing run` (the whole service, until Ctrl-C) and `yuqing demo` (one shot, then report)."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import func, select

from monitor.errors import MonitorError
from monitor.models import Item, Source
from monitor.settings import Settings
from responders.models import Alert
from tasks.bootstrap import DEFAULT_DEMO_PORT, DEMO_DIR_NAME, demo_specs, init_database
from tasks.embedded import EmbeddedBroker
from tasks.supervise import Child, yuqing_argv

# What `yuqing run`'s main worker serves; the `clock` worker serves `schedule` alone.
WORK_QUEUES = "poll,analyze,notify"


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


def run_service(settings: Settings, *, demo: bool, demo_port: int) -> int:
    from tasks.celery_app import create_app

    settings.home.mkdir(parents=True, exist_ok=True)
    broker_url, owned = _start_broker(settings)
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

        first = ensure_first_admin(settings, os.environ.get("YUQING_ADMIN_PASSWORD"))
        if first is not None:
            print(f"[run] first desk user: admin / {first} (shown once)", flush=True)
        port = str(settings.web.port)
        children.append(Child("web", yuqing_argv("web", "--port", port), env))
        print(f"[run] press desk at http://127.0.0.1:{port}/", flush=True)
        # Poll at once instead of waiting for beat's first tick.
        create_app(settings).send_task("monitor.schedule_due", queue="schedule")
        print("[run] running; Ctrl-C stops everything", flush=True)
        while not stopping:
            for child in children:
                if not child.alive():
                    print(f"[run] {child.name} exited with code {child.proc.returncode}; "
                          "stopping", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("[run] stopping …", flush=True)
        for child in reversed(children):  # web, beat, clock, worker, demo server
            child.stop()
        if owned is not None:
            owned.stop()
        print("[run] stopped", flush=True)
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


def run_demo_once(settings: Settings, *, timeout: float) -> dict[str, Any]:
    """Serve the demo feeds, poll each once through a real worker, wait for analysis, report."""
    from monitor.db import make_engine, make_sessionmaker
    from tasks.celery_app import create_app
    from tasks.demo_server import DemoServer

    started = time.monotonic()
    settings.home.mkdir(parents=True, exist_ok=True)
    root = Path(settings.config_dir) / DEMO_DIR_NAME
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
