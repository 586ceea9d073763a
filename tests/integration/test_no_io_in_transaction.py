"""No network I/O while a transaction is open (DESIGN principle 11): the poll task and
`yuqing poll`, the alert webhook, deadline reminders (webhook and e-mail) and the weekly digest,
each run in this process against stand-ins for the outside world (the loopback HTTP server, a
loopback SMTP server) that record how many database transactions are open while they answer.

The tasks are called as plain functions here, not through a worker: the watch counts
SQLAlchemy's transaction events, which happen in the process that runs the task. The same
tasks run through real workers in test_worker_pipeline, test_reminders and test_digest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item, Source
from monitor.settings import Settings, load_settings
from monitor.sources import SourceSpec, upsert_source
from responders import reminders
from tasks import jobs
from tasks import runtime as runtime_mod
from tasks.runtime import Runtime, build_runtime
from tests.integration.test_mail import SmtpServer, smtp_server  # noqa: F401 (fixture)
from tests.integration.test_reminders import add_alert, add_people
from tests.support.fake_web import FakeWeb, Request, Response
from tests.support.feeds import SAMPLE_POSTS, many_items_feed, sample_feed
from tests.support.settings import defaults
from tests.support.transactions import TransactionWatch

pytestmark = pytest.mark.integration

FEED_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": '"v1"'}


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Settings], Runtime]]:
    """Make the tasks' current_runtime() this test's runtime (its engine disposed after)."""
    built: list[Runtime] = []

    def use(settings: Settings) -> Runtime:
        rt = build_runtime(settings)
        built.append(rt)
        monkeypatch.setattr(runtime_mod, "_current", rt)
        return rt

    yield use
    for rt in built:
        rt.engine.dispose()


def _env(db_url: str, home: Path, **extra: str) -> dict[str, str]:
    return {"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url, **extra}


def _add_source(sessions: sessionmaker[Session], name: str, url: str) -> int:
    with sessions() as s:
        src, _ = upsert_source(s, SourceSpec(name=name, url=url, interval_s=600,
                                             allow_private=True),
                               datetime.now(UTC))
        s.commit()
        return src.id


def _items(sessions: sessionmaker[Session], sid: int) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Item).where(
            Item.source_id == sid)) or 0


# ---------------------------------------------------------------- polling


def test_poll_task_fetches_with_no_transaction_open_and_enqueues_after_commit(
        fake_web: FakeWeb, sessions: sessionmaker[Session], settings: Settings,
        in_process: Callable[[Settings], Runtime], monkeypatch: pytest.MonkeyPatch) -> None:
    in_process(settings)
    sid = _add_source(sessions, "新闻源", fake_web.url("/news.xml"))
    enqueued: list[tuple[int, int, int]] = []  # (ids, open transactions, items stored)

    class Analyze:
        @staticmethod
        def delay(ids: list[int]) -> None:
            # What a worker picking the batch up would find: the items already committed.
            enqueued.append((len(ids), watch.open_now(), _items(sessions, sid)))

    monkeypatch.setattr(jobs, "analyze_items", Analyze)
    with TransactionWatch(Engine) as watch:
        fake_web.route("/news.xml", watch.noting(
            lambda _req: Response(200, dict(FEED_HEADERS), sample_feed())))
        result = jobs.poll_source(sid)
    assert result == {"source_id": sid, "ok": True, "new": len(SAMPLE_POSTS), "answered": 0}
    assert watch.during == [0]
    assert enqueued == [(len(SAMPLE_POSTS), 0, len(SAMPLE_POSTS))]
    with sessions() as s:
        source = s.get(Source, sid)
        assert source is not None and source.etag == '"v1"' and source.failure_count == 0


def test_poll_batch_fetches_its_sources_with_no_transaction_open(
        fake_web: FakeWeb, sessions: sessionmaker[Session], settings: Settings,
        in_process: Callable[[Settings], Runtime], monkeypatch: pytest.MonkeyPatch) -> None:
    """The per-host batch task (issue 15): every request of the batch, on its threads, is
    answered while no transaction is open; analysis is enqueued once, after the commit."""
    in_process(settings)
    sids = [_add_source(sessions, f"批量源{k}", fake_web.url(f"/batch{k}.xml")) for k in range(3)]
    enqueued: list[tuple[int, int, int]] = []

    def stored() -> int:
        return sum(_items(sessions, sid) for sid in sids)

    class Analyze:
        @staticmethod
        def delay(ids: list[int]) -> None:
            enqueued.append((len(ids), watch.open_now(), stored()))

    monkeypatch.setattr(jobs, "analyze_items", Analyze)
    with TransactionWatch(Engine) as watch:
        for k in range(3):
            body = many_items_feed(2, prefix=f"b{k}")
            fake_web.route(f"/batch{k}.xml", watch.noting(
                lambda _req, body=body: Response(200, dict(FEED_HEADERS), body)))
        result = jobs.poll_batch(sids)
    assert result == {"sources": 3, "polled": 3, "failed": 0, "new": 6, "answered": 0}
    assert watch.during == [0, 0, 0]
    assert enqueued == [(6, 0, 6)]


def test_a_source_removed_while_it_is_fetched_is_gone(
        fake_web: FakeWeb, sessions: sessionmaker[Session], settings: Settings,
        in_process: Callable[[Settings], Runtime]) -> None:
    in_process(settings)
    sid = _add_source(sessions, "将被删除的源", fake_web.url("/feed.xml"))

    def remove_then_answer(_req: Request) -> Response:
        # A second connection can delete the row: the poll holds no lock and no snapshot.
        with sessions() as s:
            s.delete(s.get(Source, sid))
            s.commit()
        return Response(200, dict(FEED_HEADERS), sample_feed())

    with TransactionWatch(Engine) as watch:
        fake_web.route("/feed.xml", watch.noting(remove_then_answer))
        assert jobs.poll_source(sid) == {"source_id": sid, "gone": True}
    assert watch.during == [0]
    assert _items(sessions, sid) == 0


def test_cli_poll_fetches_with_no_transaction_open(
        fake_web: FakeWeb, sessions: sessionmaker[Session], db_url: str, home: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tasks.cli import main

    for key, value in _env(db_url, home).items():
        monkeypatch.setenv(key, value)
    sid = _add_source(sessions, "命令行源", fake_web.url("/cli.xml"))
    with TransactionWatch(Engine) as watch:
        fake_web.route("/cli.xml", watch.noting(
            lambda _req: Response(200, dict(FEED_HEADERS), sample_feed())))
        assert main(["poll", "命令行源", "--json", "--no-analyze"]) == 0
    assert watch.during == [0]
    assert json.loads(capsys.readouterr().out)["new_items"] == len(SAMPLE_POSTS)
    assert _items(sessions, sid) == len(SAMPLE_POSTS)


# ---------------------------------------------------------------- notifications


def test_alert_webhook_and_reminders_talk_with_no_transaction_open(
        fake_web: FakeWeb, sessions: sessionmaker[Session], db_url: str, home: Path,
        in_process: Callable[[Settings], Runtime], smtp_server: SmtpServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    in_process(load_settings(env=_env(
        db_url, home, YUQING_NOTIFY_WEBHOOK_URL=fake_web.url("/hook"),
        YUQING_SMTP_HOST="127.0.0.1", YUQING_SMTP_PORT=str(smtp_server.port),
        YUQING_SMTP_TIMEOUT="5")))
    now = datetime.now(UTC)
    with sessions() as s:
        add_people(s, now)
        alert_id = add_alert(s, "网传戒毒所学员被打致死",
                             raised=now - timedelta(hours=4, minutes=30))
        s.commit()
    with TransactionWatch(Engine) as watch:
        fake_web.route("/hook", watch.noting(lambda _req: Response(204)))
        data = smtp_server.handler.handle_DATA

        async def noting_data(server: Any, session: Any, envelope: Any) -> str:
            watch.note()
            return await data(server, session, envelope)

        monkeypatch.setattr(smtp_server.handler, "handle_DATA", noting_data)

        # The alert's notification goes through the outbox; its drain posts the webhook.
        assert jobs.notify_alert(alert_id) == {"alert_id": alert_id, "outbox": True}
        assert jobs.drain_outbox()["sent"] == 1
        assert watch.during == [0]
        with sessions() as s:
            ids = reminders.plan(s, now, lead=reminders.LeadTime.from_section(defaults().notify),
                                 channels={reminders.WEBHOOK, reminders.EMAIL},
                                 horizon=timedelta(hours=48))
            s.commit()
        assert len(ids) == 2  # the webhook and the assignee's e-mail
        for rid in ids:
            assert jobs.send_reminder(rid) == {"reminder_id": rid, "sent": True}
    assert watch.during == [0, 0, 0]
    assert fake_web.hits("/hook") == 2 and len(smtp_server.handler.received) == 1


def test_weekly_digest_task_talks_smtp_with_no_transaction_open(
        db_url: str, home: Path, in_process: Callable[[Settings], Runtime],
        smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    in_process(load_settings(env=_env(
        db_url, home, YUQING_SMTP_HOST="127.0.0.1", YUQING_SMTP_PORT=str(smtp_server.port),
        YUQING_SMTP_TIMEOUT="5", YUQING_DIGEST_TO="chief@sft.example.gov.cn,press@x.example")))
    with TransactionWatch(Engine) as watch:
        data = smtp_server.handler.handle_DATA

        async def noting_data(server: Any, session: Any, envelope: Any) -> str:
            watch.note()
            return await data(server, session, envelope)

        monkeypatch.setattr(smtp_server.handler, "handle_DATA", noting_data)
        result = jobs.send_digest(week="2026-W47")
    assert result == {"week": "2026-W47", "sent": 2, "skipped": 0, "failed": 0}
    assert watch.during == [0, 0]
