"""Reminders before a disclosure request's deadline, through the alerts' outbox: planned
once per (request, deadline, recipient) by the real beat tick function, drained against a
loopback webhook, nothing sent for a request answered meanwhile; and the pure decision as a
table (working days left, overdue, recipients)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from monitor.settings import load_settings
from responders.models import OutboxMessage
from responders.register import service
from responders.register.calendar import load_calendar
from responders.register.deadlines import DeadlineInput, statutory_deadline
from responders.register.models import DisclosureRequest
from responders.register.reminders import OpenRequest, due_request_reminders
from responders.reminders import EMAIL, WEBHOOK, Person
from tasks import jobs
from tests.integration.test_outbox import in_process  # noqa: F401 (fixture)
from tests.integration.test_reminders import add_people

ROOT = Path(__file__).resolve().parents[2]
CAL = load_calendar(ROOT / "config")
PEOPLE = [Person(1, "wang", "officer", True, "wang@sft.example"),
          Person(2, "li", "approver", True, "li@sft.example"),
          Person(3, "zhao", "officer", False, "zhao@sft.example"),
          Person(4, "admin", "admin", True, None)]


@pytest.mark.parametrize(("today", "due", "channels", "want"), [
    (date(2026, 3, 25), date(2026, 3, 30), {WEBHOOK, EMAIL}, [(WEBHOOK, 3), ("user:wang", 3)]),
    (date(2026, 3, 24), date(2026, 3, 30), {WEBHOOK, EMAIL}, []),          # 4 working days
    (date(2026, 4, 2), date(2026, 4, 8), {WEBHOOK}, [(WEBHOOK, 3)]),       # 清明 4/4–4/6
    (date(2026, 3, 30), date(2026, 3, 30), {EMAIL}, [("user:wang", 0)]),   # the day itself
    (date(2026, 3, 31), date(2026, 3, 30), {WEBHOOK, EMAIL}, []),          # overdue
])
def test_decision_table(today, due, channels, want):
    got = due_request_reminders([OpenRequest(7, "2026-007", "某事项", due)], PEOPLE,
                                today=today, cal=CAL, channels=channels)
    assert [(d.recipient, d.working_days_left) for d in got] == want


def _received_for(today: date, left: int) -> date:
    """A receipt date whose deadline falls `left` working days after today."""
    for back in range(1, 60):
        r = today - timedelta(days=back)
        due = statutory_deadline(DeadlineInput(r), CAL).due_on
        if due >= today and CAL.working_days_between(today, due) == left:
            return r
    raise AssertionError("no such date")


def test_planned_once_drained_once_and_not_after_the_reply(db_url, home, sessions,
                                                           fake_web, in_process):  # noqa: F811
    fake_web.add("/hook", 204)
    in_process(load_settings(env={
        "YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
        "YUQING_NOTIFY_WEBHOOK_URL": fake_web.url("/hook"),
        "YUQING_NOTIFY_REMIND_EMAIL": "false"}))
    now = datetime.now(UTC)
    today = jobs._office_today(jobs.current_runtime(), now)
    with sessions() as s:
        add_people(s, now)
        near = service.create_request(s, "test", service.RequestInput(
            "R-near", _received_for(today, 2), "网络", "自然人", "2025年全省公证员人数"),
            CAL, now)
        soon = service.create_request(s, "test", service.RequestInput(
            "R-soon", _received_for(today, 1), "信函", "商业企业", "政府采购合同"), CAL, now)
        service.create_request(s, "test", service.RequestInput(
            "R-far", today, "网络", "自然人", "人民调解统计"), CAL, now)
        near_id, soon_id = near.id, soon.id
        s.commit()
    assert jobs.remind_due() == {"reminders": 0, "request_reminders": 2}
    with sessions() as s:
        refs = sorted(s.scalars(select(OutboxMessage.ref).where(
            OutboxMessage.kind == "request_reminder")))
    assert [r.split(":")[0] for r in refs] == sorted([str(near_id), str(soon_id)])
    jobs.remind_due()                          # the next tick: the same rows, no new ones
    with sessions() as s:
        assert s.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc())) == 2
        # R-soon is answered before the drain: nothing to remind of.
        s.execute(update(DisclosureRequest).where(DisclosureRequest.id == soon_id)
                  .values(state="answered", outcome="予以公开", answered_on=today))
        s.commit()
    assert jobs.drain_outbox()["sent"] == 2
    assert jobs.drain_outbox()["sent"] == 0
    posted = [json.loads(r.body) for r in fake_web.requests_to("/hook")]
    assert [(p["type"], p["number"], p["working_days_left"]) for p in posted] == [
        ("disclosure_deadline_reminder", "R-near", 2)]
    assert posted[0]["link"].endswith(f"/register/{near_id}")
    with sessions() as s:
        details = dict(s.execute(select(OutboxMessage.ref, OutboxMessage.detail)).all())
    assert "nothing to remind of" in next(v for k, v in details.items()
                                          if k.startswith(f"{soon_id}:"))
