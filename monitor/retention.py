"""Retention (issue 15): items first seen more than `retention.items_days` ago are pruned,
in bounded batches, unless something refers to them.

What refers to an item is not the core's business — alerts, outputs and evidence snapshots
are the desk's tables — so the caller passes one `Keep` function: given the items' id column,
the SQL condition "something refers to this item" (responders.kept_items.referenced is the
desk's, one place to extend when a new table refers to items). The core knows only its own
references: an event's counts, kept correct as its items go.

Decisions are pure (`cutoff` takes `now` and the setting); `prune_batch` flushes and never
commits: the task or the CLI commits each batch, so no transaction holds more than one
batch's locks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, not_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from monitor.models import Event, EventTerm, Item

Keep = Callable[[InstrumentedAttribute[int]], ColumnElement[bool]]


def nothing_kept(_item_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """The core alone: nothing outside it refers to items."""
    return select(Item.id).where(Item.id.is_(None)).exists()


def cutoff(now: datetime, items_days: int | None) -> datetime | None:
    """Pure: items first seen before this go; None when retention keeps everything."""
    if items_days is None:
        return None
    return now - timedelta(days=items_days)


@dataclass(frozen=True)
class PrunePlan:
    cutoff: datetime | None
    prunable: int          # old and referred to by nothing: what a prune deletes
    kept: int              # old but referred to (an alert, output or evidence)
    oldest: datetime | None


@dataclass
class PruneResult:
    items: int = 0
    events_updated: int = 0
    events_deleted: int = 0
    batches: int = 0
    done: bool = True      # False: a full batch went, more may be left
    by_event: dict[int, int] = field(default_factory=dict)


def _old(before: datetime) -> ColumnElement[bool]:
    return Item.fetched_at < before


def plan(session: Session, now: datetime, items_days: int | None, keep: Keep) -> PrunePlan:
    """What a prune would delete now (`yuqing prune --dry-run`), counted by the database."""
    before = cutoff(now, items_days)
    if before is None:
        return PrunePlan(None, 0, 0, None)
    old = int(session.scalar(select(func.count(Item.id)).where(_old(before))) or 0)
    prunable = int(session.scalar(select(func.count(Item.id))
                                  .where(_old(before), not_(keep(Item.id)))) or 0)
    oldest = session.scalar(select(func.min(Item.fetched_at)).where(_old(before))) if old else None
    return PrunePlan(before, prunable, old - prunable, oldest)


def prune_batch(session: Session, now: datetime, items_days: int | None, keep: Keep, *,
                batch_size: int = 1000) -> PruneResult:
    """Delete at most `batch_size` prunable items (oldest ids first) and correct their
    events: item, scored and negative counts and the negative share go down with them; an
    event left with no item goes too (its candidate terms with it). Flushes, never commits.
    Idempotent: a repeated batch finds the rows gone and deletes nothing more."""
    before = cutoff(now, items_days)
    if before is None:
        return PruneResult()
    rows = session.execute(
        select(Item.id, Item.event_id, Item.sentiment_label)
        .where(_old(before), not_(keep(Item.id)))
        .order_by(Item.id).limit(batch_size)
        .with_for_update(skip_locked=True)).all()
    if not rows:
        return PruneResult()
    result = PruneResult(items=len(rows), batches=1, done=len(rows) < batch_size)
    per_event: dict[int, list[int]] = {}
    for _id, event_id, label in rows:
        if event_id is None:
            continue
        counts = per_event.setdefault(event_id, [0, 0, 0])   # items, scored, negative
        counts[0] += 1
        counts[1] += label is not None
        counts[2] += label == "negative"
    ids = [r[0] for r in rows]
    session.execute(delete(Item).where(Item.id.in_(ids)).execution_options(
        synchronize_session=False))
    emptied: list[int] = []
    for event_id, (n, scored, negative) in sorted(per_event.items()):
        event = session.get(Event, event_id, with_for_update=True)
        if event is None:
            continue
        event.item_count = max(0, event.item_count - n)
        event.scored_count = max(0, event.scored_count - scored)
        event.negative_count = max(0, event.negative_count - negative)
        event.negative_share = (event.negative_count / event.scored_count
                                if event.scored_count else 0.0)
        result.by_event[event_id] = n
        if event.item_count == 0:
            emptied.append(event_id)
    result.events_updated = len(per_event) - len(emptied)
    if emptied:
        # A merged event that pointed at an emptied one keeps its own items; only its
        # pointer is stale, and merged events are not shown.
        session.execute(delete(EventTerm).where(EventTerm.event_id.in_(emptied)))
        session.execute(update(Item).where(Item.event_id.in_(emptied)).values(event_id=None))
        session.execute(delete(Event).where(Event.id.in_(emptied)).execution_options(
            synchronize_session=False))
        result.events_deleted = len(emptied)
    session.flush()
    return result
