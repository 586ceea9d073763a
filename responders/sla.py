"""Response deadlines (SLA) from config/sla.yaml. Pure: the caller passes `raised_at`.

A rule applies to priorities, and optionally only to alerts of some event kinds (`kinds:
[message]`: a citizen's message on a board has a reply deadline of its own). A milestone is
in hours, or in working days (`working_days: 15`: Monday to Friday in the rules' time zone,
minus the dates listed under `holidays:`; make-up working days on a weekend are not
counted — the deadline errs late by at most those days, so list them as needed).

When the clock starts is decided here too (`SLA.clock`): from the story's publication time
when it is known and not after yuqing first saw it, else from first sight; a story first seen
more than `backfill_hours` after it was published is backfill (回溯) and runs on
`backfill_rule` from first sight instead of the emergency clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError
from monitor.yamlfile import read_yaml


@dataclass(frozen=True)
class Milestone:
    key: str
    name: str
    hours: float          # used when working_days is None
    basis: str
    working_days: int | None = None


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    priorities: tuple[str, ...]
    milestones: tuple[Milestone, ...]
    kinds: tuple[str, ...] = ()  # event kinds this rule is for; () = any kind not listed


def add_working_days(start: datetime, days: int, tz: ZoneInfo,
                     holidays: frozenset[date] = frozenset()) -> datetime:
    """`days` working days after `start`, at the same local time of day. A message that
    arrives on a Saturday starts counting on Monday like one that arrived on Friday night."""
    local = start.astimezone(tz)
    current = local.date()
    left = days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current not in holidays:
            left -= 1
    due = datetime.combine(current, local.timetz().replace(tzinfo=None), tzinfo=tz)
    return due.astimezone(start.tzinfo)


@dataclass(frozen=True)
class Clock:
    """When an alert's deadlines run from, and why."""
    start: datetime
    published_at: datetime | None  # the story's publication time, when it is usable
    backfill: bool
    reason: str | None  # 回溯, in words, for the alert's reasons; None for a live story


@dataclass(frozen=True)
class Deadline:
    rule: str
    due_at: datetime                      # the earliest milestone
    milestones: tuple[dict[str, Any], ...]  # JSON-ready, for the alert row


class SLA:
    def __init__(self, rules: tuple[Rule, ...], *, timezone: str = "Asia/Shanghai",
                 holidays: frozenset[date] = frozenset(), backfill_hours: float = 72.0,
                 backfill_rule: str | None = None) -> None:
        self.rules = rules
        try:
            self.tz = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"sla: unknown timezone {timezone!r}") from exc
        self.holidays = holidays
        self._by_priority: dict[str, Rule] = {}
        self._by_kind: dict[tuple[str, str], Rule] = {}
        for rule in rules:
            for p in rule.priorities:
                if rule.kinds:
                    for kind in rule.kinds:
                        if (kind, p) in self._by_kind:
                            raise ConfigError(f"sla: priority {p} of kind {kind} is in two "
                                              "rules")
                        self._by_kind[(kind, p)] = rule
                    continue
                if p in self._by_priority:
                    raise ConfigError(f"sla: priority {p} is in two rules")
                self._by_priority[p] = rule
        for p in ("P1", "P2", "P3"):
            if p not in self._by_priority:
                raise ConfigError(f"sla: no rule covers priority {p}")
        if backfill_hours <= 0:
            raise ConfigError("sla: backfill_hours must be > 0")
        self.backfill_hours = backfill_hours
        # Unnamed, a backfill alert takes the ordinary rule, the one of the lowest priority.
        by_key = {r.key: r for r in rules}
        if backfill_rule is None:
            self.backfill_rule = self._by_priority["P3"]
        elif backfill_rule in by_key:
            self.backfill_rule = by_key[backfill_rule]
        else:
            raise ConfigError(f"sla: backfill_rule {backfill_rule!r} is not one of the rules")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "sla.yaml") -> SLA:
        rules_data = data.get("rules") if isinstance(data, Mapping) else None
        if not isinstance(rules_data, Mapping) or not rules_data:
            raise ConfigError(f"{where}: expected a 'rules' mapping")
        rules = []
        for key, body in rules_data.items():
            try:
                milestones = tuple(
                    Milestone(
                        key=str(m["key"]),
                        name=str(m["name"]),
                        hours=float(m["hours"]) if "working_days" not in m
                        else float(m["working_days"]) * 24,
                        basis=" ".join(str(m["basis"]).split()),
                        working_days=int(m["working_days"]) if "working_days" in m else None,
                    )
                    for m in body["milestones"]
                )
                rule = Rule(
                    key=str(key),
                    name=str(body["name"]),
                    priorities=tuple(str(p) for p in body["priorities"]),
                    milestones=milestones,
                    kinds=tuple(str(k) for k in body.get("kinds") or ()),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: rule {key!r} is malformed ({exc!r})") from exc
            if not milestones or any(m.hours <= 0 for m in milestones):
                raise ConfigError(f"{where}: rule {key!r} needs milestones with hours > 0")
            rules.append(rule)
        try:
            holidays = frozenset(date.fromisoformat(str(d)) for d in data.get("holidays") or ())
        except ValueError as exc:
            raise ConfigError(f"{where}: holidays must be dates like 2026-10-01 ({exc})") from exc
        try:
            backfill_hours = float(data.get("backfill_hours", 72))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: backfill_hours must be a number of hours") from exc
        return cls(tuple(rules), timezone=str(data.get("timezone") or "Asia/Shanghai"),
                   holidays=holidays, backfill_hours=backfill_hours,
                   backfill_rule=str(data["backfill_rule"]) if data.get("backfill_rule")
                   else None)

    @classmethod
    def from_file(cls, path: Path) -> SLA:
        return cls.from_mapping(read_yaml(path), where=str(path))

    def rule_for(self, priority: str, kind: str | None = None) -> Rule:
        """The rule for an alert of this priority on an event of this kind ("event",
        "message"): a rule naming the kind wins over the general one."""
        if kind is not None and (kind, priority) in self._by_kind:
            return self._by_kind[(kind, priority)]
        try:
            return self._by_priority[priority]
        except KeyError as exc:
            raise ConfigError(f"sla: unknown priority {priority!r}") from exc

    def due(self, milestone: Milestone, raised_at: datetime) -> datetime:
        if milestone.working_days is not None:
            return add_working_days(raised_at, milestone.working_days, self.tz, self.holidays)
        return raised_at + timedelta(hours=milestone.hours)

    def clock(self, published_at: datetime | None, first_seen_at: datetime) -> Clock:
        """When the deadlines of an alert on a story published at `published_at` (its
        earliest known publication, None when unknown) and first seen at `first_seen_at`
        run from. A publication time after first sight is clock skew or a wrong date in the
        feed, and is ignored: the office cannot be late for what has not appeared yet."""
        if published_at is None or published_at > first_seen_at:
            return Clock(start=first_seen_at, published_at=None, backfill=False, reason=None)
        late_h = (first_seen_at - published_at).total_seconds() / 3600
        if late_h <= self.backfill_hours:
            return Clock(start=published_at, published_at=published_at, backfill=False,
                         reason=None)
        # The emergency windows of 国办发〔2016〕80号/61号 closed before the office could know
        # of the story; an emergency clock would show it hopelessly overdue and bury live
        # alerts under it. It is still queued, to be read and answered if need be.
        local = published_at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        reason = (f"回溯：发布于 {local}，首次发现晚 {late_h:.0f} 小时"
                  f"（超过 {self.backfill_hours:g} 小时），不计突发事件时限")
        return Clock(start=first_seen_at, published_at=published_at, backfill=True,
                     reason=reason)

    def deadline(self, priority: str, raised_at: datetime, kind: str | None = None, *,
                 backfill: bool = False) -> Deadline:
        """The deadlines of the rule for `priority` and `kind` from `raised_at` (the clock's
        start). A backfill alert takes the backfill rule instead, unless a rule is written
        for its kind (a late-found citizen's message still has its reply deadline)."""
        if backfill and (kind, priority) not in self._by_kind:
            rule = self.backfill_rule
        else:
            rule = self.rule_for(priority, kind)
        dues = sorted(((self.due(m, raised_at), m) for m in rule.milestones),
                      key=lambda pair: pair[0])
        stones = tuple(
            {
                "key": m.key,
                "name": m.name,
                # The span actually granted (working days include the weekends they skip).
                "hours": round((due - raised_at).total_seconds() / 3600, 2)
                if m.working_days is not None else m.hours,
                **({"working_days": m.working_days} if m.working_days is not None else {}),
                "due_at": due.isoformat(),
                "basis": m.basis,
            }
            for due, m in dues
        )
        return Deadline(rule=rule.key, due_at=dues[0][0], milestones=stones)
