"""What an admin sees of the outbox (responders.outbox): the rows that did not go out, and a
resend of the ones it is safe to resend. Flushes, never commits.

Only `failed` may be resent, and only by a person's explicit action: a failed row is one the
other side refused (a webhook's 4xx/5xx) or that never reached it (connection refused, every
attempt), so nobody was told and sending again tells them once. An `unknown` row went out and
its answer was lost: the recipient may well have it, and resending could tell people twice,
so it is shown for a person to check with the recipient, never offered for a resend. A row
left in `sending` by a dead worker is the same case as `unknown` (outbox.py's docstring)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from monitor.errors import NotFound
from responders.auth import Principal
from responders.desk import audit
from responders.models import OutboxMessage
from responders.workflow import StateConflict

PROBLEM_STATES = ("failed", "unknown")
RESENDABLE = "failed"
# A `sending` row older than this is shown too: its worker most likely died mid-send.
STUCK_AFTER = timedelta(hours=1)


def _problem(now: datetime) -> object:
    return or_(OutboxMessage.state.in_(PROBLEM_STATES),
               (OutboxMessage.state == "sending")
               & (OutboxMessage.claimed_at < now - STUCK_AFTER))


def problems(session: Session, now: datetime, *, limit: int = 50
             ) -> tuple[Sequence[OutboxMessage], int]:
    """The newest rows that did not go out (bounded) and how many there are in all."""
    where = _problem(now)
    rows = session.scalars(select(OutboxMessage).where(where)  # type: ignore[arg-type]
                           .order_by(OutboxMessage.id.desc()).limit(limit)).all()
    total = session.scalar(select(func.count()).select_from(OutboxMessage)
                           .where(where)) or 0  # type: ignore[arg-type]
    return rows, int(total)


def resend(session: Session, who: Principal, message_id: int, now: datetime) -> OutboxMessage:
    """A failed row back to pending, due now, with its attempts counted afresh; the drain
    (enqueued by the caller after the commit) sends it. A state-checked UPDATE: a row that is
    not failed (unknown, already resent by another admin) is refused, never sent."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(f"no outbox message {message_id}")
    if row.state != RESENDABLE:
        raise StateConflict(f"outbox message {message_id} is {row.state}: only a failed "
                            "message may be sent again (an unknown one may have arrived)")
    before = row.detail
    done = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.state == RESENDABLE)
        .values(state="pending", attempts=0, next_attempt_at=None, claimed_at=None,
                finished_at=None, detail=f"resent by {who.actor}; before: {before}"[:2000])
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise StateConflict(f"outbox message {message_id} changed meanwhile; reload")
    audit(session, who, now, entity="outbox", entity_id=message_id, action="resend",
          from_state=RESENDABLE, to_state="pending",
          detail={"kind": row.kind, "ref": row.ref, "error": before[:500]})
    session.flush()
    session.refresh(row)
    return row
