"""Hourly item counters per event and per topic: the burst test's baselines (monitor.bursts)
read from these instead of scanning stored items, so the analysis of a batch costs the same
with a thousand or a million items stored (DESIGN principle 12).

A row is (scope, key, hour, count): scope "event" (key: the event id) or "topic" (key: the
topic id), the hour the items were out (monitor.event_store.seen_at, floored to the hour, UTC).
Writes are upserts that add (ON CONFLICT DO UPDATE count = count + excluded.count, the same
syntax on SQLite and PostgreSQL), so two workers counting into one hour never lose an
increment. Idempotence is the caller's: count only items whose analysis this transaction
claimed (monitor.analyze's conditional UPDATE), so a redelivered batch counts nothing.
Flushes, never commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.db import one_of
from monitor.errors import ConfigError
from monitor.models import BurstCount

EVENT = "event"
TOPIC = "topic"
HOUR = timedelta(hours=1)


def hour_of(t: datetime) -> datetime:
    """The start of t's hour, in UTC (aware)."""
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _table() -> Table:
    return cast(Table, BurstCount.__table__)


def _upsert(session: Session, counts: Mapping[tuple[str, str, datetime], int]) -> None:
    if not counts:
        return
    table = _table()
    name = session.get_bind().dialect.name
    ins: postgresql.Insert | sqlite.Insert
    if name == "postgresql":
        ins = postgresql.insert(table)
    elif name == "sqlite":
        ins = sqlite.insert(table)
    else:
        raise ConfigError(f"database dialect {name!r} is not supported")
    stmt = ins.on_conflict_do_update(
        index_elements=["scope", "key", "hour"],
        set_={"count": table.c.count + ins.excluded.count})
    # Sorted: two transactions upserting the same rows take their row locks in one order.
    rows = [{"scope": s, "key": k, "hour": h, "count": n}
            for (s, k, h), n in sorted(counts.items())]
    # One executemany of one compiled statement, sent as multi-row VALUES in this order
    # (SQLAlchemy's "insertmanyvalues"), not a statement per row — nor a `.values(rows)`
    # statement, which is compiled afresh every time.
    session.execute(stmt, rows)


def add_event_items(session: Session, items: Iterable[tuple[int, datetime]]) -> None:
    """Count items (event id, when the item was out) into their events' hours."""
    counts: Counter[tuple[str, str, datetime]] = Counter(
        (EVENT, str(eid), hour_of(t)) for eid, t in items)
    _upsert(session, counts)


def add_topic_items(session: Session, items: Iterable[tuple[Iterable[str], datetime]]) -> None:
    """Count items (their topic ids, when the item was out) into their topics' hours."""
    counts: Counter[tuple[str, str, datetime]] = Counter(
        (TOPIC, str(topic), hour_of(t)) for topics, t in items for topic in set(topics))
    _upsert(session, counts)


def merge_events(session: Session, kept_id: int, gone_id: int) -> None:
    """`gone` was merged into `kept` (a bridging post): its hours are added to kept's and its
    own rows removed, so the merged story's baseline is the sum of both."""
    table = _table()
    rows = session.execute(select(table.c.hour, table.c.count).where(
        table.c.scope == EVENT, table.c.key == str(gone_id))).all()
    counts = {(EVENT, str(kept_id), hour_of(h)): int(n) for h, n in rows}
    _upsert(session, counts)
    session.execute(delete(table).where(table.c.scope == EVENT, table.c.key == str(gone_id)))


@dataclass
class BurstReader:
    """The hourly counts of a batch's touched events and topics since `since`, loaded
    together (`load`: one query per scope); `event(id)` / `topic(id)` give hour → count."""

    counts: dict[tuple[str, str], dict[datetime, int]] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, *, events: Iterable[int], topics: Iterable[str],
             since: datetime) -> BurstReader:
        wanted = {EVENT: sorted({str(e) for e in events}), TOPIC: sorted({str(t) for t in topics})}
        out: dict[tuple[str, str], dict[datetime, int]] = {
            (scope, key): {} for scope, keys in wanted.items() for key in keys}
        table = _table()
        # One range read of the primary key (scope, key, hour) per scope and chunk.
        for scope, keys in wanted.items():
            for start in range(0, len(keys), 500):
                for key, hour, n in session.execute(
                        select(table.c.key, table.c.hour, table.c.count)
                        .where(table.c.scope == scope,
                               one_of(session, table.c.key, keys[start : start + 500]),
                               table.c.hour >= hour_of(since))):
                    out[(scope, str(key))][hour_of(hour)] = int(n)
        return cls(out)

    def event(self, event_id: int) -> dict[datetime, int]:
        return self.counts.get((EVENT, str(event_id)), {})

    def topic(self, topic: str) -> dict[datetime, int]:
        return self.counts.get((TOPIC, topic), {})
