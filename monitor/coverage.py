"""What was not watched (监测盲区): the spans when a source failed or went silent.

apply_poll calls `note_poll` once per poll, after it has written the source's health: it
opens a span when the source starts failing (from its last good poll, since nothing after it
was collected) or goes silent (from `silent_since`), and closes the open span at the first
healthy poll. The write is tiny — on a healthy poll one indexed UPDATE that usually matches
nothing; on a failing one a lookup of the open span and at most one INSERT — and it sits in
the poll's own transaction, so the span and the source's row never disagree.

Reading is `gaps_between` (spans overlapping a period, clipped to it and merged per source,
short blips below a minimum dropped) and `describe` (one sentence per span, in the office's
zone: "微博关键词·河南司法 12-01 14:00 至 18:00 未能采集"), used by the weekly digest and by
every 专报 so that a quiet period is never mistaken for a calm one."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from monitor.models import CoverageGap, Source

FAILING = "failing"
SILENT = "silent"
KIND_WORDS = {FAILING: "未能采集", SILENT: "无新内容（源可能已失效）"}
KIND_WORDS_EN = {FAILING: "not collected", SILENT: "silent (the source may be broken)"}


def _state(source: Source) -> str | None:
    if source.failure_count > 0:
        return FAILING
    if source.silent_since is not None:
        return SILENT
    return None


def note_poll(session: Session, source: Source, now: datetime) -> None:
    """Record the poll just applied to `source` in the spans (see the module doc). Flushes."""
    state = _state(source)
    if state is None:
        close_spans(session, [source.id], now)
        return
    open_gaps = session.scalars(select(CoverageGap).where(
        CoverageGap.source_id == source.id, CoverageGap.ended_at.is_(None))).all()
    if any(g.kind == state for g in open_gaps):
        return
    for gap in open_gaps:  # silent, now failing (or back): one kind at a time
        gap.ended_at = now
    if state == FAILING:
        started = source.last_success_at or source.created_at
        detail = source.last_error
    else:
        started = source.silent_since or now
        detail = None
    session.add(CoverageGap(source_id=source.id, kind=state, started_at=min(started, now),
                            detail=(detail or "")[:500] or None))
    session.flush()


def close_spans(session: Session, source_ids: Sequence[int], now: datetime) -> None:
    """End the open span of each of these sources, healthy at `now` (one UPDATE, usually
    matching nothing: the batch of 304s in monitor.poll_batch calls it for all at once)."""
    if not source_ids:
        return
    session.execute(
        update(CoverageGap)
        .where(CoverageGap.source_id.in_(source_ids), CoverageGap.ended_at.is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Span:
    source_id: int
    source_name: str
    kind: str
    start: datetime
    end: datetime
    ongoing: bool  # still open at the end of the period
    detail: str | None = None


def merge_spans(spans: Iterable[Span], start: datetime, end: datetime,
                min_gap: timedelta) -> list[Span]:
    """Pure: spans clipped to [start, end), overlapping ones of a source and kind merged,
    those shorter than min_gap dropped (one failed poll retried minutes later is no blind
    spot), ordered by source name then start."""
    by_key: dict[tuple[int, str], list[Span]] = {}
    for span in spans:
        s, e = max(span.start, start), min(span.end, end)
        if e <= s:
            continue
        clipped = Span(span.source_id, span.source_name, span.kind, s, e, span.ongoing,
                       span.detail)
        by_key.setdefault((span.source_id, span.kind), []).append(clipped)
    out: list[Span] = []
    for group in by_key.values():
        group.sort(key=lambda x: x.start)
        current = group[0]
        for nxt in group[1:]:
            if nxt.start <= current.end:
                current = Span(current.source_id, current.source_name, current.kind,
                               current.start, max(current.end, nxt.end),
                               current.ongoing or nxt.ongoing, current.detail or nxt.detail)
            else:
                out.append(current)
                current = nxt
        out.append(current)
    kept = [s for s in out if s.end - s.start >= min_gap]
    return sorted(kept, key=lambda s: (s.source_name, s.start))


def gaps_between(session: Session, start: datetime, end: datetime, *, now: datetime,
                 min_gap: timedelta) -> list[Span]:
    """The blind spots of [start, end): spans that began before its end and had not ended
    before its start (an open span lasts until `now`). Uses the started_at index; the
    number of spans is small (one per outage, not one per poll)."""
    rows = session.execute(
        select(CoverageGap, Source.name)
        .join(Source, Source.id == CoverageGap.source_id)
        .where(CoverageGap.started_at < end,
               or_(CoverageGap.ended_at.is_(None), CoverageGap.ended_at > start))
        .order_by(CoverageGap.started_at)
        .limit(5000)).all()
    spans = [Span(gap.source_id, name, gap.kind, gap.started_at,
                  gap.ended_at if gap.ended_at is not None else now,
                  gap.ended_at is None or gap.ended_at > end, gap.detail)
             for gap, name in rows]
    return merge_spans(spans, start, end, min_gap)


def describe(span: Span, tz: str, *, english: bool = False) -> str:
    """"微博关键词·河南司法 12-01 14:00 至 18:00 未能采集" — the end's date is given only when
    it is another day; an ongoing span says so."""
    zone = ZoneInfo(tz)
    s, e = span.start.astimezone(zone), span.end.astimezone(zone)
    end_fmt = "%H:%M" if s.date() == e.date() else "%m-%d %H:%M"
    if english:
        words = KIND_WORDS_EN.get(span.kind, span.kind)
        tail = " (still at the end of the period)" if span.ongoing else ""
        return f"{span.source_name} {s:%m-%d %H:%M} to {e.strftime(end_fmt)} {words}{tail}"
    words = KIND_WORDS.get(span.kind, span.kind)
    tail = "（至期末仍未恢复）" if span.ongoing else ""
    return f"{span.source_name} {s:%m-%d %H:%M} 至 {e.strftime(end_fmt)} {words}{tail}"


def summary_lines(spans: Sequence[Span], tz: str) -> list[str]:
    """The coverage statement of a period: one line per blind spot, or one saying none."""
    if not spans:
        return ["本期所有信息源均正常采集，无监测盲区。"]
    return [describe(s, tz) for s in spans]
