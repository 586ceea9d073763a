"""The desk's read side: the filtered alert queue and daily volume/sentiment series."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, case, cast, func, literal, select, tuple_
from sqlalchemy.orm import Session, joinedload

from monitor.errors import InputError
from monitor.models import Item, Source, UTCDateTime
from responders.models import Alert, User
from responders.tone import tone_sql
from responders.workflow import OPEN_ALERT_STATES

PRIORITY_ORDER = ("P1", "P2", "P3")
# Event ids per query when reading their links: well under any database's limit on bound
# parameters (SQLite's was 999), so a page of events is one query.
_IDS_PER_QUERY = 900


@dataclass(frozen=True)
class QueueFilter:
    priority: str | None = None
    topic: str | None = None
    source_id: int | None = None
    sentiment: str | None = None   # negative | neutral | positive
    state: str | None = None       # a state, "open" (default) or "all"
    assignee: str | None = None    # a user name, or "none" for unassigned
    due: str | None = None         # "soon" (due within SOON_HOURS, not yet overdue) | "overdue"
    sort: str = "priority"         # one of SORTS
    event_id: int | None = None


SOON_HOURS = 2
# The queue's orders, by the name the URL carries (?sort=).
SORTS = ("priority", "due", "newest")


@dataclass(frozen=True)
class QueueCursor:
    """Where a page of the queue ends: the (priority, due_at, id) of its last row. The next
    page starts after it (keyset pagination: no OFFSET, so page 100 costs what page 1 does)."""

    priority: str
    due_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.priority}_{int(self.due_at.timestamp() * 1_000_000)}_{self.id}"

    @classmethod
    def decode(cls, text: str) -> QueueCursor:
        """The `after` of a queue URL; InputError (HTTP 400, exit 2) when it is not one."""
        parts = (text or "").split("_")
        try:
            priority, micros, ident = parts
            at = datetime.fromtimestamp(int(micros) / 1_000_000, UTC)
            ident_n = int(ident)
        except ValueError:
            raise InputError(f"not a queue position: {text!r} (use the next-page link)") from None
        if priority not in PRIORITY_ORDER or ident_n < 1:
            raise InputError(f"not a queue position: {text!r} (use the next-page link)")
        return cls(priority, at, ident_n)

    @classmethod
    def of(cls, alert: Alert | AlertRow) -> QueueCursor:
        return cls(alert.priority, alert.due_at, alert.id)


def _topic_pattern(topic: str) -> str:
    # Topics are a JSON list of ids stored as text on both databases: '["prison", "lawyer"]'.
    # Matching the quoted id with LIKE keeps one query for SQLite and PostgreSQL.
    quoted = json.dumps(topic, ensure_ascii=False)
    return "%" + quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _filtered(q: Select[Any], f: QueueFilter, now: datetime | None = None) -> Select[Any]:
    if f.due and now is not None:
        q = q.where(Alert.due_at < now) if f.due == "overdue" else \
            q.where(Alert.due_at >= now, Alert.due_at < now + timedelta(hours=SOON_HOURS))
    if f.priority:
        q = q.where(Alert.priority == f.priority)
    if f.state in (None, "", "open"):
        # Spelled as the partial index's condition (OPEN_STATES_SQL) so the planner uses it.
        q = q.where(Alert.state.in_(OPEN_ALERT_STATES))
    elif f.state != "all":
        q = q.where(Alert.state == f.state)
    if f.source_id or f.sentiment or f.event_id:
        q = q.join(Item, Item.id == Alert.item_id)
        if f.event_id:
            q = q.where(Item.event_id == f.event_id)
        if f.source_id:
            q = q.where(Item.source_id == f.source_id)
        if f.sentiment:
            q = q.where(Item.sentiment_label == f.sentiment)
    if f.assignee == "none":
        q = q.where(Alert.assignee_id.is_(None))
    elif f.assignee:
        q = q.join(User, User.id == Alert.assignee_id).where(User.name == f.assignee)
    if f.topic:
        q = q.where(cast(Alert.topics, String).like(_topic_pattern(f.topic), escape="\\"))
    return q


def _ordered(q: Select[Any], f: QueueFilter, offset: int,
             after: QueueCursor | None) -> Select[Any]:
    # The filter's order (f.sort) and where the page starts: keyset for the priority order.
    if f.sort == "due":
        return q.order_by(Alert.due_at, Alert.id).offset(offset)
    if f.sort == "newest":
        return q.order_by(Alert.created_at.desc(), Alert.id.desc()).offset(offset)
    if after is not None:
        q = q.where(tuple_(Alert.priority, Alert.due_at, Alert.id)
                    > tuple_(literal(after.priority), literal(after.due_at, UTCDateTime()),
                             literal(after.id)))
    return q.order_by(Alert.priority, Alert.due_at, Alert.id).offset(offset)


def query_alerts(session: Session, f: QueueFilter, *, limit: int = 200, offset: int = 0,
                 after: QueueCursor | None = None,
                 now: datetime | None = None) -> Sequence[Alert]:
    """One page of at most `limit` alerts in the filter's order (`f.sort`): highest priority
    first, then the nearest deadline, then id (the default); by deadline alone; or newest
    first. Filtered, ordered and cut in SQL along the queue indexes (desk_0008), the page's
    items and sources in the same query. The priority order pages by keyset (`after`, no
    OFFSET: page 100 costs what page 1 does; priorities P1 < P2 < P3 sort as text); the other
    orders by `offset`. `f.due` needs `now`. ORM objects, for callers that follow the
    alert's relations; the desk's list views read `alert_rows`."""
    q = _ordered(_filtered(select(Alert), f, now), f, offset, after)
    q = q.options(joinedload(Alert.item).joinedload(Item.source)).limit(limit)
    return session.scalars(q).unique().all()


# The characters of an untitled item's text a list shows in place of its title.
TEXT_HEAD = 40


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One row of the queue page or `GET /api/v1/alerts`: the alert's columns and its item's
    and source's that a list shows, read as plain values. No ORM identity, relations or
    back-references: 200 of them are 200 small objects freed when the response is sent,
    where 200 loaded alerts with their items and sources were a few thousand objects in
    reference cycles that only the cyclic garbage collector frees (its full passes were the
    slow requests of the list pages, issue 15)."""

    id: int
    priority: str
    state: str
    assignee_id: int | None
    topics: list[Any]
    reasons: list[Any]
    milestones: list[Any]
    created_at: datetime
    due_at: datetime
    clock_from: datetime | None
    story_published_at: datetime | None
    backfill: bool
    title: str
    text_head: str          # the first TEXT_HEAD characters of the item's text
    link: str | None
    published_at: datetime | None
    sentiment_score: float | None
    sentiment_label: str | None
    source_name: str
    event_id: int | None
    # the three classes' probabilities (None for binary engines): the figure the desk shows
    # beside the label (responders.tone.label_figure)
    sentiment_p_negative: float | None
    sentiment_p_neutral: float | None
    sentiment_p_positive: float | None


_ROW_COLUMNS = (Alert.id, Alert.priority, Alert.state, Alert.assignee_id, Alert.topics,
                Alert.reasons, Alert.milestones, Alert.created_at, Alert.due_at,
                Alert.clock_from, Alert.story_published_at, Alert.backfill, Item.title,
                func.substr(Item.text, 1, TEXT_HEAD), Item.link, Item.published_at,
                Item.sentiment_score, Item.sentiment_label, Source.name, Item.event_id,
                Item.sentiment_p_negative, Item.sentiment_p_neutral, Item.sentiment_p_positive)


def alert_rows(session: Session, f: QueueFilter, *, limit: int = 200, offset: int = 0,
               after: QueueCursor | None = None,
               now: datetime | None = None) -> list[AlertRow]:
    """`query_alerts`' page (same filter, order, keyset and cut) as `AlertRow`s: one Core
    query of the columns the lists show, the item and source joined in it."""
    q = _filtered(select(*_ROW_COLUMNS), f, now)
    if not (f.source_id or f.sentiment or f.event_id):   # else _filtered joined it already
        q = q.join(Item, Item.id == Alert.item_id)
    q = _ordered(q.join(Source, Source.id == Item.source_id), f, offset, after).limit(limit)
    return [AlertRow(*row) for row in session.execute(q)]


def count_alerts(session: Session, f: QueueFilter, now: datetime | None = None) -> int:
    """How many alerts the filter matches, counted by the database."""
    return int(session.scalar(_filtered(select(func.count(Alert.id)), f, now)) or 0)


def next_cursor(rows: Sequence[Alert | AlertRow], limit: int) -> QueueCursor | None:
    """The position after a full page, None after the last page."""
    return QueueCursor.of(rows[-1]) if rows and len(rows) >= limit else None


def event_links(session: Session, event_ids: Iterable[int]) -> dict[int, list[str]]:
    """The links of every item of these events, each event's in order of time (published,
    else first seen; then id), by event id. One query for the listed events, however many
    rows the list has; items without a link are left out, and an event none of whose items
    has one maps to nothing."""
    ids = sorted({int(i) for i in event_ids})
    when = func.coalesce(Item.published_at, Item.fetched_at)
    out: dict[int, list[str]] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        rows = session.execute(
            select(Item.event_id, Item.link)
            .where(Item.event_id.in_(ids[start:start + _IDS_PER_QUERY]),
                   Item.link.is_not(None))
            .order_by(Item.event_id, when, Item.id))
        for event_id, link in rows:
            if event_id is not None and link:
                out.setdefault(event_id, []).append(link)
    return out


@dataclass(frozen=True, slots=True)
class SourceChoice:
    id: int
    name: str


def source_choices(session: Session) -> list[SourceChoice]:
    """Every source's id and name, by name, for the queue's source filter: two columns, not
    the ORM sources (hundreds of them on every page, each an object in reference cycles)."""
    rows = session.execute(select(Source.id, Source.name).order_by(Source.name))
    return [SourceChoice(ident, name) for ident, name in rows]


def users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.name)).all()


@dataclass(frozen=True)
class DaySeries:
    days: list[date]
    by_label: dict[str, list[int]]   # negative/neutral/positive → count per day
    mean_score: list[float | None]


# Past days' buckets are read again at most this often by a desk process (the queue page and
# the overview draw the chart on every request; at a million items the fourteen days are
# ~40,000 rows to aggregate, most of a page's time). Today's bucket is always read live.
PAST_DAYS_TTL = timedelta(minutes=5)
# An item counts on the day it was published, but today's live read goes along the index of
# first sight: items first seen more than this before today and dated today (a future date
# at the time) are counted when the past days are read again, not live.
_TODAY_LOOKBACK = timedelta(days=1)

_Sums = tuple[dict[str, list[int]], list[float], list[int]]


def day_case(when: Any, bounds: Sequence[datetime], first_index: int = 0) -> Any:
    """The index (first_index + i) of the bucket starting at bounds[i] that `when` falls in,
    as SQL: a CASE over the bounds (the same SQL on SQLite and PostgreSQL, whatever the zone).
    Values before bounds[0] fall in the first bucket and after the last bound in the last:
    the caller's WHERE keeps to the range."""
    last = first_index + len(bounds) - 1
    if len(bounds) < 2:
        return literal(last)   # a CASE needs one WHEN at least
    return case(*((when < literal(bounds[i + 1], UTCDateTime()), first_index + i)
                  for i in range(len(bounds) - 1)), else_=last)


class PastDays:
    """A desk process's memo of the chart's past days, keyed by (first day, days, zone) and
    judged by the `now` each call is given (the request's clock), so it is as testable as the
    rest."""

    def __init__(self, ttl: timedelta = PAST_DAYS_TTL) -> None:
        self.ttl = ttl
        self._memo: dict[tuple[date, int, str], tuple[datetime, _Sums]] = {}

    def get(self, key: tuple[date, int, str], now: datetime) -> _Sums | None:
        hit = self._memo.get(key)
        if hit is None or not hit[0] <= now < hit[0] + self.ttl:
            return None
        return _copy(hit[1])

    def put(self, key: tuple[date, int, str], now: datetime, value: _Sums) -> None:
        # only the current keys matter: yesterday's first day is never asked for again
        self._memo = {k: v for k, v in self._memo.items() if k[1:] != key[1:]}
        self._memo[key] = (now, _copy(value))


def _copy(value: _Sums) -> _Sums:
    # callers add today's bucket to what they get: the memo keeps its own lists
    labels, sums, counts = value
    return {k: list(v) for k, v in labels.items()}, list(sums), list(counts)


def _day_sums(session: Session, bounds: Sequence[datetime], end: datetime, *,
              fetched_from: datetime, first_index: int, days: int) -> _Sums:
    """Count items whose day (published, else first seen) falls in [bounds[0], end) into the
    buckets starting at `bounds` (index first_index + i), along ix_items_fetched_at: the days
    are a CASE over their bounds (the same SQL on SQLite and PostgreSQL, whatever the zone)."""
    when = func.coalesce(Item.published_at, Item.fetched_at)
    day = day_case(when, bounds, first_index)
    rows = session.execute(
        select(day.label("day"), Item.sentiment_label, func.count(),
               func.sum(tone_sql()), func.count(tone_sql()))
        .where(Item.fetched_at >= fetched_from,
               when >= literal(bounds[0], UTCDateTime()), when < literal(end, UTCDateTime()))
        .group_by(day, Item.sentiment_label)).all()
    labels = {"negative": [0] * days, "neutral": [0] * days, "positive": [0] * days}
    sums = [0.0] * days
    counts = [0] * days
    for i, label, n, total, scored in rows:
        if label in labels:
            labels[label][i] += int(n)
        if scored:
            sums[i] += float(total)
            counts[i] += int(scored)
    return labels, sums, counts


def daily_series(session: Session, now: datetime, *, days: int = 14,
                 tz: str = "Asia/Shanghai", past: PastDays | None = None) -> DaySeries:
    """Items seen per local day (by sentiment label) and their mean tone, counted by the
    database. An item counts on the day it was published when known, else when we first saw
    it. With `past`, the days before today come from that memo while it is fresh (today's
    bucket is read live); without it, everything is read now."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    span = [first + timedelta(days=i) for i in range(days)]
    bounds = [datetime(d.year, d.month, d.day, tzinfo=zone) for d in span]
    last = today + timedelta(days=1)
    end = datetime(last.year, last.month, last.day, tzinfo=zone)
    if past is None or days < 2:
        labels, sums, counts = _day_sums(session, bounds, end, fetched_from=bounds[0],
                                         first_index=0, days=days)
    else:
        key = (first, days, tz)
        memo = past.get(key, now)
        if memo is None:
            memo = _day_sums(session, bounds[:-1], bounds[-1], fetched_from=bounds[0],
                             first_index=0, days=days)
            past.put(key, now, memo)
        labels, sums, counts = memo
        t_labels, t_sums, t_counts = _day_sums(
            session, bounds[-1:], end, fetched_from=max(bounds[0], bounds[-1] - _TODAY_LOOKBACK),
            first_index=days - 1, days=days)
        for k in labels:
            labels[k][-1] += t_labels[k][-1]
        sums[-1] += t_sums[-1]
        counts[-1] += t_counts[-1]
    means = [sums[i] / counts[i] if counts[i] else None for i in range(days)]
    return DaySeries(span, labels, means)


def bucket_by_day(rows: Sequence[tuple[datetime, datetime | None, str | None, float | None]],
                  first: date, days: int, zone: ZoneInfo) -> DaySeries:
    """Pure: put (fetched_at, published_at, label, score) rows into local-day buckets. An
    item counts on the day it was published when known, else when we first saw it."""
    span = [first + timedelta(days=i) for i in range(days)]
    index = {d: i for i, d in enumerate(span)}
    labels = {"negative": [0] * days, "neutral": [0] * days, "positive": [0] * days}
    sums = [0.0] * days
    counts = [0] * days
    for fetched, published, label, score in rows:
        when = (published or fetched).astimezone(zone).date()
        i = index.get(when)
        if i is None:
            continue
        if label in labels:
            labels[label][i] += 1
        if score is not None:
            sums[i] += score
            counts[i] += 1
    means = [sums[i] / counts[i] if counts[i] else None for i in range(days)]
    return DaySeries(span, labels, means)
