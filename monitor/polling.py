"""One poll of one source: fetch → parse → store, and the source's health and next check.

Domain code: flushes, never commits. Fetch and parse are passed in so tests can fake the
outside world and the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.errors import FetchError, ParseError
from monitor.feeds import ParsedFeed, parse_feed
from monitor.fetch import FetchPolicy, FetchResult, fetch
from monitor.ingest import store_entries
from monitor.models import Source
from monitor.schedule import PollOutcome, next_check_at


@dataclass(frozen=True)
class PollSettings:
    min_interval_s: int = 60
    max_backoff_s: int = 21600
    to_simplified: bool = True


@dataclass(frozen=True)
class PollReport:
    source_id: int
    ok: bool
    not_modified: bool = False
    entries: int = 0
    new_item_ids: list[int] = field(default_factory=list)
    error: str | None = None
    warnings: tuple[str, ...] = ()


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
    parser: Parser = parse_feed,
) -> PollReport | None:
    """Poll one source. Returns None when the source no longer exists (removed meanwhile)."""
    source = session.get(Source, source_id)
    if source is None:
        return None
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
            parsed = parser(result.body, content_type=result.content_type,
                            to_simplified=cfg.to_simplified)
        except ParseError as exc:
            return _fail(source, now, cfg, jitter, str(exc), result.status, None)
        entries = parsed.entries
        warnings = parsed.warnings

    new_ids = store_entries(session, source.id, entries, now)
    # Validators are saved only after the body was parsed and stored: a 304 must never hide
    # entries we failed to keep.
    source.etag = result.etag
    source.last_modified = result.last_modified
    source.last_checked_at = now
    source.last_success_at = now
    source.last_status = result.status
    source.failure_count = 0
    source.last_error = None
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
            or_(Source.next_check_at.is_(None), Source.next_check_at <= now)
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
