"""The outbox (responders.outbox) on a real database, its drain (responders.drain_outbox)
called in this process against a loopback webhook receiver: notifications are written with
what caused them, each row is claimed by one drain only, and a send is retried only when it
cannot have reached the other side. The broker-fault side is in test_faults.py."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.settings import Settings, load_settings
from responders import outbox
from responders.models import Alert, OutboxMessage, Reminder
from tasks import jobs
from tasks import runtime as runtime_mod
from tasks.runtime import Runtime, build_runtime
from tests.integration.test_mail import SmtpServer, smtp_server  # noqa: F401 (fixture)
from tests.integration.test_reminders import add_alert, add_people
from tests.support.fake_web import FakeWeb
from tests.support.servers import spare_port

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Settings], Runtime]]:
    built: list[Runtime] = []

    def use(settings: Settings) -> Runtime:
        rt = build_runtime(settings)
        built.append(rt)
        monkeypatch.setattr(runtime_mod, "_current", rt)
        return rt

    yield use
    for rt in built:
        rt.engine.dispose()


def _settings(db_url: str, home: Path, hook: str) -> Settings:
    return load_settings(env={"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
                              "YUQING_NOTIFY_WEBHOOK_URL": hook,
                              "YUQING_NOTIFY_TIMEOUT": "2"})


def _rows(sessions: sessionmaker[Session]) -> list[OutboxMessage]:
    with sessions() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _posted(fake_web: FakeWeb) -> Counter[int]:
    return Counter(json.loads(r.body)["alert_id"] for r in fake_web.requests_to("/hook"))


def test_written_once_per_alert_and_priority(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        a = add_alert(s, "网传戒毒所学员被打致死", raised=NOW, priority="P2")
        outbox.add_alerts(s, [a], NOW)
        outbox.add_alerts(s, [a], NOW)  # a redelivered batch: the same row
        s.commit()
    assert [(r.kind, r.ref, r.state) for r in _rows(sessions)] == [("alert", str(a), "pending")]
    with sessions() as s:  # escalated to P1: news again
        s.execute(update(Alert).where(Alert.id == a).values(priority="P1"))
        outbox.add_alerts(s, [a], NOW)
        s.commit()
    assert [r.key for r in _rows(sessions)] == [f"alert:{a}:P2", f"alert:{a}:P1"]


def test_a_rolled_back_analysis_leaves_no_notification(sessions: sessionmaker[Session]) -> None:
    """Written in the alert's transaction: no alert, no message (and the reverse)."""
    with sessions() as s:
        a = add_alert(s, "社区矫正对象脱管失联", raised=NOW)
        outbox.add_alerts(s, [a], NOW)
        s.rollback()
    assert _rows(sessions) == []


def test_two_drains_never_claim_one_row(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        ids = [add_alert(s, f"投诉{i}", raised=NOW) for i in range(3)]
        outbox.add_alerts(s, ids, NOW)
        s.commit()
    with sessions() as s1, sessions() as s2:
        first = outbox.claim_next(s1, NOW)
        second = outbox.claim_next(s2, NOW)
        # The second drain read the same oldest row, lost the state-checked UPDATE to the
        # first (or never saw it pending) and took the next one.
        third = outbox.claim_next(s2, NOW)
        assert first and second and third
        assert len({first.id, second.id, third.id}) == 3
        assert outbox.claim_next(s1, NOW) is None
    assert {r.state for r in _rows(sessions)} == {"sending"}
    with sessions() as s:
        outbox.finish(s, first, "sent", NOW)
        s.commit()
        # A second finish of the same claim changes nothing: it is no longer `sending`.
        outbox.finish(s, first, "failed", NOW, detail="late duplicate")
        s.commit()
    assert [r.state for r in _rows(sessions)][0] == "sent"


def test_drain_sends_each_urgent_alert_once_and_logs_the_rest(
        fake_web: FakeWeb, sessions: sessionmaker[Session], db_url: str, home: Path,
        in_process: Callable[[Settings], Runtime]) -> None:
    fake_web.add("/hook", 204)
    in_process(_settings(db_url, home, fake_web.url("/hook")))
    with sessions() as s:
        urgent = [add_alert(s, f"戒毒所学员死亡传闻{i}", raised=NOW, priority="P1")
                  for i in range(3)]
        quiet = add_alert(s, "律所收费咨询", raised=NOW, priority="P3")
        outbox.add_alerts(s, [*urgent, quiet], NOW)
        s.commit()
    assert jobs.drain_outbox()["sent"] == 4
    assert jobs.drain_outbox()["sent"] == 0  # nothing twice
    assert _posted(fake_web) == Counter({a: 1 for a in urgent})  # P3: logged, not posted
    assert {r.state for r in _rows(sessions)} == {"sent"}


def test_only_a_connection_never_made_is_retried(
        fake_web: FakeWeb, sessions: sessionmaker[Session], db_url: str, home: Path,
        in_process: Callable[[Settings], Runtime]) -> None:
    closed = f"http://127.0.0.1:{spare_port()}/hook"  # nothing listens there
    in_process(_settings(db_url, home, closed))
    with sessions() as s:
        a = add_alert(s, "监狱民警殴打服刑人员", raised=NOW)
        outbox.add_alerts(s, [a], NOW)
        s.commit()
    assert jobs.drain_outbox()["pending"] == 1
    row = _rows(sessions)[0]
    assert row.state == "pending" and row.attempts == 1
    assert row.next_attempt_at is not None and row.next_attempt_at > datetime.now(UTC)
    assert "unreachable" in row.detail
    assert jobs.drain_outbox()["sent"] == 0  # not due yet: nothing is tried

    # The receiver is back: once the wait has passed, the row goes out, once.
    fake_web.add("/hook", 204)
    in_process(_settings(db_url, home, fake_web.url("/hook")))
    with sessions() as s:
        s.execute(update(OutboxMessage).values(next_attempt_at=NOW - timedelta(seconds=1)))
        s.commit()
    assert jobs.drain_outbox()["sent"] == 1
    assert _posted(fake_web) == Counter({a: 1})


@pytest.mark.parametrize(("state", "says"), [
    ("failed", "answered 500"),
    ("unknown", "not resent"),  # no answer within the timeout
])
def test_a_request_that_may_have_arrived_is_not_resent(
        fake_web: FakeWeb, sessions: sessionmaker[Session], db_url: str, home: Path,
        in_process: Callable[[Settings], Runtime], state: str, says: str) -> None:
    if state == "unknown":
        fake_web.add_never_answering("/hook")
    else:
        fake_web.add("/hook", 500, b"oops")
    in_process(_settings(db_url, home, fake_web.url("/hook")))
    with sessions() as s:
        a = add_alert(s, "司法所工作人员索要好处费", raised=NOW)
        outbox.add_alerts(s, [a], NOW)
        s.commit()
    jobs.drain_outbox()
    jobs.drain_outbox()
    row = _rows(sessions)[0]
    assert (row.state, row.attempts) == (state, 1) and says in row.detail
    assert fake_web.hits("/hook") == 1


def test_reminders_go_through_the_outbox_once(
        fake_web: FakeWeb, sessions: sessionmaker[Session], db_url: str, home: Path,
        in_process: Callable[[Settings], Runtime]) -> None:
    fake_web.add("/hook", 204)
    rt = in_process(load_settings(env={
        "YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
        "YUQING_NOTIFY_WEBHOOK_URL": fake_web.url("/hook"), "YUQING_NOTIFY_REMIND_EMAIL":
        "false"}))
    now = datetime.now(UTC)
    with sessions() as s:
        add_people(s, now)
        add_alert(s, "网传戒毒所学员被打致死", raised=now - timedelta(hours=4, minutes=30))
        s.commit()
    # remind_due plans and writes the outbox in one transaction; with no broker reachable
    # (this process has none) the kick fails and nothing is lost.
    assert jobs.remind_due() == {"reminders": 1}
    assert [r.kind for r in _rows(sessions)] == ["reminder"]
    assert jobs.remind_due() == {"reminders": 0}  # planned once
    assert jobs.drain_outbox()["sent"] == 1
    assert jobs.drain_outbox()["sent"] == 0
    with sessions() as s:
        assert s.scalars(select(Reminder.state)).all() == ["sent"]
    assert fake_web.hits("/hook") == 1
    assert rt.settings.notify.remind_email is False


def test_an_abandoned_digest_is_taken_up_again_an_abandoned_alert_is_not(
        sessions: sessionmaker[Session]) -> None:
    """A worker killed mid-send leaves its row `sending`. A digest or reminder has its own
    at-most-once guard (the mail log, the reminder row), so once stale it is claimed again
    and the recipients not yet reached get it; an alert's webhook has no other guard."""
    long_ago = NOW - timedelta(hours=1)
    with sessions() as s:
        a = add_alert(s, "看守所在押人员死亡", raised=NOW)
        outbox.add_alerts(s, [a], long_ago)
        outbox.add_digest(s, "2026-W47", long_ago)
        s.commit()
    with sessions() as s:
        assert outbox.claim_next(s, long_ago) is not None
        assert outbox.claim_next(s, long_ago) is not None
        # Both in `sending`; their worker is gone.
        assert outbox.claim_next(s, NOW, stale_before=NOW - timedelta(minutes=61)) is None
        again = outbox.claim_next(s, NOW, stale_before=NOW - timedelta(minutes=5))
        assert again is not None and (again.kind, again.ref, again.attempts) == (
            "digest", "2026-W47", 2)
        assert outbox.claim_next(s, NOW, stale_before=NOW - timedelta(minutes=5)) is None
    states = {r.kind: r.state for r in _rows(sessions)}
    assert states == {"alert": "sending", "digest": "sending"}


MONDAY_0830 = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # Asia/Shanghai: Monday 08:30


def test_the_weekly_digest_is_planned_by_the_tick_and_mailed_once(
        sessions: sessionmaker[Session], db_url: str, home: Path,
        in_process: Callable[[Settings], Runtime], smtp_server: SmtpServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No crontab firing to lose: each outbox tick of the day after Monday 08:00 finds the
    week's digest due and writes it once; a recipient refused for now (451) is retried from
    the outbox when the mail log says, and nobody gets two copies."""
    in_process(load_settings(env={
        "YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
        "YUQING_SMTP_HOST": "127.0.0.1", "YUQING_SMTP_PORT": str(smtp_server.port),
        "YUQING_SMTP_TIMEOUT": "5",
        "YUQING_DIGEST_TO": "chief@sft.example.gov.cn,press@sft.example.gov.cn"}))
    clock = [MONDAY_0830 - timedelta(hours=1)]  # 07:30: not yet
    monkeypatch.setattr(jobs, "_now", lambda: clock[0])
    jobs.drain_outbox()
    assert _rows(sessions) == []

    clock[0] = MONDAY_0830
    smtp_server.handler.data = ["250 ok", "451 4.7.1 greylisted"]
    jobs.drain_outbox()
    jobs.drain_outbox()  # the next tick: the same row, and it waits for its retry time
    row = _rows(sessions)[0]
    assert (row.kind, row.ref, row.state) == ("digest", "2026-W47", "pending")
    assert row.next_attempt_at is not None and row.next_attempt_at > MONDAY_0830
    assert len(smtp_server.handler.received) == 1

    clock[0] = row.next_attempt_at + timedelta(seconds=1)
    jobs.drain_outbox()
    jobs.drain_outbox()
    assert [(r.ref, r.state) for r in _rows(sessions)] == [("2026-W47", "sent")]
    got = sorted(tuple(e.rcpt_tos) for e in smtp_server.handler.received)
    assert got == [("chief@sft.example.gov.cn",), ("press@sft.example.gov.cn",)]
