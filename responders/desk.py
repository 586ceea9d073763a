"""The press desk's writes: alert and output transitions, drafts, publications. Each change
is a state-checked UPDATE (… WHERE state = :from) plus an audit entry, flushed in the
caller's transaction — so a change and its audit entry commit together or not at all, and a
repeated or racing request finds the state moved and gets a StateConflict, never a double
write. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from monitor.errors import InputError, NotFound
from monitor.models import Item
from responders.auth import Principal
from responders.draft_text import unfilled
from responders.models import OUTPUT_KINDS, Alert, AuditEntry, Output, Publication, User
from responders.workflow import (
    USER_ACTIONS,
    RoleForbidden,
    StateConflict,
    UnknownAction,
    WorkflowError,
    decide,
)


def audit(session: Session, who: Principal | str, now: datetime, *, entity: str,
          entity_id: int, action: str, from_state: str | None = None,
          to_state: str | None = None, alert_id: int | None = None,
          detail: dict[str, Any] | None = None) -> None:
    actor = who if isinstance(who, str) else who.actor
    session.add(AuditEntry(at=now, actor=actor, entity=entity, entity_id=entity_id,
                           alert_id=alert_id, action=action, from_state=from_state,
                           to_state=to_state, detail=detail or {}))


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.scalar(
        select(Alert).options(joinedload(Alert.item).joinedload(Item.source))
        .where(Alert.id == alert_id)
    )
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    return alert


def get_output(session: Session, output_id: int) -> Output:
    output = session.get(Output, output_id)
    if output is None:
        raise NotFound(f"no output {output_id}")
    return output


def _transition(session: Session, who: Principal, now: datetime, row: Alert | Output, *,
                action: str, before: str, target: str, values: dict[str, Any] | None,
                detail: dict[str, Any] | None = None) -> None:
    """Apply a decided change: UPDATE … WHERE id = :id AND state = :before (the state the
    decision was taken from), then the audit entry. A concurrent request that moved the row
    first makes the UPDATE match 0 rows: StateConflict (409), and the caller's transaction,
    this audit entry included, is rolled back whole — never a double write.

    `values` None: the row itself does not change (a second draft of an alert already being
    drafted, a publication on a further channel of a published output); only the audit
    entry is written."""
    model = type(row)
    entity = "alert" if isinstance(row, Alert) else "output"
    if values is not None:
        result = session.execute(
            update(model).where(model.id == row.id, model.state == before).values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StateConflict(f"{entity} {row.id} changed meanwhile; reload and try again")
        session.refresh(row)
    audit(session, who, now, entity=entity, entity_id=row.id,
          alert_id=row.id if isinstance(row, Alert) else row.alert_id, action=action,
          from_state=before, to_state=target, detail=detail)


def _alert_moves(target: str, now: datetime, **values: Any) -> dict[str, Any]:
    return {"state": target, "state_changed_at": now, **values}


def alert_action(session: Session, who: Principal, alert_id: int, action: str, now: datetime,
                 *, reason: str = "", assignee: str | None = None) -> Alert:
    # "draft" creates an output (start_draft); "respond" follows from publishing.
    if action not in USER_ACTIONS["alert"] or action == "draft":
        raise UnknownAction(f"no alert action {action!r}")
    alert = get_alert(session, alert_id)
    before = alert.state
    target = decide("alert", action, before, who.role, reason=reason)
    values: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    if reason.strip():
        detail["reason"] = reason.strip()
    if action == "assign":
        name = (assignee or who.name).strip()
        user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
        if user is None:
            raise InputError(f"no active user {name!r} to assign to")
        if alert.assignee_id == user.id and before == "assigned":
            return alert  # already so: a repeated click changes nothing and logs nothing
        values["assignee_id"] = user.id
        detail["assignee"] = user.name
    _transition(session, who, now, alert, action=action, before=before, target=target,
                values=_alert_moves(target, now, **values), detail=detail)
    return alert


@dataclass(frozen=True)
class DraftInput:
    kind: str
    title: str
    body: str
    topic: str | None = None
    cited_policy_ids: Sequence[int] = ()


def start_draft(session: Session, who: Principal, alert_id: int, draft: DraftInput,
                now: datetime) -> Output:
    if draft.kind not in OUTPUT_KINDS:
        raise InputError(f"kind must be one of {', '.join(OUTPUT_KINDS)}")
    alert = get_alert(session, alert_id)
    before = alert.state
    target = decide("alert", "draft", before, who.role)
    output = Output(alert_id=alert.id, kind=draft.kind, topic=draft.topic, title=draft.title,
                    body=draft.body, state="draft", cited_policy_ids=list(draft.cited_policy_ids),
                    author_id=who.user_id, created_at=now, updated_at=now)
    session.add(output)
    session.flush()  # the audit entry names the output
    _transition(session, who, now, alert, action="draft", before=before, target=target,
                values=_alert_moves(target, now) if before != target else None,
                detail={"output_id": output.id, "kind": draft.kind})
    return output


def edit_output(session: Session, who: Principal, output_id: int, now: datetime, *,
                title: str, body: str, cited_policy_ids: Sequence[int]) -> Output:
    output = get_output(session, output_id)
    decide("output", "edit", output.state, who.role)
    if not body.strip():
        raise InputError("the text of the output is empty")
    if (output.title, output.body, list(output.cited_policy_ids)) == (
            title, body, list(cited_policy_ids)):
        return output
    # The state stays, but is still checked: an edit racing a submit must not land.
    _transition(session, who, now, output, action="edit", before=output.state,
                target=output.state,
                values={"title": title, "body": body,
                        "cited_policy_ids": list(cited_policy_ids), "updated_at": now},
                detail={"chars": len(body), "cited": list(cited_policy_ids)})
    return output


def output_action(session: Session, who: Principal, output_id: int, action: str,
                  now: datetime, *, comment: str = "") -> Output:
    """submit | approve | return (publishing has its own function: it needs channels)."""
    if action not in ("submit", "approve", "return"):
        raise UnknownAction(f"no output action {action!r} here")
    output = get_output(session, output_id)
    before = output.state
    target = decide("output", action, before, who.role, reason=comment)
    left = unfilled(f"{output.title}\n{output.body}") if action != "return" else []
    if left:
        # The template's places for the officer: nothing goes out with one still in it.
        raise InputError("草稿还有待填写的内容：" + "；".join(f"【{x}】" for x in left))
    values: dict[str, Any] = {"state": target, "updated_at": now}
    if action == "approve":
        # Separation of duties: nobody approves their own text.
        if who.user_id is not None and output.author_id == who.user_id:
            raise RoleForbidden("an author may not approve their own output")
        values["approver_id"] = who.user_id
    if action in ("approve", "return"):
        values["review_comment"] = comment.strip() or None
    _transition(session, who, now, output, action=action, before=before, target=target,
                values=values, detail={"comment": comment.strip()} if comment.strip() else {})
    return output


@dataclass(frozen=True)
class PublicationInput:
    channel: str
    link: str | None
    published_at: datetime


def _check_link(link: str | None) -> str | None:
    if link is None or not link.strip():
        return None
    link = link.strip()
    if not link.lower().startswith(("http://", "https://")):
        raise InputError("a publication link must start with http:// or https://")
    return link


def publish_output(session: Session, who: Principal, output_id: int,
                   publications: Sequence[PublicationInput], now: datetime) -> Output:
    """Record where an approved output went out. Publishing again on a channel already
    recorded is a no-op for that channel (idempotent); new channels are added."""
    if not publications:
        raise InputError("choose at least one channel")
    output = get_output(session, output_id)
    before = output.state
    target = decide("output", "publish", before, who.role)
    done = {p.channel for p in output.publications}
    added: list[str] = []
    for pub in publications:
        channel = pub.channel.strip()
        if not channel or len(channel) > 60:
            raise InputError("a channel name is needed (at most 60 characters)")
        if pub.published_at.tzinfo is None:
            raise InputError("the publication time needs a time zone")
        if channel in done:
            continue
        session.add(Publication(output_id=output.id, channel=channel,
                                link=_check_link(pub.link), published_at=pub.published_at,
                                recorded_by=who.actor, recorded_at=now))
        done.add(channel)
        added.append(channel)
    if not added:
        return output
    _transition(session, who, now, output, action="publish", before=before, target=target,
                values={"state": target, "updated_at": now} if before != target else None,
                detail={"channels": added})
    session.flush()
    session.refresh(output)  # the answer lists the new publications
    # The alert is answered once something about it went out.
    if output.alert_id is not None:
        alert = get_alert(session, output.alert_id)
        if alert.state != "responded":
            try:
                a_before = alert.state
                a_target = decide("alert", "respond", a_before, "admin")
            except WorkflowError:
                return output  # e.g. dismissed meanwhile: the output log still has the row
            _transition(session, who, now, alert, action="respond", before=a_before,
                        target=a_target, values=_alert_moves(a_target, now),
                        detail={"output_id": output.id})
    return output


def history(session: Session, alert_id: int) -> Sequence[AuditEntry]:
    return session.scalars(
        select(AuditEntry).where(AuditEntry.alert_id == alert_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
