"""One poll of one source, in three steps so no transaction is open while the network is used
(DESIGN principle 11):

1. `read_plan` — one short read of the source's row: what to fetch (URL, conditional-GET
   validators, allow_private), which parser (kind and config) and how long to wait for the
   host's politeness interval. The decision itself, `plan_poll`, is pure.
2. `fetch_and_parse` — the wait, the HTTP request and the parse, with no session open. It
   needs only the plan (plain values), never an ORM object whose lazy load could start a
   transaction behind the caller's back.
3. `apply_poll` — one short transaction's worth of writes: store the entries, their social
   fields, the source's health and its next check.

The boundary (the Celery task, the CLI) closes the session between 1 and 2 and commits once
after 3. Domain code here flushes, never commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from monitor.coverage import note_poll
from monitor.errors import FetchError, ParseError
from monitor.feeds import FeedEntry
from monitor.fetch import FetchPolicy, FetchResult, fetch, private_error
from monitor.ingest import answer_messages, store_entries
from monitor.models import Item, Source
from monitor.schedule import DueSource, PollOutcome, next_check_at, phase_of, pick_due
from monitor.settings import Settings
from monitor.social import parser_for, social_fields


@dataclass(frozen=True)
class PollSettings:
    """What a poll needs of the settings; no defaults of its own (config/defaults.yaml)."""

    min_interval_s: int
    max_backoff_s: int
    to_simplified: bool
    # Politeness: least seconds between two requests to one host, by host (settings:
    # social.host_interval), else default_host_interval.
    host_intervals: Mapping[str, float]
    default_host_interval: float
    # A source that has yielded items and then none for this many of its intervals is
    # reported silent (bridges break silently: they answer 200 with an unchanging feed).
    silent_after: int
    # A source answering 404 with no successful poll for this long is shown as likely gone.
    likely_gone_after_s: int
    # Healthy sources keep to their slots in their interval (monitor.schedule.phase_of):
    # spread over it, an interval apart, and back to their slot after an outage.
    slots: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> PollSettings:
        """From `poll`, `text` and `social`: every field given, so the worker's task and
        `yuqing poll` poll alike."""
        poll, social = settings.poll, settings.social
        return cls(
            min_interval_s=poll.min_interval,
            max_backoff_s=poll.max_backoff,
            to_simplified=settings.text.traditional_to_simplified,
            # Its own dict: the settings are shared by the whole process.
            host_intervals=dict(social.host_interval),
            default_host_interval=social.default_host_interval,
            silent_after=social.silent_after,
            likely_gone_after_s=poll.likely_gone_days * 86400,
            slots=poll.slots,
        )


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
    # Board messages stored unanswered whose reply this poll brought (monitor.ingest
    # .answer_messages): the task closes their open alerts (responders.board_replies).
    answered_ids: list[int] = field(default_factory=list)


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


# HTTP 410 Gone: the server says the feed was removed for good. The source is kept (its items
# and alerts stay), shown as gone, and not polled again until an admin re-enables it
# (`yuqing sources enable NAME`): its state is its last answer, so no column is needed.
GONE_STATUS = 410
NOT_FOUND_STATUS = 404
GONE = "gone"
LIKELY_GONE = "likely gone"


def gone_state(last_status: int | None, last_success_at: datetime | None,
               created_at: datetime, now: datetime, *, likely_gone_after_s: int) -> str | None:
    """Pure: "gone" (its last answer was 410), "likely gone" (404, and no successful poll —
    or, never successful, no existence — for likely_gone_after_s), else None. A 404 alone is
    often a site's hiccup or a move, so it is only shown, and the source is still polled."""
    if last_status == GONE_STATUS:
        return GONE
    if last_status == NOT_FOUND_STATUS:
        since = last_success_at or created_at
        if now - since >= timedelta(seconds=likely_gone_after_s):
            return LIKELY_GONE
    return None


def gone_message(state: str, days: float) -> str:
    """What a person reads in last_error (the desk's source page, `yuqing sources list`)."""
    if state == GONE:
        return ("源已下线（HTTP 410 Gone）：已停止轮询，数据保留；确认地址后由管理员执行 "
                "`yuqing sources enable 名称` 重新启用")
    return f"源可能已下线：持续返回 HTTP 404，已 {days:.0f} 天以上没有成功抓取；仍在按退避间隔重试"


# ---------------------------------------------------------------- 1. the plan


@dataclass(frozen=True)
class PollPlan:
    """What one poll asks for. Plain values copied from the source's row, so the fetch can run
    after the session is closed."""

    source_id: int
    url: str
    allow_private: bool
    etag: str | None
    last_modified: str | None
    kind: str  # with `config`, chooses the parser (monitor.social.parser_for)
    config: Mapping[str, Any]
    wait_s: float  # host politeness: seconds to wait before the request


def plan_poll(source: Source, host_last_request: datetime | None, now: datetime,
              cfg: PollSettings) -> PollPlan:
    """Pure: the plan for polling `source` at `now`, given when another source on its host
    was last asked (None: never, or the source has no host)."""
    wait = 0.0
    if source.host:
        wait = politeness_delay(host_last_request, now, cfg.host_intervals.get(
            source.host, cfg.default_host_interval))
    return PollPlan(
        source_id=source.id,
        url=source.url,
        allow_private=source.allow_private,
        etag=source.etag,
        last_modified=source.last_modified,
        kind=source.kind,
        config=dict(source.config or {}),
        wait_s=wait,
    )


def read_plan(session: Session, source_id: int, *, cfg: PollSettings,
              now: datetime) -> PollPlan | None:
    """Step 1: read what the plan needs. None when the source no longer exists. The caller
    ends the transaction (closes the session) before fetching."""
    source = session.get(Source, source_id)
    if source is None:
        return None
    last = None
    if source.host:
        last = session.scalar(select(func.max(Source.last_checked_at)).where(
            Source.host == source.host, Source.id != source.id))
    return plan_poll(source, last, now, cfg)


# ---------------------------------------------------------------- 2. fetch and parse


@dataclass(frozen=True)
class Fetched:
    """The source answered: a 2xx with its entries, or a 304 with none."""

    result: FetchResult
    entries: tuple[FeedEntry, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class FetchFailed:
    """The fetch or the parse failed; `message` becomes the source's last_error."""

    message: str
    status: int | None = None
    retry_after_s: float | None = None


FetchOutcome = Fetched | FetchFailed


def parse_result(plan: PollPlan, result: FetchResult, cfg: PollSettings,
                 now: datetime | None = None) -> FetchOutcome:
    """Pure: the entries of a fetched response, read by the source's parser. `now` (the
    fetch time) and the response's Date header, when FetchResult carries one, are what
    relative times ("5分钟前" on Weibo) count from."""
    if result.not_modified:
        return Fetched(result)
    parse = parser_for(plan.kind, plan.config)
    try:
        parsed = parse(result.body, content_type=result.content_type,
                       to_simplified=cfg.to_simplified, fetched_at=now,
                       response_date=result.date)
    except ParseError as exc:
        # A private target's body is nobody's to read in a source's last_error.
        message = private_error(str(exc)) if result.private else str(exc)
        return FetchFailed(message, result.status, None)
    return Fetched(result, parsed.entries, parsed.warnings)


def fetch_and_parse(plan: PollPlan, *, policy: FetchPolicy, cfg: PollSettings, now: datetime,
                    sleep: Callable[[float], None] = time.sleep) -> FetchOutcome:
    """Step 2, with no session open: the politeness wait, the request (up to the policy's
    total timeout) and the parse. What the source does wrong comes back as FetchFailed."""
    sleep(plan.wait_s)
    try:
        result = fetch(plan.url, policy=policy, now=now, etag=plan.etag,
                       last_modified=plan.last_modified, allow_private=plan.allow_private)
    except FetchError as exc:
        return FetchFailed(exc.message, exc.status, exc.retry_after_s)
    return parse_result(plan, result, cfg, now)


# ---------------------------------------------------------------- 3. apply


def keep_social_fields(session: Session, new_ids: list[int],
                       entries: Sequence[FeedEntry]) -> None:
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
        phase=phase_of(source.id) if cfg.slots else None,
    )


def _fail(source: Source, now: datetime, cfg: PollSettings, jitter: float,
          failed: FetchFailed) -> PollReport:
    # A failing source stays: its error is shown and it is retried later (never disabled) —
    # except after 410 Gone, where the server itself says there is nothing to come back for.
    source.last_checked_at = now
    source.failure_count += 1
    source.last_error = failed.message
    source.last_status = failed.status
    state = gone_state(failed.status, source.last_success_at, source.created_at, now,
                       likely_gone_after_s=cfg.likely_gone_after_s)
    if state is not None:
        since = source.last_success_at or source.created_at
        source.last_error = (f"{gone_message(state, (now - since).total_seconds() / 86400)}"
                             f" — {failed.message}")
    if state == GONE:
        source.next_check_at = None  # not polled: claim_due skips it by its status
    else:
        _schedule(source, now, PollOutcome(ok=False, retry_after_s=failed.retry_after_s),
                  cfg, jitter)
    return PollReport(source_id=source.id, ok=False, error=source.last_error)


_ASK = object()  # apply_poll's last_new_item not given: read it when the check needs it


def apply_poll(session: Session, plan: PollPlan, outcome: FetchOutcome, *, cfg: PollSettings,
               now: datetime, jitter: float = 0.0, last_new_item: Any = _ASK,
               flush: bool = True) -> PollReport | None:
    """Step 3: record the outcome on the source's row (read afresh: failure_count, items_seen
    and silent_since are the stored ones, not the plan's) and store new entries. Flushes
    (unless `flush` is false: a batch flushes once, monitor.poll_batch). None when the
    source was removed while it was being fetched. `last_new_item` (the source's latest
    item's fetched_at, or None), when the caller read it for a batch, spares a query."""
    source = session.get(Source, plan.source_id)
    if source is None:
        return None
    if isinstance(outcome, FetchFailed):
        report = _fail(source, now, cfg, jitter, outcome)
        note_poll(session, source, now)  # 监测盲区 (monitor.coverage)
        if flush:
            session.flush()
        return report
    result, entries, warnings = outcome.result, outcome.entries, outcome.warnings

    new_ids = store_entries(session, source.id, entries, now)
    keep_social_fields(session, new_ids, entries)
    answered = answer_messages(session, source.id, entries) if source.kind == "board" else []
    went_silent = False
    if new_ids:
        source.silent_since = None
    elif source.silent_since is None and source.items_seen > 0:
        last_new = session.scalar(select(func.max(Item.fetched_at)).where(
            Item.source_id == source.id)) if last_new_item is _ASK else last_new_item
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
    note_poll(session, source, now)  # 监测盲区 (monitor.coverage)
    if flush:
        session.flush()
    return PollReport(
        source_id=source.id,
        ok=True,
        not_modified=result.not_modified,
        entries=len(entries),
        new_item_ids=new_ids,
        warnings=warnings,
        went_silent=went_silent,
        answered_ids=answered,
    )


# The URL of a source that is pushed to us (`yuqing import`, the push API) rather than
# polled. The scheduler skips it by this mark, not by the kind: an imported source may have
# any kind (board, news …) so its posts are analysed as that kind's are, and is still never
# polled. No migration needed: every such source was created with this URL, and a source
# added or edited by hand must have an http(s) one (monitor.sources.validate_spec).
PUSHED_URL_PREFIX = "push:"


def _is_due(now: datetime) -> Any:
    return or_(Source.next_check_at.is_(None), Source.next_check_at <= now)


def lease_token(now: datetime, lease_s: int) -> str:
    """The lease claim_due(now, lease_s=…) writes, as the poll task carries it."""
    return (now + timedelta(seconds=lease_s)).isoformat()


def lease_held(session: Session, source_id: int, token: str) -> bool:
    """Whether the source still carries the lease `token`: false once it was polled (its
    next check is set) or claimed again, so a late duplicate of a poll message does nothing."""
    lease = datetime.fromisoformat(token)
    return session.scalar(select(Source.id).where(
        Source.id == source_id, Source.next_check_at == lease)) is not None


def leases_held(session: Session, source_ids: Sequence[int], token: str) -> list[int]:
    """lease_held for a batch, in one query: the ids (in the order given) still carrying
    the lease `token`."""
    if not source_ids:
        return []
    lease = datetime.fromisoformat(token)
    held = set(session.scalars(select(Source.id).where(
        Source.id.in_(source_ids), Source.next_check_at == lease)))
    return [i for i in source_ids if i in held]


def claim_due(
    session: Session, now: datetime, *, batch_size: int, per_host: int, lease_s: int,
    caps: Mapping[str, int] | None = None,
) -> list[int]:
    """Pick due sources (batch and per-host limits) and push their next check out by a lease,
    so the next beat tick does not enqueue them again while their poll waits in the queue.
    If the poll is lost, the lease runs out and the source is picked again. Gone sources
    (410) and pushed ones are never picked.

    The lease is written by a state-checked UPDATE (still due?), so of two beats ticking at
    once only one claims a source: on PostgreSQL the second UPDATE waits for the first's
    commit and then finds the row no longer due."""
    return [source_id for source_id, _ in claim_due_hosts(
        session, now, batch_size=batch_size, per_host=per_host, lease_s=lease_s, caps=caps)]


def claim_due_hosts(
    session: Session, now: datetime, *, batch_size: int, per_host: int, lease_s: int,
    caps: Mapping[str, int] | None = None,
) -> list[tuple[int, str]]:
    """claim_due, with each claimed source's host (for per-host dispatch), most overdue
    first. The claim is one UPDATE … WHERE id IN (…) AND still due RETURNING id: a tick of
    thousands of sources is one statement, not thousands."""
    if batch_size == 0:
        return []
    rows = session.execute(
        select(Source.id, Source.host, Source.next_check_at).where(
            _is_due(now),
            ~Source.url.startswith(PUSHED_URL_PREFIX, autoescape=True),  # pushed to us
            or_(Source.last_status.is_(None), Source.last_status != GONE_STATUS),
        )
    ).all()
    due = [DueSource(id=r.id, host=r.host, next_check_at=r.next_check_at) for r in rows]
    host_of = {r.id: r.host for r in rows}
    chosen = pick_due(due, now, batch_size=batch_size, per_host=per_host, caps=caps)
    lease_until = datetime.fromisoformat(lease_token(now, lease_s))
    won: set[int] = set()
    for i in range(0, len(chosen), 500):  # bounded IN lists
        part = chosen[i : i + 500]
        won.update(session.scalars(
            update(Source).where(Source.id.in_(part), _is_due(now))
            .values(next_check_at=lease_until)
            .returning(Source.id)
            .execution_options(synchronize_session=False)
        ).all())
    session.flush()
    return [(source_id, host_of[source_id]) for source_id in chosen if source_id in won]


def enable_source(source: Source) -> bool:
    """An admin's re-enable of a gone source: polled at the next tick, its 410 forgotten
    (the old answer stays in the log of what happened: its items and alerts). False when the
    source was not gone. Flush and commit are the caller's."""
    if source.last_status != GONE_STATUS:
        return False
    source.last_status = None
    source.last_error = None
    source.failure_count = 0
    source.next_check_at = None
    return True
