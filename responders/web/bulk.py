"""Bulk work on the queue: one action and one reason over many alerts.

Each alert goes through `responders.desk.alert_action` on its own — state-checked, role-checked
by the workflow table, one audit entry per alert — and the request commits once. An alert the
action does not fit (a wrong state, moved meanwhile, gone) is reported and the others go on.
That needs no savepoint: every refusal `alert_action` can give is raised before it writes
(the decision is pure, and the state-checked UPDATE that matches no row writes nothing), so a
refused alert leaves nothing behind to undo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from monitor.errors import InputError, NotFound
from responders import desk as desk_ops
from responders.auth import Principal
from responders.workflow import (
    TRANSITIONS,
    ReasonRequired,
    RoleForbidden,
    StateConflict,
    WorkflowError,
)

BULK_ACTIONS = ("assign", "dismiss", "escalate")
MAX_BULK = 500


@dataclass(frozen=True)
class BulkOutcome:
    alert_id: int
    ok: bool
    key: str          # the catalogue key of what happened (bk_done, bk_wrong_state, …)
    detail: str = ""  # the error's own sentence, for the record


def _key(exc: Exception) -> str:
    if isinstance(exc, RoleForbidden):
        return "bk_role"
    if isinstance(exc, StateConflict):
        return "bk_wrong_state"
    if isinstance(exc, ReasonRequired):
        return "bk_reason"
    if isinstance(exc, NotFound):
        return "bk_not_found"
    return "bk_refused"


def run_bulk(session: Session, who: Principal, alert_ids: list[int], action: str,
             now: datetime, *, reason: str = "", assignee: str | None = None
             ) -> list[BulkOutcome]:
    """Apply `action` to each alert in turn (flushing, never committing); one outcome per
    alert, in the order given, repeats dropped."""
    if action not in BULK_ACTIONS:
        raise InputError(f"action must be one of {', '.join(BULK_ACTIONS)}, not {action[:40]!r}")
    ids = list(dict.fromkeys(alert_ids))
    if not ids:
        raise InputError("select at least one alert")
    if len(ids) > MAX_BULK:
        raise InputError(f"at most {MAX_BULK} alerts at once, not {len(ids)}")
    if TRANSITIONS[("alert", action)].needs_reason and not reason.strip():
        raise InputError(f"{action} needs a reason (one for all the selected alerts)")
    out: list[BulkOutcome] = []
    for alert_id in ids:
        try:
            desk_ops.alert_action(session, who, alert_id, action, now, reason=reason,
                                  assignee=assignee)
        except (WorkflowError, InputError) as exc:
            out.append(BulkOutcome(alert_id, False, _key(exc), str(exc)))
        else:
            out.append(BulkOutcome(alert_id, True, "bk_done"))
    return out
