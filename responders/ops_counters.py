"""Work done in workers, counted where every process can read it: Redis (issue 15).

Polls by source kind and outcome, and a histogram of fetch time by kind, are events that
happen in worker children on any number of machines; /metrics is served by the desk. A
per-process Prometheus registry would show only the desk's own (zero) polls, and the
client's multiprocess directory works on one machine only and must be wiped by hand at each
restart. So each poll adds to a few Redis hash fields (one pipelined round trip, after the
poll's commit, never inside a transaction) and the desk reads them at scrape time. The
counters only grow (Prometheus' `rate()` copes with a reset, should Redis lose them).

Counting is best effort: a Redis that cannot be reached costs the count, never the poll.
Where: `metrics.redis_url`, else the broker when it is Redis (the embedded one included);
with RabbitMQ and no `metrics.redis_url`, polls are not counted (the gauges still are).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("yuqing.metrics")

PREFIX = "yuqing:metrics:"
POLLS_KEY = PREFIX + "polls"          # field "kind|outcome" → count
FETCH_KEY = PREFIX + "fetch_seconds"  # fields "kind|le=B" (cumulative), "kind|sum", "kind|count"
# Seconds: a 304 from a nearby server is ~10 ms, a slow government site several seconds,
# fetch.total_timeout (30 s) the end.
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OUTCOMES = ("ok", "not_modified", "error")


def counters_url(redis_url: str, broker_url: str) -> str | None:
    """Pure: where the counters live, or None when they are not kept. `redis+socket://`
    (the embedded broker) is redis-py's `unix://`."""
    url = redis_url or broker_url
    if url.startswith("redis+socket://"):
        return "unix://" + url[len("redis+socket://"):]
    if url.startswith(("redis://", "rediss://", "unix://")):
        return url
    return None


def outcome_of(ok: bool, not_modified: bool) -> str:
    """Pure: the `outcome` label of one poll."""
    if not ok:
        return "error"
    return "not_modified" if not_modified else "ok"


def fetch_fields(kind: str, seconds: float) -> dict[str, int]:
    """Pure: the cumulative histogram fields one fetch adds to (+Inf is `count`)."""
    return {f"{kind}|le={b}": 1 for b in BUCKETS if seconds <= b}


_clients: dict[str, Any] = {}


def _client(url: str) -> Any:
    # One pool per process and URL; redis-py makes a new connection after a fork by itself.
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(url, socket_timeout=1.0,
                                             socket_connect_timeout=1.0)
    return _clients[url]


def record_poll(url: str | None, kind: str, outcome: str, fetch_s: float | None) -> bool:
    """Count one poll (and its fetch time, when a request was made). False when not counted."""
    return record_polls(url, [(kind, outcome, fetch_s)])


def poll_increments(polls: Iterable[tuple[str, str, float | None]]
                    ) -> tuple[Counter[str], Counter[str], dict[str, float]]:
    """Pure: what polls (kind, outcome, fetch seconds or None) add — to the polls hash, to
    the fetch hash's integer fields, to its `kind|sum` fields — summed per field."""
    counts: Counter[str] = Counter()
    fetch: Counter[str] = Counter()
    sums: dict[str, float] = {}
    for kind, outcome, fetch_s in polls:
        counts[f"{kind}|{outcome}"] += 1
        if fetch_s is not None:
            fetch.update(fetch_fields(kind, fetch_s))
            fetch[f"{kind}|count"] += 1
            sums[f"{kind}|sum"] = sums.get(f"{kind}|sum", 0.0) + fetch_s
    return counts, fetch, sums


def record_polls(url: str | None, polls: Sequence[tuple[str, str, float | None]]) -> bool:
    """Count a batch of polls in one pipelined round trip, each field incremented once by
    the batch's sum (a poll batch task counts its 25 polls together, not 25 round trips).
    False when not counted."""
    if url is None or not polls:
        return False
    import redis

    counts, fetch, sums = poll_increments(polls)
    try:
        pipe = _client(url).pipeline(transaction=False)
        for name, n in counts.items():
            pipe.hincrby(POLLS_KEY, name, n)
        for name, n in fetch.items():
            pipe.hincrby(FETCH_KEY, name, n)
        for name, total in sums.items():
            pipe.hincrbyfloat(FETCH_KEY, name, total)
        pipe.execute()
    except (redis.RedisError, OSError) as exc:
        log.debug("metrics: polls not counted (%s)", exc)
        return False
    return True


@dataclass(frozen=True)
class Counted:
    """The counters as read back: polls[kind][outcome], and per kind its histogram."""

    polls: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    buckets: Mapping[str, Mapping[float, int]] = field(default_factory=dict)
    sums: Mapping[str, float] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None


def parse(polls: Mapping[bytes, bytes], fetch: Mapping[bytes, bytes]) -> Counted:
    """Pure: Redis' hash contents → Counted."""
    by_kind: dict[str, dict[str, int]] = {}
    for raw, value in polls.items():
        kind, _, outcome = raw.decode().rpartition("|")
        by_kind.setdefault(kind, {})[outcome] = int(value)
    buckets: dict[str, dict[float, int]] = {}
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    for raw, value in fetch.items():
        kind, _, name = raw.decode().rpartition("|")
        if name == "sum":
            sums[kind] = float(value)
        elif name == "count":
            counts[kind] = int(value)
        elif name.startswith("le="):
            buckets.setdefault(kind, {})[float(name[3:])] = int(value)
    return Counted(polls=by_kind, buckets=buckets, sums=sums, counts=counts)


def read_counters(url: str | None) -> Counted:
    if url is None:
        return Counted(error="not counted: no Redis (set metrics.redis_url)")
    import redis

    try:
        client = _client(url)
        return parse(client.hgetall(POLLS_KEY), client.hgetall(FETCH_KEY))
    except (redis.RedisError, OSError) as exc:
        return Counted(error=f"{type(exc).__name__}: {str(exc)[:200]}")
