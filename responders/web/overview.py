"""The overview (总览), where an officer starts the day: open alerts by priority, what is due
within two hours and what is overdue, volume and sentiment over 7 days and over 48 hours by
hour, the top topics and their change, the day's largest events, and the sources that fail
or have gone silent. Every number links to the queue filtered to it (responders.web
.queue_views' URL filters).

Each figure is one bounded query: open alerts (a small set by nature), items of the last 48
hours (the charts over 7 days read the same window the queue's chart reads), today's events
by size with a limit, and the sources."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from monitor.models import Event, Item, Source
from responders.event_heads import event_heads
from responders.models import Alert
from responders.queue import PRIORITY_ORDER, SOON_HOURS, daily_series
from responders.tone import tone_sql
from responders.web.charts import volume_sentiment_svg
from responders.web.deps import DB, PageReader, desk
from responders.web.i18n import translate
from responders.web.queue_views import queue_href
from responders.web.rendering import render, request_lang
from responders.web.unit_of_work import DeskRoute
from responders.workflow import OPEN_ALERT_STATES

router = APIRouter(include_in_schema=False, route_class=DeskRoute)

TOP_TOPICS = 8
TOP_EVENTS = 6


@dataclass(frozen=True)
class AlertCounts:
    by_priority: dict[str, int]
    due_soon: int
    overdue: int
    unassigned: int


def alert_counts(session: Session, now: datetime) -> AlertCounts:
    open_ = Alert.state.in_(OPEN_ALERT_STATES)
    by_priority = dict.fromkeys(PRIORITY_ORDER, 0)
    for priority, n in session.execute(select(Alert.priority, func.count())
                                       .where(open_).group_by(Alert.priority)):
        by_priority[priority] = int(n)

    def count(*where: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(Alert)
                                  .where(open_, *where)) or 0)

    return AlertCounts(
        by_priority,
        due_soon=count(Alert.due_at >= now, Alert.due_at < now + timedelta(hours=SOON_HOURS)),
        overdue=count(Alert.due_at < now),
        unassigned=count(Alert.assignee_id.is_(None)))


@dataclass(frozen=True)
class HourSeries:
    starts: list[datetime]
    ticks: list[str]
    by_label: dict[str, list[int]]
    mean_score: list[float | None]


def hourly(rows: Sequence[tuple[datetime, str | None, float | None]], now: datetime,
           hours: int, zone: ZoneInfo) -> HourSeries:
    """Pure: (when, label, score) rows in the `hours` local hours ending with the current
    one; rows outside are left out."""
    last = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=hours - 1)
    starts = [first + timedelta(hours=i) for i in range(hours)]
    labels = {"negative": [0] * hours, "neutral": [0] * hours, "positive": [0] * hours}
    sums, counts = [0.0] * hours, [0] * hours
    for when, label, score in rows:
        i = int((when.astimezone(zone) - first) // timedelta(hours=1))
        if not 0 <= i < hours:
            continue
        if label in labels:
            labels[label][i] += 1
        if score is not None:
            sums[i] += score
            counts[i] += 1
    ticks = [f"{s.month}/{s.day}" if s.hour == 0 else f"{s:%H}时" for s in starts]
    return HourSeries(starts, ticks, labels,
                      [sums[i] / counts[i] if counts[i] else None for i in range(hours)])


@dataclass(frozen=True)
class TopicTrend:
    topic: str
    count: int      # items in the last 24 hours
    before: int     # in the 24 hours before that

    @property
    def change(self) -> int:
        return self.count - self.before


def topic_trends(rows: Sequence[tuple[datetime, list[Any]]], now: datetime,
                 limit: int = TOP_TOPICS) -> list[TopicTrend]:
    """Pure: topics by items in the last 24 hours, with the 24 hours before for the change."""
    recent: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for when, topics in rows:
        if when >= now - timedelta(hours=24):
            bucket = recent
        elif when >= now - timedelta(hours=48):
            bucket = before
        else:
            continue  # found lately, published long ago: no part of either day
        for topic in topics or []:
            bucket[str(topic)] += 1
    return [TopicTrend(t, n, before[t]) for t, n in recent.most_common(limit)]


def todays_events(session: Session, now: datetime, zone: ZoneInfo) -> list[Event]:
    """Today's largest events that are stories: at least two posts, or an alert. A single
    stray post (a weather note, a notice nobody picked up) is not what 今日最大事件 means,
    and on a quiet day six of them would fill the list."""
    local = now.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    alerted = (select(Item.id).join(Alert, Alert.item_id == Item.id)
               .where(Item.event_id == Event.id).exists())
    return list(session.scalars(
        select(Event).where(Event.last_seen_at >= midnight, Event.merged_into.is_(None),
                            or_(Event.item_count >= 2, alerted))
        .options(joinedload(Event.first_item))
        .order_by(Event.item_count.desc(), Event.id.desc()).limit(TOP_EVENTS)))


def source_health(session: Session) -> tuple[list[Source], list[Source], int]:
    """(failing, silent, total): failing has a last error; silent has gone quiet."""
    all_ = list(session.scalars(select(Source).order_by(Source.name)))
    failing = [s for s in all_ if s.failure_count or s.last_error]
    silent = [s for s in all_ if s.silent_since is not None and s not in failing]
    return failing, silent, len(all_)


@router.get("/overview", response_class=HTMLResponse)
def overview_page(request: Request, me: PageReader, session: DB) -> Response:
    ctx = desk(request)
    now = ctx.now()
    zone = ZoneInfo(ctx.settings.timezone)
    lang = request_lang(request)
    labels = {k: translate(lang, k) for k in ("negative", "neutral", "positive", "mean")}
    week = daily_series(session, now, days=7, tz=ctx.settings.timezone, past=ctx.past_days)
    chart_7d = volume_sentiment_svg(week.days, week.by_label, week.mean_score,
                                    title=translate(lang, "ov_chart_7d"), labels=labels)
    recent = session.execute(
        select(Item.fetched_at, Item.published_at, Item.sentiment_label, tone_sql(),
               Item.topics).where(Item.fetched_at >= now - timedelta(hours=49))).all()
    when = [(r[1] or r[0], r[2], r[3]) for r in recent]
    day2 = hourly(when, now, 48, zone)
    chart_48h = volume_sentiment_svg(day2.starts, day2.by_label, day2.mean_score,
                                     title=translate(lang, "ov_chart_48h"), labels=labels,
                                     ticks=day2.ticks)
    failing, silent, total = source_health(session)
    events = todays_events(session, now, zone)
    return render(request, "overview.html", {
        "counts": alert_counts(session, now), "priorities": PRIORITY_ORDER,
        "chart_7d": chart_7d, "chart_48h": chart_48h,
        "topics_trend": topic_trends([(r[1] or r[0], r[4]) for r in recent], now),
        "events": events, "heads": event_heads(session, events),
        "failing": failing, "silent": silent,
        "source_total": total, "q": queue_href,
    })
