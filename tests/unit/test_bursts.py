"""Bursts (monitor.bursts): the Poisson test, its words, and what it does to priority."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from monitor.bursts import Burst, BurstPolicy, detect, escalate, higher, poisson_tail
from monitor.settings import load_settings
from tests.support.settings import defaults

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = BurstPolicy.from_section(defaults().events.bursts)


def _spread(count: int, start: timedelta, end: timedelta) -> list[datetime]:
    """`count` times evenly between now-start and now-end."""
    step = (start - end) / max(count, 1)
    return [NOW - start + step * (i + 0.5) for i in range(count)]


@pytest.mark.parametrize(("n", "lam"), [(0, 3.0), (1, 0.5), (5, 2.0), (12, 3.0), (40, 10.0)])
def test_poisson_tail_matches_direct_sum(n: int, lam: float) -> None:
    direct = 1 - sum(math.exp(-lam) * lam**k / math.factorial(k) for k in range(n))
    assert poisson_tail(n, lam) == pytest.approx(direct, rel=1e-9, abs=1e-12)


def test_poisson_tail_large_counts_do_not_overflow() -> None:
    assert 0 < poisson_tail(240, 20.0) < 1e-60
    assert poisson_tail(10, 2000.0) == 1.0


def test_planted_social_burst_is_detected_with_reason_in_words() -> None:
    # 20 per hour over the past 12 hours, then 240 in the last hour.
    times = _spread(240, timedelta(hours=13), timedelta(hours=1)) + \
        _spread(240, timedelta(hours=1), timedelta(0))
    b = detect(times, NOW, social=True, policy=POLICY)
    assert b.burst
    assert b.count == 240
    assert b.baseline_per_hour == pytest.approx(20.0)
    assert b.reason is not None
    assert b.reason.startswith("1 小时内 240 条，为基线的 12 倍")
    assert "此前 12 小时平均每小时 20 条" in b.reason


def test_topic_burst_reason_and_its_escalation_name_the_topic_not_its_id() -> None:
    """Issue 12: people read "话题“公证”", never the taxonomy's id "notary" — both in the
    burst's reason and in the escalation reason built from it (which the alert keeps)."""
    times = _spread(240, timedelta(hours=13), timedelta(hours=1)) + \
        _spread(240, timedelta(hours=1), timedelta(0))
    b = detect(times, NOW, social=True, policy=POLICY, topic="公证")
    assert b.reason is not None
    assert b.reason.startswith("话题“公证”1 小时内 240 条")
    _, reasons = escalate("P3", burst=b, reach=0, items=1, policy=POLICY)
    assert reasons == ("爆发：" + b.reason,)
    assert all("notary" not in r for r in (b.reason, *reasons))
    # An event's own burst names no topic at all.
    assert "话题" not in (detect(times, NOW, social=True, policy=POLICY).reason or "")


def test_steady_topic_is_not_a_burst() -> None:
    times = _spread(13 * 20, timedelta(hours=13), timedelta(0))  # 20 an hour, all along
    b = detect(times, NOW, social=True, policy=POLICY)
    assert not b.burst
    assert b.count == 20
    assert b.reason is None


def test_news_baseline_is_fourteen_days() -> None:
    # 2 news items a day for 14 days (≈0.083/h), then 15 in one hour: a burst for news …
    times = _spread(28, timedelta(days=14, hours=1), timedelta(hours=1)) + \
        _spread(15, timedelta(hours=1), timedelta(0))
    b = detect(times, NOW, social=False, policy=POLICY)
    assert b.burst
    assert "此前 14 天" in (b.reason or "")
    # … and items older than the 12-hour social window do not count as social baseline.
    assert detect(times, NOW, social=True, policy=POLICY).baseline_per_hour == pytest.approx(
        sum(1 for t in times if NOW - timedelta(hours=13) <= t <= NOW - timedelta(hours=1))
        / 12)


@pytest.mark.parametrize(
    ("count", "burst"),
    [(3, False),    # improbable under the floor, but three posts are not a press matter
     (9, False),    # still under min_count
     (10, True)],
)
def test_new_story_with_no_baseline_uses_the_floor(count: int, burst: bool) -> None:
    b = detect(_spread(count, timedelta(minutes=50), timedelta(0)), NOW, social=True, policy=POLICY)
    assert b.burst is burst
    assert b.baseline_per_hour == 0.0


def test_items_outside_both_windows_are_ignored() -> None:
    future = [NOW + timedelta(minutes=5)] * 50
    ancient = [NOW - timedelta(days=30)] * 50
    b = detect(future + ancient, NOW, social=False, policy=POLICY)
    assert (b.count, b.baseline_per_hour, b.burst) == (0, 0.0, False)


def _burst(flag: bool) -> Burst:
    return Burst(burst=flag, count=240, baseline_per_hour=20, ratio=12, p_value=0.0,
                 reason="1 小时内 240 条，为基线的 12 倍" if flag else None)


@pytest.mark.parametrize(
    ("base", "burst", "reach", "items", "expected", "n_reasons"),
    [
        ("P3", True, 0, 1, "P2", 1),
        ("P3", False, 0, 1, "P3", 0),          # steady: unchanged
        ("P2", False, 25_000, 1, "P1", 1),     # reach
        ("P3", False, 0, 80, "P2", 1),         # growth
        ("P3", True, 25_000, 80, "P2", 3),     # one level however many signals, all said
        ("P1", True, 0, 1, "P1", 1),           # nothing above P1
        (None, True, 99_999, 500, None, 0),    # loud but not ours: still no alert
    ],
)
def test_escalate(base: str | None, burst: bool, reach: int, items: int,
                  expected: str | None, n_reasons: int) -> None:
    priority, reasons = escalate(base, burst=_burst(burst), reach=reach,  # type: ignore[arg-type]
                                 items=items, policy=POLICY)
    assert priority == expected
    assert len(reasons) == n_reasons
    if burst and expected and base != expected:
        assert any("为基线的 12 倍" in r for r in reasons)


def test_higher() -> None:
    assert higher("P3", "P1") == "P1"
    assert higher(None, "P2") == "P2"
    assert higher("P2", None) == "P2"


def test_policy_from_section() -> None:
    settings = load_settings(env={}, overrides={"events": {"bursts": {
        "social_baseline_hours": 6, "news_baseline_days": 7, "min_count": 20}}})
    p = BurstPolicy.from_section(settings.events.bursts)
    assert (p.social_baseline_h, p.news_baseline_h, p.min_count) == (6.0, 168.0, 20)


# --- the same test on hourly counters (monitor.counters), issue 12 "Speed" -----------------

def _hourly(times: list[datetime]) -> dict[datetime, int]:
    out: dict[datetime, int] = {}
    for t in times:
        hour = t.replace(minute=0, second=0, microsecond=0)
        out[hour] = out.get(hour, 0) + 1
    return out


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("social", [True, False])
def test_counters_and_times_give_the_same_decision_on_the_hour(seed: int, social: bool) -> None:
    """On the hour, detect_counts on the items' hourly counts is detect on their times:
    the same count, baseline, ratio, p-value and reason (random streams, with and without
    a burst; times off the hour's boundary, which hours cannot split)."""
    import random

    rng = random.Random(seed)
    hours = POLICY.baseline_hours(social)
    rate = rng.choice([0.0, 0.3, 2.0, 20.0])
    last = rng.choice([0, 3, 12, 40, 240])
    span = int((hours + 3) * 3600)
    times = [NOW - timedelta(seconds=rng.randrange(3601, span) + 0.5)
             for _ in range(int(rate * (hours + 2)))]
    times += [NOW - timedelta(seconds=rng.randrange(1, 3600) + 0.5) for _ in range(last)]
    from monitor.bursts import detect_counts

    a = detect(times, NOW, social=social, policy=POLICY, topic="公证")
    b = detect_counts(_hourly(times), NOW, social=social, policy=POLICY, topic="公证")
    assert (b.burst, b.count, b.reason) == (a.burst, a.count, a.reason)
    assert b.baseline_per_hour == pytest.approx(a.baseline_per_hour)
    assert b.ratio == pytest.approx(a.ratio)
    assert b.p_value == pytest.approx(a.p_value, rel=1e-9, abs=1e-300)


def test_counters_mid_hour_widen_the_window_to_the_hours_start_and_scale_the_baseline() -> None:
    """At 12:20 the window is 11:00–12:20: 80 minutes of items against 80 minutes' worth of
    the baseline rate — so a steady stream is not a burst however the hour falls, and a
    burst in the last hour is still one."""
    from monitor.bursts import detect_counts

    now = NOW + timedelta(minutes=20)
    steady = {NOW - timedelta(hours=h): 20 for h in range(1, 14)}
    steady[NOW] = 7  # 12:00–12:20 at the same 20 an hour
    calm = detect_counts(steady, now, social=True, policy=POLICY)
    assert not calm.burst
    assert calm.count == 27  # the 11:00 hour and the 20 minutes since 12:00
    assert calm.baseline_per_hour == pytest.approx(20.0)
    assert calm.ratio == pytest.approx(27 / (20 * 80 / 60))
    loud = {**steady, NOW: 300}
    burst = detect_counts(loud, now, social=True, policy=POLICY)
    assert burst.burst and burst.count == 320
    assert burst.reason is not None and burst.reason.startswith("1 小时内 320 条")
    # Hours after now (a clock ahead of ours) and before the baseline are ignored.
    far = {**steady, NOW + timedelta(hours=2): 500, NOW - timedelta(hours=40): 500}
    assert detect_counts(far, now, social=True, policy=POLICY) == calm
