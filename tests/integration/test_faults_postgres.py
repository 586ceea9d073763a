"""PostgreSQL stopped and started mid-run (issue 14): a cluster of the test's own (initdb,
pg_ctl on a spare loopback port; skipped with the reason when the server binaries are not
installed), real workers and beat on the test's own Redis. Tasks that meet the outage retry
with backoff (autoretry on SQLAlchemy's OperationalError), pooled connections are checked
before use, and the counts come out as after any other fault."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.db import make_engine
from monitor.settings import load_settings
from monitor.sources import SourceSpec, upsert_source
from responders import outbox
from responders.models import OutboxMessage
from responders.schema import migrate
from tasks import jobs
from tasks import runtime as runtime_mod
from tasks.runtime import build_runtime
from tasks.supervise import Child
from tests.integration.conftest import wait_until
from tests.integration.faults import (  # noqa: F401 (fixtures)
    analysed,
    assert_exactly_once,
    fenv,
    redis_server,
    start_beat,
    wait_settled,
)
from tests.integration.test_reminders import add_alert
from tests.support.fake_web import FakeWeb
from tests.support.feeds import many_items_feed
from tests.support.servers import PgCluster, RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


@pytest.fixture
def pg_cluster() -> Iterator[PgCluster]:
    why = PgCluster.unavailable()
    if why:
        pytest.skip(why)
    cluster = PgCluster()
    try:
        cluster.init()
        cluster.start()
    except RuntimeError as exc:
        cluster.destroy()
        pytest.skip(f"a private PostgreSQL cluster could not be started here: {exc}")
    yield cluster
    cluster.destroy()


@pytest.fixture
def db_url(pg_cluster: PgCluster) -> str:
    """This module's database is on the test's own cluster (overrides tests/conftest.py)."""
    engine = make_engine(pg_cluster.url)
    migrate(engine)
    engine.dispose()
    return pg_cluster.url


@pytest.fixture
def broker_url(redis_server: RedisServer) -> str:
    return redis_server.url


def test_postgresql_stopped_and_restarted_mid_run(
        fake_web: FakeWeb, sessions: sessionmaker[Session], fenv: dict[str, str],
        pg_cluster: PgCluster, start_worker: Callable[..., Child],
        start_beat: Callable[..., Child]) -> None:
    n = 150
    fake_web.add_feed("/big.xml", many_items_feed(n))
    with sessions() as s:
        upsert_source(s, SourceSpec(name="大批量源", url=fake_web.url("/big.xml"),
                                    interval_s=600, allow_private=True), datetime.now(UTC))
        s.commit()
    start_worker("--concurrency", "2")
    start_beat()
    wait_until(lambda: analysed(sessions) >= 25, 120, "the first analysed batch")
    pg_cluster.stop()
    sessions.kw["bind"].dispose()  # the test's own pooled connections died with the server
    time.sleep(3)
    pg_cluster.start()
    wait_settled(sessions, fake_web, n, 180, "every item analysed and notified after the "
                 "database came back")
    assert_exactly_once(sessions, fake_web, n, {"/big.xml": 1})


def test_a_sent_notification_is_recorded_across_a_database_restart(
        fake_web: FakeWeb, sessions: sessionmaker[Session], db_url: str, tmp_path: Path,
        pg_cluster: PgCluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """The webhook took the notification, then the database went away before the outcome
    was written: the drain waits for it and records `sent` (retrying the drain instead
    would leave the row `sending` for good — an alert row is never sent again by itself)."""
    fake_web.add("/hook", 204)
    rt = build_runtime(load_settings(env={
        "YUQING_HOME": str(tmp_path), "YUQING_DATABASE_URL": db_url,
        "YUQING_NOTIFY_WEBHOOK_URL": fake_web.url("/hook")}))
    monkeypatch.setattr(runtime_mod, "_current", rt)
    now = datetime.now(UTC)
    with sessions() as s:
        alert_id = add_alert(s, "看守所在押人员死亡", raised=now)
        outbox.add_alerts(s, [alert_id], now)
        s.commit()
    with rt.sessions() as s:
        claim = outbox.claim_next(s, now)
    assert claim is not None
    outcome, detail, _ = jobs._deliver(rt, claim)
    assert outcome == "sent" and fake_web.hits("/hook") == 1
    pg_cluster.stop()
    restart = threading.Timer(2.0, pg_cluster.start)
    restart.start()
    try:
        assert jobs._record(rt, claim, outcome, detail, None) == "sent"
    finally:
        restart.join()
        rt.engine.dispose()
    sessions.kw["bind"].dispose()
    with sessions() as s:
        assert s.scalars(select(OutboxMessage.state)).all() == ["sent"]
