"""The pure parts of monitor.poll_batch: per-host batches, per-host claim caps, the spacing
gate (with an injected clock: no sleeping, no timing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.fetch import FetchResult
from monitor.poll_batch import HostGate, group_by_host, host_caps, not_modified_values
from monitor.polling import Fetched, FetchFailed
from tests.support.settings import poll_settings


@pytest.mark.parametrize(
    ("rows", "batch", "expected"),
    [
        ([], 3, []),
        # One host's sources travel together, cut at `batch`, in the order claimed …
        ([(1, "a.cn"), (2, "a.cn"), (3, "a.cn"), (4, "a.cn")], 3, [[1, 2, 3], [4]]),
        # … small groups of several hosts share a message (case-insensitive hosts), a host
        # never split between two of them …
        ([(1, "a.cn"), (2, "B.cn"), (3, "A.CN"), (4, "b.cn")], 5, [[1, 3, 2, 4]]),
        ([(1, "a.cn"), (2, "b.cn"), (3, "a.cn"), (4, "b.cn"), (5, "c.cn")], 3,
         [[1, 3], [2, 4, 5]]),
        # … a big host fills batches of its own, its remainder shares one.
        ([(1, "a.cn"), (2, "a.cn"), (3, "a.cn"), (4, "b.cn")], 2, [[1, 2], [3, 4]]),
        ([(1, ""), (2, "a.cn"), (3, "")], 1, [[1], [3], [2]]),
    ],
)
def test_group_by_host(rows: list[tuple[int, str]], batch: int,
                       expected: list[list[int]]) -> None:
    assert group_by_host(rows, batch=batch) == expected


def test_group_by_host_rejects_an_empty_batch() -> None:
    with pytest.raises(ValueError):
        group_by_host([(1, "a.cn")], batch=0)


def test_host_caps_follow_the_spacing() -> None:
    caps = host_caps(["m.weibo.cn", "slow.cn", "fast.cn", "crawl.cn"], per_host=100,
                     tick_s=5, host_intervals={"m.weibo.cn": 0.5, "slow.cn": 30.0,
                                               "crawl.cn": 0.01},
                     default_interval=0.0)
    # 5 s / 0.5 s = 10 a tick for Weibo; a 30 s spacing still lets one through; no spacing
    # (or a tiny one) leaves per_host.
    assert caps == {"m.weibo.cn": 10, "slow.cn": 1, "fast.cn": 100, "crawl.cn": 100}


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(round(s, 6))
        self.t += s


def test_host_gate_spaces_request_starts() -> None:
    clock = FakeClock()
    gate = HostGate(0.5, first_wait_s=0.2, clock=clock, sleep=clock.sleep)
    gate.wait()          # the plan's wait (the host's last request was 0.3 s ago)
    gate.wait()          # then 0.5 s after that start
    clock.t += 2.0       # a slow response: the next start is already allowed
    gate.wait()
    gate.wait()
    assert clock.slept == [0.2, 0.5, 0.5]


def test_host_gate_without_spacing_never_sleeps() -> None:
    clock = FakeClock()
    gate = HostGate(0.0, first_wait_s=0.0, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        gate.wait()
    assert clock.slept == []


@pytest.mark.parametrize(
    ("backlog", "expected"),
    [
        (None, 2000),  # the broker does not say: the whole batch_size
        (0, 2000),     # an empty queue: up to batch_size (100 batches of 25 would be 2500)
        (60, 1000),    # 40 batches of room
        (100, 0),      # full: nothing claimed this tick (no lease runs out in the queue)
        (250, 0),
    ],
)
def test_claim_room_fills_the_poll_queue_up_to_its_limit(backlog: int | None,
                                                          expected: int) -> None:
    from monitor.poll_batch import claim_room

    assert claim_room(backlog, max_queued=100, host_batch=25, batch_size=2000) == expected


_NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
_CFG = poll_settings()


def _result(status: int = 304) -> FetchResult:
    return FetchResult(url="http://x/", status=status, body=b"" if status == 304 else b"<rss/>",
                       not_modified=status == 304, etag='"e"', last_modified=None,
                       content_type=None, max_age_s=None, retry_after_s=None)


@pytest.mark.parametrize(
    ("outcome", "silent_since", "items_seen", "last_new", "fast"),
    [
        (Fetched(_result()), None, 0, None, True),               # never productive
        (Fetched(_result()), None, 5, _NOW - timedelta(minutes=5), True),   # lively
        (Fetched(_result()), None, 5, _NOW - timedelta(days=30), False),    # goes silent
        (Fetched(_result()), _NOW - timedelta(days=1), 5, None, False),     # is silent
        (Fetched(_result(200)), None, 0, None, False),            # a body
        (FetchFailed("HTTP 500", 500), None, 0, None, False),     # a failure
    ],
)
def test_only_a_healthy_304_takes_the_bulk_update(
        outcome: Fetched | FetchFailed, silent_since: datetime | None, items_seen: int,
        last_new: datetime | None, fast: bool) -> None:
    values = not_modified_values(outcome, source_id=7, interval_s=600,
                                 silent_since=silent_since, items_seen=items_seen,
                                 last_new_item=last_new, cfg=_CFG, now=_NOW, jitter=0.0)
    assert (values is not None) == fast
    if values is not None:
        assert values["b_id"] == 7 and values["b_last_status"] == 304
        assert values["b_failure_count"] == 0 and values["b_last_error"] is None
        assert values["b_next_check_at"] > _NOW  # type: ignore[operator]
