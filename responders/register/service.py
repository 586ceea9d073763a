"""Writes to the disclosure register, each with its audit entry in the same transaction
(responders.desk.audit), flushed and never committed (the boundary commits). Roles as for
alerts: any officer records a request, its steps and its reply; reopening an answered request
is for approvers and admins; a token acting for nobody may read but not write.

Each request's deadline is recomputed whenever a date it depends on changes
(responders.register.deadlines, pure), and stored so that lists and reminders read an index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.errors import InputError, NotFound
from responders.auth import Principal
from responders.desk import audit
from responders.register.calendar import WorkCalendar
from responders.register.deadlines import DeadlineInput, statutory_deadline
from responders.register.models import DisclosureCase, DisclosureRequest, RequestDocument
from responders.register.outcomes import (
    APPLICANT_TYPES,
    CASE_KINDS,
    CASE_OUTCOMES,
    CHANNELS,
    LITIGATION_ROUTES,
    normalise_outcome,
)
from responders.workflow import ADMIN, APPROVER, RoleForbidden, StateConflict

Who = Principal | str          # a person/token, or a command-line actor such as "cli:import"
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
DOCUMENT_KINDS = ("申请书", "补正告知书", "延期告知书", "征求意见函", "答复书", "其他")


def _check_may_write(who: Who, *, review: bool = False) -> None:
    if isinstance(who, str):
        return                      # the command line runs as the machine's operator
    if who.user_id is None:
        raise RoleForbidden("this token acts for nobody: it may read the register, not change it")
    if review and who.role not in (APPROVER, ADMIN):
        raise RoleForbidden("only approvers and admins reopen an answered request")


@dataclass(frozen=True)
class RequestInput:
    number: str
    received_on: date
    channel: str
    applicant_type: str
    subject: str
    applicant: str = ""
    correction_requested_on: date | None = None
    corrected_on: date | None = None
    extension_days: int = 0
    applicant_told_on: date | None = None
    pauses: Sequence[tuple[date, date]] = field(default_factory=tuple)
    outcome: str | None = None
    answered_on: date | None = None
    fee_yuan: int = 0
    notes: str = ""


def check_request(r: RequestInput) -> list[str]:
    """What is wrong with a request as entered, one sentence per field (empty: fine)."""
    problems = []
    if not r.number.strip() or len(r.number) > 40:
        problems.append("登记号 (number) is empty or longer than 40 characters")
    if r.channel not in CHANNELS:
        problems.append(f"申请方式 {r.channel!r} is not one of {'、'.join(CHANNELS)}")
    if r.applicant_type not in APPLICANT_TYPES:
        problems.append(f"申请人类型 {r.applicant_type!r} is not one of "
                        f"{'、'.join(APPLICANT_TYPES)}")
    if not r.subject.strip():
        problems.append("申请内容 (subject) is empty")
    if r.outcome is not None and normalise_outcome(r.outcome) is None:
        problems.append(f"办理结果 {r.outcome!r} is not an official category "
                        "(国办公开办函〔2021〕30号)")
    if (r.outcome is None) != (r.answered_on is None):
        problems.append("办理结果 and 答复日期 go together: give both or neither")
    if r.answered_on is not None and r.answered_on < r.received_on:
        problems.append("答复日期 is before the request was received")
    if r.fee_yuan < 0:
        problems.append("收费 is negative")
    if r.corrected_on is not None and r.correction_requested_on is None:
        problems.append("补正收到日期 needs the date the correction was asked for")
    return problems


def _day(v: date | str) -> date:
    return v if isinstance(v, date) else date.fromisoformat(v)


def deadline_input(r: RequestInput | DisclosureRequest) -> DeadlineInput:
    pauses = [(_day(p[0]), _day(p[1])) for p in r.pauses]
    return DeadlineInput(r.received_on, r.corrected_on, r.extension_days,
                         r.applicant_told_on, pauses)


def _pauses_json(pauses: Sequence[tuple[date, date]]) -> list[Any]:
    return [[a.isoformat(), b.isoformat()] for a, b in pauses]


def _values(r: RequestInput, cal: WorkCalendar) -> dict[str, Any]:
    problems = check_request(r)
    if problems:
        raise InputError("; ".join(problems))
    due = statutory_deadline(deadline_input(r), cal).due_on
    outcome = normalise_outcome(r.outcome) if r.outcome is not None else None
    return {
        "number": r.number.strip(), "received_on": r.received_on, "channel": r.channel,
        "applicant_type": r.applicant_type, "applicant": r.applicant.strip(),
        "subject": r.subject.strip(), "correction_requested_on": r.correction_requested_on,
        "corrected_on": r.corrected_on, "extension_days": r.extension_days,
        "applicant_told_on": r.applicant_told_on, "pauses": _pauses_json(r.pauses),
        "due_on": due, "outcome": outcome, "answered_on": r.answered_on,
        "state": "answered" if outcome else "open", "fee_yuan": r.fee_yuan,
        "notes": r.notes.strip(),
    }


def get_request(session: Session, request_id: int) -> DisclosureRequest:
    row = session.get(DisclosureRequest, request_id)
    if row is None:
        raise NotFound(f"no disclosure request {request_id}")
    return row


def find_request(session: Session, number: str) -> DisclosureRequest | None:
    return session.scalar(select(DisclosureRequest).where(
        DisclosureRequest.number == number.strip()))


def create_request(session: Session, who: Who, r: RequestInput, cal: WorkCalendar,
                   now: datetime) -> DisclosureRequest:
    _check_may_write(who)
    values = _values(r, cal)
    if find_request(session, values["number"]) is not None:
        raise StateConflict(f"登记号 {values['number']} is in the register already")
    actor = who if isinstance(who, str) else who.actor
    row = DisclosureRequest(**values, created_by=actor, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    audit(session, who, now, entity="request", entity_id=row.id, action="create",
          to_state=row.state, detail={"number": row.number, "due_on": row.due_on.isoformat()})
    return row


def upsert_request(session: Session, who: Who, r: RequestInput, cal: WorkCalendar,
                   now: datetime) -> tuple[DisclosureRequest, str]:
    """For imports: create, or update the row with the same 登记号. ("created" | "updated" |
    "unchanged"); an unchanged row writes no audit entry, so re-importing is idempotent."""
    row = find_request(session, r.number)
    if row is None:
        return create_request(session, who, r, cal, now), "created"
    values = _values(r, cal)
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        return row, "unchanged"
    before = row.state
    for k, v in changed.items():
        setattr(row, k, v)
    row.updated_at = now
    session.flush()
    audit(session, who, now, entity="request", entity_id=row.id, action="import",
          from_state=before, to_state=row.state, detail={"fields": sorted(changed)})
    return row, "updated"


def _open(row: DisclosureRequest) -> None:
    if row.state != "open":
        raise StateConflict(f"request {row.number} is answered already; reopen it first")


def _move(session: Session, row: DisclosureRequest, before: str,
          values: dict[str, Any]) -> None:
    """State-checked UPDATE: a racing or repeated request finds the state moved (409)."""
    result = session.execute(
        update(DisclosureRequest).where(DisclosureRequest.id == row.id,
                                        DisclosureRequest.state == before)
        .values(**values).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StateConflict(f"request {row.number} changed meanwhile; reload and try again")
    session.refresh(row)


def record_step(session: Session, who: Who, request_id: int, step: str, cal: WorkCalendar,
                now: datetime, *, on: date | None = None, until: date | None = None,
                days: int = 0) -> DisclosureRequest:
    """A step that moves the deadline: 补正 asked (correction_requested) or received
    (corrected), an extension (extend: `days`, applicant told `on`), a consultation
    (pause: `on`..`until`)."""
    _check_may_write(who)
    row = get_request(session, request_id)
    _open(row)
    if on is None:
        raise InputError("give the date of the step")
    values: dict[str, Any] = {}
    if step == "correction_requested":
        values["correction_requested_on"] = on
    elif step == "corrected":
        if row.correction_requested_on is None:
            raise InputError("no correction (补正) was asked for on this request")
        values["corrected_on"] = on
    elif step == "extend":
        if row.extension_days:
            raise StateConflict("the deadline was extended once already "
                                "(条例第三十三条 allows one)")
        values.update(extension_days=days, applicant_told_on=on)
    elif step == "pause":
        if until is None or until < on:
            raise InputError("a consultation needs its first and last day, in order")
        values["pauses"] = [*row.pauses, [on.isoformat(), until.isoformat()]]
    else:
        raise InputError(f"no step {step!r}")
    trial = {k: getattr(row, k) for k in ("received_on", "corrected_on", "extension_days",
                                          "applicant_told_on", "pauses")} | values
    di = deadline_input(RequestInput("x", trial["received_on"], "其他", "自然人", "x",
                                      corrected_on=trial["corrected_on"],
                                      extension_days=trial["extension_days"],
                                      applicant_told_on=trial["applicant_told_on"],
                                      pauses=[(date.fromisoformat(a), date.fromisoformat(b))
                                              for a, b in trial["pauses"]]))
    values["due_on"] = statutory_deadline(di, cal).due_on
    values["updated_at"] = now
    before_due = row.due_on
    _move(session, row, "open", values)
    audit(session, who, now, entity="request", entity_id=row.id, action=step,
          from_state="open", to_state="open",
          detail={"on": on.isoformat(), **({"until": until.isoformat()} if until else {}),
                  **({"days": days} if step == "extend" else {}),
                  "due_before": before_due.isoformat(), "due_on": row.due_on.isoformat()})
    return row


def record_outcome(session: Session, who: Who, request_id: int, outcome: str,
                   answered_on: date, now: datetime, *, fee_yuan: int = 0) -> DisclosureRequest:
    _check_may_write(who)
    row = get_request(session, request_id)
    _open(row)
    official = normalise_outcome(outcome)
    if official is None:
        raise InputError(f"办理结果 {outcome!r} is not an official category "
                         "(国办公开办函〔2021〕30号)")
    if answered_on < row.received_on:
        raise InputError("the reply cannot be dated before the request was received")
    if fee_yuan < 0:
        raise InputError("a fee cannot be negative")
    _move(session, row, "open", {"state": "answered", "outcome": official,
                                 "answered_on": answered_on, "fee_yuan": fee_yuan,
                                 "updated_at": now})
    audit(session, who, now, entity="request", entity_id=row.id, action="answer",
          from_state="open", to_state="answered",
          detail={"outcome": official, "answered_on": answered_on.isoformat(),
                  "fee_yuan": fee_yuan, "late": answered_on > row.due_on})
    return row


def reopen_request(session: Session, who: Who, request_id: int, reason: str,
                   now: datetime) -> DisclosureRequest:
    _check_may_write(who, review=True)
    if not reason.strip():
        raise InputError("give a reason to reopen the request")
    row = get_request(session, request_id)
    if row.state != "answered":
        raise StateConflict(f"request {row.number} is not answered")
    old = row.outcome
    _move(session, row, "answered", {"state": "open", "outcome": None, "answered_on": None,
                                     "updated_at": now})
    audit(session, who, now, entity="request", entity_id=row.id, action="reopen",
          from_state="answered", to_state="open", detail={"reason": reason.strip(),
                                                          "outcome_was": old})
    return row


def attach_document(session: Session, who: Who, request_id: int, name: str, content: bytes,
                    now: datetime, *, kind: str = "其他",
                    media_type: str = "application/octet-stream") -> RequestDocument:
    _check_may_write(who)
    row = get_request(session, request_id)
    name = name.strip().replace("/", "_").replace("\\", "_")[:200]
    if not name:
        raise InputError("the document needs a file name")
    if not content:
        raise InputError("the document is empty")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise InputError(f"the document is larger than {MAX_DOCUMENT_BYTES // 1024 // 1024} MB")
    if kind not in DOCUMENT_KINDS:
        raise InputError(f"document kind {kind!r} is not one of {'、'.join(DOCUMENT_KINDS)}")
    digest = hashlib.sha256(content).hexdigest()
    same = session.scalar(select(RequestDocument).where(
        RequestDocument.request_id == row.id, RequestDocument.sha256 == digest))
    if same is not None:
        return same                  # the same file twice is stored once
    actor = who if isinstance(who, str) else who.actor
    doc = RequestDocument(request_id=row.id, name=name, kind=kind, media_type=media_type,
                          size=len(content), sha256=digest, content=content,
                          uploaded_by=actor, uploaded_at=now)
    session.add(doc)
    session.flush()
    audit(session, who, now, entity="request", entity_id=row.id, action="attach",
          detail={"document_id": doc.id, "name": name, "kind": kind, "sha256": digest})
    return doc


@dataclass(frozen=True)
class CaseInput:
    number: str
    kind: str                          # 复议 | 诉讼
    filed_on: date
    route: str | None = None           # lawsuits: 未经复议直接起诉 | 复议后起诉
    body: str = ""
    outcome: str = "尚未审结"
    decided_on: date | None = None
    notes: str = ""


def check_case(c: CaseInput) -> list[str]:
    problems = []
    if not c.number.strip() or len(c.number) > 60:
        problems.append("案号 is empty or longer than 60 characters")
    if c.kind not in CASE_KINDS:
        problems.append(f"类型 {c.kind!r} is not 复议 or 诉讼")
    if c.kind == "诉讼" and c.route not in LITIGATION_ROUTES:
        problems.append(f"a lawsuit is {' or '.join(LITIGATION_ROUTES)}, not {c.route!r}")
    if c.kind == "复议" and c.route is not None:
        problems.append("a reconsideration has no litigation route")
    if c.outcome not in CASE_OUTCOMES:
        problems.append(f"结果 {c.outcome!r} is not one of {'、'.join(CASE_OUTCOMES)}")
    if (c.outcome == "尚未审结") != (c.decided_on is None):
        problems.append("a decided case needs its decision date, an undecided one has none")
    if c.decided_on is not None and c.decided_on < c.filed_on:
        problems.append("the decision is dated before the case was filed")
    return problems


def add_case(session: Session, who: Who, request_id: int, c: CaseInput,
             now: datetime) -> tuple[DisclosureCase, bool]:
    """(case, created). The same 案号 again is the same case: no second row."""
    _check_may_write(who)
    row = get_request(session, request_id)
    problems = check_case(c)
    if problems:
        raise InputError("; ".join(problems))
    same = session.scalar(select(DisclosureCase).where(DisclosureCase.number == c.number.strip()))
    if same is not None:
        if same.request_id != row.id:
            raise StateConflict(f"案号 {c.number} belongs to another request")
        return same, False
    case = DisclosureCase(request_id=row.id, number=c.number.strip(), kind=c.kind,
                          route=c.route if c.kind == "诉讼" else None, filed_on=c.filed_on,
                          body=c.body.strip(), outcome=c.outcome, decided_on=c.decided_on,
                          notes=c.notes.strip(), created_at=now, updated_at=now)
    session.add(case)
    session.flush()
    audit(session, who, now, entity="case", entity_id=case.id, action="create",
          to_state=case.outcome, detail={"request": row.number, "number": case.number,
                                         "kind": case.kind, "route": case.route})
    return case, True


def decide_case(session: Session, who: Who, case_id: int, outcome: str, decided_on: date,
                now: datetime) -> DisclosureCase:
    _check_may_write(who)
    case = session.get(DisclosureCase, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    if outcome not in CASE_OUTCOMES or outcome == "尚未审结":
        raise InputError(f"结果 {outcome!r} is not 维持、纠正 or 其他")
    if decided_on < case.filed_on:
        raise InputError("the decision is dated before the case was filed")
    before = case.outcome
    result = session.execute(
        update(DisclosureCase).where(DisclosureCase.id == case.id,
                                     DisclosureCase.outcome == "尚未审结")
        .values(outcome=outcome, decided_on=decided_on, updated_at=now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StateConflict(f"case {case.number} is decided already")
    session.refresh(case)
    audit(session, who, now, entity="case", entity_id=case.id, action="decide",
          from_state=before, to_state=outcome, detail={"decided_on": decided_on.isoformat()})
    return case
