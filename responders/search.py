"""Full-text search over items, events and outputs that works for Chinese.

Chinese is written without spaces, so there are no words to index; core_0007 indexes
character trigrams instead (SQLite: an FTS5 table with the trigram tokenizer; PostgreSQL:
pg_trgm's GIN index on title and text). A query is split on spaces into terms that must all
appear, each as a substring, case-insensitively for Latin letters, Traditional characters
read as Simplified (as stored items are).

A term of one or two characters has no trigram, so no index can find it. With at least one
longer term the index narrows and the short ones filter what it found; a query of short terms
only looks through the newest `SHORT_SCAN` items by id (the primary key, newest first) and
says so (`SearchHits.short_only`), rather than scanning a million rows for "律师".

Events have no text of their own: an event is found through its items. Outputs (the office's
responses, a few thousand a year at most) are scanned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, func, literal_column, select, text
from sqlalchemy.orm import Session, joinedload

from monitor.errors import InputError
from monitor.models import Event, Item
from monitor.text import normalize_text
from responders.models import Output

SHORT_SCAN = 200_000   # newest items a short-terms-only query looks through
DENSE_WINDOW = 5_000   # PostgreSQL: newest items read backwards before the index is asked
MAX_TERMS = 8
MAX_QUERY = 200
TRIGRAM = 3
# A literal, not a bound parameter: PostgreSQL uses an expression index only for the same
# expression, and `title || $1 || text` is not `title || ' ' || text`.
_SPACE = literal_column("' '", Text)


@dataclass(frozen=True)
class Snippet:
    """Text around the first hit, split so the page can mark the hit without |safe."""
    before: str
    hit: str
    after: str


@dataclass(frozen=True)
class ItemHit:
    item: Item
    snippet: Snippet


@dataclass(frozen=True)
class EventHit:
    event: Event
    title: str
    hits: int          # how many of the found items are in it


@dataclass(frozen=True)
class SearchHits:
    query: str
    terms: list[str]
    items: list[ItemHit]
    events: list[EventHit]
    outputs: list[Output]
    short_only: bool   # every term is shorter than a trigram: the newest items only


def parse_terms(query: str) -> list[str]:
    """The terms of a query: normalised like stored text, split on spaces, repeats and
    terms contained in a longer one dropped. Refuses an empty or oversized query."""
    if "\x00" in query:
        raise InputError("q contains a NUL character (U+0000)")
    if len(query) > MAX_QUERY:
        raise InputError(f"q is at most {MAX_QUERY} characters long, not {len(query)}")
    norm = normalize_text(query, to_simplified=True)
    terms: list[str] = []
    for term in sorted(dict.fromkeys(norm.split()), key=len, reverse=True):
        if not any(term.lower() in longer.lower() for longer in terms):
            terms.append(term)
    if not terms:
        raise InputError("q is empty: type a word to search for")
    if len(terms) > MAX_TERMS:
        raise InputError(f"at most {MAX_TERMS} words in a search, not {len(terms)}")
    return terms


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: Any, term: str) -> ColumnElement[bool]:
    # ILIKE is LIKE on SQLite (case-insensitive for ASCII there already); on PostgreSQL it
    # is what the trigram index serves.
    # A term without cased letters (Chinese) takes LIKE: the same rows, at a third of the
    # cost per row on PostgreSQL.
    if term.lower() == term.upper():
        plain: ColumnElement[bool] = column.like(_like(term), escape="\\")
        return plain
    clause: ColumnElement[bool] = column.ilike(_like(term), escape="\\")
    return clause


def _fts_match(terms: Sequence[str]) -> str:
    # Each term a quoted FTS5 string ("" escapes a quote): the trigram tokenizer matches it
    # as a substring; juxtaposed strings must all match.
    return " ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _item_ids(session: Session, terms: list[str], limit: int) -> tuple[list[int], bool]:
    long_terms = [t for t in terms if len(t) >= TRIGRAM]
    short_terms = [t for t in terms if len(t) < TRIGRAM]
    body = Item.title + _SPACE + Item.text  # the indexed expression, to the character
    newest_first = select(Item.id).order_by(Item.id.desc()).limit(limit)
    short = [_contains(body, t) for t in short_terms]
    if not long_terms:
        newest = session.scalar(select(func.max(Item.id))) or 0
        return list(session.scalars(newest_first.where(Item.id > newest - SHORT_SCAN,
                                                       *short))), True
    if session.get_bind().dialect.name == "sqlite":
        match = _fts_match(long_terms)
        if not short:
            # Straight from the index, newest first: FTS5 walks its lists in rowid order
            # and stops at the limit, however many rows match.
            rows = session.execute(text(
                "SELECT rowid FROM items_fts WHERE items_fts MATCH :m "
                "ORDER BY rowid DESC LIMIT :n"), {"m": match, "n": limit})
            return [int(r[0]) for r in rows], False
        matched = text("SELECT rowid FROM items_fts WHERE items_fts MATCH :m") \
            .bindparams(m=match).columns(rowid=Item.id.type)
        return list(session.scalars(newest_first.where(Item.id.in_(matched), *short))), False
    # PostgreSQL: newest first, two ways. A common term fills the page from the newest
    # DENSE_WINDOW items, read backwards by id; a rarer one is taken from the trigram index
    # (a materialised set, so the planner cannot trade the index for a backward scan that
    # would read every row), whose cost follows the few rows that match.
    conds = [*[_contains(body, t) for t in long_terms], *short]
    newest = session.scalar(select(func.max(Item.id))) or 0
    recent = list(session.scalars(newest_first.where(Item.id > newest - DENSE_WINDOW,
                                                     *conds)))
    if len(recent) >= limit:
        return recent, False
    hits = select(Item.id).where(Item.id <= newest - DENSE_WINDOW, *conds) \
        .cte("hits").prefix_with("MATERIALIZED")
    older = list(session.scalars(select(hits.c.id).order_by(hits.c.id.desc())
                                 .limit(limit - len(recent))))
    return recent + older, False


def snippet(item: Item, terms: Sequence[str], width: int = 36) -> Snippet:
    """Pure: up to `width` characters each side of the first term found in the item's text
    (else its title)."""
    for body in (item.text or "", item.title or ""):
        low = body.lower()
        found = [(low.find(t.lower()), t) for t in terms if t.lower() in low]
        if found:
            at, term = min(found)
            start = max(0, at - width)
            end = at + len(term)
            return Snippet(("…" if start else "") + body[start:at], body[at:end],
                           body[end:end + width] + ("…" if end + width < len(body) else ""))
    text_ = item.text or item.title or ""
    return Snippet("", "", text_[:width * 2] + ("…" if len(text_) > width * 2 else ""))


def search(session: Session, query: str, *, limit: int = 30,
           event_limit: int = 10) -> SearchHits:
    """Items newest first, the events they belong to (most hits first), outputs newest
    first; every term in each."""
    terms = parse_terms(query)
    # More ids than shown, so the events are counted over more than one page of items.
    ids, short_only = _item_ids(session, terms, max(limit, 50))
    shown = ids[:limit]
    rows = {i.id: i for i in session.scalars(
        select(Item).where(Item.id.in_(shown)).options(joinedload(Item.source)))}
    items = [ItemHit(rows[i], snippet(rows[i], terms)) for i in shown if i in rows]
    events = _events(session, ids, event_limit)
    body = Output.title + _SPACE + Output.body
    outputs = list(session.scalars(
        select(Output).where(and_(*[_contains(body, t) for t in terms]))
        .order_by(Output.id.desc()).limit(limit)))
    return SearchHits(query, terms, items, events, outputs, short_only)


def _events(session: Session, item_ids: list[int], limit: int) -> list[EventHit]:
    if not item_ids:
        return []
    counts = session.execute(
        select(Item.event_id, func.count()).where(Item.id.in_(item_ids),
                                                  Item.event_id.is_not(None))
        .group_by(Item.event_id).order_by(func.count().desc(), Item.event_id.desc())
        .limit(limit)).all()
    if not counts:
        return []
    events = {e.id: e for e in session.scalars(
        select(Event).where(Event.id.in_([c[0] for c in counts]))
        .options(joinedload(Event.first_item)))}
    out = []
    for event_id, n in counts:
        event = events.get(event_id) if event_id is not None else None
        if event is not None:
            first = event.first_item
            out.append(EventHit(event, (first.title or first.text[:40]) if first else "",
                                int(n)))
    return out
