"""Server-rendered SVG charts: nothing to load from the internet, nothing to run in the
browser. Presentation attributes only (no style attributes), so the CSP can forbid inline
styles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Item
from responders.queue import (
    DaySeries,
    PastDays,
    QueueFilter,
    bucket_by_day,
    daily_series,
)
from responders.tone import tone_sql

COLORS = {"negative": "#c0392b", "neutral": "#95a5a6", "positive": "#27ae60"}


def volume_sentiment_svg(days: Sequence[date], by_label: dict[str, list[int]],
                         mean_score: Sequence[float | None], *, title: str,
                         labels: dict[str, str], width: int = 720, height: int = 220,
                         ticks: Sequence[str] | None = None) -> str:
    """Stacked bars of items per day (or per any bucket: `days` may hold datetimes, with
    `ticks` naming them) by sentiment label, and a line of the mean score (0 = negative …
    1 = positive) on the right axis."""
    left, right, top, bottom = 36, 36, 28, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(days), 1)
    totals = [sum(by_label[k][i] for k in by_label) for i in range(len(days))]
    peak = max(totals + [1])
    peak += peak % 2  # even, so the middle gridline is a whole number of items (not 1, 0, 0)
    step = plot_w / n
    # Capped, so an event of one or two buckets is not drawn as a wall.
    bar_w = min(max(step * 0.7, 1.0), 48.0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{escape(title)}" class="chart">',
           f'<title>{escape(title)}</title>',
           f'<text x="{left}" y="16" font-size="13" fill="#333">{escape(title)}</text>']
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
                   'stroke="#ddd" stroke-width="1"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="10" fill="#666" '
                   f'text-anchor="end">{peak * frac:.0f}</text>')
        out.append(f'<text x="{left + plot_w + 4}" y="{y + 4:.1f}" font-size="10" '
                   f'fill="#2c3e50">{frac:.1f}</text>')
    for i, day in enumerate(days):
        x = left + i * step + (step - bar_w) / 2
        base: float = top + plot_h
        for key in ("negative", "neutral", "positive"):
            count = by_label.get(key, [0] * len(days))[i]
            if not count:
                continue
            h = plot_h * count / peak
            base -= h
            out.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                       f'fill="{COLORS[key]}"><title>{day.isoformat()} '
                       f'{escape(labels.get(key, key))} {count}</title></rect>')
        if i % max(1, n // 7) == 0:
            out.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 14}" '
                       f'font-size="10" fill="#666" text-anchor="middle">'
                       f'{escape(ticks[i]) if ticks else f"{day.month}/{day.day}"}</text>')
    points = [(left + i * step + step / 2, top + plot_h * (1 - s))
              for i, s in enumerate(mean_score) if s is not None]
    # One line per run of buckets that have a mean: a day (or hour) with nothing scored
    # breaks the line instead of being bridged as if the mean had carried on.
    for run in mean_runs(mean_score):
        if len(run) > 1:
            path = " ".join(f"{left + i * step + step / 2:.1f},"
                            f"{top + plot_h * (1 - s):.1f}" for i, s in run)
            out.append(f'<polyline points="{path}" fill="none" stroke="#2c3e50" '
                       'stroke-width="2"/>')
    for x, y in points:
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#2c3e50"/>')
    lx = left
    for key in ("negative", "neutral", "positive"):
        out.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="10" '
                   f'fill="{COLORS[key]}"/>')
        out.append(f'<text x="{lx + 14}" y="{height - 3}" font-size="10" fill="#333">'
                   f'{escape(labels.get(key, key))}</text>')
        lx += 80
    out.append(f'<line x1="{lx}" y1="{height - 7}" x2="{lx + 14}" y2="{height - 7}" '
               'stroke="#2c3e50" stroke-width="2"/>')
    out.append(f'<text x="{lx + 18}" y="{height - 3}" font-size="10" fill="#333">'
               f'{escape(labels.get("mean", "mean"))}</text>')
    out.append("</svg>")
    return "".join(out)


def mean_runs(means: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Pure: the (index, mean) runs between empty buckets."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, m in enumerate(means):
        if m is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((i, m))
    return [r for r in runs if r]


def filtered_series(session: Session, now: datetime, f: QueueFilter, *, days: int = 14,
                    tz: str = "Asia/Shanghai", past: PastDays | None = None) -> DaySeries:
    """The queue chart's series for the items the queue's filters name: source, topic,
    sentiment and event (the alert-only filters — priority, state, assignee, due — do not
    apply to items). With none set it is `daily_series`."""
    if not (f.source_id or f.topic or f.sentiment or f.event_id):
        return daily_series(session, now, days=days, tz=tz, past=past)
    zone = ZoneInfo(tz)
    first = now.astimezone(zone).date() - timedelta(days=days - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    q = (select(Item.fetched_at, Item.published_at, Item.sentiment_label,
                tone_sql(), Item.topics).where(Item.fetched_at >= start))
    if f.source_id:
        q = q.where(Item.source_id == f.source_id)
    if f.sentiment:
        q = q.where(Item.sentiment_label == f.sentiment)
    if f.event_id:
        q = q.where(Item.event_id == f.event_id)
    rows = [(r[0], r[1], r[2], r[3]) for r in session.execute(q)
            if not f.topic or f.topic in (r[4] or [])]
    return bucket_by_day(rows, first, days, zone)


@dataclass(frozen=True)
class Buckets:
    starts: list[datetime]                 # local start of each bucket
    ticks: list[str]                       # its label under the axis
    by_label: dict[str, list[int]]
    mean_score: list[float | None]


def event_buckets(rows: Sequence[tuple[datetime, str | None, float | None]], *,
                  tz: str = "Asia/Shanghai", max_buckets: int = 48) -> Buckets:
    """Pure: an event's items, (when, label, score), in equal time buckets from its first to
    its last item — hourly while the story is young, daily when it has run for days (so a
    week-long event is not 168 slivers)."""
    zone = ZoneInfo(tz)
    if not rows:
        return Buckets([], [], {"negative": [], "neutral": [], "positive": []}, [])
    times = [r[0].astimezone(zone) for r in rows]
    first, last = min(times), max(times)
    hourly = last - first <= timedelta(hours=max_buckets - 1)
    if hourly:
        start = first.replace(minute=0, second=0, microsecond=0)
        step = timedelta(hours=1)
    else:
        start = first.replace(hour=0, minute=0, second=0, microsecond=0)
        step = timedelta(days=1)
    n = int((last - start) / step) + 1
    starts = [start + i * step for i in range(n)]
    labels = {"negative": [0] * n, "neutral": [0] * n, "positive": [0] * n}
    sums, counts = [0.0] * n, [0] * n
    for when, (_, label, score) in zip(times, rows, strict=True):
        i = int((when - start) / step)
        if label in labels:
            labels[label][i] += 1
        if score is not None:
            sums[i] += score
            counts[i] += 1
    ticks = [f"{s:%H}时" if hourly and (i and s.hour) else f"{s.month}/{s.day}"
             for i, s in enumerate(starts)]
    means = [sums[i] / counts[i] if counts[i] else None for i in range(n)]
    return Buckets(starts, ticks, labels, means)
