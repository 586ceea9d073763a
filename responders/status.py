"""The operator's view (issue 15): what `yuqing status`, `/metrics` and `/readyz` show.

Three parts, each with one job:

- `read_figures(session, now)`: the state of the work, read from the database at the moment
  of asking (sources failing or silent, items, the analysis backlog, open and overdue alerts,
  the outbox). Each query touches an index or a small table: never a scan of `items` or
  `alerts` (DESIGN principle 12), so a scrape every 15 s costs the same at a million items.
- `probe_broker(url, queues)` (responders.broker_probe): the queue depths, from the broker.
- `assemble(figures, broker, now)`: pure; the one dictionary the CLI prints and the metrics
  and health endpoints are built from.

Why from the database and the broker at scrape time, not counters kept by each process:
these are states, not events. Any process on any machine (the desk, `yuqing status` on a
laptop) reads the same answer, a restarted worker loses nothing, and there is no per-process
registry to merge. Events done in workers (polls, fetch time) are counted in Redis
(responders.ops_counters) for the same reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from monitor.models import Item, Source
from responders.models import Alert, OutboxMessage
from responders.workflow import OPEN_ALERT_STATES

PRIORITIES = ("P1", "P2", "P3")
# Outbox states that are not finished business; `sent` grows without bound and is not shown.
OUTBOX_STATES = ("pending", "sending", "failed", "unknown")
# Below this many rows (by PostgreSQL's own estimate) `items` is counted exactly; above it
# the planner's estimate (pg_class.reltuples, kept by autovacuum) is shown: an exact count of
# a million rows is a scan of the table's index on every scrape.
EXACT_COUNT_BELOW = 200_000
LISTED = 20  # failing and silent sources named in the status (all are counted)


@dataclass(frozen=True)
class SourceProblem:
    id: int
    name: str
    kind: str
    failures: int
    since: datetime | None   # silent: since when; failing: the last successful poll
    detail: str              # the last error, or the reason it is called silent


@dataclass(frozen=True)
class Figures:
    """What the database says, at `read_figures`' moment."""

    sources_by_kind: Mapping[str, int]
    failing_by_kind: Mapping[str, int]
    silent_by_kind: Mapping[str, int]
    failing: Sequence[SourceProblem]
    silent: Sequence[SourceProblem]
    items_stored: int
    items_estimated: bool
    unanalysed: int
    oldest_unanalysed_at: datetime | None
    open_by_priority: Mapping[str, int]
    overdue_by_priority: Mapping[str, int]
    outbox_by_state: Mapping[str, int]


@dataclass(frozen=True)
class BrokerState:
    """What the broker says: reachable, and the messages waiting per queue."""

    url: str                               # without any password
    reachable: bool
    queues: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class BrokerInfo:
    """Where the broker is and which queues to look at: handed to the desk by tasks/ (the
    embedded broker's URL and the queue names are the runtime's knowledge)."""

    url: str
    queues: tuple[str, ...]


def _by(rows: Any) -> dict[str, int]:
    return {str(key): int(count) for key, count in rows}


def items_count(session: Session) -> tuple[int, bool]:
    """(rows in items, estimated?). Exact on SQLite and on a small PostgreSQL table."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        estimate = session.scalar(text(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = 'items'::regclass"))
        if estimate is not None and int(estimate) >= EXACT_COUNT_BELOW:
            return int(estimate), True
    return int(session.scalar(select(func.count()).select_from(Item)) or 0), False


def read_figures(session: Session, now: datetime, *, listed: int = LISTED) -> Figures:
    """Reads only; the caller's session is left as it was (nothing to commit)."""
    polled = Source.kind != "push"  # filled by import and the push API, never polled
    sources_by_kind = _by(session.execute(
        select(Source.kind, func.count()).group_by(Source.kind)))
    failing_q = (Source.failure_count > 0) & polled
    silent_q = Source.silent_since.is_not(None) & polled
    failing_by_kind = _by(session.execute(
        select(Source.kind, func.count()).where(failing_q).group_by(Source.kind)))
    silent_by_kind = _by(session.execute(
        select(Source.kind, func.count()).where(silent_q).group_by(Source.kind)))
    failing = [
        SourceProblem(s.id, s.name, s.kind, s.failure_count, s.last_success_at,
                      s.last_error or "")
        for s in session.scalars(select(Source).where(failing_q).order_by(
            Source.failure_count.desc(), Source.id).limit(listed))]
    silent = [
        SourceProblem(s.id, s.name, s.kind, s.failure_count, s.silent_since,
                      "no new items for several of its intervals")
        for s in session.scalars(select(Source).where(silent_q).order_by(
            Source.silent_since, Source.id).limit(listed))]
    stored, estimated = items_count(session)
    # Both on ix_items_unanalyzed (analyzed_at, fetched_at): the backlog only, never the table.
    waiting = Item.analyzed_at.is_(None)
    unanalysed = int(session.scalar(select(func.count()).select_from(Item).where(waiting))
                     or 0)
    oldest = session.scalar(select(func.min(Item.fetched_at)).where(waiting))
    is_open = Alert.state.in_(OPEN_ALERT_STATES)
    open_by_priority = _by(session.execute(
        select(Alert.priority, func.count()).where(is_open).group_by(Alert.priority)))
    overdue_by_priority = _by(session.execute(
        select(Alert.priority, func.count()).where(is_open, Alert.due_at < now)
        .group_by(Alert.priority)))
    outbox_by_state = _by(session.execute(
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.state.in_(OUTBOX_STATES)).group_by(OutboxMessage.state)))
    return Figures(
        sources_by_kind=sources_by_kind, failing_by_kind=failing_by_kind,
        silent_by_kind=silent_by_kind, failing=failing, silent=silent,
        items_stored=stored, items_estimated=estimated, unanalysed=unanalysed,
        oldest_unanalysed_at=oldest, open_by_priority=open_by_priority,
        overdue_by_priority=overdue_by_priority, outbox_by_state=outbox_by_state)


def analysis_lag_s(oldest_unanalysed_at: datetime | None, now: datetime) -> float:
    """Pure: how long the oldest item waiting for analysis has waited (0 when none waits)."""
    if oldest_unanalysed_at is None:
        return 0.0
    return max(0.0, (now - oldest_unanalysed_at).total_seconds())


def _problem(p: SourceProblem) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "kind": p.kind, "failures": p.failures,
            "since": p.since, "detail": p.detail}


def assemble(figures: Figures, broker: BrokerState, now: datetime) -> dict[str, Any]:
    """Pure: the status as one mapping (`yuqing status --json` prints it as it is)."""
    open_total = sum(figures.open_by_priority.values())
    return {
        "at": now,
        "sources": {
            "total": sum(figures.sources_by_kind.values()),
            "by_kind": dict(figures.sources_by_kind),
            "failing": sum(figures.failing_by_kind.values()),
            "silent": sum(figures.silent_by_kind.values()),
            "failing_by_kind": dict(figures.failing_by_kind),
            "silent_by_kind": dict(figures.silent_by_kind),
            "failing_list": [_problem(p) for p in figures.failing],
            "silent_list": [_problem(p) for p in figures.silent],
        },
        "items": {"stored": figures.items_stored, "estimated": figures.items_estimated,
                  "unanalysed": figures.unanalysed,
                  "oldest_unanalysed_at": figures.oldest_unanalysed_at,
                  "analysis_lag_s": round(analysis_lag_s(figures.oldest_unanalysed_at,
                                                         now), 1)},
        "alerts": {"open": open_total,
                   "open_by_priority": {p: figures.open_by_priority.get(p, 0)
                                        for p in PRIORITIES},
                   "overdue": sum(figures.overdue_by_priority.values()),
                   "overdue_by_priority": {p: figures.overdue_by_priority.get(p, 0)
                                           for p in PRIORITIES}},
        "outbox": {state: figures.outbox_by_state.get(state, 0) for state in OUTBOX_STATES},
        "broker": {"url": broker.url, "reachable": broker.reachable, "error": broker.error,
                   "queues": dict(broker.queues)},
    }


def needs_attention(status: Mapping[str, Any]) -> list[str]:
    """Pure: what a person should look at, one short sentence each (empty: all is well)."""
    out: list[str] = []
    if not status["broker"]["reachable"]:
        out.append(f"the broker is unreachable: {status['broker']['error']}")
    if status["sources"]["failing"]:
        out.append(f"{status['sources']['failing']} source(s) failing")
    if status["sources"]["silent"]:
        out.append(f"{status['sources']['silent']} source(s) silent")
    if status["alerts"]["overdue"]:
        out.append(f"{status['alerts']['overdue']} open alert(s) overdue")
    for state in ("failed", "unknown"):
        if status["outbox"][state]:
            out.append(f"{status['outbox'][state]} notification(s) {state}: check the outbox")
    return out


# ---------------------------------------------------------------- readiness

def migration_problem(engine: Engine, version_dirs: Sequence[Any]) -> str | None:
    """Why the schema is not current (None when every branch is at its head): a revision
    not applied yet, or a stamp this version does not know (a newer yuqing's database)."""
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    from monitor.db import alembic_config, current_heads

    script = ScriptDirectory.from_config(alembic_config(engine, tuple(version_dirs)))
    stamped = current_heads(engine)
    if not stamped:
        return "the database has no schema yet: run `yuqing init`"
    applied: set[str] = set()
    todo = list(stamped)
    try:
        while todo:
            rev = script.get_revision(todo.pop())
            if rev is None or rev.revision in applied:
                continue
            applied.add(rev.revision)
            for parent in (_names(rev.down_revision) + _names(rev.dependencies)):
                todo.append(parent)
    except CommandError:
        return (f"the database is at revision(s) {', '.join(sorted(stamped))}, unknown to "
                "this version of yuqing")
    missing = sorted(r.revision for r in script.walk_revisions() if r.revision not in applied)
    if missing:
        return (f"{len(missing)} migration(s) not applied ({', '.join(missing[:5])}): run "
                "`yuqing init`")
    return None


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]
