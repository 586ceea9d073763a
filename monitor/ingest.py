"""Idempotent storage of parsed entries: insert-or-ignore on (source, entry_id) and
(source, content_hash), so a re-poll or a redelivered task stores nothing twice.

The content_hash column is the content dedup key. For a feed entry it is the hash of the
story's text, so a feed that re-issues a story under a new guid stores it once. For a post
with the platform's own id (a Weibo status, a board thread, a pushed post with `id`) the id is
part of the key: two different posts with the same words — bare "转发微博" reposts, a slogan
posted by many accounts through one search — are different posts, each with its own reach.
Rows stored before this rule keep their old key; a re-poll still matches them by entry_id,
which for such posts is derived from the same platform id."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db import insert_ignore
from monitor.feeds import FeedEntry
from monitor.models import Event, Item, ItemRaw
from monitor.social.board import REPLY_FIELDS, is_answered
from monitor.text import content_hash

# Column limits from monitor.models; over-long values are cut rather than failing the batch.
_ENTRY_ID_MAX = 500
_LINK_MAX = 2000
_AUTHOR_MAX = 300
# Rows per INSERT statement: 13 columns × 400 rows stays far below SQLite's and PostgreSQL's
# limits on bound parameters.
_CHUNK = 400


def dedup_hash(entry: FeedEntry) -> str:
    """The (source, content_hash) key of an entry: the text's hash, plus the platform's post
    id when the entry has one (see the module docstring)."""
    text_hash = content_hash(entry.title, entry.text)
    # Duck-typed so storage need not know the social entry type (monitor.social.SocialEntry).
    external_id = getattr(entry, "external_id", None)
    if not external_id:
        return text_hash
    keyed = f"id\x1f{external_id}\x1f{text_hash}"
    return hashlib.sha256(keyed.encode("utf-8")).hexdigest()


def _row(source_id: int, entry: FeedEntry, now: datetime) -> dict[str, object]:
    return {
        "source_id": source_id,
        "entry_id": entry.entry_id[:_ENTRY_ID_MAX],
        "content_hash": dedup_hash(entry),
        "title": entry.title,
        "text": entry.text,
        "link": entry.link[:_LINK_MAX] if entry.link else None,
        "author": entry.author[:_AUTHOR_MAX] if entry.author else None,
        "published_at": entry.published_at,
        "fetched_at": now,
        "topics": [],
        "keywords": [],
        "analysis_runs": 0,
    }


# Entry ids that name one post on its platform whichever source brought it: a Weibo status
# by its mid (monitor.social.weibo_ids turns an RSS bridge's bid into the mid), so a keyword
# search, an account timeline and a bridge of that account store the post once. Other ids
# (a feed's guid, a board's thread id, a pushed id) are only unique within their source.
PLATFORM_IDS = ("weibo:",)


def _not_stored_elsewhere(session: Session, source_id: int,
                          rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """The rows whose platform-wide id no other source has stored already. A check, not a
    constraint: two sources polled at the same instant may both store a post (the analysis
    then joins the copies as near-duplicates), and databases holding such copies from before
    upgrade without a migration that would have to choose which to delete."""
    ids = [str(r["entry_id"]) for r in rows if str(r["entry_id"]).startswith(PLATFORM_IDS)]
    if not ids:
        return rows
    taken: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        taken.update(session.scalars(
            select(Item.entry_id).where(Item.entry_id.in_(ids[start:start + _CHUNK]),
                                        Item.source_id != source_id)))
    return [r for r in rows if r["entry_id"] not in taken]


def store_entries(
    session: Session, source_id: int, entries: Sequence[FeedEntry], now: datetime
) -> list[int]:
    """Store entries not seen before; return the ids of the new items (in feed order)."""
    if not entries:
        return []
    rows: list[dict[str, object]] = []
    kept: list[FeedEntry] = []
    seen: set[tuple[object, object]] = set()
    for entry in entries:
        row = _row(source_id, entry, now)
        # A feed can repeat an entry within one document; the database would ignore the
        # second copy anyway, but skipping it here keeps the statement small.
        key = (row["entry_id"], row["content_hash"])
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
        kept.append(entry)
    # A platform id another source stored already: neither the row nor its raw body.
    allowed = {id(r) for r in _not_stored_elsewhere(session, source_id, rows)}
    pairs = [(r, e) for r, e in zip(rows, kept, strict=True) if id(r) in allowed]
    rows, kept = [r for r, _ in pairs], [e for _, e in pairs]
    table = Item.__table__
    order = {(row["entry_id"], row["content_hash"]): n for n, row in enumerate(rows)}
    found: list[tuple[int, int]] = []
    for start in range(0, len(rows), _CHUNK):
        # One INSERT … ON CONFLICT DO NOTHING per chunk: RETURNING reports exactly the rows
        # inserted (the database's order of them is not promised, so each is put back in
        # feed order by its keys). Given as an executemany of one compiled statement, which
        # SQLAlchemy sends as multi-row VALUES ("insertmanyvalues"): a `.values(rows)`
        # statement was compiled afresh for every chunk, a fifth of a millisecond per item.
        stmt = (insert_ignore(session, table)
                .returning(table.c.id, table.c.entry_id, table.c.content_hash))
        for item_id, entry_id, digest in session.execute(stmt, rows[start : start + _CHUNK]):
            found.append((order[(entry_id, digest)], int(item_id)))
    found.sort()
    _keep_raw(session, [(item_id, kept[n]) for n, item_id in found])
    return [item_id for _, item_id in found]


def _keep_raw(session: Session, new: Sequence[tuple[int, FeedEntry]]) -> None:
    """The raw bodies of the items just inserted (evidence, issue 18): one multi-row insert
    per chunk into the side table, for new items only, so a re-poll writes nothing here."""
    raws = [{"item_id": item_id, "media_type": entry.raw_type or "text/plain",
             "body": entry.raw} for item_id, entry in new if entry.raw]
    for start in range(0, len(raws), _CHUNK):
        # An executemany of one compiled statement (see store_entries).
        session.execute(insert_ignore(session, ItemRaw.__table__), raws[start : start + _CHUNK])


def answer_messages(session: Session, source_id: int,
                    entries: Sequence[FeedEntry]) -> list[int]:
    """A re-poll (or re-import) of a board brings the reply to a message stored unanswered:
    the entry itself is a duplicate (same thread id, same words) and store_entries ignores
    it, so its board fields are written here — state, reply, reply time and unit, never the
    text — and its event's priority cleared (an answered message needs no alert). Returns the
    ids of the items answered by this call, for the desk to close their open alerts; a
    message stored answered already, or answered twice, is not returned again."""
    replies: dict[str, dict[str, Any]] = {}
    for entry in entries:
        extra = getattr(entry, "extra", None)  # a board's SocialEntry (monitor.social)
        if isinstance(extra, dict) and extra.get("message") and is_answered(extra):
            replies[entry.entry_id[:_ENTRY_ID_MAX]] = extra
    if not replies:
        return []
    answered: list[int] = []
    stored = session.scalars(select(Item).where(Item.source_id == source_id,
                                                Item.entry_id.in_(list(replies)))).all()
    for item in stored:
        if not item.extra.get("message") or is_answered(item.extra):
            continue
        new = replies[item.entry_id]
        item.extra = {**item.extra, **{k: new.get(k) for k in REPLY_FIELDS}}
        answered.append(item.id)
        if item.event_id is not None:
            event = session.get(Event, item.event_id)
            if event is not None and event.kind == "message":
                event.priority = None
    session.flush()
    return sorted(answered)


def unanalyzed_ids(session: Session, older_than: datetime, limit: int) -> list[int]:
    """Items stored but never analysed (e.g. a worker died between commit and enqueue)."""
    rows = session.scalars(
        select(Item.id)
        .where(Item.analyzed_at.is_(None), Item.fetched_at <= older_than)
        .order_by(Item.id)
        .limit(limit)
    )
    return list(rows)
