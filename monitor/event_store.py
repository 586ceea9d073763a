"""Attach analysed items to events in the database: reposts to their original's event,
near-duplicates to the most similar recent event, anything else to a new event; then each
touched event's statistics, burst test and priority. Flushes, never commits.

The decisions are the pure functions of monitor.events and monitor.bursts; this module only
reads and writes rows. Nothing here scans stored items or events: candidates come from the
term index within the window, burst baselines from the hourly counters (monitor.counters).

Concurrency: two workers attaching near-duplicates at the same moment could each create an
event for one story. The attach step is therefore serialised: on PostgreSQL by a
transaction-scoped advisory lock; on SQLite the analysing transaction already holds the
database's single write lock (its claim has written the items' analysis time,
monitor.analyze.claim) before it gets here. The reads and the weighing that need no lock
(text work, the candidate index, each post's first verdicts) run before it; under it, only
the events other workers wrote since (Event.changed_seq) are read again (attach).
"""

from __future__ import annotations

import weakref
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from monitor import counters
from monitor.bursts import (
    SOCIAL_KINDS,
    Burst,
    BurstPolicy,
    Priority,
    detect_counts,
    escalate,
    higher,
)
from monitor.db import insert_ignore, one_of
from monitor.events import SKETCH_SIZE, ClusterPolicy, signature, similarity_of_sets
from monitor.models import Event, EventTerm, Item, Source
from monitor.office import OwnVoice
from monitor.settings_schema import EventsSection
from monitor.social.board import is_answered
from monitor.stories import (
    INDEX_TERMS,
    MATTER_MARK,
    NAME_MARK,
    StoryPolicy,
    StoryPost,
    followup_anchor,
    index_terms,
    load_background,
    merge_profiles,
    named_places,
    story_hit,
    story_vector,
)

_LOCK_KEY = 0x59510003  # "YQ" + issue 3: any constant both workers agree on
# Bounds on the candidates of a post, so that its cost does not grow with how busy the
# window is (issue 12: a year of a province's stream stored). Far above what a story
# needs: on the labelled triage set no term files more than 10 events of the window, no
# post has more than 19 candidates, and the events posts join rank in the first three by
# shared weight (tests/integration/test_candidate_bounds.py).
EVENTS_PER_TERM = 64  # the latest events filed under one term (_CandidateIndex.load)
CANDIDATES_PER_POST = 32  # the candidates weighed for one post, by shared weight (_strongest)
LEAD_TERMS = 2  # a post's strongest terms, one of which alone makes a candidate (near)
LOOKUP_TERMS = INDEX_TERMS  # a post's strongest terms it looks events up by (_lookup_terms)


@dataclass(frozen=True)
class EventSettings:
    """Grouping and burst policies, and how far back an item may find its event. No
    defaults here: config/defaults.yaml (`events:`) holds them."""

    cluster: ClusterPolicy
    bursts: BurstPolicy
    window_days: float  # an item may join an event last seen within this many days
    stories: StoryPolicy
    followup_days: float  # … or this many, sharing a follow-up anchor (stories.followup_anchor)

    @classmethod
    def from_section(cls, events: EventsSection) -> EventSettings:
        return cls(
            cluster=ClusterPolicy.from_section(events),
            bursts=BurstPolicy.from_section(events.bursts),
            window_days=events.window_days,
            stories=StoryPolicy(threshold=events.story_similarity,
                                min_shared=events.story_min_shared, damp=events.story_damp,
                                unanchored=events.story_unanchored,
                                city_anchored=events.story_city_anchored,
                                tagged=events.story_tagged,
                                outage_hours=events.story_outage_hours,
                                matter_hours=events.story_matter_hours),
            followup_days=max(events.story_followup_days, events.window_days),
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
    # Events a bridging post in this batch showed to be this story: merged into this one.
    merged: tuple[int, ...] = ()
    # For an event that needs its first alert now: the earliest publication (when not after
    # its own fetch) and the earliest fetch over all of the event's posts but the office's
    # own — the story's clock (responders.alerts), not only this batch's posts. None when
    # the event has no alert to open or nothing is known.
    story_published_at: datetime | None = None
    story_first_seen: datetime | None = None


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
    vocabulary: frozenset[str] = frozenset(),
    own: OwnVoice | None = None,
    praise: Container[int] = frozenset(),
    values: Mapping[int, Mapping[str, Any]] | None = None,
) -> dict[int, EventUpdate]:
    """Attach `items` (just analysed) to events. `decisions` gives each item's own flagging
    priority. Returns item id → the update of its event. Items already attached are skipped
    (a redelivered batch changes nothing). `cfg` is EventSettings.from_section of
    settings.events; `topic_names` (topic id → name, of the taxonomy in force) names topics
    in the reasons people read, which are stored as written; `vocabulary` is the field's own
    words (monitor.stories.field_vocabulary of the taxonomy), damped in story vectors;
    `own` tells the office's own posts, left out of the story's clock (EventUpdate);
    `praise` names the batch's board messages that only praise (flagging.praise_only):
    they are not requests, so no "尚未回复" alert is raised for them. `values` gives, per
    item, more of its columns to write (its analysis, monitor.analyze): written in the same
    UPDATE as its event and sketch, as one write of an item row costs a new row version in
    every index of the table (monitor.analyze.claim).

    An item joins, in this order: the event of the post it reposts; else the events it
    matches — as a near-duplicate of an event's first text, or by its story vector against
    an event's profile. Candidates come from the term index (event_terms), never from a scan
    of stored events. When an item matches several events it bridges them: they are one
    story, and the later ones are merged into the earliest (EventUpdate.merged names them).
    """
    pending = [i for i in items if i.event_id is None]
    table = cast(Table, Item.__table__)
    values = values or {}
    done = [i for i in items if i.event_id is not None and values.get(i.id)]
    if done:
        # Attached before (nothing to join): only the given columns to write.
        _write_items(session, table, [{"b_id": i.id, **_bound(values[i.id])} for i in done])
    if not pending:
        return {}
    # The text work (story vectors, near-duplicate sketches) before the lock: it is most of
    # the cost, and other workers need not wait for it.
    background = load_background()
    vectors = {i.id: story_vector(item_text(i), background, vocabulary, cfg.stories)
               for i in pending}
    sketches = {i.id: signature(item_text(i)) for i in pending}
    # The batch's sources' names and kinds before the lock too: the lock guards events, not
    # sources (a source renamed meanwhile is as likely either side of it). Only the batch's:
    # a province watches thousands of sources, and all of them per batch was a read that
    # grew with the watch list. The touched events' other sources are read after the loop.
    sources = _sources(session, {i.source_id for i in pending})
    kinds = {sid: kind for sid, (_name, kind) in sources.items()}
    mine = {i.id for i in pending if own is not None
            and own.is_own(sources.get(i.source_id, ("", ""))[0], i.author)}
    # The window is counted back from the stories' own time, not the clock: an item first
    # seen days after it appeared (a late poll, an imported archive, the demo's dated feeds)
    # still joins the event it belongs to.
    earliest = min(min(seen_at(i) for i in pending), now)
    horizon = earliest - timedelta(days=cfg.window_days)
    # Each post looks events up by its strongest terms, as events are filed by theirs, and
    # by every name that pins a matter down (anchors, matter signatures): its weaker terms
    # only ever found events it does not belong to, and read their rows.
    lookups = {i.id: _lookup_terms(vectors[i.id]) for i in pending}
    terms = {t for v in lookups.values() for t in v}
    # The candidate index, and each post's verdicts on it, before the lock as well: reading
    # thousands of index rows and weighing each post against a busy window's candidates was
    # most of the work done under the lock, which serialised the workers. The mark first,
    # then the index: an event written between the two is in both, and read twice is no
    # harm; written after the mark, it is read again under the lock (refresh).
    mark = _change_mark(session)
    index = _CandidateIndex.load(session, horizon, terms,
                                 followup=earliest - timedelta(days=cfg.followup_days),
                                 matter=earliest - timedelta(hours=cfg.stories.matter_hours))
    # Each post's verdicts on its candidates, kept for the joining pass below: there only
    # the candidates changed since (by another worker, or by this batch's own posts) are
    # weighed again (_CandidateIndex.judge).
    memos: dict[int, dict[int, tuple[float | None, float | None]]] = {i.id: {} for i in pending}
    close: dict[int, dict[int, float]] = {i.id: {} for i in pending}  # _strongest's memos
    # … and each post's candidates as first found (again: what changed since is added).
    firsts = {i.id: index.first_near(lookups[i.id], cfg,
                                     message=_is_message(i, kinds.get(i.source_id, "news")),
                                     at=seen_at(i)) for i in pending}
    likely = {e for i in pending for e in index.judge(
        _strongest(index, firsts[i.id][0], vectors[i.id], memo=close[i.id]),
        sketches[i.id], vectors[i.id], cfg, at=seen_at(i), memo=memos[i.id])}
    _lock(session)
    # What other workers wrote since the mark, into the index (its candidates marked
    # touched, so the memos above are not trusted for them); this batch's events carry the
    # next number.
    seq = index.refresh(session, mark, terms)
    # The refreshed candidates are loaded with the likely ones (bounded: a batch or two of
    # another worker's events), rather than weighing every post again here.
    likely |= {e for e in index.touched if e in index.profiles}
    originals = _repost_events(session, [i.repost_of for i in pending if i.repost_of])
    # The events the batch will join, kept here (the session's identity map holds objects
    # only weakly): those reposts join, and the stored events the batch's posts match as
    # the index stands (the first pass above, without the batch's own events) — in one
    # query, not one per event joined, and not every candidate: the window may hold
    # thousands. Read under the lock: these rows are what the batch writes back. An event
    # joined only through this batch's own growth is loaded when first joined.
    loaded = _load_events(session, {*originals.values(), *likely})
    new_ids = _new_event_ids(session, len(pending))
    touched: dict[int, Event] = {}
    created: set[int] = set()
    previous: dict[int, Priority | None] = {}
    merged: dict[int, int] = {}  # merged event id → the event it went into
    item_event: dict[int, int] = {}
    # No autoflush while items join: a look-up of an event would otherwise first write every
    # event changed so far (an UPDATE per item) and the new ones (an INSERT each); the flush
    # after the loop writes them together.
    with session.no_autoflush:
        # Originals before reposts: a batch (an imported file, a search page) may list a repost
        # before the post it names, and the repost can only join an event that exists.
        for item in sorted(pending, key=lambda i: (i.repost_of is not None, i.id)):
            sig = sketches[item.id]
            vector = vectors[item.id]
            kind = kinds.get(item.source_id, "news")
            message = _is_message(item, kind)
            joined: list[int] = []
            if item.repost_of:
                target = originals.get(item.repost_of) or index.by_external.get(item.repost_of)
                if target is not None:
                    joined.append(_resolve(merged, target))
            if not joined:
                near = _strongest(index, index.again(firsts[item.id], lookups[item.id], cfg,
                                                     message=message, at=seen_at(item)),
                                  vector, memo=close[item.id])
                judged = index.judge(near, sig, vector, cfg, at=seen_at(item),
                                     memo=memos[item.id])
                joined = list(dict.fromkeys(_resolve(merged, e) for e in judged))
            event: Event | None = None
            if joined:
                for e in joined:
                    if e not in loaded:
                        found = session.get(Event, e)
                        if found is not None:
                            loaded[e] = found
                events = [loaded[e] for e in joined if e in loaded]
                events.sort(key=lambda ev: (ev.first_seen_at, ev.id))
                if events:
                    event = events[0]
                    for other in events[1:]:
                        if other.id not in previous:
                            previous[other.id] = cast(Priority | None, other.priority)
                        _merge(session, event, other, created=created)
                        merged[other.id] = event.id
                        index.drop(other.id)
                        touched.pop(other.id, None)
                        created.discard(other.id)
            if event is None:
                # An id given now (_new_event_ids), so the new event needs no INSERT of its own
                # here: the batch's new events are written together at the flush below.
                event = Event(id=new_ids.pop(0), first_item_id=item.id, item_count=0,
                              source_ids=[], reach=0,
                              negative_count=0, scored_count=0, negative_share=0.0, topics=[],
                              signature=sig, first_seen_at=seen_at(item),
                              last_seen_at=seen_at(item), burst=False, story_terms={},
                              kind="message" if message else "event")
                session.add(event)
                loaded[event.id] = event
                created.add(event.id)
            if event.id not in previous:
                previous[event.id] = cast(Priority | None, event.priority)
            if event.kind == "message" and not message:
                # A citizen's message that others report on too is a story now: the story's
                # rules (and clock) apply, the message stays one of its posts.
                event.kind = "event"
            _add(event, item, decisions.get(item.id), own=item.id in mine)
            event.story_terms = merge_profiles(event.story_terms, vector)
            index.put(event, item)
            item_event[item.id] = event.id
            touched[event.id] = event
    into: dict[int, list[int]] = {}
    for gone, kept in merged.items():
        into.setdefault(_resolve(merged, kept), []).append(gone)
    # Every event this batch writes, the merged ones too, carries its number: the next
    # worker's refresh reads them (and drops the merged ones from its index).
    for ev in [*touched.values(), *(loaded[g] for g in merged if g in loaded)]:
        ev.changed_seq = seq
    # Each touched event's verdict before any event is written, so that the flush below
    # writes every event of the batch once, figures and verdict together (an UPDATE per
    # event, and one more for the verdict, before). Nothing here reads an event row: no
    # autoflush.
    with session.no_autoflush:
        # The kinds of the touched events' sources (social or news: the burst test's
        # baseline).
        kinds.update((sid, kind) for sid, (_n, kind) in _sources(
            session, {int(x) for ev in touched.values() for x in ev.source_ids} - kinds.keys()
        ).items())
        # The burst test's counters: this batch's items into their (final) events' hours
        # and their topics' hours, then every touched event's and topic's hours in one
        # read — never a scan of the items stored (monitor.counters).
        counters.add_event_items(session, [(_resolve(merged, item_event[i.id]), seen_at(i))
                                           for i in pending])
        counters.add_topic_items(session, [(i.topics or [], seen_at(i)) for i in pending])
        longest = max(cfg.bursts.social_baseline_h, cfg.bursts.news_baseline_h)
        reader = counters.BurstReader.load(
            session, events=touched, topics={t for ev in touched.values() for t in ev.topics},
            since=now - timedelta(seconds=cfg.bursts.window_s, hours=longest + 1))
        updates = {eid: _refresh(session, ev, kinds, now, cfg, topic_names, reader,
                                 created=eid in created, previous=previous[eid],
                                 praise=praise)
                   for eid, ev in touched.items()}
    session.flush()
    # The items' analysis, event and sketch in one executemany after the events exist (the
    # items' foreign key), each to its final event when a later post of the batch merged
    # its first.
    _write_items(session, table, [{"b_id": i.id, "b_event": _resolve(merged, item_event[i.id]),
                                   "b_sig": sketches[i.id], **_bound(values.get(i.id, {}))}
                                  for i in pending])
    for item in pending:
        set_committed_value(item, "event_id", _resolve(merged, item_event[item.id]))
        set_committed_value(item, "signature", sketches[item.id])
    index.save(session, touched.values(), created=created)
    _cache_on_commit(session, touched.values())
    updates = {eid: replace(u, merged=tuple(sorted(into.get(eid, ())))) for eid, u in
               updates.items()}
    # The story's clock, for the events that need their first alert now (bounded: only
    # those, and only their items). An event that existed before may hold its first posts
    # from earlier batches that raised nothing: the story was out since then.
    first = [eid for eid, u in updates.items()
             if u.priority is not None and u.previous is None]
    if first:
        times = _story_clock(session, first, own)
        updates = {eid: replace(u, story_published_at=times.get(eid, (None, None))[0],
                                story_first_seen=times.get(eid, (None, None))[1])
                   if eid in times else u for eid, u in updates.items()}
    return {item_id: updates[_resolve(merged, eid)] for item_id, eid in item_event.items()}


def _lookup_terms(vector: Mapping[str, float]) -> dict[str, float]:
    """The part of a post's story vector it looks candidates up by (attach): its
    LOOKUP_TERMS strongest terms, and its follow-up anchors and matter signatures."""
    strongest = set(index_terms(vector, LOOKUP_TERMS))
    return {t: w for t, w in vector.items()
            if t in strongest or t.startswith(MATTER_MARK) or followup_anchor(t)}


def _strongest(index: _CandidateIndex, near: set[int], vector: Mapping[str, float],
               limit: int = CANDIDATES_PER_POST, *,
               memo: dict[int, float] | None = None) -> set[int]:
    """The `limit` candidates of `near` closest to the post's story vector by the dot
    product with their profiles (the numerator of the cosine story_hit weighs) — all of them
    when there are no more. Bounds the weighing per post (judge) however busy the window
    is. The profile, not the postings, because a crowded term's postings hold only its
    latest events (EVENTS_PER_TERM): an older story found through its own rarer words still
    counts the common words it shares. `memo` (candidate → closeness, kept by the caller for
    this post) is reused for candidates not put or dropped since, as in judge."""
    if len(near) <= limit:
        return near
    words = vector.keys()
    known = {} if memo is None else memo

    def closeness(e: int) -> float:
        found = known.get(e)
        if found is None or e in index.touched:
            profile = index.profiles.get(e) or {}
            # The shared terms by a set intersection in C (a profile may hold hundreds).
            found = known[e] = sum(vector[t] * profile[t] for t in words & profile.keys())
        return found

    # Ties: the newer event (ids grow with time), so the choice is the same in every run.
    ranked = sorted(near, key=lambda e: (-closeness(e), -e))
    return set(ranked[:limit])


def _sources(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Source id → (name, kind) of these sources, in chunked queries."""
    out: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(sorted(set(ids)), 500):
        out.update((int(sid), (str(name), str(kind))) for sid, name, kind in session.execute(
            select(Source.id, Source.name, Source.kind).where(one_of(session, Source.id, chunk))))
    return out


def _bound(columns: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as the bound parameters _write_items names them ("b_" + column)."""
    return {f"b_{name}": value for name, value in columns.items()}


def _write_items(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """One executemany UPDATE of items by id; rows share their keys ("b_id", "b_event" for
    event_id, "b_sig" for signature, "b_<column>" for any other column)."""
    if not rows:
        return
    named = {"b_event": "event_id", "b_sig": "signature"}
    columns: dict[str, Any] = {named.get(key, key[2:]): bindparam(key)
                               for key in rows[0] if key != "b_id"}
    session.execute(update(table).where(table.c.id == bindparam("b_id")).values(columns),
                    list(rows))


def _story_clock(session: Session, event_ids: Sequence[int], own: OwnVoice | None
                 ) -> dict[int, tuple[datetime | None, datetime | None]]:
    """Per event: the earliest publication (published_at not after the post's own fetch:
    a later one is clock skew, and the office cannot be late for what had not appeared) and
    the earliest fetch, over its posts that are not the office's own. Read after the flush,
    so this batch's posts are counted with the earlier ones."""
    out: dict[int, tuple[datetime | None, datetime | None]] = {}
    for chunk in _chunks(sorted(set(event_ids)), 500):
        rows = session.execute(
            select(Item.event_id, Item.published_at, Item.fetched_at, Source.name, Item.author)
            .join(Source, Source.id == Item.source_id).where(one_of(session, Item.event_id, chunk)))
        for event_id, published, fetched, name, author in rows:
            if event_id is None or (own is not None and own.is_own(name, author)):
                continue
            pub, seen = out.get(int(event_id), (None, None))
            if published is not None and published <= fetched and (pub is None
                                                                    or published < pub):
                pub = published
            if seen is None or fetched < seen:
                seen = fetched
            out[int(event_id)] = (pub, seen)
    return out


def item_text(item: Item) -> str:
    """What is judged and compared: the title and the body, once (feeds often repeat the
    title)."""
    if item.title and item.text.startswith(item.title):
        return item.text
    return f"{item.title}\n{item.text}".strip()


def _load_events(session: Session, ids: Iterable[int]) -> dict[int, Event]:
    """The events with these ids, in chunked queries. The caller keeps the dict: the
    session's identity map holds objects only weakly."""
    out: dict[int, Event] = {}
    for chunk in _chunks(sorted(set(ids)), 500):
        out.update((ev.id, ev) for ev in session.scalars(
            select(Event).where(one_of(session, Event.id, chunk))))
    return out


def _new_event_ids(session: Session, n: int) -> list[int]:
    """n ids for events this batch may create. PostgreSQL: from the table's sequence (ids
    left unused are a gap, nothing more). SQLite: after the highest id — safe because this
    transaction holds SQLite's single write lock (it wrote the items' analysis), so no one
    else inserts an event before it commits."""
    if session.get_bind().dialect.name == "postgresql":
        return [int(i) for i in session.scalars(
            text("SELECT nextval(pg_get_serial_sequence('events', 'id')) "
                 "FROM generate_series(1, :n)"), {"n": n})]
    top = session.scalar(select(func.max(Event.id))) or 0
    return list(range(int(top) + 1, int(top) + 1 + n))


def _change_mark(session: Session) -> int:
    """The highest change number written (Event.changed_seq): what a reader has seen."""
    return int(session.scalar(select(func.max(Event.changed_seq))) or 0)


def _resolve(merged: Mapping[int, int], event_id: int) -> int:
    while event_id in merged:
        event_id = merged[event_id]
    return event_id


def _repost_events(session: Session, originals: Sequence[str]) -> dict[str, int]:
    """The event of each named original, in one query for the batch."""
    if not originals:
        return {}
    rows = session.execute(
        select(Item.external_id, Item.event_id)
        .where(Item.external_id.in_(sorted(set(originals))), Item.event_id.is_not(None)))
    out: dict[str, int] = {}
    for external_id, event_id in rows:
        if external_id is not None and event_id is not None:
            out.setdefault(external_id, int(event_id))
    return out


@dataclass
class _CandidateIndex:
    """The events a batch may join: those filed under one of the batch's terms and seen
    since the horizon, with their near-duplicate sketch and story profile. Events created or
    grown during the batch are added as it goes."""

    terms: dict[str, set[int]]
    sketches: dict[int, list[int]]
    profiles: dict[int, dict[str, float]]
    by_external: dict[str, int]
    kinds: dict[int, str]
    seen: dict[int, datetime]  # each candidate's last sighting
    first: dict[int, datetime]  # … and its first (a matter signature's window: best_story)
    # The candidates put or dropped since the index was loaded: an earlier `judge` over
    # candidates none of which is here still holds (attach's first pass, reused).
    touched: set[int] = field(default_factory=set)
    # term → the events filed under it since the index was loaded (put, refresh): what a
    # post's candidates can have gained since its first pass (again).
    fresh: dict[str, set[int]] = field(default_factory=dict)
    # term → the events read filed under it from event_terms: already filed, so save need not
    # write them; and each candidate's last sighting as read, which its term rows hold.
    filed: dict[str, set[int]] = field(default_factory=dict)
    filed_seen: dict[int, datetime] = field(default_factory=dict)
    _sketch_sets: dict[int, frozenset[int]] = field(default_factory=dict)  # see _sketch_set
    _places_of: dict[int, set[str]] = field(default_factory=dict)  # see _places

    @classmethod
    def load(cls, session: Session, horizon: datetime, terms: set[str], *,
             followup: datetime, matter: datetime | None = None) -> _CandidateIndex:
        """Events filed under `terms` and seen since `horizon`; under a follow-up anchor
        (stories.followup_anchor), seen since the earlier `followup`; under a matter
        signature (stories.MATTER_MARK), seen since `matter` (the later of it and the
        horizon: a signature never narrows the event window)."""
        postings: dict[str, set[int]] = {}
        versions: dict[int, int] = {}
        seen: dict[int, datetime] = {}
        anchors = {t for t in terms if followup_anchor(t)}
        signed = {t for t in terms if t.startswith(MATTER_MARK)}
        plain = terms - anchors - signed
        # Thousands of rows a batch: read on the session's connection (plain Core rows, no
        # ORM result layer — a third of this read's CPU), in the session's transaction.
        conn = session.connection()
        # PostgreSQL returns the zone with each time: read as it comes, without the UTC
        # column type's conversion per row (a tenth of this read); times compare the same.
        last_seen: Any = (type_coerce(EventTerm.last_seen_at, DateTime(timezone=True))
                          .label("last_seen_at")
                          if conn.dialect.name == "postgresql" else EventTerm.last_seen_at)
        for group, since in ((plain, horizon), (anchors, followup),
                             (signed, min(horizon, matter or horizon))):
            for chunk in _chunks(sorted(group), 500):
                # The latest EVENTS_PER_TERM events of each term: a common word filed by
                # hundreds of events in a busy week adds little to any post's match, and
                # the events a post belongs to share its rarer terms too.
                rank = func.row_number().over(partition_by=EventTerm.term,
                                              order_by=(EventTerm.last_seen_at.desc(),
                                                        EventTerm.event_id.desc()))
                ranked = (select(EventTerm.term, EventTerm.event_id, Event.item_count,
                                 last_seen, rank.label("rank"))
                          .join(Event, Event.id == EventTerm.event_id)
                          .where(one_of(session, EventTerm.term, chunk),
                                 EventTerm.last_seen_at >= since,
                                 Event.merged_into.is_(None))
                          .subquery())
                for term, event_id, count, last in conn.execute(
                        select(ranked.c.term, ranked.c.event_id, ranked.c.item_count,
                               ranked.c.last_seen_at).where(ranked.c.rank <= EVENTS_PER_TERM)
                        ).all():  # one fetchall: a row at a time costs twice the CPU
                    found = postings.get(term)
                    if found is None:
                        found = postings[term] = set()
                    found.add(event_id)
                    versions[event_id] = count
                    # an event's last sighting is written on all of its terms (save)
                    known = seen.get(event_id)
                    if known is None or last > known:
                        seen[event_id] = last
        # Each candidate's version (its item count: it grows with every post that joins or
        # is merged in, the only ways a profile changes) is read with its postings; the
        # sketch and profile only when this process has not read that version before. In a
        # steady stream most of the window is unchanged from batch to batch, and decoding
        # thousands of profiles per batch was most of the analysis's cost. What is cached is
        # only ever committed state: this runs before the batch writes any event, and the
        # batch's own changes are never put in the cache.
        cache = _cache_for(session)
        stale = [e for e, v in versions.items() if cache.get(e, (None,))[0] != v]
        for chunk_ids in _chunks(stale, 500):
            for eid, count, sig, story, kind, first_at in session.execute(
                    select(Event.id, Event.item_count, Event.signature, Event.story_terms,
                           Event.kind, Event.first_seen_at)
                    .where(one_of(session, Event.id, chunk_ids))).all():
                cache[int(eid)] = (int(count), list(sig or []), dict(story or {}), str(kind),
                                   first_at)
        sketches: dict[int, list[int]] = {}
        profiles: dict[int, dict[str, float]] = {}
        kinds: dict[int, str] = {}
        firsts: dict[int, datetime] = {}
        for eid in versions:
            _count, sig, story, kind, first_at = cache[eid]
            # Shared, not copied: the index never changes a profile in place (put replaces).
            sketches[eid], profiles[eid], kinds[eid] = sig, story, kind
            firsts[eid] = first_at
        if len(cache) > _CACHE_MAX:
            cache.clear()  # a bound on memory; the next batch reads its window afresh
        # The rows as read, apart from the postings that the batch's events will join.
        filed = {term: set(members) for term, members in postings.items()}
        return cls(postings, sketches, profiles, {}, kinds, seen, firsts, filed=filed,
                   filed_seen=dict(seen))

    def refresh(self, session: Session, mark: int, terms: set[str]) -> int:
        """Under the lock: the events written since `mark` (Event.changed_seq) into the
        index as they stand now — a merged one dropped, any other put back if it is a
        candidate already or filed under one of the batch's `terms` — each marked touched.
        Returns the number this batch's writes carry: the next after the last written (the
        lock makes the numbers follow the commits). Other workers' batches since the mark
        are a batch or two: this reads their events, not the window."""
        cache = _cache_for(session)
        top = mark
        for (eid, count, sig, story, kind, first_at, last_at, merged_into,
             changed) in session.execute(
                select(Event.id, Event.item_count, Event.signature, Event.story_terms,
                       Event.kind, Event.first_seen_at, Event.last_seen_at, Event.merged_into,
                       Event.changed_seq).where(Event.changed_seq > mark)).all():
            eid, top = int(eid), max(top, int(changed))
            if kind == "merged" or merged_into is not None:
                cache.pop(eid, None)
                if eid in self.profiles or eid in self.seen:
                    self.drop(eid)
                continue
            # Committed rows, as load's cache holds them.
            entry: _Cached = (int(count), list(sig or []), dict(story or {}), str(kind),
                              first_at)
            cache[eid] = entry
            filed = index_terms(entry[2])
            if eid not in self.profiles and terms.isdisjoint(filed):
                continue
            self._enter(eid, entry[1], entry[2], str(kind), last_at, first_at, filed)
            for term in filed:
                self.filed.setdefault(term, set()).add(eid)  # the other worker's save did
            self.filed_seen[eid] = last_at
        return top + 1

    def matches(self, sketch: Sequence[int], vector: Mapping[str, float],
                cfg: EventSettings, *, message: bool, at: datetime) -> list[int]:
        """Every candidate the post joins: its best near-duplicate, then every event whose
        profile it matches as a story (best first). A citizen's message never joins another
        message: two citizens asking the same thing are two requests, each owed a reply.
        An event last seen more than the event window before the post (`at`, its own time)
        is joined only as a follow-up: sharing a follow-up anchor with the post."""
        return self.judge(self.near(vector, cfg, message=message, at=at), sketch, vector,
                          cfg, at=at)

    def near(self, vector: Mapping[str, float], cfg: EventSettings, *, message: bool,
             at: datetime) -> set[int]:
        """The candidates `matches` weighs for a post: filed under its terms (below), and in
        the window (or a follow-up, or a signed matter, in theirs)."""
        return self.first_near(vector, cfg, message=message, at=at)[0]

    def first_near(self, vector: Mapping[str, float], cfg: EventSettings, *, message: bool,
                   at: datetime) -> tuple[set[int], set[int]]:
        """`near`, and every event filed under any of the post's terms (for `again`).

        Filed under one of the post's LEAD_TERMS strongest terms or under a name
        (NAME_MARK: anchors, tags, matter signatures), or under two of its terms at least:
        an event that shares one lesser term with the post shares little else (a story
        joins on min_shared terms), and in a busy window such events were nine in ten of
        a post's candidates."""
        lead = self._lead(vector)
        filed: set[int] = set()
        once: set[int] = set()
        for t in vector:
            found = self.terms.get(t)
            if not found:
                continue
            if t in lead:
                filed.update(found)
            else:
                filed.update(found & once)
            once.update(found)
        return self._window(filed, vector, cfg, message=message, at=at), once

    def again(self, first: tuple[set[int], set[int]], vector: Mapping[str, float],
              cfg: EventSettings, *, message: bool, at: datetime) -> set[int]:
        """`near` now, from the post's `first_near` and what changed since: an event not
        touched since is filed and timed as it was, so only the touched ones (and those
        filed since, `fresh`) are tested again — the same set, without the union of every
        posting per post."""
        near0, once0 = first
        if not self.touched:
            return near0
        changed = once0 & self.touched
        for t in vector:
            found = self.fresh.get(t)
            if found:
                changed |= found
        out = near0 - self.touched
        if changed:
            # first_near's rule, event by event (a few touched ones, not every posting).
            lead = self._lead(vector)
            filed = set()
            for e in changed:
                under = [t for t in vector if e in self.terms.get(t, ())]
                if len(under) >= 2 or not lead.isdisjoint(under):
                    filed.add(e)
            out |= self._window(filed, vector, cfg, message=message, at=at)
        return out

    @staticmethod
    def _lead(vector: Mapping[str, float]) -> set[str]:
        strongest = sorted(vector, key=lambda t: (-vector[t], t))[:LEAD_TERMS]
        return {*strongest, *(t for t in vector if t.startswith(NAME_MARK))}

    def _window(self, filed: set[int], vector: Mapping[str, float], cfg: EventSettings, *,
                message: bool, at: datetime) -> set[int]:
        stale_before = at - timedelta(days=cfg.window_days)
        anchors = [t for t in vector if followup_anchor(t)]
        # A matter signature keeps an event a candidate for matter_hours after it was last
        # seen (a follow-up of the complaint a week or more later); best_story decides.
        signed_before = at - timedelta(hours=cfg.stories.matter_hours)
        signed = [t for t in vector if t.startswith(MATTER_MARK)]
        return {e for e in filed
                if not (message and self.kinds.get(e) == "message")
                and (e not in self.seen or self.seen[e] >= stale_before
                     or any(a in self.profiles.get(e, ()) for a in anchors)
                     or (self.seen[e] >= signed_before
                         and any(m in self.profiles.get(e, ()) for m in signed)))}

    def judge(self, near: set[int], sketch: Sequence[int], vector: Mapping[str, float],
              cfg: EventSettings, *, at: datetime,
              memo: dict[int, tuple[float | None, float | None]] | None = None) -> list[int]:
        """`matches` over the candidates `near`: its best near-duplicate (events.best_match),
        then its story matches (stories.best_story), weighed candidate by candidate. Each
        candidate's verdict is a function of the post and of that candidate's entry alone
        (sketch, profile, first and last sighting), so `memo` (candidate → verdict, kept by
        the caller for this post) is reused for every candidate not put or dropped since
        (`touched`), and only the others are weighed again: the same answer."""
        policy = cfg.cluster
        floor = min(policy.min_shingles, SKETCH_SIZE)
        weigh_dups = len(sketch) >= floor  # best_match: too short a sketch matches nothing
        # A candidate whose sketch shares no value with the post's has similarity 0, below
        # any threshold: skipped with a set test instead of the full estimate (same result).
        mine = set(sketch)
        prefilter = policy.threshold > 0
        post = StoryPost.of(vector) if vector else None
        # story_hit's first test, made here so that the many candidates sharing too few
        # terms skip the call and the time tests (story_hit would return None for them)
        few = cfg.stories.min_shared - 1
        since = at - timedelta(hours=cfg.stories.outage_hours)
        span = timedelta(hours=cfg.stories.matter_hours)
        after, before = at - span, at + span
        dup: tuple[float, int] | None = None
        hits: list[tuple[float, int]] = []
        for e in sorted(near):
            verdict = None if memo is None or e in self.touched else memo.get(e)
            if verdict is None:
                similar: float | None = None
                other = self.sketches.get(e)
                if (weigh_dups and other is not None and len(other) >= floor
                        and not (prefilter and mine.isdisjoint(other))):
                    similar = similarity_of_sets(mine, self._sketch_set(e, other),
                                                 floor=policy.threshold)
                story: float | None = None
                profile = self.profiles.get(e)
                if (post is not None and profile is not None
                        and len(post.terms.intersection(profile)) >= few):
                    seen = self.seen.get(e)
                    first = self.first.get(e)
                    # current: seen within outage_hours; near: the post within matter_hours
                    # of the candidate's span, before or after it (an archive's old post
                    # finds a later story as well as a late post an earlier one).
                    story = story_hit(post, profile, cfg.stories,
                                      current=seen is None or seen >= since,
                                      near=(seen is None or seen >= after)
                                      and (first is None or first <= before),
                                      profile_places=self._places(e, profile))
                verdict = (similar, story)
                if memo is not None:
                    memo[e] = verdict
            similar, story = verdict
            if similar is not None and (dup is None or similar > dup[0]):
                dup = (similar, e)
            if story is not None:
                hits.append((story, e))
        out = [dup[1]] if dup is not None else []
        hits.sort(key=lambda h: (-h[0], h[1]))
        out.extend(eid for _score, eid in hits if eid not in out)
        return out

    def _sketch_set(self, event_id: int, sketch: list[int]) -> frozenset[int]:
        # Each candidate is weighed against many posts of a batch: its sketch's set once.
        found = self._sketch_sets.get(event_id)
        if found is None:
            found = self._sketch_sets[event_id] = frozenset(sketch)
        return found

    def _places(self, event_id: int, profile: dict[str, float]) -> set[str]:
        # … and its profile's places, read by every comparison that passes the first test.
        found = self._places_of.get(event_id)
        if found is None:
            found = self._places_of[event_id] = named_places(profile)
        return found

    def put(self, event: Event, item: Item) -> None:
        self._enter(event.id, self.sketches.get(event.id) or list(event.signature or []),
                    dict(event.story_terms), event.kind, event.last_seen_at,
                    event.first_seen_at, index_terms(event.story_terms))
        if item.external_id:
            self.by_external.setdefault(item.external_id, event.id)

    def _enter(self, event_id: int, sketch: list[int], profile: dict[str, float], kind: str,
               last: datetime, first: datetime, filed: Iterable[str]) -> None:
        """The event as it stands now, filed under `filed`, marked touched (put, refresh)."""
        self.touched.add(event_id)
        self._sketch_sets.pop(event_id, None)
        self._places_of.pop(event_id, None)
        self.sketches[event_id], self.profiles[event_id] = sketch, profile
        self.kinds[event_id], self.seen[event_id], self.first[event_id] = kind, last, first
        for term in filed:
            self.terms.setdefault(term, set()).add(event_id)
            self.fresh.setdefault(term, set()).add(event_id)

    def drop(self, event_id: int) -> None:
        self.touched.add(event_id)
        self._sketch_sets.pop(event_id, None)
        self._places_of.pop(event_id, None)
        self.sketches.pop(event_id, None)
        self.profiles.pop(event_id, None)
        for members in self.terms.values():
            members.discard(event_id)

    def save(self, session: Session, events: Iterable[Event], *,
             created: Container[int] = frozenset()) -> None:
        """File each touched event under its profile's strongest terms, as of now: new terms
        are added, the event's last sighting is written on all of its terms. Terms that
        dropped out of the profile stay filed: a stale term only makes an event a candidate,
        and the profile decides.

        Only what changed is written: a (term, event) row read at load is not inserted
        again, and a term row already at the event's last sighting is not rewritten — in a
        steady stream most touched events keep their strongest terms and their last
        sighting moves seldom, and every row written, even with the value it had, is a new
        row version (ten per post before, the most rows the analysis wrote)."""
        live = [ev for ev in events if ev.kind != "merged"]
        rows = [{"term": t, "event_id": ev.id, "last_seen_at": ev.last_seen_at}
                for ev in live for t in index_terms(ev.story_terms)
                if ev.id not in self.filed.get(t, ())]
        if rows:
            session.execute(insert_ignore(session, EventTerm.__table__), rows)
        # The batch's new events were filed just now, at their last sighting; a loaded one
        # seen no later than its rows say needs nothing.
        moved = [{"eid": ev.id, "seen": ev.last_seen_at} for ev in live
                 if ev.id not in created and not (ev.id in self.filed_seen
                                                  and ev.last_seen_at <= self.filed_seen[ev.id])]
        if not moved:
            return
        table = cast(Table, EventTerm.__table__)
        session.execute(update(table).where(table.c.event_id == bindparam("eid"),
                                            table.c.last_seen_at < bindparam("seen"))
                        .values(last_seen_at=bindparam("seen")), moved)


# event id → (item count, sketch, profile, kind, first sighting) as last read, per database
# (engine) in this process: see _CandidateIndex.load. Keyed weakly by the engine, so a
# disposed engine's entries go with it and two databases never share one.
_Cached = tuple[int, list[int], dict[str, float], str, datetime]
_CACHES: weakref.WeakKeyDictionary[Engine, dict[int, _Cached]] = weakref.WeakKeyDictionary()
_CACHE_MAX = 200_000


def _cache_for(session: Session) -> dict[int, _Cached]:
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    return _CACHES.setdefault(engine, {})


_PENDING = "yuqing.event_cache_pending"  # session.info: this transaction's events, as written


def _cache_on_commit(session: Session, events: Iterable[Event]) -> None:
    """The batch's events as this transaction leaves them go into the process's cache when
    (and only when) it commits — committed state then, and the next batch need not read
    back what this one wrote (most of a busy window's candidates, batch after batch). A
    rollback drops them."""
    pending: dict[int, _Cached] = session.info.setdefault(_PENDING, {})
    pending.update((ev.id, (int(ev.item_count), list(ev.signature or []),
                            dict(ev.story_terms or {}), str(ev.kind), ev.first_seen_at))
                   for ev in events if ev.kind != "merged")
    if not session.info.get(_PENDING + ".hooked"):
        session.info[_PENDING + ".hooked"] = True
        cache = _cache_for(session)

        def committed(done: Session) -> None:
            cache.update(done.info.pop(_PENDING, {}))

        def rolled_back(done: Session) -> None:
            done.info.pop(_PENDING, None)

        sa_event.listen(session, "after_commit", committed)
        sa_event.listen(session, "after_rollback", rolled_back)


def _chunks(values: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _merge(session: Session, kept: Event, gone: Event, *,
           created: Container[int] = frozenset()) -> None:
    """Fold `gone` into `kept`: its items move, its figures add up, it is kept as a row of
    kind "merged" (merged_into) so that links to it still resolve, and filed under no term.
    `created` names the batch's new events: one of them holds no stored item, term row or
    counter yet (attach writes the batch's at its end, to the final event), so folding it
    touches no stored row — the common case, a later post of the batch bridging two."""
    if gone.id not in created:
        if kept.id in created:
            session.flush()  # the kept event's row, which the items' foreign key needs
        session.execute(update(Item).where(Item.event_id == gone.id).values(event_id=kept.id)
                        .execution_options(synchronize_session="fetch"))
        session.execute(delete(EventTerm).where(EventTerm.event_id == gone.id))
        counters.merge_events(session, kept.id, gone.id)
    kept.item_count += gone.item_count
    kept.source_ids = list(dict.fromkeys([*kept.source_ids, *gone.source_ids]))
    kept.reach += gone.reach
    kept.negative_count += gone.negative_count
    kept.scored_count += gone.scored_count
    kept.negative_share = (kept.negative_count / kept.scored_count
                           if kept.scored_count else 0.0)
    kept.topics = list(dict.fromkeys([*kept.topics, *gone.topics]))
    kept.first_seen_at = min(kept.first_seen_at, gone.first_seen_at)
    kept.last_seen_at = max(kept.last_seen_at, gone.last_seen_at)
    kept.base_priority = higher(cast(Priority | None, kept.base_priority),
                                cast(Priority | None, gone.base_priority))
    kept.story_terms = merge_profiles(kept.story_terms, gone.story_terms)
    if gone.kind == "event":
        kept.kind = "event"
    gone.kind = "merged"
    gone.merged_into = kept.id
    gone.item_count = 0


def _add(event: Event, item: Item, decision: Priority | None, *, own: bool = False) -> None:
    event.item_count += 1
    if item.source_id not in event.source_ids:
        event.source_ids = [*event.source_ids, item.source_id]
    if not own:
        # The story's spread, not the answer's: the office's own explainer read 10万+ times
        # is the response working, and must not escalate the complaint it answers.
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


def _refresh(session: Session, event: Event, kinds: Mapping[int, str], now: datetime,
             cfg: EventSettings, topic_names: Mapping[str, str],
             reader: counters.BurstReader, *, created: bool,
             previous: Priority | None, praise: Container[int] = ()) -> EventUpdate:
    social = any(kinds.get(int(s)) in SOCIAL_KINDS for s in event.source_ids)
    burst = detect_counts(reader.event(event.id), now, social=social, policy=cfg.bursts)
    reasons: list[str] = []
    if not burst.burst:
        burst = _topic_burst(reader, event, now, cfg, social, topic_names) or burst
    event.burst = burst.burst
    event.burst_reason = burst.reason
    base = cast(Priority | None, event.base_priority)
    answered = False
    if event.kind == "message" and event.first_item_id is not None:
        first = session.get(Item, event.first_item_id)
        if first is not None and first.id in praise:
            # Thanks, not a request (flagging.praise_only): nothing waits for an answer, and
            # a burst of thanks is no alert either.
            answered = True
        elif first is not None and _unreplied(first):
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


def _topic_burst(reader: counters.BurstReader, event: Event, now: datetime,
                 cfg: EventSettings, social: bool,
                 topic_names: Mapping[str, str]) -> Burst | None:
    """A burst of one of the event's topics (many different stories on 社区矫正 at once).
    Its reason names the topic as people know it; a topic since removed from the taxonomy
    has no name left, so its id is the best there is."""
    for topic in event.topics:
        result = detect_counts(reader.topic(topic), now, social=social, policy=cfg.bursts,
                               topic=topic_names.get(topic, topic))
        if result.burst:
            return result
    return None
