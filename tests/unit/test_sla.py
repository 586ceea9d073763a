from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from responders.sla import SLA

CONFIG = Path(__file__).resolve().parents[2] / "config" / "sla.yaml"
T0 = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def sla():
    return SLA.from_file(CONFIG)


@pytest.mark.parametrize(
    ("priority", "rule", "first_hours", "all_hours"),
    [
        ("P1", "major_emergency", 5, [5, 24]),
        ("P2", "government_affairs", 48, [48]),
        ("P3", "government_affairs", 48, [48]),
    ],
)
def test_shipped_deadlines(sla, priority, rule, first_hours, all_hours):
    d = sla.deadline(priority, T0)
    assert d.rule == rule
    assert d.due_at == T0 + timedelta(hours=first_hours)
    assert [m["hours"] for m in d.milestones] == all_hours
    assert [m["due_at"] for m in d.milestones] == [
        (T0 + timedelta(hours=h)).isoformat() for h in all_hours
    ]


def test_every_milestone_names_its_source(sla):
    for rule in sla.rules:
        for m in rule.milestones:
            assert "国办发〔2016〕" in m.basis


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "expected a 'rules' mapping"),
        ({"rules": {"x": {"name": "x", "priorities": ["P1", "P2", "P3"], "milestones": []}}},
         "milestones with hours > 0"),
        ({"rules": {"x": {"name": "x", "priorities": ["P1"],
                          "milestones": [{"key": "a", "name": "a", "hours": 1, "basis": "b"}]}}},
         "no rule covers priority P2"),
        ({"rules": {"x": {"priorities": ["P1"]}}}, "malformed"),
    ],
)
def test_bad_config_is_explained(data, message):
    with pytest.raises(ConfigError, match=message):
        SLA.from_mapping(data)
