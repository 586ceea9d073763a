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
    """A deadline from a State Council document cites it; one that is the office's own
    policy (the board-message reply time) says so, and that it is configurable."""
    for rule in sla.rules:
        for m in rule.milestones:
            assert "国办发〔2016〕" in m.basis or ("本单位工作规则" in m.basis
                                                and "可配置" in m.basis), (rule.key, m.key)


def test_a_p1_message_runs_on_the_emergency_clock(sla):
    assert sla.deadline("P1", T0, kind="message").rule == "major_emergency"


@pytest.mark.parametrize("priority", ["P2", "P3"])
def test_board_messages_have_their_own_reply_deadline(sla, priority):
    d = sla.deadline(priority, T0, kind="message")  # T0: Friday 2026-11-20 09:30 in Shanghai
    assert d.rule == "board_message"
    # 15 working days: three full weeks, Friday to Friday.
    assert d.due_at == datetime(2026, 12, 11, 1, 30, tzinfo=UTC)
    assert d.milestones[0]["working_days"] == 15
    # Stories (kind "event", or no kind) keep the 国办发 rules.
    assert sla.deadline(priority, T0, kind="event").rule == sla.deadline(priority, T0).rule


@pytest.mark.parametrize(("start", "days", "holidays", "due"), [
    # Friday 09:30 Shanghai + 1 working day = Monday 09:30.
    ("2026-11-20T09:30:00+08:00", 1, [], "2026-11-23T09:30:00+08:00"),
    # A Saturday message counts from Monday, like Friday night's.
    ("2026-11-21T22:00:00+08:00", 1, [], "2026-11-23T22:00:00+08:00"),
    ("2026-11-20T23:59:00+08:00", 5, [], "2026-11-27T23:59:00+08:00"),
    # Holidays are skipped: the National Day week.
    ("2026-09-30T10:00:00+08:00", 2, ["2026-10-01", "2026-10-02", "2026-10-05",
                                     "2026-10-06", "2026-10-07"], "2026-10-09T10:00:00+08:00"),
    # The local date counts, not the UTC one: 00:30 UTC Monday is already Monday 08:30.
    ("2026-11-23T00:30:00+00:00", 1, [], "2026-11-24T00:30:00+00:00"),
])
def test_working_days(start, days, holidays, due):
    from datetime import date
    from zoneinfo import ZoneInfo

    from responders.sla import add_working_days

    got = add_working_days(datetime.fromisoformat(start), days, ZoneInfo("Asia/Shanghai"),
                           frozenset(date.fromisoformat(h) for h in holidays))
    assert got == datetime.fromisoformat(due)


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
        ({"rules": {
            "all": {"name": "a", "priorities": ["P1", "P2", "P3"],
                    "milestones": [{"key": "a", "name": "a", "hours": 1, "basis": "b"}]},
            "m1": {"name": "m", "kinds": ["message"], "priorities": ["P3"],
                   "milestones": [{"key": "r", "name": "r", "working_days": 2, "basis": "b"}]},
            "m2": {"name": "m", "kinds": ["message"], "priorities": ["P3"],
                   "milestones": [{"key": "r", "name": "r", "working_days": 5, "basis": "b"}]}}},
         "priority P3 of kind message is in two rules"),
        ({"rules": {"x": {"name": "x", "priorities": ["P1", "P2", "P3"],
                          "milestones": [{"key": "a", "name": "a", "hours": 1, "basis": "b"}]}},
          "holidays": ["十月一日"]}, "holidays must be dates"),
    ],
)
def test_bad_config_is_explained(data, message):
    with pytest.raises(ConfigError, match=message):
        SLA.from_mapping(data)


# --- when the clock starts (issue 12) ------------------------------------------------------

SEEN = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # first sight: 12:00 in Shanghai


@pytest.mark.parametrize(
    ("published", "start", "backfill"),
    [
        # Published 2 h before first sight: the clock runs from publication.
        (SEEN - timedelta(hours=2), SEEN - timedelta(hours=2), False),
        # Published "in the future" of first sight (clock skew): first sight.
        (SEEN + timedelta(minutes=30), SEEN, False),
        # No publication time: first sight.
        (None, SEEN, False),
        # Exactly at first sight, and at the backfill limit: still a live story.
        (SEEN, SEEN, False),
        (SEEN - timedelta(hours=72), SEEN - timedelta(hours=72), False),
        # Published 80 h before first sight: backfill, counted from first sight.
        (SEEN - timedelta(hours=80), SEEN, True),
    ],
)
def test_the_clock_starts_at_publication_unless_unknown_future_or_backfill(
        sla, published, start, backfill):
    clock = sla.clock(published, SEEN)
    assert clock.start == start
    assert clock.backfill is backfill
    assert (clock.reason is not None) is backfill


def test_p1_published_two_hours_before_first_sight_is_due_at_publication_plus_five(sla):
    published = SEEN - timedelta(hours=2)
    clock = sla.clock(published, SEEN)
    d = sla.deadline("P1", clock.start, backfill=clock.backfill)
    assert d.rule == "major_emergency"
    assert d.due_at == published + timedelta(hours=5)  # 3 h left at first sight
    assert [m["key"] for m in d.milestones] == ["first_release", "press_conference"]
    assert d.milestones[1]["due_at"] == (published + timedelta(hours=24)).isoformat()


@pytest.mark.parametrize("priority", ["P1", "P2", "P3"])
def test_a_backfill_story_has_no_emergency_clock(sla, priority):
    published = SEEN - timedelta(hours=80)
    clock = sla.clock(published, SEEN)
    assert clock.backfill and clock.published_at == published
    assert clock.reason is not None and clock.reason.startswith("回溯")
    assert "80 小时" in clock.reason and "72 小时" in clock.reason
    assert "2026-11-17 04:00" in clock.reason  # 2026-11-16 20:00 UTC, in Shanghai time
    d = sla.deadline(priority, clock.start, backfill=True)
    # The ordinary 48-hour response of 61号, from first sight; no 5 h / 24 h milestones.
    assert d.rule == "government_affairs"
    assert d.due_at == SEEN + timedelta(hours=48)
    assert {m["key"] for m in d.milestones} == {"response"}


def test_a_backfill_message_keeps_its_reply_deadline_from_first_sight(sla):
    d = sla.deadline("P3", SEEN, kind="message", backfill=True)
    assert d.rule == "board_message"
    # A P1 message found late has no emergency clock either.
    assert sla.deadline("P1", SEEN, kind="message", backfill=True).rule == "government_affairs"


def test_backfill_settings_are_read_and_checked(sla):
    assert sla.backfill_hours == 72
    one = {"all": {"name": "a", "priorities": ["P1", "P2", "P3"],
                   "milestones": [{"key": "a", "name": "a", "hours": 1, "basis": "b"}]}}
    tight = SLA.from_mapping({"rules": one, "backfill_hours": 6})
    assert tight.clock(SEEN - timedelta(hours=7), SEEN).backfill
    assert tight.backfill_rule.key == "all"  # unnamed: the ordinary (P3) rule
    with pytest.raises(ConfigError, match="backfill_rule 'nope'"):
        SLA.from_mapping({"rules": one, "backfill_rule": "nope"})
    with pytest.raises(ConfigError, match="backfill_hours must be"):
        SLA.from_mapping({"rules": one, "backfill_hours": 0})
    with pytest.raises(ConfigError, match="backfill_hours must be"):
        SLA.from_mapping({"rules": one, "backfill_hours": "drei"})
