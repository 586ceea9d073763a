"""Routing rules (notify.rules): which alerts go to which channels and people, when. Pure:
`route` takes the alert's facts, the rules and `now`; nothing here reads a clock or a table.

A rule matches on priority, topic, source kind and time of day (each empty: anything). Its
quiet hours hold P2/P3 until their end (P3 waits for the morning); a P1 never waits. The
cooldown keeps one event's growth from sending a message per new post: one event and rule
get one message per `cooldown`, unless the priority rose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.settings_schema import NotifyRuleSection

_RANK = {"P1": 1, "P2": 2, "P3": 3}


@dataclass(frozen=True)
class AlertFacts:
    alert_id: int
    event_id: int | None
    priority: str
    topics: tuple[str, ...]
    source_kind: str


@dataclass(frozen=True)
class Target:
    rule: str
    channels: tuple[str, ...]
    people: tuple[str, ...]
    send_after: datetime


@dataclass(frozen=True)
class Sent:
    """An earlier message of the same event (for the cooldown)."""

    rule: str
    priority: str
    at: datetime


def parse_range(text: str) -> tuple[time, time] | None:
    """ "22:00-08:00" → (22:00, 08:00); "" → None (all day). Checked at load time already."""
    if not text.strip():
        return None
    start, _, end = text.strip().partition("-")
    return _time(start), _time(end)


def _time(text: str) -> time:
    h, m = (int(x) for x in text.strip().split(":"))
    return time(0, 0) if h == 24 else time(h, m)


def in_range(local: datetime, rng: tuple[time, time] | None) -> bool:
    if rng is None:
        return True
    start, end = rng
    t = local.time().replace(tzinfo=None)
    if start < end:
        return start <= t < end
    return t >= start or t < end  # past midnight (or start == end: all day)


def quiet_until(now: datetime, rng: tuple[time, time] | None, tz: str) -> datetime | None:
    """The end of the quiet window `now` falls in (aware, in UTC terms), or None."""
    local = now.astimezone(ZoneInfo(tz))
    if rng is None or not in_range(local, rng):
        return None
    end = datetime.combine(local.date(), rng[1], tzinfo=local.tzinfo)
    if end <= local:
        end += timedelta(days=1)
    return end


def matches(rule: NotifyRuleSection, facts: AlertFacts, local: datetime) -> bool:
    if rule.priorities and facts.priority.lower() not in rule.priorities:
        return False
    if rule.topics and not set(rule.topics) & set(facts.topics):
        return False
    if rule.source_kinds and facts.source_kind not in rule.source_kinds:
        return False
    return in_range(local, parse_range(rule.hours))


def cooled(rule: str, facts: AlertFacts, earlier: Iterable[Sent], now: datetime,
           cooldown: timedelta) -> bool:
    """True when this event had a message from `rule` within `cooldown` at this priority or
    a more urgent one: then nothing new is sent."""
    for s in earlier:
        if s.rule == rule and now - s.at < cooldown and \
                _RANK.get(s.priority, 9) <= _RANK.get(facts.priority, 9):
            return True
    return False


def route(facts: AlertFacts, rules: Sequence[NotifyRuleSection], now: datetime, tz: str, *,
          earlier: Sequence[Sent] = (), cooldown: timedelta = timedelta(0)) -> list[Target]:
    """Every rule that matches, with when its message may go (quiet hours)."""
    local = now.astimezone(ZoneInfo(tz))
    out: list[Target] = []
    for rule in rules:
        if not matches(rule, facts, local):
            continue
        if cooled(rule.name, facts, earlier, now, cooldown):
            continue
        after = now
        if facts.priority != "P1":  # a P1 never waits for the morning
            after = quiet_until(now, parse_range(rule.quiet_hours), tz) or now
        out.append(Target(rule.name, rule.channels, rule.people, after))
    return out
