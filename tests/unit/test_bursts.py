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
