"""Many polls in one task: the three steps of monitor.polling, done for a batch of sources
(issue 15: polling that scales with hosts, not ticks).

1. `read_plans` — one short read for the whole batch (one query for the rows, one for each
   host's last request), the same plans `polling.plan_poll` makes for one source.
2. `fetch_many` — with no session open, the batch's requests run on a small thread pool:
   each host gets `host_connections` keep-alive clients of one connection each, a thread
   holding one for its request (connections live for the batch; a 304 is read to its end
   so its connection is reused), and requests to one host keep the host's politeness
   spacing between their starts (Weibo's 0.5 s), so concurrency comes from many hosts,
   never from hammering one.
   Every request is `monitor.fetch.fetch`: the same scheme, address, redirect, size and
   time checks as a single poll.
3. `apply_many` — the outcomes recorded in the caller's one short transaction: the
   healthy 304s (most polls) by one executemany UPDATE, the rest by `polling.apply_poll`
   on rows loaded by one query, so no source costs a round trip of its own.

Domain code: flushes, never commits; the task (tasks.jobs.poll_batch) is the boundary.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import httpx
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from monitor.coverage import close_spans
from monitor.errors import FetchError
from monitor.fetch import FetchPolicy, fetch, shared_ssl_context
from monitor.models import Item, Source
from monitor.polling import (
    Fetched,
    FetchFailed,
    FetchOutcome,
    PollPlan,
    PollReport,
    PollSettings,
    apply_poll,
    is_silent,
    parse_result,
    plan_poll,
)
from monitor.schedule import PollOutcome, next_check_at, phase_of

__all__ = ["BatchLimits", "HostGate", "apply_many", "claim_room", "fetch_many",
           "group_by_host", "host_caps", "not_modified_values", "read_plans"]


@dataclass(frozen=True)
class BatchLimits:
    """How one task fetches its batch (settings: poll.fetch_threads, poll.host_connections)."""

    threads: int           # requests in flight at once in one task
    host_connections: int  # of which at most this many to one host
    # No request starts later than this many seconds into the batch, so a host that hangs
    # every request costs the batch a bounded time and the task ends inside its time limit;
    # the sources not reached are due again at the next tick (not counted as failures).
    budget_s: float


def group_by_host(rows: Sequence[tuple[int, str]], *, batch: int) -> list[list[int]]:
    """Pure: source ids (id, host) cut into batches of at most `batch`, by host. A host's
    sources are never split across messages unless they are more than `batch` (then into
    full batches of that host, and a remainder); the small groups of several hosts share a
    message up to `batch` — a 5 s tick in steady state finds two or three due sources per
    host, and a message each would pay a task's fixed costs for so few. Within a message the
    fetch keeps each host's own spacing and connection limit (fetch_many), and a host is in
    one message per tick, so its spacing holds. Order: hosts by first appearance."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    by_host: dict[str, list[int]] = {}
    for source_id, host in rows:
        by_host.setdefault(host.strip().lower(), []).append(source_id)
    out: list[list[int]] = []
    shared: list[int] = []
    for ids in by_host.values():
        full = len(ids) - len(ids) % batch
        out.extend(ids[i : i + batch] for i in range(0, full, batch))
        rest = ids[full:]
        if not rest:
            continue
        if len(shared) + len(rest) > batch:
            out.append(shared)
            shared = []
        shared.extend(rest)
    if shared:
        out.append(shared)
    return out


# ---------------------------------------------------------------- 1. the plans


def read_plans(session: Session, source_ids: Sequence[int], *, cfg: PollSettings,
               now: datetime) -> list[PollPlan]:
    """Step 1 for a batch: the plans of the sources that still exist, in the order given.
    Each host's last request is read once (the latest last_checked_at of its sources)."""
    if not source_ids:
        return []
    rows = {s.id: s for s in session.scalars(select(Source).where(Source.id.in_(source_ids)))}
    hosts = {s.host for s in rows.values() if s.host}
    last: dict[str, datetime | None] = {}
    if hosts:
        last = {host: at for host, at in session.execute(
            select(Source.host, func.max(Source.last_checked_at))
            .where(Source.host.in_(hosts)).group_by(Source.host))}
    return [plan_poll(rows[i], last.get(rows[i].host), now, cfg)
            for i in source_ids if i in rows]


# ---------------------------------------------------------------- 2. fetch, many at once


class HostGate:
    """Spacing between the starts of requests to one host, across the batch's threads.
    The first request waits what its plan says (the host's last request, read from the
    database); each later one at least `interval_s` after the one before it."""

    def __init__(self, interval_s: float, first_wait_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval = interval_s
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep
        self._next = clock() + first_wait_s

    def wait(self) -> None:
        with self._lock:
            start = max(self._clock(), self._next)
            self._next = start + self._interval
        delay = start - self._clock()
        if delay > 0:
            self._sleep(delay)


@contextmanager
def _clients(hosts: Sequence[str], limits: BatchLimits
             ) -> Iterator[dict[str, queue.SimpleQueue[httpx.Client]]]:
    """Per host, `host_connections` keep-alive clients of one connection each, handed out
    to one thread at a time: the per-host connection limit, and no connection pool shared
    between threads (httpcore's sync pool can close an idle connection another thread was
    just given — seen here as "[Errno 9] Bad file descriptor" once 304s kept their
    connections; encode/httpcore#1110). trust_env=False: an environment proxy would bypass
    fetch's address checks (as in monitor.fetch)."""
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    free: dict[str, queue.SimpleQueue[httpx.Client]] = {}
    made: list[httpx.Client] = []
    for host in hosts:
        free[host] = queue.SimpleQueue()
        for _ in range(limits.host_connections):
            client = httpx.Client(follow_redirects=False, trust_env=False, limits=one,
                                  verify=shared_ssl_context())
            made.append(client)
            free[host].put(client)
    try:
        yield free
    finally:
        for client in made:
            client.close()


def fetch_many(plans: Sequence[PollPlan], *, policy: FetchPolicy, cfg: PollSettings,
               now: datetime, limits: BatchLimits,
               sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic,
               timings: list[float | None] | None = None) -> list[FetchOutcome | None]:
    """Step 2 for a batch, with no session open: the outcome of each plan, in order. What a
    source does wrong is its own FetchFailed; the others are not affected. None for a plan
    not reached within limits.budget_s (its request was never sent). `timings`, when given,
    is filled with each plan's request-and-parse seconds (the host's politeness wait aside;
    None where no request was made), for the operator's fetch-time figures."""
    if not plans:
        return []
    if timings is not None:
        timings[:] = [None] * len(plans)
    give_up = clock() + limits.budget_s
    host_of = [_host_key(p) for p in plans]
    gates: dict[str, HostGate] = {}
    for plan, host in zip(plans, host_of, strict=True):
        if host not in gates:
            interval = cfg.host_intervals.get(host, cfg.default_host_interval) if host else 0.0
            gates[host] = HostGate(interval, plan.wait_s, sleep=sleep)
    # Per host at most host_connections in flight: a thread holds one of the host's
    # clients (one connection each) for its request.
    with _clients(list(gates), limits) as clients:
        def one(index: int) -> FetchOutcome | None:
            plan, host = plans[index], host_of[index]
            client = clients[host].get()
            try:
                if clock() > give_up:
                    return None
                gates[host].wait()
                # the operator's figure, on the real clock (`clock` paces the budget only)
                started = time.monotonic()
                try:
                    result = fetch(plan.url, policy=policy, now=now, etag=plan.etag,
                                   last_modified=plan.last_modified,
                                   allow_private=plan.allow_private, client=client)
                except FetchError as exc:
                    if timings is not None:
                        timings[index] = max(0.0, time.monotonic() - started)
                    return FetchFailed(exc.message, exc.status, exc.retry_after_s)
            finally:
                clients[host].put(client)
            parsed = parse_result(plan, result, cfg, now)
            if timings is not None:
                timings[index] = max(0.0, time.monotonic() - started)
            return parsed

        # No more threads than can be busy: a one-host batch has host_connections at most.
        workers = max(1, min(limits.threads, len(plans), limits.host_connections * len(gates)))
        if workers == 1:
            return [one(i) for i in range(len(plans))]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
            return list(pool.map(one, range(len(plans))))


def _host_key(plan: PollPlan) -> str:
    """The host the spacing and the connection limit apply to: the URL's, lower case (a
    plan has no host column; the URL is what the request goes to)."""
    try:
        return (httpx.URL(plan.url.strip()).host or "").lower()
    except (httpx.InvalidURL, TypeError):
        return ""


# ---------------------------------------------------------------- 3. apply


def apply_many(session: Session, plans: Sequence[PollPlan],
               outcomes: Sequence[FetchOutcome | None], *, cfg: PollSettings, now: datetime,
               jitter: Callable[[], float]) -> list[PollReport]:
    """Step 3 for a batch, in the caller's transaction. A source not reached (None) gives
    its lease back: due at the next tick, nothing else changed. Sources removed while they
    were fetched are left out. Flushes.

    Most polls are 304s of healthy sources, and for those the outcome is a handful of column
    values known without the ORM (`not_modified_values`): they are written by one
    executemany UPDATE, and their coverage spans closed by one UPDATE for the batch — where
    the ORM path paid, per source, an object load, a unit-of-work flush (note_poll's
    UPDATE autoflushed each row on its own) and a coverage UPDATE. Everything else (a body,
    a failure, a source silent or going silent) goes through polling.apply_poll, on rows
    loaded by one query."""
    if len(plans) != len(outcomes):
        raise ValueError("one outcome per plan")
    ids = [p.source_id for p in plans]
    state = {r.id: r for r in session.execute(
        select(Source.id, Source.interval_s, Source.silent_since, Source.items_seen)
        .where(Source.id.in_(ids)))} if ids else {}
    # What the silence check of each productive source needs, in one grouped query instead
    # of one per source (only a poll that stores nothing new asks; its answer is unchanged
    # by the batch's own writes, which add no item to such a source).
    asks = [i for i, r in state.items() if r.silent_since is None and r.items_seen > 0]
    last_new: dict[int, datetime | None] = dict.fromkeys(asks)
    if asks:
        last_new.update({sid: at for sid, at in session.execute(
            select(Item.source_id, func.max(Item.fetched_at))
            .where(Item.source_id.in_(asks)).group_by(Item.source_id))})
    fast: list[dict[str, object]] = []
    slow: list[tuple[PollPlan, FetchOutcome]] = []
    deferred: list[int] = []
    fast_ids: list[int] = []
    reports_by_id: dict[int, PollReport] = {}
    for plan, outcome in zip(plans, outcomes, strict=True):
        row = state.get(plan.source_id)
        if row is None:
            continue  # removed while it was fetched
        if outcome is None:
            deferred.append(plan.source_id)
            continue
        values = not_modified_values(
            outcome, source_id=row.id, interval_s=row.interval_s,
            silent_since=row.silent_since, items_seen=row.items_seen,
            last_new_item=last_new.get(row.id), cfg=cfg, now=now, jitter=jitter())
        if values is None or not isinstance(outcome, Fetched):
            slow.append((plan, outcome))
            continue
        fast.append(values)
        fast_ids.append(row.id)
        reports_by_id[row.id] = PollReport(source_id=row.id, ok=True, not_modified=True,
                                           warnings=outcome.warnings)
    # Core on the table: a plain executemany, no ORM bulk-update machinery per row.
    table = cast(Table, Source.__table__)
    if deferred:
        session.execute(update(table).where(table.c.id.in_(deferred))
                        .values(next_check_at=now))
    if fast:
        session.execute(update(table).where(table.c.id == bindparam("b_id"))
                        .values({c: bindparam(f"b_{c}") for c in _FAST_COLUMNS}), fast)
        # Healthy now: close whatever span was open (monitor.coverage.note_poll, for all).
        close_spans(session, fast_ids, now)
    if slow:
        # The ORM objects for the rest, one query (apply_poll then finds them in the session).
        session.scalars(select(Source).where(Source.id.in_([p.source_id for p, _ in slow])))
        for plan, outcome in slow:
            report = apply_poll(session, plan, outcome, cfg=cfg, now=now, jitter=jitter(),
                                last_new_item=last_new.get(plan.source_id), flush=False)
            if report is not None:
                reports_by_id[plan.source_id] = report
    session.flush()  # the ORM path's UPDATEs together
    return [reports_by_id[p.source_id] for p in plans if p.source_id in reports_by_id]


# What a healthy 304 writes (not_modified_values' keys, without their "b_" prefix).
_FAST_COLUMNS = ("etag", "last_modified", "last_checked_at", "last_success_at",
                 "last_status", "failure_count", "last_error", "last_warning",
                 "next_check_at")


def not_modified_values(outcome: FetchOutcome, *, source_id: int, interval_s: int,
                        silent_since: datetime | None, items_seen: int,
                        last_new_item: datetime | None, cfg: PollSettings, now: datetime,
                        jitter: float) -> dict[str, object] | None:
    """Pure: the row values (keys "b_" + column, with "b_id") polling.apply_poll would write
    for a 304 of a source that is not silent and does not go silent now — or None when the
    outcome is anything else (a body, a failure, silence: the ORM path, which also writes
    the silence warning and span). Same values as apply_poll's: the validators (a 304 may
    renew them), checked and successful now, failures and messages cleared, the next check
    as scheduled for a 304 with failure_count 0."""
    if not isinstance(outcome, Fetched) or not outcome.result.not_modified or outcome.entries:
        return None
    if silent_since is not None:
        return None
    if items_seen > 0 and is_silent(last_new_item, now, interval_s=interval_s,
                                    silent_after=cfg.silent_after):
        return None
    result = outcome.result
    return {
        "b_id": source_id,
        "b_etag": result.etag,
        "b_last_modified": result.last_modified,
        "b_last_checked_at": now,
        "b_last_success_at": now,
        "b_last_status": result.status,
        "b_failure_count": 0,
        "b_last_error": None,
        "b_last_warning": "; ".join(outcome.warnings) if outcome.warnings else None,
        "b_next_check_at": next_check_at(
            now,
            PollOutcome(ok=True, not_modified=True, retry_after_s=result.retry_after_s,
                        max_age_s=result.max_age_s),
            interval_s=interval_s, failure_count=0, min_interval_s=cfg.min_interval_s,
            max_backoff_s=cfg.max_backoff_s, jitter=jitter,
            phase=phase_of(source_id) if cfg.slots else None),
    }


def host_caps(hosts: Sequence[str], *, per_host: int, tick_s: float,
              host_intervals: Mapping[str, float], default_interval: float) -> dict[str, int]:
    """Pure: how many sources of each host one tick may claim: per_host, and for a host
    with politeness spacing no more than its spacing lets one task poll in a tick (so one
    host's batches do not pile up and overlap on two workers)."""
    caps = {}
    for host in hosts:
        key = host.strip().lower()
        spacing = host_intervals.get(key, default_interval)
        cap = per_host if spacing <= 0 else max(1, min(per_host, int(tick_s / spacing)))
        caps[key] = cap
    return caps


def claim_room(backlog: int | None, *, max_queued: int, host_batch: int,
               batch_size: int) -> int:
    """Pure: how many sources this tick may claim. A claim is a lease that runs out
    (celery.poll_lease): claiming more than the workers take before it runs out would only
    have the sources claimed again while their first messages still wait. So no more than
    fills the poll queue up to poll.max_queued batches; all of batch_size when the broker
    does not say."""
    if backlog is None:
        return batch_size
    return max(0, min(batch_size, (max_queued - backlog) * host_batch))
