"""The disclosure register's pages under /register: the list (deadlines, overdue first to the
eye), a request with its steps, reply, documents and cases. Every change is a POST with the
CSRF token (PageWriter), role-checked on the server (responders.register.service) and
audit-logged in the request's one transaction (the unit of work commits it)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from monitor.errors import InputError, NotFound
from responders.register import service
from responders.register.calendar import WorkCalendar, load_calendar
from responders.register.deadlines import statutory_deadline
from responders.register.importing import parse_date
from responders.register.models import DisclosureRequest, RequestDocument
from responders.register.outcomes import (
    APPLICANT_TYPES,
    CASE_OUTCOMES,
    CHANNELS,
    LITIGATION_ROUTES,
    OUTCOMES,
)
from responders.web.deps import DB, PageReader, PageWriter, desk
from responders.web.params import PathId
from responders.web.rendering import render
from responders.web.unit_of_work import DeskRoute

router = APIRouter(include_in_schema=False, route_class=DeskRoute)
MAX_TEXT = 4000


def _calendar(request: Request) -> WorkCalendar:
    s = desk(request).settings
    return load_calendar(Path(s.config_dir), s.home)


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    out: dict[str, Any] = {}
    for k, v in form.multi_items():
        if isinstance(v, UploadFile):
            out[k] = v
        else:
            text = str(v)
            if "\x00" in text or len(text) > MAX_TEXT:
                raise InputError(f"field {k!r} holds a NUL or is longer than {MAX_TEXT}")
            out[k] = text.strip()
    return out


def _opt_day(form: dict[str, Any], key: str) -> date | None:
    try:
        return parse_date(form.get(key), key)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def _day(form: dict[str, Any], key: str) -> date:
    d = _opt_day(form, key)
    if d is None:
        raise InputError(f"give the date ({key})")
    return d


def _int(form: dict[str, Any], key: str) -> int:
    text = str(form.get(key) or "0")
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise InputError(f"{key} must be a whole number")
    return int(text)


@router.get("/register", response_class=HTMLResponse)
def register_page(request: Request, me: PageReader, session: DB) -> Response:
    year_text = request.query_params.get("year", "")
    q = select(DisclosureRequest).order_by(DisclosureRequest.received_on.desc(),
                                           DisclosureRequest.number.desc())
    year = None
    if year_text:
        if not (year_text.isascii() and year_text.isdigit() and 2000 <= int(year_text) <= 2999):
            raise InputError("year must be a year such as 2025")
        year = int(year_text)
        q = q.where(DisclosureRequest.received_on >= date(year, 1, 1),
                    DisclosureRequest.received_on <= date(year, 12, 31))
    only_open = request.query_params.get("open") == "1"
    if only_open:
        q = q.where(DisclosureRequest.state == "open")
    rows = session.scalars(q.limit(500)).all()
    today = desk(request).now().date()
    return render(request, "register.html", {
        "rows": rows, "year": year, "only_open": only_open, "today": today,
        "channels": CHANNELS, "applicant_types": APPLICANT_TYPES,
        "notice": request.query_params.get("notice")})


@router.post("/register")
async def register_create(request: Request, me: PageWriter, session: DB) -> Response:
    form = await _form(request)
    row = service.create_request(session, me, service.RequestInput(
        number=str(form.get("number", "")), received_on=_day(form, "received_on"),
        channel=str(form.get("channel", "")), applicant_type=str(form.get("applicant_type", "")),
        subject=str(form.get("subject", "")), applicant=str(form.get("applicant", ""))),
        _calendar(request), desk(request).now())
    return RedirectResponse(f"/register/{row.id}", status_code=303)


def _request_or_404(session: Session, request_id: int) -> DisclosureRequest:
    return service.get_request(session, request_id)


@router.get("/register/{request_id}", response_class=HTMLResponse)
def request_page(request_id: PathId, request: Request, me: PageReader, session: DB) -> Response:
    row = _request_or_404(session, request_id)
    cal = _calendar(request)
    basis = statutory_deadline(service.deadline_input(row), cal).basis
    return render(request, "register_request.html", {
        "r": row, "basis": basis, "today": desk(request).now().date(),
        "outcomes": OUTCOMES, "case_outcomes": CASE_OUTCOMES, "routes": LITIGATION_ROUTES,
        "document_kinds": service.DOCUMENT_KINDS,
        "may_reopen": me.role in ("approver", "admin")})


@router.post("/register/{request_id}/steps")
async def request_step(request_id: PathId, request: Request, me: PageWriter,
                       session: DB) -> Response:
    form = await _form(request)
    step = str(form.get("step", ""))
    service.record_step(session, me, request_id, step, _calendar(request), desk(request).now(),
                        on=_day(form, "on"), until=_opt_day(form, "until"),
                        days=_int(form, "days"))
    return RedirectResponse(f"/register/{request_id}", status_code=303)


@router.post("/register/{request_id}/outcome")
async def request_outcome(request_id: PathId, request: Request, me: PageWriter,
                          session: DB) -> Response:
    form = await _form(request)
    service.record_outcome(session, me, request_id, str(form.get("outcome", "")),
                           _day(form, "answered_on"), desk(request).now(),
                           fee_yuan=_int(form, "fee_yuan"))
    return RedirectResponse(f"/register/{request_id}", status_code=303)


@router.post("/register/{request_id}/reopen")
async def request_reopen(request_id: PathId, request: Request, me: PageWriter,
                         session: DB) -> Response:
    form = await _form(request)
    service.reopen_request(session, me, request_id, str(form.get("reason", "")),
                           desk(request).now())
    return RedirectResponse(f"/register/{request_id}", status_code=303)


@router.post("/register/{request_id}/documents")
async def request_document(request_id: PathId, request: Request, me: PageWriter,
                           session: DB) -> Response:
    form = await _form(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InputError("choose a file to attach")
    content = await upload.read(service.MAX_DOCUMENT_BYTES + 1)
    service.attach_document(session, me, request_id, upload.filename or "", content,
                            desk(request).now(), kind=str(form.get("kind", "其他")),
                            media_type=upload.content_type or "application/octet-stream")
    return RedirectResponse(f"/register/{request_id}", status_code=303)


@router.get("/register/documents/{document_id}")
def request_document_download(document_id: PathId, me: PageReader, session: DB) -> Response:
    doc = session.get(RequestDocument, document_id)
    if doc is None:
        raise NotFound(f"no document {document_id}")
    # Always a download, never rendered by the desk's origin (an uploaded HTML file is
    # someone's file, not the desk's page).
    return Response(doc.content, media_type="application/octet-stream", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(doc.name)}",
        "X-Content-Type-Options": "nosniff"})


@router.post("/register/{request_id}/cases")
async def request_case(request_id: PathId, request: Request, me: PageWriter,
                       session: DB) -> Response:
    form = await _form(request)
    kind = str(form.get("kind", ""))
    service.add_case(session, me, request_id, service.CaseInput(
        number=str(form.get("number", "")), kind=kind,
        filed_on=_day(form, "filed_on"),
        route=(str(form.get("route") or "") or None) if kind == "诉讼" else None,
        body=str(form.get("body", ""))), desk(request).now())
    return RedirectResponse(f"/register/{request_id}", status_code=303)


@router.post("/register/cases/{case_id}/decide")
async def case_decide(case_id: PathId, request: Request, me: PageWriter,
                      session: DB) -> Response:
    form = await _form(request)
    case = service.decide_case(session, me, case_id, str(form.get("outcome", "")),
                               _day(form, "decided_on"), desk(request).now())
    return RedirectResponse(f"/register/{case.request_id}", status_code=303)

