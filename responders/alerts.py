"""Alerts: opened from flagging decisions with SLA deadlines, and listed for the queue.

Flushes, never commits. One alert per item (unique item_id, insert-or-ignore)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session, joinedload

from monitor.analyze import Analysis
from monitor.db import insert_ignore
from monitor.models import Alert, Item
from responders.sla import SLA

PRIORITY_ORDER = ("P1", "P2", "P3")


def open_alerts(
    session: Session, analyses: Sequence[Analysis], sla: SLA, now: datetime
) -> list[int]:
    """Create an alert for each flagged analysis; returns the ids of alerts created now."""
    created: list[int] = []
    stmt = insert_ignore(session, Alert.__table__).returning(Alert.__table__.c.id)
    for analysis in analyses:
        decision = analysis.decision
        if decision is None:
            continue
        deadline = sla.deadline(decision.priority, now)
        new_id = session.execute(
            stmt,
            {
                "item_id": analysis.item_id,
                "priority": decision.priority,
                "state": "new",
                "reasons": list(decision.reasons),
                "topics": list(decision.topics),
                "sla_rule": deadline.rule,
                "milestones": list(deadline.milestones),
                "created_at": now,
                "due_at": deadline.due_at,
            },
        ).scalar_one_or_none()
        if new_id is not None:
            created.append(int(new_id))
    return created


def list_alerts(
    session: Session,
    *,
    priority: str | None = None,
    state: str | None = None,
    limit: int | None = None,
) -> Sequence[Alert]:
    """The queue: highest priority first, then the nearest deadline."""
    rank = case({p: i for i, p in enumerate(PRIORITY_ORDER)}, value=Alert.priority, else_=9)
    query = (
        select(Alert)
        .options(joinedload(Alert.item).joinedload(Item.source))
        .order_by(rank, Alert.due_at, Alert.id)
    )
    if priority:
        query = query.where(Alert.priority == priority)
    if state:
        query = query.where(Alert.state == state)
    if limit:
        query = query.limit(limit)
    return session.scalars(query).unique().all()
