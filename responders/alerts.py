"""Alerts: opened from flagging decisions with SLA deadlines, and listed for the queue.

Flushes, never commits. One alert per event. The alert sits on its event's **lead** item
(unique item_id, insert-or-ignore) — the post that raised it at the highest priority, never
the office's own post — so that the queue's headline is the story's strongest post, not
whatever came first (a board question, the office's own notice, a debunk). It is found
through its item's event (event_alert), later items of the event attach to it, and growth,
reach or a burst escalates it (the new priority, deadline and reasons are written, and the
alert is returned for notifying again); an item that raises it to a higher priority becomes
its lead. One alert per event holds because attach() serialises the batches that change
events (monitor.event_store._lock) in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, inspect, select
from sqlalchemy import update as update_
from sqlalchemy.orm import Session, joinedload

from monitor.analyze import Analysis, analysed
from monitor.db import insert_ignore, one_of
from monitor.event_store import EventUpdate
from monitor.flagging import FlagDecision, combine_reasons
from monitor.models import Item
from responders.models import Alert, AuditEntry, Output
from responders.sla import SLA
from responders.workflow import OPEN_ALERT_STATES

PRIORITY_ORDER = ("P1", "P2", "P3")


def event_alerts(event_ids: Any) -> Select[Alert]:
    """The alerts of the events `event_ids` (a list or a subquery of ids), oldest first:
    through the event of the item an alert sits on. One per event but transiently during a
    merge (merge_alerts folds them)."""
    return (select(Alert).join(Item, Item.id == Alert.item_id)
            .where(Item.event_id.in_(event_ids)).order_by(Alert.id))


def event_alert(session: Session, event_id: int) -> Alert | None:
    return session.scalars(event_alerts([event_id])).first()


Lead = tuple[int, FlagDecision | None]


def _lead(analyses: Sequence[Analysis], event_id: int, fallback: int) -> Lead:
    """The event's lead in this batch and its decision: the flagged item of the highest
    priority (the earliest of equals); else its first item that is not the office's own;
    else `fallback` (the event's first item)."""
    mine = [a for a in analyses if a.event is not None and a.event.event_id == event_id]
    flagged = sorted(((a.item_id, a.decision) for a in mine
                      if a.decision is not None and not a.own),
                     key=lambda f: (PRIORITY_ORDER.index(f[1].priority), f[0]))
    if flagged:
        return flagged[0]
    others = sorted(a.item_id for a in mine if not a.own)
    return (others[0] if others else fallback), None


def _escalate(session: Session, alert: Alert, update: EventUpdate, sla: SLA, now: datetime,
              story: tuple[datetime | None, datetime], lead: Lead) -> int | None:
    """Raise the event's existing alert to the event's new priority; None when it is not
    higher (an alert is never lowered by later, calmer items). `story` is the publication
    and first sight of this batch's items of the event (_story_times); `lead` this batch's
    lead item and its decision (_lead): when that item itself is what raised the priority,
    it becomes the alert's headline."""
    if update.priority is None:
        return None
    if PRIORITY_ORDER.index(update.priority) >= PRIORITY_ORDER.index(alert.priority):
        return None
    old = alert.priority
    # A late-found story grown only by posts that are themselves late finds (an archive
    # polled in several batches) is still old news: it stays 回溯, off the emergency clock.
    # Grown by live posts it is news again (below).
    late = alert.backfill and sla.clock(*story).backfill
    # The stricter clock runs from when we learned the story became bigger, but never later
    # than the deadline already promised.
    deadline = sla.deadline(update.priority, now, kind=update.kind, backfill=late)
    alert.priority = update.priority
    alert.sla_rule = deadline.rule
    alert.milestones = list(deadline.milestones)
    alert.due_at = min(alert.due_at, deadline.due_at)
    # A late-found story that grows now is live news again: it is on the emergency clock
    # from now, so it is no longer shown as 回溯 (the reason in words stays, as history).
    alert.backfill = late
    alert.reasons = combine_reasons(
        [*alert.reasons, f"升级 {old}→{update.priority}", *update.reasons])
    alert.topics = list(dict.fromkeys([*alert.topics, *update.topics]))
    item_id, decision = lead
    if decision is not None and decision.priority == update.priority:
        alert.item_id = item_id
    session.flush()
    return alert.id


def open_alerts(
    session: Session, analyses: Sequence[Analysis], sla: SLA, now: datetime
) -> list[int]:
    """One alert per flagged event (per flagged item when an analysis has no event).
    Returns the ids of alerts created or escalated now: both are news for the assignee."""
    created: list[int] = []
    stmt = insert_ignore(session, Alert.__table__).returning(Alert.__table__.c.id)
    events_done: set[int] = set()
    # What the loop reads per event, read once for the batch: the items (for the story's
    # times) and the events' existing alerts.
    items = _items(session, [a.item_id for a in analyses])
    existing = _event_alert_map(session, [a.event.event_id for a in analyses
                                          if a.event is not None])
    by_event: dict[int, list[Analysis]] = {}
    for a in analyses:
        if a.event is not None:
            by_event.setdefault(a.event.event_id, []).append(a)
    for analysis in analyses:
        update = analysis.event
        if update is not None:
            if update.event_id in events_done or update.first_item_id is None:
                continue
            events_done.add(update.event_id)
            if update.merged:
                kept = merge_alerts(session, update, now, sla)
                if kept is not None:
                    created.append(kept)
            if update.priority is None:
                continue
            # The story's times are its posts', not the office's own: a 情况通报 an hour
            # before a citizen's post is the answer, not the start of the story.
            story = ([a.item_id for a in by_event[update.event_id] if not a.own]
                     or [a.item_id for a in by_event[update.event_id]])
            lead = _lead(by_event[update.event_id], update.event_id, update.first_item_id)
            # Looked up afresh after a merge: merge_alerts folded the events' alerts.
            alert = (event_alert(session, update.event_id) if update.merged
                     else existing.get(update.event_id))
            if alert is not None:
                escalated = _escalate(session, alert, update, sla, now,
                                      _story_times(items, story, now), lead)
                if escalated is not None:
                    created.append(escalated)
                continue
            # The event's strongest reasons: its lead's (this batch's flagged items).
            best = lead[1]
            reasons = [*(best.reasons if best else ()), *update.reasons]
            new_id = _insert(session, stmt, lead[0], update.priority,
                             combine_reasons(reasons), list(update.topics), sla, now,
                             kind=update.kind,
                             story=_earliest(_story_times(items, story, now), update, now))
        elif analysis.decision is not None:
            decision = analysis.decision
            new_id = _insert(session, stmt, analysis.item_id, decision.priority,
                             list(decision.reasons), list(decision.topics), sla, now,
                             story=_story_times(items, [analysis.item_id], now))
        else:
            continue
        if new_id is not None:
            created.append(new_id)
    return created


MERGE_ACTOR = "system:analysis"


def merge_alerts(session: Session, update: EventUpdate, now: datetime,
                 sla: SLA | None = None) -> int | None:
    """A bridging post showed the events in `update.merged` to be the story of
    `update.event_id` (their items are in it now): keep one alert for it. The kept alert is
    the one raised first; it takes the higher priority (and then the other's lead as its
    headline), the earlier deadline, every reason and topic, the assignee if it had none,
    and stays open if either was open. Outputs move to it; the other alert is deleted, its
    history stays in the audit log under its id, and both alerts get an audit entry naming
    the other. Returns the kept alert's id when the merge folded an alert, else None."""
    alerts = list(session.scalars(event_alerts([update.event_id])).all())
    if len(alerts) < 2:
        return None
    kept, others = alerts[0], alerts[1:]
    for other in others:
        _fold(session, kept, other, update, now)
    if sla is not None:
        _reclock(kept, update, sla)
    session.flush()
    return kept.id


def _reclock(alert: Alert, update: EventUpdate, sla: SLA) -> None:
    """After a merge the kept alert may hold one half's priority and the other half's clock:
    a 回溯 P1 (no emergency clock) and a live P3 with its 48-hour rule make a live P1, due by
    the P1 rule from the story's clock start — not by the P3's 48 hours. Only ever earlier."""
    deadline = sla.deadline(alert.priority, alert.clock_from or alert.created_at, kind=update.kind,
                            backfill=alert.backfill)
    if deadline.due_at < alert.due_at:
        alert.due_at, alert.sla_rule = deadline.due_at, deadline.rule
        alert.milestones = list(deadline.milestones)


def _fold(session: Session, kept: Alert, other: Alert, update: EventUpdate,
          now: datetime) -> None:
    before = kept.state
    lead: int | None = None
    if PRIORITY_ORDER.index(other.priority) < PRIORITY_ORDER.index(kept.priority):
        kept.priority = other.priority
        lead = other.item_id  # the stronger half's post heads the story now
    if other.due_at < kept.due_at:
        kept.due_at, kept.sla_rule, kept.milestones = other.due_at, other.sla_rule, other.milestones
        kept.clock_from, kept.backfill = other.clock_from, other.backfill
    if other.story_published_at is not None and (
            kept.story_published_at is None or other.story_published_at < kept.story_published_at):
        kept.story_published_at = other.story_published_at
    kept.reasons = combine_reasons([*kept.reasons, *other.reasons,
                                    f"合并：预警 #{other.id} 与本预警为同一事件"])
    kept.topics = list(dict.fromkeys([*kept.topics, *other.topics]))
    if kept.assignee_id is None:
        kept.assignee_id = other.assignee_id
    if kept.state not in OPEN_ALERT_STATES and other.state in OPEN_ALERT_STATES:
        # Someone is still working the other half of the story: the story is not done.
        kept.state, kept.state_changed_at = other.state, now
    session.execute(update_(Output).where(Output.alert_id == other.id)
                    .values(alert_id=kept.id).execution_options(synchronize_session=False))
    detail = {"event_id": update.event_id, "merged_alert": other.id,
              "merged_priority": other.priority, "merged_state": other.state}
    session.add(AuditEntry(at=now, actor=MERGE_ACTOR, entity="alert", entity_id=other.id,
                           alert_id=other.id, action="merge", from_state=other.state,
                           to_state="merged", detail={**detail, "into_alert": kept.id}))
    session.add(AuditEntry(at=now, actor=MERGE_ACTOR, entity="alert", entity_id=kept.id,
                           alert_id=kept.id, action="merge", from_state=before,
                           to_state=kept.state, detail=detail))
    session.delete(other)
    session.flush()
    if lead is not None:
        kept.item_id = lead  # free now: item_id is unique
        session.flush()


def _items(session: Session, item_ids: Sequence[int]) -> dict[int, Item]:
    """The batch's items by id, in chunked IN queries (they are usually in the session
    already, just analysed; this keeps them referenced and loads any that are not)."""
    out: dict[int, Item] = {}
    # The batch the analysis just wrote, as it left them (monitor.analyze.analysed): reading
    # the rows again (every column, the JSON ones decoded) was most of opening its alerts.
    held = analysed(session)
    for item_id in set(item_ids):
        item = held.get(item_id)
        if item is not None and not inspect(item).expired_attributes:
            out[item_id] = item
    wanted = sorted(set(item_ids) - out.keys())
    for start in range(0, len(wanted), 500):
        out.update((i.id, i) for i in session.scalars(
            select(Item).where(one_of(session, Item.id, wanted[start : start + 500]))))
    return out


def _event_alert_map(session: Session, event_ids: Sequence[int]) -> dict[int, Alert]:
    """The events' alerts by event id (the oldest of an event's, as event_alert), in chunked
    queries for the batch."""
    wanted = sorted(set(event_ids))
    out: dict[int, Alert] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            event_alerts(wanted[start : start + 500]).add_columns(Item.event_id)).all()
        for alert, event_id in rows:
            out.setdefault(int(event_id), alert)
    return out


def _story_times(items: dict[int, Item], item_ids: Sequence[int],
                 now: datetime) -> tuple[datetime | None, datetime]:
    """The story's earliest usable publication time and when yuqing first saw it, over the
    items that raise its alert in this batch (for a new event, all of its items).

    Publication: each item's published_at when not after its own fetch (clock skew), as
    monitor.event_store.seen_at reads it — not the event's first_seen_at, which falls back to
    the fetch time and cannot tell "published then" from "fetched then". First sight: the
    earliest fetch, not the moment the alert is raised, so a backlog of analysis (workers
    down for a day) does not turn a live story into backfill. The items were just analysed,
    so they come from `items` (_items: one query for the batch), not a query each."""
    found = [items[i] for i in item_ids if i in items]
    published = [i.published_at for i in found
                 if i.published_at is not None and i.published_at <= i.fetched_at]
    seen = min((i.fetched_at for i in found), default=now)
    return min(published, default=None), min(seen, now)


def _earliest(batch: tuple[datetime | None, datetime], update: EventUpdate,
              now: datetime) -> tuple[datetime | None, datetime]:
    """The story's publication and first sight for a new alert: this batch's posts', or
    earlier when the event's older posts (earlier batches that raised nothing, attach()
    reads them: EventUpdate.story_published_at) were out before — a story whose first
    post raised nothing is still the story since that post. Never after `now`."""
    published, seen = batch
    if update.story_published_at is not None and (
            published is None or update.story_published_at < published):
        published = update.story_published_at
    if update.story_first_seen is not None and update.story_first_seen < seen:
        seen = update.story_first_seen
    return published, min(seen, now)


def _insert(session: Session, stmt: Any, item_id: int, priority: str, reasons: list[str],
            topics: list[str], sla: SLA, now: datetime, kind: str | None = None,
            story: tuple[datetime | None, datetime] | None = None) -> int | None:
    """Insert-or-ignore one alert with its deadlines (by the rule for its priority and its
    event's kind: a citizen's message has its own reply rule), run from the story's
    publication (SLA.clock, from `story`: its publication and first sight; `now` is when the
    alert is raised); its id, or None if it existed."""
    published, first_seen = story if story is not None else (None, now)
    clock = sla.clock(published, first_seen)
    deadline = sla.deadline(priority, clock.start, kind=kind, backfill=clock.backfill)
    if clock.reason is not None:
        reasons = [*reasons, clock.reason]
    new_id = session.execute(stmt, {
        "item_id": item_id,
        "priority": priority,
        "state": "new",
        "reasons": reasons,
        "topics": topics,
        "sla_rule": deadline.rule,
        "milestones": list(deadline.milestones),
        "created_at": now,
        "due_at": deadline.due_at,
        "clock_from": clock.start,
        "story_published_at": clock.published_at,
        "backfill": clock.backfill,
    }).scalar_one_or_none()
    return None if new_id is None else int(new_id)


def list_alerts(
    session: Session,
    *,
    priority: str | None = None,
    state: str | None = None,
    limit: int | None = None,
) -> Sequence[Alert]:
    """The queue: highest priority first, then the nearest deadline. `state`: one workflow
    state, "open" (any of OPEN_ALERT_STATES), or None / "all" for every alert."""
    rank = case({p: i for i, p in enumerate(PRIORITY_ORDER)}, value=Alert.priority, else_=9)
    query = (
        select(Alert)
        .options(joinedload(Alert.item).joinedload(Item.source))
        .order_by(rank, Alert.due_at, Alert.id)
    )
    if priority:
        query = query.where(Alert.priority == priority)
    if state == "open":
        query = query.where(Alert.state.in_(OPEN_ALERT_STATES))
    elif state and state != "all":
        query = query.where(Alert.state == state)
    if limit:
        query = query.limit(limit)
    return session.scalars(query).unique().all()
