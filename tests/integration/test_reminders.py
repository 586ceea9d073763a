"""Deadline reminders against a real database, and through a real worker on a real broker:
claimed once per (alert, milestone, recipient), so the webhook fires once, not twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item, Source
from responders import reminders
from responders.auth import add_user
from responders.models import Alert, Reminder, User
from responders.sla import SLA
from tests.integration.conftest import wait_until
from tests.integration.test_mail import SmtpServer, smtp_server  # noqa: F401 (fixture)
from tests.support.settings import defaults

ROOT = Path(__file__).resolve().parents[2]
SLA_RULES = SLA.from_file(ROOT / "config" / "sla.yaml")
LEAD = reminders.LeadTime.from_section(defaults().notify)
BOTH = {reminders.WEBHOOK, reminders.EMAIL}


def add_alert(session: Session, title: str, *, raised: datetime, priority: str = "P1",
              assignee: str | None = "wang") -> int:
    source = session.scalars(select(Source)).first()
    if source is None:
        source = Source(name="河南法治网", url="https://example.com/rss", host="example.com",
                        interval_s=600, created_at=raised)
        session.add(source)
        session.flush()
    item = Item(source_id=source.id, entry_id=title, content_hash=title, title=title,
                text=title + "，网友质疑处置不公开。", fetched_at=raised)
    session.add(item)
    session.flush()
    deadline = SLA_RULES.deadline(priority, raised)
    user = session.scalars(select(User).where(User.name == assignee)).one_or_none() \
        if assignee else None
    alert = Alert(item_id=item.id, priority=priority, state="assigned" if user else "new",
                  reasons=["负面情感"], topics=["drug_rehab"], sla_rule=deadline.rule,
                  milestones=list(deadline.milestones), created_at=raised,
                  due_at=deadline.due_at, assignee_id=user.id if user else None)
    session.add(alert)
    session.flush()
    return alert.id


def add_people(session: Session, now: datetime) -> None:
    add_user(session, "wang", "officer", "officer-pass-1", now, email="wang@sft.example")
    add_user(session, "admin", "admin", "admin-pass-123", now, email="admin@sft.example")
    add_user(session, "li", "approver", "approver-pass-1", now, email="li@sft.example")


def test_plan_claims_each_reminder_once(sessions: sessionmaker[Session]) -> None:
    now = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
    with sessions() as s:
        add_people(s, now)
        due = add_alert(s, "网传戒毒所学员被打致死", raised=now - timedelta(hours=4, minutes=30))
        early = add_alert(s, "戒毒所伙食差", raised=now - timedelta(hours=1))
        open_ = add_alert(s, "法律援助无人应答", raised=now - timedelta(hours=4, minutes=10),
                          assignee=None)
        s.commit()
    with sessions() as s:
        first = reminders.plan(s, now, lead=LEAD, channels=BOTH, horizon=timedelta(hours=24))
        s.commit()
        rows = s.scalars(select(Reminder).order_by(Reminder.id)).all()
    assert {(r.alert_id, r.recipient) for r in rows} == {
        (due, "webhook"), (due, "user:wang"),
        (open_, "webhook"), (open_, "user:wang"), (open_, "user:admin")}
    assert early not in {r.alert_id for r in rows}
    assert sorted(first) == sorted(r.id for r in rows)
    assert {r.milestone for r in rows} == {"first_release"}
    assert all(r.state == "pending" for r in rows)

    # A second tick a minute later claims nothing new and hands nothing out again…
    with sessions() as s:
        again = reminders.plan(s, now + timedelta(minutes=1), lead=LEAD, channels=BOTH,
                               horizon=timedelta(hours=24))
        s.commit()
        assert again == []
        assert len(s.scalars(select(Reminder)).all()) == len(rows)
    # …but a row left pending (its task was lost) is handed out again once it is stale.
    with sessions() as s:
        stale = reminders.plan(s, now + timedelta(minutes=6), lead=LEAD, channels=BOTH,
                               horizon=timedelta(hours=24))
        s.commit()
    assert sorted(stale) == sorted(first)


def test_start_sending_is_state_checked_and_skips_answered_alerts(
        sessions: sessionmaker[Session]) -> None:
    now = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
    with sessions() as s:
        add_people(s, now)
        a = add_alert(s, "网传戒毒所学员被打致死", raised=now - timedelta(hours=4, minutes=30))
        b = add_alert(s, "监狱会见难", raised=now - timedelta(hours=4, minutes=30))
        ids = reminders.plan(s, now, lead=LEAD, channels={reminders.WEBHOOK},
                             horizon=timedelta(hours=24))
        s.commit()
    by_alert = {}
    with sessions() as s:
        for rid in ids:
            by_alert[s.get(Reminder, rid).alert_id] = rid
        s.get(Alert, b).state = "responded"
        s.commit()
    with sessions() as s:
        msg = reminders.start_sending(s, by_alert[a], now, base_url="http://desk.example")
        s.commit()
        assert msg is not None and msg.payload["alert_id"] == a
        assert msg.payload["milestone"] == "first_release"
        assert msg.payload["minutes_left"] == 30
        assert msg.payload["link"] == f"http://desk.example/alerts/{a}"
        assert "首次发布权威信息" in msg.subject and "30分钟" in msg.subject
        # a second delivery of the same task finds the row taken
        assert reminders.start_sending(s, by_alert[a], now) is None
        # an answered alert is not reminded of
        assert reminders.start_sending(s, by_alert[b], now) is None
        reminders.finish(s, by_alert[a], now)
        s.commit()
        states = {r.alert_id: (r.state, r.error) for r in reminders.for_alert(s, a)}
        states.update({r.alert_id: (r.state, r.error) for r in reminders.for_alert(s, b)})
    assert states == {a: ("sent", None), b: ("failed", "alert no longer open")}


@pytest.mark.timeout(300)
def test_reminder_webhook_and_mail_go_once_through_a_real_worker(
        fake_web, sessions, app, start_worker, env, smtp_server: SmtpServer) -> None:
    fake_web.add("/hook", 204)
    env["YUQING_NOTIFY_WEBHOOK_URL"] = fake_web.url("/hook")
    env["YUQING_SMTP_HOST"] = "127.0.0.1"
    env["YUQING_SMTP_PORT"] = str(smtp_server.port)
    now = datetime.now(UTC)
    with sessions() as s:
        add_people(s, now)
        first = add_alert(s, "网传戒毒所学员被打致死", raised=now - timedelta(hours=4, minutes=30))
        s.commit()
    # One process, one task at a time: the notify queue is worked in order, so when the last
    # task's webhook arrives every task sent before it has run.
    start_worker("--concurrency", "1", "--queues", "notify")

    def posted() -> list[dict[str, object]]:
        return [json.loads(r.body) for r in fake_web.requests_to("/hook")]

    app.send_task("responders.remind_due", queue="notify")
    wait_until(lambda: len(posted()) == 1, 120, "the first reminder")
    with sessions() as s:
        rid = s.scalars(select(Reminder.id).where(Reminder.alert_id == first,
                                                  Reminder.recipient == "webhook")).one()
        wait_until(lambda: _state(sessions, rid) == "sent", 30, "the reminder marked sent")
        second = add_alert(s, "监狱会见预约难，家属投诉", raised=now - timedelta(hours=4,
                                                                        minutes=20))
        s.commit()
    # Another tick, a redelivery of the first reminder's task, and one more tick; the
    # second alert's reminder is enqueued after all of them.
    app.send_task("responders.remind_due", queue="notify")
    app.send_task("responders.send_reminder", args=[rid], queue="notify")
    app.send_task("responders.remind_due", queue="notify")
    wait_until(lambda: any(p["alert_id"] == second for p in posted()), 120,
               "the second alert's reminder")
    wait_until(lambda: fake_web.hits("/hook") == 2 and all(
        _state(sessions, r) == "sent" for r in _ids(sessions)), 60, "all reminders sent")
    alerts = sorted(p["alert_id"] for p in posted())
    assert alerts == sorted([first, second])
    p = next(p for p in posted() if p["alert_id"] == first)
    assert p["type"] == "deadline_reminder" and p["milestone"] == "first_release"
    assert p["title"] == "网传戒毒所学员被打致死"
    # One e-mail per alert to its assignee (the only recipient with the alert assigned),
    # none twice; the approver li hears nothing.
    mails = smtp_server.handler.messages()
    assert sorted(m["To"] for m in mails) == ["wang@sft.example", "wang@sft.example"]
    assert sorted(r.rcpt_tos[0] for r in smtp_server.handler.received) == [
        "wang@sft.example", "wang@sft.example"]
    subjects = sorted(str(m["Subject"]) for m in mails)
    assert any("网传戒毒所学员被打致死" in x and "首次发布权威信息" in x for x in subjects)
    assert len(_ids(sessions)) == 4


def _state(sessions: sessionmaker[Session], rid: int) -> str:
    with sessions() as s:
        return str(s.get(Reminder, rid).state)


def _ids(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as s:
        return list(s.scalars(select(Reminder.id)))
