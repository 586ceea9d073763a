"""The press-desk workflow as ONE table of allowed transitions. Pure: no database, no clock.

Two state machines share the table, keyed by (entity, action):

    alert:   new ─assign→ assigned ─draft→ drafting ─(output published)→ responded
             new/assigned ─dismiss→ dismissed (无需回应, with a reason)
             new/assigned/drafting ─escalate→ escalated ─assign→ assigned
             dismissed/responded ─reopen→ assigned          (approver, admin)
             new/assigned/drafting/escalated ─answered→ responded
                                    (the system: a board message's reply arrived on re-poll)
    output:  draft/returned ─submit→ submitted ─approve→ approved ─publish→ published
             submitted ─return→ returned (with comments)

The caller (responders.desk) applies the decision with a state-checked UPDATE and writes the
audit entry in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from responders.errors import DeskError

ALERT_STATES = ("new", "assigned", "drafting", "escalated", "dismissed", "responded")
OUTPUT_STATES = ("draft", "submitted", "returned", "approved", "published")
OPEN_ALERT_STATES = ("new", "assigned", "drafting", "escalated")

OFFICER, APPROVER, ADMIN = "officer", "approver", "admin"
# Not a person's role (no user or token has it): the workers' own changes, e.g. closing a
# board message's alert when the board shows the reply.
SYSTEM = "system"
ANYONE = frozenset({OFFICER, APPROVER, ADMIN})
REVIEWERS = frozenset({APPROVER, ADMIN})


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str | None  # None: the state stays (an edit that is only allowed in some states)
    roles: frozenset[str]
    needs_reason: bool = False


def _t(sources: str, target: str | None, roles: frozenset[str], *,
       needs_reason: bool = False) -> Transition:
    return Transition(frozenset(sources.split()), target, roles, needs_reason)


# (entity, action) → transition. Adding a step to the workflow means adding a row here.
TRANSITIONS: dict[tuple[str, str], Transition] = {
    ("alert", "assign"): _t("new assigned escalated drafting", "assigned", ANYONE),
    ("alert", "dismiss"): _t("new assigned escalated", "dismissed", ANYONE, needs_reason=True),
    ("alert", "escalate"): _t("new assigned drafting", "escalated", ANYONE, needs_reason=True),
    ("alert", "draft"): _t("new assigned escalated drafting", "drafting", ANYONE),
    ("alert", "respond"): _t("new assigned escalated drafting", "responded", ANYONE),
    ("alert", "reopen"): _t("dismissed responded", "assigned", REVIEWERS, needs_reason=True),
    ("alert", "answered"): _t("new assigned escalated drafting", "responded",
                              frozenset({SYSTEM}), needs_reason=True),
    ("output", "edit"): _t("draft returned", None, frozenset({OFFICER, ADMIN})),
    ("output", "submit"): _t("draft returned", "submitted", frozenset({OFFICER, ADMIN})),
    ("output", "approve"): _t("submitted", "approved", REVIEWERS),
    ("output", "return"): _t("submitted", "returned", REVIEWERS, needs_reason=True),
    ("output", "publish"): _t("approved published", "published", ANYONE),
}

# Actions a person may ask for through the web/API. "respond" is the system's: it follows
# from publishing an output, never from a button.
USER_ACTIONS = {
    "alert": ("assign", "dismiss", "escalate", "draft", "reopen"),
    "output": ("edit", "submit", "approve", "return", "publish"),
}


class WorkflowError(DeskError):
    """Base: the requested change is not allowed."""


class UnknownAction(WorkflowError):
    pass


class RoleForbidden(WorkflowError):
    """The role may never do this (HTTP 403)."""


class StateConflict(WorkflowError):
    """Not from the current state (HTTP 409): someone else moved it, or a stale page."""


class ReasonRequired(WorkflowError):
    pass


def decide(entity: str, action: str, state: str, role: str, *, reason: str = "") -> str:
    """The state after `action`, or a WorkflowError saying why not.

    The role is checked before the state, so a forbidden role gets 403 whatever the state.
    """
    transition = TRANSITIONS.get((entity, action))
    if transition is None:
        raise UnknownAction(f"no action {action!r} for {entity}")
    if role not in transition.roles:
        raise RoleForbidden(f"role {role!r} may not {action} an {entity}")
    if state not in transition.sources:
        raise StateConflict(f"cannot {action} an {entity} that is {state!r}")
    if transition.needs_reason and not reason.strip():
        raise ReasonRequired(f"{action} needs a reason")
    return transition.target if transition.target is not None else state


def allowed_actions(entity: str, state: str, role: str) -> list[str]:
    """The user actions offered for this state and role (to show only the buttons that work)."""
    return [
        action
        for action in USER_ACTIONS[entity]
        if role in TRANSITIONS[(entity, action)].roles
        and state in TRANSITIONS[(entity, action)].sources
    ]
