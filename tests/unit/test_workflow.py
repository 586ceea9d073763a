"""The workflow table: every (entity, action, state, role) combination against an
independent statement of the rules, so a changed row in TRANSITIONS fails here."""

from __future__ import annotations

import pytest

from responders.workflow import (
    ALERT_STATES,
    OUTPUT_STATES,
    TRANSITIONS,
    ReasonRequired,
    RoleForbidden,
    StateConflict,
    UnknownAction,
    allowed_actions,
    decide,
)

ROLES = ("officer", "approver", "admin")

# Written out by hand from the issue (not derived from TRANSITIONS):
# action: (states it may start from, resulting state or None = unchanged, roles allowed)
EXPECTED = {
    ("alert", "assign"): ({"new", "assigned", "escalated", "drafting"}, "assigned", set(ROLES)),
    ("alert", "dismiss"): ({"new", "assigned", "escalated"}, "dismissed", set(ROLES)),
    ("alert", "escalate"): ({"new", "assigned", "drafting"}, "escalated", set(ROLES)),
    ("alert", "draft"): ({"new", "assigned", "escalated", "drafting"}, "drafting", set(ROLES)),
    ("alert", "respond"): ({"new", "assigned", "escalated", "drafting"}, "responded", set(ROLES)),
    ("alert", "reopen"): ({"dismissed", "responded"}, "assigned", {"approver", "admin"}),
    # The system's alone (a board message's reply arrived): no person's role may.
    ("alert", "answered"): ({"new", "assigned", "escalated", "drafting"}, "responded", set()),
    ("output", "edit"): ({"draft", "returned"}, None, {"officer", "admin"}),
    ("output", "submit"): ({"draft", "returned"}, "submitted", {"officer", "admin"}),
    ("output", "approve"): ({"submitted"}, "approved", {"approver", "admin"}),
    ("output", "return"): ({"submitted"}, "returned", {"approver", "admin"}),
    ("output", "publish"): ({"approved", "published"}, "published", set(ROLES)),
}


def test_table_covers_exactly_the_expected_actions() -> None:
    assert set(TRANSITIONS) == set(EXPECTED)


CASES = [
    (entity, action, state, role)
    for (entity, action) in EXPECTED
    for state in (ALERT_STATES if entity == "alert" else OUTPUT_STATES)
    for role in ROLES
]


@pytest.mark.parametrize(("entity", "action", "state", "role"), CASES)
def test_every_transition_allowed_or_refused(entity: str, action: str, state: str,
                                             role: str) -> None:
    sources, target, roles = EXPECTED[(entity, action)]
    if role not in roles:
        with pytest.raises(RoleForbidden):
            decide(entity, action, state, role, reason="理由")
    elif state not in sources:
        with pytest.raises(StateConflict):
            decide(entity, action, state, role, reason="理由")
    else:
        assert decide(entity, action, state, role, reason="理由") == (target or state)


@pytest.mark.parametrize(("entity", "action", "state"), [
    ("alert", "dismiss", "new"),
    ("alert", "escalate", "assigned"),
    ("alert", "reopen", "dismissed"),
    ("output", "return", "submitted"),
])
def test_reason_required(entity: str, action: str, state: str) -> None:
    with pytest.raises(ReasonRequired):
        decide(entity, action, state, "admin", reason="   ")


def test_only_the_system_closes_an_answered_message() -> None:
    assert decide("alert", "answered", "assigned", "system", reason="留言已回复") == "responded"
    with pytest.raises(StateConflict):
        decide("alert", "answered", "dismissed", "system", reason="留言已回复")
    with pytest.raises(ReasonRequired):
        decide("alert", "answered", "new", "system")
    assert "answered" not in allowed_actions("alert", "new", "admin")


def test_role_is_checked_before_state() -> None:
    # An officer asking to approve anything gets "forbidden", never a hint about state.
    with pytest.raises(RoleForbidden):
        decide("output", "approve", "published", "officer")


def test_unknown_action() -> None:
    with pytest.raises(UnknownAction):
        decide("alert", "delete", "new", "admin")


@pytest.mark.parametrize(("entity", "state", "role", "expected"), [
    ("alert", "new", "officer", ["assign", "dismiss", "escalate", "draft"]),
    ("alert", "dismissed", "officer", []),
    ("alert", "dismissed", "approver", ["reopen"]),
    ("output", "submitted", "officer", []),
    ("output", "submitted", "approver", ["approve", "return"]),
    ("output", "approved", "officer", ["publish"]),
    ("output", "returned", "officer", ["edit", "submit"]),
])
def test_allowed_actions(entity: str, state: str, role: str, expected: list[str]) -> None:
    assert allowed_actions(entity, state, role) == expected
