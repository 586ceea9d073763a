"""Bursts: is an event or a topic suddenly much louder than usual? And what that does to an
alert's priority. Pure: the caller passes `now` and the times; nothing reads a clock.

The test is Poisson: over the baseline window (12 hours for social media, where stories rise
and fall within a day; 14 days for news, which moves by days) the item rate per hour is λ; the
last hour's count n is a burst when it is unlikely under λ (P[X ≥ n] ≤ max_p) *and* large in
plain terms (n ≥ min_count, n ≥ min_ratio × λ). The plain-terms guard matters: with a tiny
baseline, three posts are "improbable" but not worth a press officer's evening.

λ has a floor (floor_rate per hour): a story that did not exist yesterday has a baseline of
zero, and "infinitely many times the baseline" is neither true nor useful.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from monitor.settings_schema import BurstsSection

Priority = Literal["P1", "P2", "P3"]
_ORDER: tuple[Priority, ...] = ("P1", "P2", "P3")
SOCIAL_KINDS = frozenset({"weibo", "wechat", "board", "json", "push"})


@dataclass(frozen=True)
class BurstPolicy:
    """The burst test's parameters. No defaults here: config/defaults.yaml (events.bursts)
    holds them; `from_section` reads them, the baselines in hours."""

    window_s: int
    social_baseline_h: float
    news_baseline_h: float
    min_count: int
    min_ratio: float
    max_p: float
    floor_rate: float       # items per hour assumed at least, see the module docstring
    reach_escalate: int     # reach (reposts + comments + likes) that raises priority
    growth_escalate: int    # items in one event that raise priority

    @classmethod
    def from_section(cls, bursts: BurstsSection) -> BurstPolicy:
        return cls(
            window_s=bursts.window_s,
            social_baseline_h=bursts.social_baseline_hours,
            # News moves by days, so people set its baseline in days; the test counts hours.
            news_baseline_h=bursts.news_baseline_days * 24.0,
            min_count=bursts.min_count,
            min_ratio=bursts.min_ratio,
            max_p=bursts.max_p,
            floor_rate=bursts.floor_rate,
            reach_escalate=bursts.reach_escalate,
            growth_escalate=bursts.growth_escalate,
        )

    def baseline_hours(self, social: bool) -> float:
        return self.social_baseline_h if social else self.news_baseline_h


@dataclass(frozen=True)
class Burst:
    burst: bool
    count: int                 # items in the last window
    baseline_per_hour: float   # λ before the floor
    ratio: float               # count per hour ÷ max(λ, floor)
    p_value: float
    reason: str | None         # in words, only when burst


def poisson_tail(n: int, lam: float) -> float:
    """P[X ≥ n] for X ~ Poisson(lam), summed in log space (n can be in the thousands)."""
    if n <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    if n <= lam:
        # At or below the mean the tail is about one half or more: never a burst, and the
        # first term of the sum below could underflow. Report "not unusual at all".
        return 1.0
    # Sum the upper tail from n; terms only shrink from here (n > lam), so it converges fast.
    log_term = n * math.log(lam) - lam - math.lgamma(n + 1)
    total = 0.0
    k = n
    term = math.exp(log_term)
    while term > 1e-300 and k < n + 10_000:
        total += term
        k += 1
        term *= lam / k
        if term < total * 1e-15:
            break
    return min(1.0, total)


def _fmt_rate(rate: float) -> str:
    return f"{rate:.0f}" if rate >= 10 else f"{rate:.1f}".rstrip("0").rstrip(".")


def detect(times: Sequence[datetime], now: datetime, *, social: bool,
           policy: BurstPolicy, topic: str | None = None) -> Burst:
    """Burst test on the times items were seen (for one event or one topic).

    `topic` is the topic's name when the times are a topic's: the reason is read by press
    officers and stored as written, so it carries the name (公证), never the taxonomy's id."""
    window = timedelta(seconds=policy.window_s)
    hours = policy.baseline_hours(social)
    start = now - window - timedelta(hours=hours)
    count = sum(1 for t in times if now - window < t <= now)
    before = sum(1 for t in times if start <= t <= now - window)
    return _judge(count, before, hours, policy.window_s / 3600, policy, topic)


def detect_counts(hours_counts: Mapping[datetime, int], now: datetime, *, social: bool,
                  policy: BurstPolicy, topic: str | None = None) -> Burst:
    """The burst test of `detect` on hourly counters (monitor.counters: hour start → items
    seen in that hour) instead of the items' times, so its cost does not grow with the
    number of items.

    Hours cannot be split, so the window is widened back to the start of the hour in which
    it begins: at 10:20 with a one-hour window it covers 09:00–10:20 (80 minutes), and the
    expected count λ is scaled to those 80 minutes, so a steady stream still reads as
    steady. The baseline is the `baseline_hours` whole hours before it. When `now` is on the
    hour (and the window a whole number of hours) this is exactly `detect`'s decision for
    the same items, save items exactly on an hour's boundary."""
    window = timedelta(seconds=policy.window_s)
    hours = policy.baseline_hours(social)
    window_start = _floor_hour(now - window)
    base_start = window_start - timedelta(hours=hours)
    count = sum(n for h, n in hours_counts.items() if window_start <= h <= now)
    before = sum(n for h, n in hours_counts.items() if base_start <= h < window_start)
    covered_h = (now - window_start).total_seconds() / 3600
    return _judge(count, before, hours, covered_h, policy, topic)


def _judge(count: int, before: int, hours: float, span_h: float, policy: BurstPolicy,
           topic: str | None) -> Burst:
    """The decision both detectors share: `count` items in the window (`span_h` hours long)
    against `before` items in the `hours` of baseline before it."""
    window_h = policy.window_s / 3600
    lam_h = before / hours
    lam = max(lam_h, policy.floor_rate) * span_h
    ratio = count / lam if lam else float("inf")
    p = poisson_tail(count, lam)
    burst = count >= policy.min_count and ratio >= policy.min_ratio and p <= policy.max_p
    return Burst(burst=burst, count=count, baseline_per_hour=lam_h, ratio=ratio, p_value=p,
                 reason=_reason(burst, window_h, hours, count, ratio, lam_h, topic))


def _floor_hour(t: datetime) -> datetime:
    # In UTC, as the counters are kept (a zone with a half-hour offset would shift hours).
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _reason(burst: bool, window_h: float, hours: float, count: int, ratio: float,
            lam_h: float, topic: str | None) -> str | None:
    if not burst:
        return None
    span = f"{hours:.0f} 小时" if hours < 48 else f"{hours / 24:.0f} 天"
    reason = (f"{_fmt_rate(window_h)} 小时内 {count} 条，为基线的 {ratio:.0f} 倍"
              f"（此前 {span}平均每小时 {_fmt_rate(lam_h)} 条）")
    return f"话题“{topic}”{reason}" if topic is not None else reason


def raise_one(priority: Priority) -> Priority:
    return _ORDER[max(0, _ORDER.index(priority) - 1)]


def escalate(base: Priority | None, *, burst: Burst | None, reach: int, items: int,
             policy: BurstPolicy) -> tuple[Priority | None, tuple[str, ...]]:
    """An event's priority: its highest item decision, raised one level (at most) when it is
    bursting, has a large reach, or has grown large — with each reason in words.

    One level, not one per signal: a viral story usually shows all three at once, and they
    are one fact. An event no item of which was flagged stays unflagged: loud is not
    the same as ours (a trending celebrity story is not the Department's business).
    """
    if base is None:
        return None, ()
    reasons: list[str] = []
    if burst is not None and burst.burst and burst.reason:
        reasons.append("爆发：" + burst.reason)
    if reach >= policy.reach_escalate:
        reasons.append(f"传播量 {reach} 次（转发、评论、点赞），超过 {policy.reach_escalate}")
    if items >= policy.growth_escalate:
        reasons.append(f"同一事件已有 {items} 条")
    return (raise_one(base) if reasons else base), tuple(reasons)


def higher(a: Priority | None, b: Priority | None) -> Priority | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if _ORDER.index(a) <= _ORDER.index(b) else b
