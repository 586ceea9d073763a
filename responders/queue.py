"""The desk's read side: the filtered alert queue and daily volume/sentiment series."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, joinedload

from monitor.models import Item, Source
from responders.models import Alert, User
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


def query_alerts(session: Session, f: QueueFilter, *, limit: int = 200, offset: int = 0,
                 now: datetime | None = None) -> Sequence[Alert]:
    """Highest priority first, then the nearest deadline (the least time left); or by
    deadline alone, or newest first (`f.sort`). `f.due` needs `now`."""
    rank = case({p: i for i, p in enumerate(PRIORITY_ORDER)}, value=Alert.priority, else_=9)
    order = {"due": (Alert.due_at, Alert.id), "newest": (Alert.created_at.desc(),
                                                         Alert.id.desc())}
    q = (select(Alert).join(Alert.item)
         .options(joinedload(Alert.item).joinedload(Item.source))
         .order_by(*order.get(f.sort, (rank, Alert.due_at, Alert.id))))
    if f.due and now is not None:
        q = q.where(Alert.due_at < now) if f.due == "overdue" else \
            q.where(Alert.due_at >= now, Alert.due_at < now + timedelta(hours=SOON_HOURS))
    if f.event_id:
        q = q.where(Item.event_id == f.event_id)
    if f.priority:
        q = q.where(Alert.priority == f.priority)
    if f.state in (None, "", "open"):
        q = q.where(Alert.state.in_(OPEN_ALERT_STATES))
    elif f.state != "all":
        q = q.where(Alert.state == f.state)
    if f.source_id:
        q = q.where(Item.source_id == f.source_id)
    if f.sentiment:
        q = q.where(Item.sentiment_label == f.sentiment)
    if f.assignee == "none":
        q = q.where(Alert.assignee_id.is_(None))
    elif f.assignee:
        q = q.join(User, User.id == Alert.assignee_id).where(User.name == f.assignee)
    rows = session.scalars(q).unique().all()
    if f.topic:
        # Topics are a JSON list; filtering in Python keeps SQLite and PostgreSQL alike.
        rows = [a for a in rows if f.topic in (a.topics or [])]
    return rows[offset:offset + limit]


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


def sources(session: Session) -> Sequence[Source]:
    return session.scalars(select(Source).order_by(Source.name)).all()


def users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.name)).all()


@dataclass(frozen=True)
class DaySeries:
    days: list[date]
    by_label: dict[str, list[int]]   # negative/neutral/positive → count per day
    mean_score: list[float | None]


def daily_series(session: Session, now: datetime, *, days: int = 14,
                 tz: str = "Asia/Shanghai") -> DaySeries:
    """Items seen per local day (by sentiment label) and their mean sentiment score."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    rows = session.execute(
        select(Item.fetched_at, Item.published_at, Item.sentiment_label, Item.sentiment_score)
        .where(Item.fetched_at >= start)
    ).all()
    return bucket_by_day(rows, first, days, zone)


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
