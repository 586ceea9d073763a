"""Reminders before a disclosure request's reply deadline, through the same outbox as the
alerts' reminders (responders.outbox, drained by `responders.drain_outbox`).

The decision (`due_request_reminders`) is pure: open requests, the people, today and the
calendar in; the reminders to write out. A reminder is due from `LEAD_WORKING_DAYS` working
days before the deadline until the deadline day. The claim is the outbox row's unique key
— (request, deadline, recipient) — so a second beat tick or a redelivered task writes it
once; a deadline moved by an extension or a consultation is a new deadline and is reminded
of again. Recipients as for an unassigned alert: the webhook, and every active officer and
admin with an e-mail address (approvers only review).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from responders import outbox
from responders.models import User
from responders.register.calendar import WorkCalendar
from responders.register.models import DisclosureRequest
from responders.reminders import EMAIL, WEBHOOK, Person
from responders.workflow import ADMIN, OFFICER

LEAD_WORKING_DAYS = 3       # remind from three working days before the deadline


@dataclass(frozen=True)
class OpenRequest:
    id: int
    number: str
    subject: str
    due_on: date


@dataclass(frozen=True)
class RequestDue:
    request_id: int
    due_on: date
    recipient: str          # "webhook" or "user:NAME"
    working_days_left: int

    @property
    def ref(self) -> str:
        return f"{self.request_id}:{self.due_on.isoformat()}:{self.recipient}"


def due_request_reminders(requests: Iterable[OpenRequest], people: Sequence[Person], *,
                          today: date, cal: WorkCalendar, channels: Collection[str],
                          lead: int = LEAD_WORKING_DAYS) -> list[RequestDue]:
    wanted = ([WEBHOOK] if WEBHOOK in channels else []) + (
        [f"user:{p.name}" for p in people
         if p.active and p.role in (OFFICER, ADMIN) and p.email] if EMAIL in channels else [])
    out: list[RequestDue] = []
    for r in requests:
        if r.due_on < today or not cal.covers(r.due_on):
            continue            # overdue: the list shows it; reminding after the fact helps nobody
        left = cal.working_days_between(today, r.due_on)
        if left > lead:
            continue
        out += [RequestDue(r.id, r.due_on, who, left) for who in wanted]
    return out


def plan(session: Session, now: datetime, today: date, cal: WorkCalendar, *,
         channels: Collection[str]) -> int:
    """Write the reminders due today into the outbox (insert-or-ignore on their key: one
    row however often it runs) in the caller's transaction; the number due. Reads only open
    requests due within a few weeks (an index on due_on), never the whole register."""
    rows = session.scalars(select(DisclosureRequest).where(
        DisclosureRequest.state == "open", DisclosureRequest.due_on >= today,
        DisclosureRequest.due_on <= date.fromordinal(today.toordinal() + 31))).all()
    people = [Person(u.id, u.name, u.role, u.active, u.email)
              for u in session.scalars(select(User))]
    due = due_request_reminders([OpenRequest(r.id, r.number, r.subject, r.due_on)
                                 for r in rows], people, today=today, cal=cal,
                                channels=channels)
    for d in due:
        outbox.add(session, outbox.REQUEST_REMINDER, d.ref, now,
                   key=f"{outbox.REQUEST_REMINDER}:{d.ref}")
    session.flush()
    return len(due)


@dataclass(frozen=True)
class RequestMessage:
    channel: str
    address: str | None
    subject: str
    body: str
    payload: dict[str, Any]
    key: str


def build(session: Session, ref: str, today: date, cal: WorkCalendar, *,
          base_url: str = "") -> RequestMessage | None:
    """The message for an outbox row's ref; None when there is nothing to remind of any more
    (answered, the deadline moved, the person gone or without an address)."""
    request_id, due_text, recipient = ref.split(":", 2)
    row = session.get(DisclosureRequest, int(request_id))
    if row is None or row.state != "open" or row.due_on.isoformat() != due_text:
        return None
    address: str | None = None
    if recipient != WEBHOOK:
        user = session.scalar(select(User).where(User.name == recipient.removeprefix("user:"),
                                                 User.active.is_(True)))
        if user is None or not user.email:
            return None
        address = user.email
    left = cal.working_days_between(today, row.due_on) if cal.covers(row.due_on) else 0
    link = f"{base_url.rstrip('/')}/register/{row.id}"
    subject = (f"【依申请公开提醒】{row.number} 答复期限 {row.due_on.isoformat()}"
               f"（还剩{left}个工作日）")
    body = (f"政府信息公开申请 {row.number}（{row.applicant_type}）「{row.subject}」\n"
            f"答复期限：{row.due_on.isoformat()}（还剩 {left} 个工作日，条例第三十三条），"
            f"目前尚未答复。\n请及时处理：{link}\n")
    payload = {"type": "disclosure_deadline_reminder", "request_id": row.id,
               "number": row.number, "subject": row.subject,
               "due_on": row.due_on.isoformat(), "working_days_left": left,
               "recipient": recipient, "link": link}
    return RequestMessage(EMAIL if address else WEBHOOK, address, subject, body, payload,
                          key=f"{outbox.REQUEST_REMINDER}:{ref}")


def email_message(m: RequestMessage, *, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = m.subject
    mail["From"] = sender
    mail["To"] = m.address or ""
    mail.set_content(m.body)
    return mail
