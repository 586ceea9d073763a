"""The outbox: what to tell people, stored with what caused it, sent at most once per row.

A new alert's notification, a planned reminder and the week's digest are written here in the
same transaction as the alert, the reminder rows or (for the digest) the beat tick that found
it due — never handed only to the broker after the commit, where a Redis restart between the
commit and the enqueue lost them (issue 14, item 7). `responders.drain_outbox` (tasks/jobs.py)
sends them: kicked after each commit, and on a beat tick, which drains whatever a broker
outage held back.

At most once, as the mail log does it (responders.mail): a row is claimed — moved
pending → sending by a state-checked UPDATE and committed — before anything is sent, so two
drains, a redelivered task or a second beat never send one row twice. What happened is then
recorded: sent; failed (the other side refused: not retried); unknown (the request went out
and the answer was lost: not resent, shown for a person to check); or pending again with a
next attempt time, only when nothing can have reached the other side (the connection was
refused). A row whose worker died while it was `sending` stays so: it is shown, never resent.

Pure decisions (`retry_at`, `digest_due`) take `now`; the database edges flush or, where the
claim must be visible to other processes before the send, commit (`claim_next`, like
mail.deliver_once). No Celery, HTTP or SMTP here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from monitor.db import insert_ignore
from responders.models import Alert, OutboxMessage, Reminder

Kind = Literal["alert", "reminder", "digest", "request_reminder"]
ALERT: Kind = "alert"
REMINDER: Kind = "reminder"
DIGEST: Kind = "digest"
REQUEST_REMINDER: Kind = "request_reminder"  # a disclosure request's deadline (issue 20)
Outcome = Literal["sent", "failed", "unknown", "retry"]

# A connection refused is retried after 30 s, 1, 2, 4 … minutes, up to this many attempts;
# then the row is given up as failed, with the last error.
MAX_ATTEMPTS = 8
_FIRST_DELAY = timedelta(seconds=30)
_MAX_DELAY = timedelta(hours=1)
# The week's digest is planned from its scheduled moment until this long after it: a broker
# or beat that was down at 08:00 delays the digest, and a service first started mid-week does
# not send last week's digest days late (`yuqing digest send` does that by hand).
DIGEST_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class Claimed:
    """A row this process now holds in state `sending`, as plain values."""

    id: int
    kind: str
    ref: str
    attempts: int  # including this one


def retry_at(attempts: int, now: datetime) -> datetime | None:
    """Pure: when to try again after attempt number `attempts` reached nobody; None when that
    was the last attempt allowed."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + min(_FIRST_DELAY * (1 << max(attempts - 1, 0)), _MAX_DELAY)


def digest_due(now: datetime, *, tz: str, day_of_week: int, hour: int, minute: int,
               grace: timedelta = DIGEST_GRACE) -> date | None:
    """Pure: the Monday of the ISO week whose digest is due at `now`, or None. The digest of
    the week just ended is due from its moment (day_of_week 1 = Monday … 7, hour:minute in
    the office's zone) in the following week, for `grace`."""
    local = now.astimezone(ZoneInfo(tz))
    monday = local.date() - timedelta(days=local.weekday())
    moment = datetime.combine(monday + timedelta(days=day_of_week - 1), time(hour, minute),
                              tzinfo=ZoneInfo(tz))
    if moment <= local < moment + grace:
        return monday - timedelta(days=7)
    # A moment late in the week with a grace that runs into the next one.
    earlier = moment - timedelta(days=7)
    if earlier <= local < earlier + grace:
        return monday - timedelta(days=14)
    return None


# ---------------------------------------------------------------- writing (flush only)


def add(session: Session, kind: Kind, ref: str, now: datetime, *, key: str | None = None
        ) -> None:
    """Insert-or-ignore one message: written twice (a redelivered task), it is one row."""
    session.execute(insert_ignore(session, OutboxMessage.__table__).values(
        key=key or f"{kind}:{ref}", kind=kind, ref=ref, state="pending", attempts=0,
        detail="", created_at=now))


def add_alerts(session: Session, alert_ids: Iterable[int], now: datetime) -> None:
    """One notification per alert opened or escalated, in the caller's transaction (the one
    that opened them). The key carries the priority reached: an escalation (P3 → P1) is news
    again, the same priority twice (a redelivered batch) is not."""
    ids = list(alert_ids)
    if not ids:
        return
    session.flush()
    for alert_id, priority in session.execute(
            select(Alert.id, Alert.priority).where(Alert.id.in_(ids))):
        add(session, ALERT, str(alert_id), now, key=f"alert:{alert_id}:{priority}")
    session.flush()


def add_reminders(session: Session, reminder_ids: Iterable[int], now: datetime) -> None:
    """One message per reminder row handed out. The key carries the row's created_at, which
    `reminders.finish(retry=True)` moves on: a reminder put back for a mail server's
    temporary refusal gets a new message; one handed out again unchanged does not."""
    ids = list(reminder_ids)
    if not ids:
        return
    for rid, created in session.execute(
            select(Reminder.id, Reminder.created_at).where(Reminder.id.in_(ids))):
        add(session, REMINDER, str(rid), now, key=f"reminder:{rid}:{created.isoformat()}")
    session.flush()


def add_digest(session: Session, week_label: str, now: datetime) -> None:
    add(session, DIGEST, week_label, now)
    session.flush()


# ---------------------------------------------------------------- draining


# Kinds whose sending has an at-most-once guard of its own besides this row: the reminder
# row's pending → sending claim, the mail log's per-recipient claim. A row of these kinds left
# in `sending` (its worker was killed, e.g. by the time limit in the middle of a long digest)
# may be claimed again once stale: the guard keeps anything from going out twice, and the
# recipients not yet reached are not lost. An alert row has no other guard: never re-claimed.
RECLAIMABLE = (REMINDER, DIGEST)


def _due(now: datetime, stale_before: datetime | None) -> Any:
    pending = (OutboxMessage.state == "pending") & or_(
        OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)
    if stale_before is None:
        return pending
    stale = ((OutboxMessage.state == "sending") & OutboxMessage.kind.in_(RECLAIMABLE)
             & (OutboxMessage.claimed_at <= stale_before))
    return or_(pending, stale)


def claim_next(session: Session, now: datetime, *, after_id: int = 0,
               stale_before: datetime | None = None) -> Claimed | None:
    """Claim the oldest due row after `after_id` and commit the claim; None when nothing is
    due. Of two drains that pick the same row, the state-checked UPDATE lets one through.
    With `stale_before`, reminder and digest rows claimed before it and never finished are
    due again (RECLAIMABLE)."""
    while True:
        row = session.execute(
            select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.ref,
                   OutboxMessage.state, OutboxMessage.attempts)
            .where(_due(now, stale_before), OutboxMessage.id > after_id)
            .order_by(OutboxMessage.id).limit(1)).one_or_none()
        if row is None:
            session.commit()  # end the read
            return None
        won = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.state == row.state,
                   OutboxMessage.attempts == row.attempts)
            .values(state="sending", attempts=row.attempts + 1, claimed_at=now,
                    next_attempt_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        session.commit()
        if won == 1:
            return Claimed(id=row.id, kind=row.kind, ref=row.ref, attempts=row.attempts + 1)
        after_id = row.id  # another drain has it: look further


def finish(session: Session, claim: Claimed, outcome: Outcome, now: datetime, *,
           detail: str = "", next_attempt: datetime | None = None) -> str:
    """Record what sending `claim` did; returns the state stored. `retry` (nothing reached
    the other side) puts it back to pending for `next_attempt` (else retry_at's schedule),
    or gives it up as failed after MAX_ATTEMPTS. Flushes; the caller commits."""
    values: dict[str, object] = {"detail": detail[:2000], "finished_at": now}
    state: str = outcome
    if outcome == "retry":
        when = next_attempt or retry_at(claim.attempts, now)
        if when is None:
            state = "failed"
            values["detail"] = f"gave up after {claim.attempts} attempts; last: {detail}"[:2000]
        else:
            state = "pending"
            values["next_attempt_at"] = when
    session.execute(update(OutboxMessage)
                    .where(OutboxMessage.id == claim.id, OutboxMessage.state == "sending")
                    .values(state=state, **values)
                    .execution_options(synchronize_session=False))
    session.flush()
    return state


def waiting(session: Session, now: datetime) -> int:
    """How many rows are due now (the drain's report)."""
    return session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.state == "pending",
        or_(OutboxMessage.next_attempt_at.is_(None),
            OutboxMessage.next_attempt_at <= now))) or 0
