"""Escalation: when nobody acknowledged, the next role in the chain is told. Pure: a function
of (now, the alert, its deliveries, the chain, the settings); the clock/outbox tick calls it
(responders.notify.service.escalate_due) and writes what it decides."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

OPEN_STATES = ("new", "assigned", "drafting", "escalated")


@dataclass(frozen=True)
class StepRow:
    step: int
    state: str
    finished_at: datetime | None


@dataclass(frozen=True)
class Decision:
    step: int      # the step to write (1 = the chain's first role)
    role: str


def step_reached_at(rows: Sequence[StepRow], step: int) -> datetime | None:
    """When a step's message went out: its first delivery that finished (sent — or failed
    or unknown: a message that cannot reach anyone must not hold up the chain)."""
    times = [r.finished_at for r in rows if r.step == step and r.finished_at is not None
             and r.state in ("sent", "failed", "unknown")]
    return min(times) if times else None


def next_step(now: datetime, *, priority: str, state: str, acked_at: datetime | None,
              rows: Sequence[StepRow], chain: Sequence[str],
              ack_minutes: Mapping[str, float]) -> Decision | None:
    """The escalation due now, or None: the alert's priority has an acknowledgement time,
    it is open and unacknowledged, its latest step went out at least that long ago, and the
    chain has a role left."""
    minutes = ack_minutes.get(priority)
    if minutes is None or acked_at is not None or state not in OPEN_STATES or not rows:
        return None
    last = max(r.step for r in rows)
    if last >= len(chain):
        return None
    reached = step_reached_at(rows, last)
    if reached is None or now < reached + timedelta(minutes=minutes):
        return None
    return Decision(last + 1, chain[last])
