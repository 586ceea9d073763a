"""Attach analysed items to events in the database: reposts to their original's event,
near-duplicates to the most similar recent event, anything else to a new event; then each
touched event's statistics, burst test and priority. Flushes, never commits.

The decisions are the pure functions of monitor.events and monitor.bursts; this module only
reads and writes rows.

Concurrency: two workers attaching near-duplicates at the same moment could each create an
event for one story. The attach step is therefore serialised: on PostgreSQL by a
transaction-scoped advisory lock; on SQLite the analysing transaction already holds the
database's single write lock (it has written the items' analysis) before it gets here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from monitor.bursts import (
    SOCIAL_KINDS,
    Burst,
    BurstPolicy,
    Priority,
    detect,
    escalate,
    higher,
)
from monitor.events import ClusterPolicy, best_match, signature
from monitor.models import Event, Item, Source
from monitor.settings_schema import EventsSection
from monitor.social.board import is_answered

_LOCK_KEY = 0x59510003  # "YQ" + issue 3: any constant both workers agree on


@dataclass(frozen=True)
class EventSettings:
    """Grouping and burst policies, and how far back an item may find its event. No
    defaults here: config/defaults.yaml (`events:`) holds them."""

    cluster: ClusterPolicy
    bursts: BurstPolicy
    window_days: float  # an item may join an event last seen within this many days

    @classmethod
    def from_section(cls, events: EventsSection) -> EventSettings:
        return cls(
            cluster=ClusterPolicy.from_section(events),
            bursts=BurstPolicy.from_section(events.bursts),
            window_days=events.window_days,
        )


@dataclass(frozen=True)
class EventUpdate:
    """What changed for one event in one batch, for opening or escalating its alert."""
    event_id: int
    first_item_id: int | None
    kind: str
    created: bool
    priority: Priority | None
    previous: Priority | None
    reasons: tuple[str, ...]  # escalation reasons (burst, reach, growth) and message state
    topics: tuple[str, ...]
    burst: bool


def seen_at(item: Item) -> datetime:
    """When the story was out: its publication time when given and not in the future of
    its fetch (clock skew), else when we fetched it."""
    if item.published_at is not None and item.published_at <= item.fetched_at:
        return item.published_at
    return item.fetched_at


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def _is_message(item: Item, kind: str) -> bool:
    return kind == "board" and bool(item.extra.get("message"))


def _unreplied(item: Item) -> bool:
    return not is_answered(item.extra)


def attach(
    session: Session,
    items: Sequence[Item],
    decisions: Mapping[int, Priority | None],
    *,
    now: datetime,
    cfg: EventSettings,
    topic_names: Mapping[str, str],
) -> dict[int, EventUpdate]:
    """Attach `items` (just analysed) to events. `decisions` gives each item's own flagging
    priority. Returns item id → the update of its event. Items already attached are skipped
    (a redelivered batch changes nothing). `cfg` is EventSettings.from_section of
    settings.events; `topic_names` (topic id → name, of the taxonomy in force) names topics
    in the reasons people read, which are stored as written."""
    pending = [i for i in items if i.event_id is None]
    if not pending:
        return {}
    _lock(session)
    kinds = dict(session.execute(select(Source.id, Source.kind)).all())
    # The window is counted back from the stories' own time, not the clock: an item first
    # seen days after it appeared (a late poll, an imported archive, the demo's dated feeds)
    # still joins the event it belongs to.
    earliest = min(min(seen_at(i) for i in pending), now)
    horizon = earliest - timedelta(days=cfg.window_days)
    candidates: dict[int, list[int]] = {
        int(eid): list(sig or [])
        for eid, sig in session.execute(
            select(Event.id, Event.signature).where(Event.kind == "event",
                                                    Event.last_seen_at >= horizon)
        )
    }
    touched: dict[int, Event] = {}
    created: set[int] = set()
    previous: dict[int, Priority | None] = {}
    item_event: dict[int, int] = {}
    # Originals before reposts: a batch (an imported file, a search page) may list a repost
    # before the post it names, and the repost can only join an event that exists.
    for item in sorted(pending, key=lambda i: (i.repost_of is not None, i.id)):
        sig = signature(f"{item.title}\n{item.text}" if item.title and
                        not item.text.startswith(item.title) else item.text or item.title)
        item.signature = sig
        kind = kinds.get(item.source_id, "news")
        event: Event | None = None
        if not _is_message(item, kind):
            if item.repost_of:
                event_id = session.scalar(
                    select(Item.event_id).where(Item.external_id == item.repost_of,
                                                Item.event_id.is_not(None)).limit(1))
                event = session.get(Event, event_id) if event_id else None
            if event is None:
                match = best_match(sig, candidates.items(), cfg.cluster)
                event = session.get(Event, match) if match is not None else None
        if event is None:
            event = Event(first_item_id=item.id, item_count=0, source_ids=[], reach=0,
                          negative_count=0, scored_count=0, negative_share=0.0, topics=[],
                          signature=sig, first_seen_at=seen_at(item),
                          last_seen_at=seen_at(item), burst=False,
                          kind="message" if _is_message(item, kind) else "event")
            session.add(event)
            session.flush()
            created.add(event.id)
            if event.kind == "event":
                candidates[event.id] = sig
        if event.id not in previous:
            previous[event.id] = cast(Priority | None, event.priority)
        _add(event, item, decisions.get(item.id))
        item.event_id = event.id
        item_event[item.id] = event.id
        touched[event.id] = event
    session.flush()
    updates = {eid: _refresh(session, ev, kinds, now, cfg, topic_names, created=eid in created,
                             previous=previous[eid]) for eid, ev in touched.items()}
    session.flush()
    return {item_id: updates[eid] for item_id, eid in item_event.items()}


def _add(event: Event, item: Item, decision: Priority | None) -> None:
    event.item_count += 1
    if item.source_id not in event.source_ids:
        event.source_ids = [*event.source_ids, item.source_id]
    event.reach += sum(n for n in (item.reposts, item.comments, item.likes) if n)
    if item.sentiment_label is not None:
        event.scored_count += 1
        if item.sentiment_label == "negative":
            event.negative_count += 1
    event.negative_share = (event.negative_count / event.scored_count
                            if event.scored_count else 0.0)
    event.topics = list(dict.fromkeys([*event.topics, *item.topics]))
    t = seen_at(item)
    event.first_seen_at = min(event.first_seen_at, t)
    event.last_seen_at = max(event.last_seen_at, t)
    event.base_priority = higher(cast(Priority | None, event.base_priority), decision)


def _times(session: Session, *conds: Any) -> list[datetime]:
    rows = session.execute(select(Item.published_at, Item.fetched_at).where(*conds))
    return [p if p is not None and p <= f else f for p, f in rows]


def _refresh(session: Session, event: Event, kinds: Mapping[int, str], now: datetime,
             cfg: EventSettings, topic_names: Mapping[str, str], *, created: bool,
             previous: Priority | None) -> EventUpdate:
    social = any(kinds.get(int(s)) in SOCIAL_KINDS for s in event.source_ids)
    burst = detect(_times(session, Item.event_id == event.id), now, social=social,
                   policy=cfg.bursts)
    reasons: list[str] = []
    if not burst.burst:
        burst = _topic_burst(session, event, now, cfg, social, topic_names) or burst
    event.burst = burst.burst
    event.burst_reason = burst.reason
    base = cast(Priority | None, event.base_priority)
    answered = False
    if event.kind == "message" and event.first_item_id is not None:
        first = session.get(Item, event.first_item_id)
        if first is not None and _unreplied(first):
            # A citizen's message is a request: it needs an answer even when it is calm.
            base = higher(base, "P3")
            reasons.append("网民留言尚未回复" + (f"（{first.extra['region']}）"
                                               if first.extra.get("region") else ""))
        elif first is not None:
            # Answered already (已回复, or a reply is there): the request is met, so no alert,
            # whatever its words or its item's own decision would say.
            answered = True
    priority, why = (None, ()) if answered else escalate(
        base, burst=burst, reach=event.reach, items=event.item_count, policy=cfg.bursts)
    reasons.extend(why)
    event.priority = priority
    return EventUpdate(event_id=event.id, first_item_id=event.first_item_id, kind=event.kind,
                       created=created, priority=priority, previous=previous,
                       reasons=tuple(reasons), topics=tuple(event.topics), burst=burst.burst)


def _topic_burst(session: Session, event: Event, now: datetime, cfg: EventSettings,
                 social: bool, topic_names: Mapping[str, str]) -> Burst | None:
    """A burst of one of the event's topics (many different stories on 社区矫正 at once).
    Its reason names the topic as people know it; a topic since removed from the taxonomy
    has no name left, so its id is the best there is."""
    if not event.topics:
        return None
    hours = cfg.bursts.baseline_hours(social) + cfg.bursts.window_s / 3600
    rows = session.execute(
        select(Item.topics, Item.published_at, Item.fetched_at)
        .where(Item.fetched_at >= now - timedelta(hours=hours), Item.analyzed_at.is_not(None))
    ).all()
    for topic in event.topics:
        times = [p if p is not None and p <= f else f for ts, p, f in rows if topic in (ts or [])]
        result = detect(times, now, social=social, policy=cfg.bursts,
                        topic=topic_names.get(topic, topic))
        if result.burst:
            return result
    return None
