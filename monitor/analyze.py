"""Analyse stored items: sentiment, topics, and the flagging decision. Flushes, never commits.

Idempotent: only items not yet analysed are touched, so a redelivered batch does nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from monitor.db import one_of
from monitor.event_store import EventSettings, EventUpdate, attach, item_text
from monitor.flagging import FlagDecision, FlagPolicy, decide, praise_only
from monitor.models import Item, Source
from monitor.office import OwnVoice
from monitor.remit import elsewhere
from monitor.sentiment.base import Scorer, Sentiment, model_version
from monitor.stories import field_vocabulary
from monitor.topics import Taxonomy


@dataclass(frozen=True)
class Analysis:
    item_id: int
    sentiment: Sentiment | None
    topics: tuple[str, ...]
    decision: FlagDecision | None
    # The event the item joined and what that did to the event (issue 3); alerts are opened
    # per event from this. None only for callers that analyse without events.
    event: EventUpdate | None = None
    # The office's own post (monitor.office): never flagged, but it joins its event, where
    # the desk shows it as 本单位已发声.
    own: bool = False


@lru_cache(maxsize=8)
def story_vocabulary(taxonomy: Taxonomy) -> frozenset[str]:
    """The field's own words, damped in story vectors (monitor.stories): every topic keyword,
    rule term, watch name and sensitive term of the taxonomy. Once per taxonomy object."""
    words = [k for t in taxonomy.topics for k in t.keywords]
    words += [term for t in taxonomy.topics for r in t.rules for term in (*r.all, *r.any)]
    words += [*taxonomy.watch, *(h.term for h in taxonomy.sensitive_terms)]
    return field_vocabulary(words)


_ANALYSED = "yuqing.analysed"  # session.info key of the batch last analysed


def analysed(session: Session) -> dict[int, Item]:
    """The items of the batch this session analysed last, by id (as analyze_items wrote
    them; a caller checks they are not expired by a commit since)."""
    return cast(dict[int, Item], session.info.get(_ANALYSED, {}))


def claim(session: Session, item_ids: Sequence[int], now: datetime) -> set[int]:
    """Claim the items not yet analysed for this transaction: the ids it returns are this
    transaction's to analyse, count and group. If another worker analysed one meanwhile (a
    redelivered batch running side by side), it is not returned — which is what keeps events
    and counters right under redelivery.

    On PostgreSQL a row lock claims them (FOR UPDATE SKIP LOCKED: a batch another worker
    holds is skipped, not waited for) and nothing is written yet: the item's analysis, its
    event and its sketch are then written by one UPDATE (monitor.event_store.attach). Every
    write of an item row is a new row version in each of its indexes, the trigram GIN of
    its text among them (core_0007), so one write instead of three is most of the
    database's work per item. On SQLite the claim is a conditional UPDATE, as it takes the
    database's single write lock, which attach's serialisation relies on."""
    if not item_ids:
        return set()
    where = (one_of(session, Item.id, sorted(item_ids)), Item.analyzed_at.is_(None))
    if session.get_bind().dialect.name == "postgresql":
        locked = session.execute(select(Item.id).where(*where).order_by(Item.id)
                                 .with_for_update(skip_locked=True))
        return {int(i) for i in locked.scalars()}
    rows = session.execute(
        update(Item)
        .where(*where)
        .values(analyzed_at=now, analysis_runs=Item.analysis_runs + 1)
        .returning(Item.id)
        .execution_options(synchronize_session=False))
    return {int(i) for i in rows.scalars()}


def analyze_items(
    session: Session,
    item_ids: Sequence[int],
    *,
    scorer: Scorer,
    taxonomy: Taxonomy,
    policy: FlagPolicy,
    now: datetime,
    events: EventSettings,
    own: OwnVoice,
) -> list[Analysis]:
    items = session.scalars(
        select(Item)
        .where(one_of(session, Item.id, list(item_ids)), Item.analyzed_at.is_(None))
        .order_by(Item.id)
    ).all()
    if not items:
        return []
    texts = [item_text(item) for item in items]
    sentiments = scorer.score_many(texts)
    names = {t.id: t.name for t in taxonomy.topics}
    # The source's name tells an own post (with its author), its kind a message-board
    # letter from a post: one query for the batch's sources.
    sources: dict[int, tuple[str, str]] = {
        sid: (name, kind) for sid, name, kind in session.execute(
            select(Source.id, Source.name, Source.kind)
            .where(one_of(session, Source.id, {i.source_id for i in items})))}
    planned: list[tuple[Item, Sentiment | None, tuple[str, ...], list[str],
                        FlagDecision | None, bool]] = []
    praise: set[int] = set()  # messages that only praise: no reply alert (praise_only)
    for item, text, sentiment in zip(items, texts, sentiments, strict=True):
        match = taxonomy.match(text)
        name, kind = sources.get(item.source_id, ("", "news"))
        mine = own.is_own(name, item.author)
        # The office's own release is the answer, never an alert (however negative the
        # story it answers reads); another province's story is that province's to answer.
        decision = (None if mine or elsewhere(text) is not None
                    else decide(match, sentiment, policy, names, kind=kind))
        if kind == "board" and praise_only(match):
            praise.add(item.id)
        planned.append((item, sentiment, match.topics, list(dict.fromkeys(match.keywords)),
                        decision, mine))
    claimed = claim(session, [item.id for item in items], now)
    if not claimed:
        return []
    # The scorer the batch was scored with is one model (monitor.sentiment.active): its
    # version goes on every item of the batch.
    version = model_version(scorer)
    # The batch's own values, written with each item's event in attach's one UPDATE per
    # item (claim says why one).
    values = {
        item.id: {"analyzed_at": now,
                  "analysis_runs": (item.analysis_runs or 0) + 1,
                  "sentiment_score": sentiment.score if sentiment else None,
                  "sentiment_label": sentiment.label if sentiment else None,
                  "sentiment_engine": scorer.name,
                  "sentiment_model": version,
                  "sentiment_p_negative": sentiment.p_negative if sentiment else None,
                  "sentiment_p_neutral": sentiment.p_neutral if sentiment else None,
                  "sentiment_p_positive": sentiment.p_positive if sentiment else None,
                  "topics": list(topics), "keywords": keywords}
        for item, sentiment, topics, keywords, _d, _m in planned if item.id in claimed}
    out: list[Analysis] = []
    fresh: list[Item] = []
    for item, sentiment, topics, _keywords, decision, mine in planned:
        if item.id not in claimed:
            continue
        # The UPDATE bypasses the loaded objects: give them the values written, as committed
        # state (no refresh query per item, nothing marked to write again).
        for attr, value in values[item.id].items():
            set_committed_value(item, attr, value)
        out.append(Analysis(item.id, sentiment, topics, decision, own=mine))
        fresh.append(item)
    # Kept for the alerts opened next in this transaction (analysed): the session holds its
    # objects only weakly, so without this they are gone by then and read again.
    session.info[_ANALYSED] = {item.id: item for item in fresh}
    updates = attach(
        session,
        fresh,
        {a.item_id: a.decision.priority if a.decision else None for a in out},
        now=now,
        cfg=events,
        topic_names=names,
        vocabulary=story_vocabulary(taxonomy),
        own=own,
        praise=frozenset(praise),
        values=values,
    )
    return [replace(a, event=updates.get(a.item_id)) for a in out]
