"""Response deadlines (SLA) from config/sla.yaml. Pure: the caller passes `raised_at`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError


@dataclass(frozen=True)
class Milestone:
    key: str
    name: str
    hours: float
    basis: str


@dataclass(frozen=True)
class Rule:
    key: str
    name: str
    priorities: tuple[str, ...]
    milestones: tuple[Milestone, ...]


@dataclass(frozen=True)
class Deadline:
    rule: str
    due_at: datetime                      # the earliest milestone
    milestones: tuple[dict[str, Any], ...]  # JSON-ready, for the alert row


class SLA:
    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.rules = rules
        self._by_priority: dict[str, Rule] = {}
        for rule in rules:
            for p in rule.priorities:
                if p in self._by_priority:
                    raise ConfigError(f"sla: priority {p} is in two rules")
                self._by_priority[p] = rule
        for p in ("P1", "P2", "P3"):
            if p not in self._by_priority:
                raise ConfigError(f"sla: no rule covers priority {p}")

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
                        hours=float(m["hours"]),
                        basis=" ".join(str(m["basis"]).split()),
                    )
                    for m in body["milestones"]
                )
                rule = Rule(
                    key=str(key),
                    name=str(body["name"]),
                    priorities=tuple(str(p) for p in body["priorities"]),
                    milestones=milestones,
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: rule {key!r} is malformed ({exc!r})") from exc
            if not milestones or any(m.hours <= 0 for m in milestones):
                raise ConfigError(f"{where}: rule {key!r} needs milestones with hours > 0")
            rules.append(rule)
        return cls(tuple(rules))

    @classmethod
    def from_file(cls, path: Path) -> SLA:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        return cls.from_mapping(data, where=str(path))

    def rule_for(self, priority: str) -> Rule:
        try:
            return self._by_priority[priority]
        except KeyError as exc:
            raise ConfigError(f"sla: unknown priority {priority!r}") from exc

    def deadline(self, priority: str, raised_at: datetime) -> Deadline:
        rule = self.rule_for(priority)
        stones = tuple(
            {
                "key": m.key,
                "name": m.name,
                "hours": m.hours,
                "due_at": (raised_at + timedelta(hours=m.hours)).isoformat(),
                "basis": m.basis,
            }
            for m in sorted(rule.milestones, key=lambda m: m.hours)
        )
        first = min(rule.milestones, key=lambda m: m.hours)
        return Deadline(rule=rule.key, due_at=raised_at + timedelta(hours=first.hours),
                        milestones=stones)
