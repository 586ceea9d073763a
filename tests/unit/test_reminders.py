"""Which alerts get a deadline reminder, and who gets it (responders.reminders, pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.settings import load_settings
from responders.reminders import (
    EMAIL,
    WEBHOOK,
    LeadTime,
    OpenAlert,
    Person,
    due_reminders,
    next_milestone,
    recipients,
)
from tests.support.settings import defaults

RAISED = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
LEAD = LeadTime(hours=2.0, share=0.2)
PEOPLE = [
    Person(1, "wang", "officer", True, "wang@sft.example"),
    Person(2, "zhao", "officer", True, None),           # no address: nothing to e-mail
    Person(3, "li", "approver", True, "li@sft.example"),
    Person(4, "admin", "admin", True, "admin@sft.example"),
    Person(5, "old", "officer", False, "old@sft.example"),
]


def stones(*spec: tuple[str, float]) -> tuple[dict[str, object], ...]:
    return tuple({"key": k, "name": k, "hours": h,
                  "due_at": (RAISED + timedelta(hours=h)).isoformat()} for k, h in spec)


P1 = stones(("first_release", 5), ("press_conference", 24))
P2 = stones(("response", 48))


def alert(milestones: tuple[dict[str, object], ...] = P1, *, state: str = "new",
          assignee: int | None = 1, id: int = 7) -> OpenAlert:  # noqa: A002
    return OpenAlert(id, state, "P1", "网传戒毒所学员被打致死", assignee, milestones)


def at(hours: float) -> datetime:
    return RAISED + timedelta(hours=hours)


@pytest.mark.parametrize(("milestone_hours", "expected"), [
    (5, timedelta(hours=1)),     # P1 first release: 20 % of 5 h
    (24, timedelta(hours=2)),    # capped at the configured 2 h
    (48, timedelta(hours=2)),
    (2, timedelta(minutes=24)),
])
def test_lead_time(milestone_hours: float, expected: timedelta) -> None:
    assert LEAD.before(milestone_hours) == expected


def test_lead_time_from_settings_and_defaults() -> None:
    assert LeadTime.from_section(defaults().notify) == LeadTime(2.0, 0.2)
    changed = load_settings(env={"YUQING_NOTIFY_REMIND_BEFORE_HOURS": "3",
                                 "YUQING_NOTIFY_REMIND_BEFORE_SHARE": "0.5"})
    assert LeadTime.from_section(changed.notify) == LeadTime(3.0, 0.5)


@pytest.mark.parametrize(("now_h", "key"), [
    (0, "first_release"), (4.99, "first_release"), (5, "press_conference"),
    (23.9, "press_conference"), (24, None), (30, None),
])
def test_next_milestone_is_the_earliest_still_ahead(now_h: float, key: str | None) -> None:
    stone = next_milestone(P1, at(now_h))
    assert (stone["key"] if stone else None) == key


# (milestones, state, assignee, hours since raised) → (milestone, recipients) expected
CASES = [
    # P1 first release at +5 h, lead 1 h: quiet until +4 h, then remind
    (P1, "new", 1, 3.9, None, set()),
    (P1, "new", 1, 4.0, "first_release", {WEBHOOK, "user:wang"}),
    (P1, "assigned", 1, 4.5, "first_release", {WEBHOOK, "user:wang"}),
    (P1, "drafting", 1, 4.9, "first_release", {WEBHOOK, "user:wang"}),
    (P1, "escalated", 1, 4.9, "first_release", {WEBHOOK, "user:wang"}),
    # the first release passed unanswered: the press conference (+24 h, lead 2 h) is next
    (P1, "assigned", 1, 5.5, None, set()),
    (P1, "assigned", 1, 21.9, None, set()),
    (P1, "assigned", 1, 22.0, "press_conference", {WEBHOOK, "user:wang"}),
    (P1, "assigned", 1, 24.0, None, set()),            # every deadline passed
    # answered or dismissed: no reminder
    (P1, "responded", 1, 4.5, None, set()),
    (P1, "dismissed", 1, 4.5, None, set()),
    # P2, 48 h, lead 2 h
    (P2, "new", 1, 45.9, None, set()),
    (P2, "new", 1, 46.0, "response", {WEBHOOK, "user:wang"}),
    # unassigned: every active officer and admin with an address (not approvers, not the
    # inactive account, not zhao who has no address)
    (P1, "new", None, 4.5, "first_release", {WEBHOOK, "user:wang", "user:admin"}),
    # assigned to someone inactive: as if unassigned
    (P1, "assigned", 5, 4.5, "first_release", {WEBHOOK, "user:wang", "user:admin"}),
    # assigned to someone without an address: only the webhook
    (P1, "assigned", 2, 4.5, "first_release", {WEBHOOK}),
    # an approver holding it gets it
    (P1, "assigned", 3, 4.5, "first_release", {WEBHOOK, "user:li"}),
]


@pytest.mark.parametrize(("milestones", "state", "assignee", "now_h", "key", "who"), CASES)
def test_due_reminders_table(milestones: tuple[dict[str, object], ...], state: str,
                             assignee: int | None, now_h: float, key: str | None,
                             who: set[str]) -> None:
    due = due_reminders([alert(milestones, state=state, assignee=assignee)], PEOPLE,
                        now=at(now_h), lead=LEAD, already=set(), channels={WEBHOOK, EMAIL})
    assert {d.recipient for d in due} == who
    assert {d.milestone for d in due} == ({key} if key else set())
    for d in due:
        assert d.alert_id == 7
        assert d.channel == (WEBHOOK if d.recipient == WEBHOOK else EMAIL)
        assert d.due_at > at(now_h)
        if d.channel == EMAIL:
            person = next(p for p in PEOPLE if f"user:{p.name}" == d.recipient)
            assert d.address == person.email


def test_already_sent_is_not_sent_again_but_others_are() -> None:
    a = alert(assignee=None)
    already = {(7, "first_release", WEBHOOK), (7, "first_release", "user:wang")}
    due = due_reminders([a], PEOPLE, now=at(4.5), lead=LEAD, already=already,
                        channels={WEBHOOK, EMAIL})
    assert [d.recipient for d in due] == ["user:admin"]
    # the next milestone is a new reminder even to the same people
    due = due_reminders([a], PEOPLE, now=at(22.5), lead=LEAD, already=already,
                        channels={WEBHOOK, EMAIL})
    assert {d.recipient for d in due} == {WEBHOOK, "user:wang", "user:admin"}


@pytest.mark.parametrize(("channels", "who"), [
    ({WEBHOOK}, {WEBHOOK}),
    ({EMAIL}, {"user:wang"}),
    (set(), set()),
])
def test_only_the_configured_channels(channels: set[str], who: set[str]) -> None:
    due = due_reminders([alert()], PEOPLE, now=at(4.5), lead=LEAD, already=set(),
                        channels=channels)
    assert {d.recipient for d in due} == who


def test_recipients_of_unassigned_are_officers_and_admins() -> None:
    names = [p.name for p in recipients(alert(assignee=None), PEOPLE)]
    assert names == ["wang", "zhao", "admin"]
