"""When to poll a source next, and which sources to poll now. Pure: `now` is an argument.

A failing source backs off exponentially but is never disabled: every answer is a finite
time, and the caller keeps showing the source's last_error to people (Miniflux's hard error
cutoff, which silently stops polling, is the mistake avoided here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["DueSource", "PollOutcome", "next_check_at", "next_slot", "phase_of", "pick_due",
           "slot_lateness"]

# A server's max-age or Retry-After is honoured up to a day: a typo'd "max-age=31536000" on a
# feed must not hide a source from the press office for a year.
MAX_HONOURED_DELAY_S = 24 * 3600
# jitter ∈ [0, 1) stretches a delay by up to this fraction, so sources that failed together
# (one host down) do not all come back in the same second.
JITTER_SPREAD = 0.10


@dataclass(frozen=True)
class PollOutcome:
    ok: bool
    not_modified: bool = False
    retry_after_s: float | None = None
    max_age_s: float | None = None


def phase_of(source_id: int) -> float:
    """A source's place in its interval, a fraction in [0, 1): fixed by its id (a
    multiplicative hash, so consecutive ids land far apart), the same in every process and
    after every restart. Sources added together, or all overdue after an outage, are spread
    over their interval by it instead of coming back in the same second."""
    return ((source_id * 2654435761) % 2**32) / 2**32


def next_slot(earliest: datetime, *, period_s: float, phase: float) -> datetime:
    """The first time ≥ `earliest` that is `phase` of the way through a period: the slots
    t with (t − epoch) ≡ phase·period (mod period). Pure."""
    _require_aware(earliest)
    if period_s <= 0:
        raise ValueError("period must be positive")
    if not 0.0 <= phase < 1.0:
        raise ValueError("phase must be in [0, 1)")
    offset = phase * period_s
    t = earliest.timestamp()
    k = -((offset - t) // period_s)  # ceil((t - offset) / period)
    slot = offset + k * period_s
    return earliest + timedelta(seconds=slot - t)


def slot_lateness(at: datetime, *, period_s: float, phase: float) -> float:
    """Seconds `at` comes after its nearest earlier slot, when that slot is the nearer one;
    0 when `at` is before the nearest slot (early is not late). What the bench counts."""
    _require_aware(at)
    behind = (at.timestamp() - phase * period_s) % period_s
    return behind if behind < period_s / 2 else 0.0


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def next_check_at(
    now: datetime,
    outcome: PollOutcome,
    *,
    interval_s: int,
    failure_count: int,
    min_interval_s: int,
    max_backoff_s: int,
    jitter: float = 0.0,
    phase: float | None = None,
) -> datetime:
    """The next time to poll a source after `outcome`.

    failure_count counts consecutive failures including this outcome (0 when ok).
    Healthy: max(interval, min_interval, max-age ≤ 24 h). Failing: interval·2^(failures-1)
    capped at max_backoff, never earlier than min_interval nor Retry-After (≤ 24 h).

    With `phase` (monitor.schedule.phase_of), a healthy source keeps to its slots: the
    times `phase` of the way through its interval. A source polled on time comes back one
    interval later exactly (so an interval means that interval); one polled late, after an
    outage, goes back to its slot — at least half a period on (the period is the interval,
    or min_interval when that is longer) — instead
    of keeping the outage's crowd together for good. A longer max-age or Retry-After is a
    floor, then the next slot after it. Failing sources back off as without a phase.
    """
    _require_aware(now)
    if interval_s <= 0 or min_interval_s < 0 or max_backoff_s <= 0:
        raise ValueError("intervals must be positive (min_interval may be 0)")
    if failure_count < 0:
        raise ValueError("failure_count must not be negative")
    if not 0.0 <= jitter < 1.0:
        raise ValueError("jitter must be in [0, 1)")

    base = max(interval_s, min_interval_s)
    if outcome.ok and phase is not None:
        hinted = min(max(outcome.max_age_s or 0.0, outcome.retry_after_s or 0.0),
                     MAX_HONOURED_DELAY_S)
        # Half a period, not min_interval: the period is at least min_interval already, so
        # on-time polls are that far apart; only the one poll after a late one comes sooner.
        floor = max(base / 2, hinted)
        return next_slot(now + timedelta(seconds=floor), period_s=base, phase=phase)
    if outcome.ok:
        delay = float(base)
        if outcome.max_age_s is not None and outcome.max_age_s > 0:
            delay = max(delay, min(outcome.max_age_s, MAX_HONOURED_DELAY_S))
    else:
        failures = max(failure_count, 1)  # a failure is at least the first one
        # Cap the exponent before multiplying: 2**10000 is a valid int but a silly float.
        exponent = min(failures - 1, 40)
        delay = float(max(min_interval_s, min(max_backoff_s, base * 2**exponent)))
    delay *= 1.0 + JITTER_SPREAD * jitter
    # Retry-After is a floor (after jitter, so jitter never makes us early), ok or not.
    if outcome.retry_after_s is not None and outcome.retry_after_s > 0:
        delay = max(delay, min(outcome.retry_after_s, MAX_HONOURED_DELAY_S))
    return now + timedelta(seconds=delay)


@dataclass(frozen=True)
class DueSource:
    id: int
    host: str
    next_check_at: datetime | None  # None = never polled → due now


def pick_due(
    sources: Sequence[DueSource], now: datetime, *, batch_size: int, per_host: int,
    caps: Mapping[str, int] | None = None,
) -> list[int]:
    """Ids of due sources, most overdue first (never-polled first), with per-host limits.

    At most `batch_size` in all and `per_host` per host (case-insensitive), so one slow
    host cannot fill a beat tick and a site is not hammered by its own many feeds. `caps`
    (lower-case host → limit) overrides per_host for the hosts it names.
    """
    _require_aware(now)
    if batch_size < 0:
        raise ValueError("batch_size must not be negative")
    if per_host < 1:
        raise ValueError("per_host must be at least 1")
    due = [s for s in sources if s.next_check_at is None or s.next_check_at <= now]
    # Never-polled first, then earliest next_check_at; id breaks ties so the order is stable.
    due.sort(key=lambda s: (s.next_check_at is not None, s.next_check_at or now, s.id))
    picked: list[int] = []
    per_host_count: dict[str, int] = {}
    for source in due:
        if len(picked) >= batch_size:
            break
        host = source.host.strip().lower()
        limit = caps.get(host, per_host) if caps else per_host
        if per_host_count.get(host, 0) >= limit:
            continue
        per_host_count[host] = per_host_count.get(host, 0) + 1
        picked.append(source.id)
    return picked
