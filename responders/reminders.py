"""Deadline reminders: which open alerts are close to their next milestone, and who hears.

The decision (`due_reminders`) is pure: it takes the alerts, the people, what was already
sent and `now`. The database side (`plan`, `start_sending`, `finish`) claims one row per
(alert, milestone, recipient) *before* anything is sent, so a repeated beat tick, two beat
processes or a redelivered task never send a reminder twice (DESIGN principle 4). Sending
itself (HTTP, SMTP) is the task's business (tasks/jobs.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.db import insert_ignore
from monitor.settings_schema import NotifySection
from responders.models import Alert, Reminder, User
from responders.workflow import ADMIN, OFFICER, OPEN_ALERT_STATES

WEBHOOK = "webhook"
EMAIL = "email"
# A row claimed but never handed to a worker (the beat died between commit and enqueue) is
# handed out again after this long.
STALE_PENDING = timedelta(minutes=5)


@dataclass(frozen=True)
class LeadTime:
    """How long before a milestone to remind: `hours`, but never more than `share` of the
    milestone's own span — a 5-hour first release gets its reminder 1 hour before (at 4 h),
    not 2 hours before (when the alert is barely 3 hours old and everyone is on it)."""

    hours: float
    share: float

    def before(self, milestone_hours: float) -> timedelta:
        return timedelta(hours=min(self.hours, self.share * milestone_hours))

    @classmethod
    def from_section(cls, notify: NotifySection) -> LeadTime:
        return cls(hours=notify.remind_before_hours, share=notify.remind_before_share)


@dataclass(frozen=True)
class OpenAlert:
    id: int
    state: str
    priority: str
    title: str
    assignee_id: int | None
    milestones: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str
    active: bool
    email: str | None


@dataclass(frozen=True)
class Due:
    """One reminder to send."""

    alert_id: int
    milestone: str
    milestone_name: str
    due_at: datetime
    recipient: str          # "user:NAME" or "webhook"
    channel: str            # email | webhook
    address: str | None     # the e-mail address; None for the webhook


def next_milestone(milestones: Iterable[Mapping[str, Any]],
                   now: datetime) -> Mapping[str, Any] | None:
    """The earliest milestone still ahead of `now` (a missed one is shown as overdue in the
    queue; reminding after the fact helps nobody)."""
    ahead = [m for m in milestones if datetime.fromisoformat(str(m["due_at"])) > now]
    return min(ahead, key=lambda m: datetime.fromisoformat(str(m["due_at"])), default=None)


def recipients(alert: OpenAlert, people: Sequence[Person]) -> list[Person]:
    """The assignee when there is an active one; otherwise every active officer and admin
    (an unassigned alert is everyone's until someone takes it; approvers only review)."""
    if alert.assignee_id is not None:
        holder = [p for p in people if p.id == alert.assignee_id and p.active]
        if holder:
            return holder
    return [p for p in people if p.active and p.role in (OFFICER, ADMIN)]


def due_reminders(alerts: Iterable[OpenAlert], people: Sequence[Person], *, now: datetime,
                  lead: LeadTime, already: Collection[tuple[int, str, str]],
                  channels: Collection[str]) -> list[Due]:
    """Reminders to send now: for each open alert whose next milestone falls within its lead
    time, one to the webhook and one e-mail per recipient with an address — minus those in
    `already` ((alert_id, milestone key, recipient) triples)."""
    out: list[Due] = []
    for alert in alerts:
        if alert.state not in OPEN_ALERT_STATES:
            continue
        stone = next_milestone(alert.milestones, now)
        if stone is None:
            continue
        due_at = datetime.fromisoformat(str(stone["due_at"]))
        if due_at - now > lead.before(float(stone["hours"])):
            continue
        key, name = str(stone["key"]), str(stone.get("name", stone["key"]))
        wanted: list[tuple[str, str, str | None]] = []
        if WEBHOOK in channels:
            wanted.append((WEBHOOK, WEBHOOK, None))
        if EMAIL in channels:
            wanted += [(f"user:{p.name}", EMAIL, p.email)
                       for p in recipients(alert, people) if p.email]
        out += [Due(alert.id, key, name, due_at, who, channel, address)
                for who, channel, address in wanted
                if (alert.id, key, who) not in already]
    return out


# ---------------------------------------------------------------- database edges

def plan(session: Session, now: datetime, *, lead: LeadTime, channels: Collection[str],
         horizon: timedelta) -> list[int]:
    """Claim the reminders due now (insert-or-ignore on the unique key) and return the ids
    of rows to hand to senders: the new ones and pending ones that were never picked up.
    `horizon` bounds the alerts looked at (the longest SLA milestone). Flushes only."""
    rows = session.scalars(
        select(Alert).where(Alert.state.in_(OPEN_ALERT_STATES),
                            Alert.created_at >= now - horizon)
        .order_by(Alert.id)).all()
    alerts = [OpenAlert(a.id, a.state, a.priority, a.item.title if a.item else "",
                        a.assignee_id, tuple(a.milestones or ())) for a in rows]
    people = [Person(u.id, u.name, u.role, u.active, u.email)
              for u in session.scalars(select(User))]
    ids = [a.id for a in alerts]
    already = {(r.alert_id, r.milestone, r.recipient) for r in session.execute(
        select(Reminder.alert_id, Reminder.milestone, Reminder.recipient)
        .where(Reminder.alert_id.in_(ids)))} if ids else set()
    due = due_reminders(alerts, people, now=now, lead=lead, already=already,
                        channels=channels)
    for d in due:
        session.execute(insert_ignore(session, Reminder).values(
            alert_id=d.alert_id, milestone=d.milestone, milestone_name=d.milestone_name,
            due_at=d.due_at, recipient=d.recipient, channel=d.channel, address=d.address,
            state="pending", created_at=now))
    session.flush()
    return list(session.scalars(
        select(Reminder.id).where(Reminder.state == "pending")
        .where((Reminder.created_at == now) | (Reminder.created_at <= now - STALE_PENDING))
        .order_by(Reminder.id)))


@dataclass(frozen=True)
class Message:
    reminder_id: int
    channel: str
    address: str | None
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any]


def start_sending(session: Session, reminder_id: int, now: datetime, *,
                  tz: str = "Asia/Shanghai", base_url: str = "") -> Message | None:
    """Move the row pending → sending (state-checked) and build the message; None when
    another delivery of the same task got there first, or the alert is no longer open."""
    claimed = session.execute(
        update(Reminder).where(Reminder.id == reminder_id, Reminder.state == "pending")
        .values(state="sending")).rowcount  # type: ignore[attr-defined]
    if not claimed:
        return None
    reminder = session.get(Reminder, reminder_id)
    alert = session.get(Alert, reminder.alert_id) if reminder else None
    if reminder is None or alert is None or alert.state not in OPEN_ALERT_STATES:
        # Answered (or dismissed) since it was planned: nothing to remind of.
        if reminder is not None:
            reminder.state, reminder.error = "failed", "alert no longer open"
        session.flush()
        return None
    session.flush()
    return build_message(reminder, alert, now, tz=tz, base_url=base_url)


def build_message(reminder: Reminder, alert: Alert, now: datetime, *, tz: str,
                  base_url: str) -> Message:
    from zoneinfo import ZoneInfo

    local = reminder.due_at.astimezone(ZoneInfo(tz))
    left_min = max(0, int((reminder.due_at - now).total_seconds() // 60))
    title = alert.item.title or alert.item.text[:40]
    link = f"{base_url.rstrip('/')}/alerts/{alert.id}" if base_url else f"/alerts/{alert.id}"
    subject = f"【{alert.priority}舆情提醒】{reminder.milestone_name}还剩{left_min}分钟：{title}"
    body = (f"预警 #{alert.id}（{alert.priority}）「{title}」\n"
            f"处置时限：{reminder.milestone_name}，截止 {local:%Y-%m-%d %H:%M}"
            f"（还剩 {left_min} 分钟），目前尚未回应。\n"
            f"请及时处理：{link}\n")
    payload = {"type": "deadline_reminder", "alert_id": alert.id, "priority": alert.priority,
               "title": title, "state": alert.state, "milestone": reminder.milestone,
               "milestone_name": reminder.milestone_name,
               "due_at": reminder.due_at.isoformat(), "minutes_left": left_min,
               "recipient": reminder.recipient, "link": link}
    return Message(reminder.id, reminder.channel, reminder.address, reminder.recipient,
                   subject, body, payload)


def email_message(message: Message, *, sender: str) -> EmailMessage:
    """The reminder as an e-mail (plain text; the desk link does the rest)."""
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = message.address or ""
    mail.set_content(message.body)
    return mail


def mail_key(message: Message) -> str:
    """The mail log's key: with the address as recipient, the same (alert, milestone) is
    mailed to one address once, even through two reminder rows."""
    return f"reminder:{message.payload['alert_id']}:{message.payload['milestone']}"


def finish(session: Session, reminder_id: int, now: datetime, *,
           error: str | None = None, retry: bool = False) -> None:
    """Record the outcome: sent, or failed with the error (shown on the alert page; a failed
    reminder is not retried — the deadline is in the queue either way). `retry` (a mail
    server's temporary refusal) puts the row back to pending; `plan` hands it out again
    once it is stale, and the mail log decides whether its retry time has come."""
    values: dict[str, Any]
    if retry:
        values = {"state": "pending", "created_at": now, "error": error}
    else:
        values = {"state": "failed" if error else "sent", "sent_at": None if error else now,
                  "error": error}
    session.execute(update(Reminder).where(Reminder.id == reminder_id,
                                           Reminder.state == "sending").values(**values))
    session.flush()


def for_alert(session: Session, alert_id: int) -> Sequence[Reminder]:
    """What the alert page shows as 已提醒."""
    return session.scalars(select(Reminder).where(Reminder.alert_id == alert_id)
                           .order_by(Reminder.created_at, Reminder.id)).all()
