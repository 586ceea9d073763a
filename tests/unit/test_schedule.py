"""Tables for monitor.schedule: next poll time and picking due sources."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.schedule import DueSource, PollOutcome, next_check_at, pick_due

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
POLL = {"interval_s": 600, "min_interval_s": 60, "max_backoff_s": 21600}

OK = PollOutcome(ok=True)
FAIL = PollOutcome(ok=False)


@pytest.mark.parametrize(
    ("outcome", "failures", "overrides", "expected_s"),
    [
        # Healthy: the interval…
        (OK, 0, {}, 600),
        (PollOutcome(ok=True, not_modified=True), 0, {}, 600),
        # …never below min_interval, whatever the configured interval…
        (OK, 0, {"interval_s": 10}, 60),
        # …stretched by a longer Cache-Control max-age, capped at 24 h…
        (PollOutcome(ok=True, max_age_s=3600), 0, {}, 3600),
        (PollOutcome(ok=True, max_age_s=31536000), 0, {}, 86400),
        # …but a short max-age never makes polling more frequent.
        (PollOutcome(ok=True, max_age_s=5), 0, {}, 600),
        (PollOutcome(ok=True, max_age_s=0), 0, {}, 600),
        # Retry-After on a success is honoured too.
        (PollOutcome(ok=True, retry_after_s=1800), 0, {}, 1800),
        # Failing: interval·2^(failures-1)…
        (FAIL, 1, {}, 600),
        (FAIL, 2, {}, 1200),
        (FAIL, 3, {}, 2400),
        (FAIL, 6, {}, 19200),
        # …capped at max_backoff, however many failures (still a finite time)…
        (FAIL, 7, {}, 21600),
        (FAIL, 10_000, {}, 21600),
        # …a failure with failure_count 0 is still a failure…
        (FAIL, 0, {}, 600),
        # …never sooner than min_interval, even with a tiny max_backoff…
        (FAIL, 3, {"max_backoff_s": 5}, 60),
        # …and never earlier than Retry-After (capped at 24 h), even past max_backoff.
        (PollOutcome(ok=False, retry_after_s=120), 1, {}, 600),
        (PollOutcome(ok=False, retry_after_s=7200), 1, {}, 7200),
        (PollOutcome(ok=False, retry_after_s=30000), 7, {}, 30000),
        (PollOutcome(ok=False, retry_after_s=10**9), 1, {}, 86400),
    ],
)
def test_next_check_at(
    outcome: PollOutcome, failures: int, overrides: dict[str, int], expected_s: int
) -> None:
    args = {**POLL, **overrides}
    got = next_check_at(NOW, outcome, failure_count=failures, **args)
    assert got - NOW == timedelta(seconds=expected_s)


@pytest.mark.parametrize(
    ("outcome", "failures", "jitter", "expected_s"),
    [
        (FAIL, 2, 0.5, 1200 * 1.05),
        (FAIL, 7, 0.999, 21600 * 1.0999),  # jitter may pass max_backoff by < 10 %
        (OK, 0, 0.5, 630),
        # Retry-After is a floor after jitter: jitter never makes a retry early.
        (PollOutcome(ok=False, retry_after_s=5000), 1, 0.5, 5000),
    ],
)
def test_next_check_at_jitter_spreads_up_to_ten_percent(
    outcome: PollOutcome, failures: int, jitter: float, expected_s: float
) -> None:
    got = next_check_at(NOW, outcome, failure_count=failures, jitter=jitter, **POLL)
    assert (got - NOW).total_seconds() == pytest.approx(expected_s)


@pytest.mark.parametrize(
    ("now", "failures", "overrides"),
    [
        (NOW.replace(tzinfo=None), 0, {}),
        (NOW, -1, {}),
        (NOW, 0, {"jitter": 1.0}),
        (NOW, 0, {"jitter": -0.1}),
        (NOW, 0, {"interval_s": 0}),
        (NOW, 0, {"max_backoff_s": 0}),
        (NOW, 0, {"min_interval_s": -1}),
    ],
)
def test_next_check_at_rejects_bad_arguments(
    now: datetime, failures: int, overrides: dict[str, float]
) -> None:
    args: dict[str, float] = {**POLL, **overrides}
    with pytest.raises(ValueError):
        next_check_at(now, OK, failure_count=failures, **args)  # type: ignore[arg-type]


def _src(id_: int, host: str, minutes_ago: int | None) -> DueSource:
    when = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
    return DueSource(id=id_, host=host, next_check_at=when)


@pytest.mark.parametrize(
    ("sources", "batch_size", "per_host", "expected"),
    [
        ([], 10, 2, []),
        # Not yet due (in the future) is left alone; exactly now is due.
        ([_src(1, "a.cn", -5), _src(2, "a.cn", 0)], 10, 2, [2]),
        # Never polled first, then most overdue first.
        ([_src(1, "a.cn", 5), _src(2, "b.cn", 60), _src(3, "c.cn", None)], 10, 5, [3, 2, 1]),
        # Equal times: lower id first, so the order is stable.
        ([_src(9, "a.cn", 5), _src(4, "b.cn", 5)], 10, 5, [4, 9]),
        # batch_size caps the total.
        ([_src(i, f"h{i}.cn", i) for i in range(1, 6)], 3, 2, [5, 4, 3]),
        ([_src(1, "a.cn", 5)], 0, 2, []),
        # per_host caps each host (case-insensitive), and the slot goes to another host.
        (
            [_src(1, "www.hnsft.gov.cn", 50), _src(2, "WWW.HNSFT.GOV.CN", 40),
             _src(3, "www.hnsft.gov.cn", 30), _src(4, "www.moj.gov.cn", 1)],
            3, 2, [1, 2, 4],
        ),
        ([_src(1, "a.cn", 3), _src(2, "a.cn", 2), _src(3, "a.cn", None)], 10, 1, [3]),
    ],
)  # fmt: skip
def test_pick_due(
    sources: list[DueSource], batch_size: int, per_host: int, expected: list[int]
) -> None:
    assert pick_due(sources, NOW, batch_size=batch_size, per_host=per_host) == expected


@pytest.mark.parametrize(
    ("now", "batch_size", "per_host"),
    [(NOW.replace(tzinfo=None), 10, 2), (NOW, -1, 2), (NOW, 10, 0)],
)
def test_pick_due_rejects_bad_arguments(now: datetime, batch_size: int, per_host: int) -> None:
    with pytest.raises(ValueError):
        pick_due([_src(1, "a.cn", 1)], now, batch_size=batch_size, per_host=per_host)


# ---------------------------------------------------------------- slots (issue 15)

from monitor.schedule import next_slot, phase_of, slot_lateness  # noqa: E402

UTC_NOON = datetime(2026, 12, 2, 12, 0, tzinfo=ZoneInfo("UTC"))  # a multiple of 600 s


def test_phases_spread_consecutive_ids_over_the_interval() -> None:
    phases = [phase_of(i) for i in range(1, 1001)]
    assert all(0.0 <= p < 1.0 for p in phases)
    # 1000 consecutive ids fill each tenth of the interval with 100 ± 10 sources.
    tenths = [sum(1 for p in phases if k / 10 <= p < (k + 1) / 10) for k in range(10)]
    assert all(90 <= n <= 110 for n in tenths), tenths
    assert phase_of(7) == phase_of(7)


@pytest.mark.parametrize(
    ("earliest_s", "phase", "expected_s"),
    [
        (0, 0.25, 150),     # the slot in this period
        (150, 0.25, 150),   # exactly on a slot: that slot
        (151, 0.25, 750),   # just past it: the next period's
        (599, 0.0, 600),
        (-10, 0.5, 300),
    ],
)
def test_next_slot(earliest_s: int, phase: float, expected_s: int) -> None:
    got = next_slot(UTC_NOON + timedelta(seconds=earliest_s), period_s=600, phase=phase)
    assert (got - UTC_NOON).total_seconds() == pytest.approx(expected_s)


@pytest.mark.parametrize(
    ("polled_s", "outcome", "expected_s"),
    [
        # On time (or a little after its slot at 150 s): exactly one interval on.
        (150, OK, 750),
        (152, PollOutcome(ok=True, not_modified=True), 750),
        # Polled late after an outage: back to its slot, at least half an interval on.
        (400, OK, 750),
        (500, OK, 1350),
        # A longer max-age is a floor, then the next slot.
        (150, PollOutcome(ok=True, max_age_s=1000), 1350),
        # A max-age shorter than the interval but longer than the gap to the slot: a floor.
        (400, PollOutcome(ok=True, max_age_s=500), 1350),
        # A failure backs off from now as before, slots or not.
        (150, FAIL, 750),
        (150, PollOutcome(ok=False), 750),
    ],
)
def test_next_check_at_keeps_to_the_slot(polled_s: int, outcome: PollOutcome,
                                        expected_s: int) -> None:
    now = UTC_NOON + timedelta(seconds=polled_s)
    failures = 0 if outcome.ok else 1
    got = next_check_at(now, outcome, failure_count=failures, phase=0.25, **POLL)
    assert (got - UTC_NOON).total_seconds() == pytest.approx(expected_s)


def test_next_check_at_slot_period_is_at_least_min_interval() -> None:
    now = UTC_NOON + timedelta(seconds=26)
    got = next_check_at(now, OK, failure_count=0, phase=0.25, interval_s=60,
                        min_interval_s=100, max_backoff_s=3600)
    # The period is min_interval (100 s, over the 60 s interval), the slots 25 + k·100 s:
    # polled a second after its slot, back one period later.
    assert (got - UTC_NOON).total_seconds() == pytest.approx(125)


def test_next_check_at_slot_when_min_interval_is_the_interval() -> None:
    # A poll a little after its slot comes back one interval after that slot, not two.
    now = UTC_NOON + timedelta(seconds=152)
    got = next_check_at(now, OK, failure_count=0, phase=0.25, interval_s=600,
                        min_interval_s=600, max_backoff_s=3600)
    assert (got - UTC_NOON).total_seconds() == pytest.approx(750)


@pytest.mark.parametrize(
    ("at_s", "expected"),
    [(150, 0.0), (160, 10.0), (440, 290.0), (460, 0.0), (749, 0.0)],
)
def test_slot_lateness(at_s: int, expected: float) -> None:
    got = slot_lateness(UTC_NOON + timedelta(seconds=at_s), period_s=600, phase=0.25)
    assert got == pytest.approx(expected)
