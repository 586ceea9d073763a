"""One poll of one source: fetch → parse → store, and the source's health and next check.

Domain code: flushes, never commits. Fetch and parse are passed in so tests can fake the
outside world and the clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from monitor.errors import FetchError, ParseError
from monitor.feeds import ParsedFeed
from monitor.fetch import FetchPolicy, FetchResult, fetch
from monitor.ingest import store_entries
from monitor.models import Item, Source
from monitor.schedule import PollOutcome, next_check_at
from monitor.social import parser_for, social_fields

# Weibo rejects bursts faster than about one request per 0.5 s.
_HOST_INTERVALS = {"weibo.com": 0.5, "m.weibo.cn": 0.5, "api.weibo.com": 0.5}


@dataclass(frozen=True)
class PollSettings:
    min_interval_s: int = 60
    max_backoff_s: int = 21600
    to_simplified: bool = True
    # Politeness: least seconds between two requests to one host, by host (settings:
    # social.host_interval), else default_host_interval.
    host_intervals: Mapping[str, float] = field(default_factory=lambda: dict(_HOST_INTERVALS))
    default_host_interval: float = 0.0
    # A source that has yielded items and then none for this many of its intervals is
    # reported silent (bridges break silently: they answer 200 with an unchanging feed).
    silent_after: int = 4


@dataclass(frozen=True)
class PollReport:
    source_id: int
    ok: bool
    not_modified: bool = False
    entries: int = 0
    new_item_ids: list[int] = field(default_factory=list)
    error: str | None = None
    warnings: tuple[str, ...] = ()
    went_silent: bool = False  # this poll found the source silent (a source-health alert)


def politeness_delay(last_request: datetime | None, now: datetime, interval_s: float) -> float:
    """Seconds to wait before the next request to a host last asked at `last_request`."""
    if last_request is None or interval_s <= 0:
        return 0.0
    return max(0.0, interval_s - (now - last_request).total_seconds())


def is_silent(last_new_item: datetime | None, now: datetime, *, interval_s: int,
              silent_after: int) -> bool:
    """A productive source (it has yielded before) with nothing new for several intervals."""
    if last_new_item is None:
        return False
    return now - last_new_item > timedelta(seconds=interval_s * silent_after)


def keep_social_fields(session: Session, new_ids: list[int], entries: Any) -> None:
    """Store what social parsers know beyond a feed entry (ids, engagement, repost links)."""
    by_entry = {e.entry_id[:500]: social_fields(e) for e in entries}
    if not new_ids or not any(by_entry.values()):
        return
    rows = session.execute(select(Item.id, Item.entry_id).where(Item.id.in_(new_ids))).all()
    for item_id, entry_id in rows:
        values = by_entry.get(entry_id)
        if values:
            session.execute(update(Item).where(Item.id == item_id).values(**values)
                            .execution_options(synchronize_session=False))


Fetcher = Callable[..., FetchResult]
Parser = Callable[..., ParsedFeed]


def _schedule(source: Source, now: datetime, outcome: PollOutcome, cfg: PollSettings,
              jitter: float) -> None:
    source.next_check_at = next_check_at(
        now,
        outcome,
        interval_s=source.interval_s,
        failure_count=source.failure_count,
        min_interval_s=cfg.min_interval_s,
        max_backoff_s=cfg.max_backoff_s,
        jitter=jitter,
    )


def _fail(source: Source, now: datetime, cfg: PollSettings, jitter: float, message: str,
          status: int | None, retry_after_s: float | None) -> PollReport:
    # A failing source stays: its error is shown and it is retried later (never disabled).
    source.last_checked_at = now
    source.failure_count += 1
    source.last_error = message
    source.last_status = status
    _schedule(source, now, PollOutcome(ok=False, retry_after_s=retry_after_s), cfg, jitter)
    return PollReport(source_id=source.id, ok=False, error=message)


def poll_source(
    session: Session,
    source_id: int,
    *,
    policy: FetchPolicy,
    cfg: PollSettings,
    now: datetime,
    jitter: float = 0.0,
    fetcher: Fetcher = fetch,
    parser: Parser | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PollReport | None:
    """Poll one source. Returns None when the source no longer exists (removed meanwhile).
    The parser is chosen by the source's kind and config (monitor.social) unless given."""
    source = session.get(Source, source_id)
    if source is None:
        return None
    parse = parser or parser_for(source.kind, source.config)
    if source.host:
        last = session.scalar(select(func.max(Source.last_checked_at)).where(
            Source.host == source.host, Source.id != source.id))
        sleep(politeness_delay(last, now, cfg.host_intervals.get(
            source.host, cfg.default_host_interval)))
    try:
        result = fetcher(
            source.url,
            policy=policy,
            now=now,
            etag=source.etag,
            last_modified=source.last_modified,
            allow_private=source.allow_private,
        )
    except FetchError as exc:
        return _fail(source, now, cfg, jitter, exc.message, exc.status, exc.retry_after_s)

    entries: Any = ()
    warnings: tuple[str, ...] = ()
    if not result.not_modified:
        try:
            parsed = parse(result.body, content_type=result.content_type,
                            to_simplified=cfg.to_simplified)
        except ParseError as exc:
            return _fail(source, now, cfg, jitter, str(exc), result.status, None)
        entries = parsed.entries
        warnings = parsed.warnings

    new_ids = store_entries(session, source.id, entries, now)
    keep_social_fields(session, new_ids, entries)
    went_silent = False
    if new_ids:
        source.silent_since = None
    elif source.silent_since is None and source.items_seen > 0:
        last_new = session.scalar(select(func.max(Item.fetched_at)).where(
            Item.source_id == source.id))
        if is_silent(last_new, now, interval_s=source.interval_s,
                     silent_after=cfg.silent_after):
            source.silent_since = now
            went_silent = True
    # Validators are saved only after the body was parsed and stored: a 304 must never hide
    # entries we failed to keep.
    source.etag = result.etag
    source.last_modified = result.last_modified
    source.last_checked_at = now
    source.last_success_at = now
    source.last_status = result.status
    source.failure_count = 0
    source.last_error = None
    if source.silent_since is not None:
        warnings = (*warnings, f"源可能已失效：自 {source.silent_since:%Y-%m-%d %H:%M} UTC 起连续 "
                    f"{cfg.silent_after} 个以上周期没有新内容")
    source.last_warning = "; ".join(warnings) if warnings else None
    source.items_seen += len(new_ids)
    _schedule(
        source,
        now,
        PollOutcome(ok=True, not_modified=result.not_modified,
                    retry_after_s=result.retry_after_s, max_age_s=result.max_age_s),
        cfg,
        jitter,
    )
    session.flush()
    return PollReport(
        source_id=source.id,
        ok=True,
        not_modified=result.not_modified,
        entries=len(entries),
        new_item_ids=new_ids,
        warnings=warnings,
        went_silent=went_silent,
    )


def claim_due(
    session: Session, now: datetime, *, batch_size: int, per_host: int, lease_s: int
) -> list[int]:
    """Pick due sources (batch and per-host limits) and push their next check out by a lease,
    so the next beat tick does not enqueue them again while their poll waits in the queue.
    If the poll is lost, the lease runs out and the source is picked again."""
    from datetime import timedelta

    from sqlalchemy import or_, select

    from monitor.schedule import DueSource, pick_due

    rows = session.execute(
        select(Source.id, Source.host, Source.next_check_at).where(
            or_(Source.next_check_at.is_(None), Source.next_check_at <= now),
            Source.kind != "push",  # pushed to us (import, ingest API): nothing to poll
        )
    ).all()
    due = [DueSource(id=r.id, host=r.host, next_check_at=r.next_check_at) for r in rows]
    chosen = pick_due(due, now, batch_size=batch_size, per_host=per_host)
    lease_until = now + timedelta(seconds=lease_s)
    for source_id in chosen:
        source = session.get(Source, source_id)
        if source is not None:
            source.next_check_at = lease_until
    session.flush()
    return chosen
