"""A board message answered after its alert was raised: the re-poll (or re-import) that
brings the reply closes the alert as answered, by the system, with the reply's unit and time
in the reason and in the audit log. Flushes, never commits.

monitor.ingest.answer_messages finds the messages newly answered (monitor knows nothing of
alerts); the task, the CLI or the push API hands their ids here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.models import Event, Item
from responders.alerts import event_alerts
from responders.desk import audit
from responders.models import Alert
from responders.workflow import OPEN_ALERT_STATES, SYSTEM, decide

ACTOR = "system:board"


def reply_reason(extra: dict[str, Any]) -> str:
    """“留言已回复（回复单位：…，回复时间：…）”, with what the board told."""
    said = []
    if extra.get("reply_unit"):
        said.append(f"回复单位：{extra['reply_unit']}")
    if extra.get("reply_at"):
        said.append(f"回复时间：{str(extra['reply_at']).replace('T', ' ')[:16]}")
    return "留言已回复" + (f"（{'，'.join(said)}）" if said else "")


def close_answered(session: Session, item_ids: Sequence[int], now: datetime) -> list[int]:
    """Close the open alerts of the messages `item_ids` (just answered) as answered; the
    ids of the alerts closed. An alert already closed, dismissed or responded is left as
    it is; a repeated call closes nothing twice (the UPDATE checks the state it leaves)."""
    if not item_ids:
        return []
    # The alerts of the answered messages' events (a message's alert sits on the message,
    # but go through the event so the rule does not depend on it).
    events = select(Event.id).join(Item, Item.event_id == Event.id).where(
        Item.id.in_(list(item_ids)), Event.kind == "message")
    alerts = session.scalars(event_alerts(events).where(
        Alert.state.in_(OPEN_ALERT_STATES))).all()
    closed: list[int] = []
    for alert in alerts:
        item = session.get(Item, alert.item_id)
        reason = reply_reason(item.extra if item is not None else {})
        before = alert.state
        target = decide("alert", "answered", before, SYSTEM, reason=reason)
        done = session.execute(
            update(Alert).where(Alert.id == alert.id, Alert.state == before)
            .values(state=target, state_changed_at=now)
            .execution_options(synchronize_session=False))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            continue  # moved meanwhile (someone dismissed it): theirs stands
        audit(session, ACTOR, now, entity="alert", entity_id=alert.id, alert_id=alert.id,
              action="answered", from_state=before, to_state=target,
              detail={"reason": reason, "item_id": alert.item_id})
        session.expire(alert)
        closed.append(alert.id)
    session.flush()
    return closed
