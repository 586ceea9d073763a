"""Transactions of the press desk: a lost race on the state-checked UPDATE (409, nothing
written), and one unit of work per web request — a GET writes nothing (the session's
last-seen time at most once a minute, on its own), a failing request leaves nothing
behind, a successful change commits once and enqueues only after its commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from responders import desk as desk_ops
from responders.auth import Principal
from responders.models import Alert, AuditEntry, Output, User
from responders.workflow import StateConflict
from tests.integration.test_desk_api import NOW, Desk, alert_id, desk, login  # noqa: F401


def _principal(s: Session, name: str) -> Principal:
    user = s.scalars(select(User).where(User.name == name)).one()
    return Principal("user", user.id, user.name, user.role, user.id)


def _audit_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return len(s.scalars(select(AuditEntry)).all())


def _output(sessions: sessionmaker[Session], state: str, author: str = "zhao") -> int:
    with sessions() as s:
        author_id = s.scalars(select(User.id).where(User.name == author)).one()
        out = Output(alert_id=None, kind="回应", title="t", body="正文", state=state,
                     author_id=author_id, created_at=NOW, updated_at=NOW)
        s.add(out)
        s.commit()
        return out.id


# ---------------------------------------------------------------- a lost race

def _set(sessions: sessionmaker[Session], model: Any, ident: int, state: str) -> None:
    with sessions() as s:
        s.execute(update(model).where(model.id == ident).values(state=state))
        s.commit()


RACES: list[tuple[str, str, str, str, Callable[..., Any]]] = [
    # (entity, state read, state the other request left, who, the change)
    ("alert", "new", "escalated", "wang",
     lambda s, who, i: desk_ops.alert_action(s, who, i, "assign", NOW, assignee="wang")),
    ("alert", "assigned", "dismissed", "wang",
     lambda s, who, i: desk_ops.start_draft(s, who, i, desk_ops.DraftInput("回应", "t", "正文"),
                                            NOW)),
    ("output", "draft", "submitted", "wang",
     lambda s, who, i: desk_ops.edit_output(s, who, i, NOW, title="新", body="新正文",
                                            cited_policy_ids=[])),
    ("output", "submitted", "returned", "li",
     lambda s, who, i: desk_ops.output_action(s, who, i, "approve", NOW)),
    ("output", "approved", "draft", "wang",
     lambda s, who, i: desk_ops.publish_output(
         s, who, i, [desk_ops.PublicationInput("门户网站", None, NOW)], NOW)),
]


@pytest.mark.parametrize(("entity", "read", "moved", "who", "change"), RACES,
                         ids=[f"{r[0]}-{r[1]}" for r in RACES])
def test_a_lost_race_is_a_conflict_and_writes_nothing(desk: Desk, entity: str, read: str,
                                                      moved: str, who: str,
                                                      change: Callable[..., Any]) -> None:
    """The row is read in one state; another request moves it before this one's UPDATE.
    The state-checked UPDATE matches no row: StateConflict, and with the rollback neither
    the change nor its audit entry remains."""
    model = Alert if entity == "alert" else Output
    ident = alert_id(desk, "P2") if entity == "alert" else _output(desk.sessions, read)
    _set(desk.sessions, model, ident, read)
    audits = _audit_count(desk.sessions)
    with desk.sessions() as s:
        me = _principal(s, who)
        # This request has read the row (the identity map keeps what it read) …
        row = s.get(model, ident)
        assert row is not None and row.state == read
        # … when another request moves it and commits.
        _set(desk.sessions, model, ident, moved)
        with pytest.raises(StateConflict, match="changed meanwhile"):
            change(s, me, ident)
        s.rollback()
    with desk.sessions() as s:
        assert s.scalar(select(model.state).where(model.id == ident)) == moved
    assert _audit_count(desk.sessions) == audits
