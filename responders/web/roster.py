"""The on-call roster page (值班表, admins only) and the 确认收到 route (no login).

Roster: the weekly lines, the dated exceptions, the people and who is on duty now; an admin
adds or removes a line, updates a person's phone, e-mail and channels, or pastes a CSV that
replaces the lines. Every change is CSRF-checked (PageWriter), role-checked here, and
audit-logged in the request's transaction.

Ack: GET /ack/{token} shows the alert's title and one button, and changes nothing (chat apps
fetch links to preview them); POST spends the signed single-use token and writes the
acknowledgement into the alert's history. No session is made and nothing else is reachable
with the token. A cross-site POST is refused by its Origin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from monitor.errors import InputError
from responders import desk as desk_ops
from responders.auth import Principal
from responders.models import Alert, RosterShift
from responders.notify import ack, roster, service
from responders.web.deps import DB, PageReader, PageWriter, desk
from responders.web.params import PathId
from responders.web.rendering import render
from responders.web.unit_of_work import DeskRoute
from responders.workflow import RoleForbidden

router = APIRouter(include_in_schema=False, route_class=DeskRoute)


def _admin(me: Principal) -> None:
    if me.role != "admin":
        raise RoleForbidden("only admins edit the on-call roster")


def _page(request: Request, session: Session, *, error: str | None = None,
          notice: str | None = None, status_code: int = 200) -> HTMLResponse:
    ctx = desk(request)
    people, shifts = roster.load(session)
    rows = session.query(RosterShift).order_by(RosterShift.on_date, RosterShift.weekday,
                                               RosterShift.start, RosterShift.id).all()
    now = ctx.now()
    on_duty = {r: roster.on_duty(now, shifts, ctx.settings.timezone, r) for r in roster.ROLES}
    return render(request, "roster.html", {
        "people": people, "lines": rows, "on_duty": on_duty, "roles": roster.ROLES,
        "role_words": roster.ROLE_WORDS, "error": error, "notice": notice,
        "header": ",".join(roster.HEADER),
    }, status_code=status_code)


@router.get("/admin/roster", response_class=HTMLResponse)
def roster_page(request: Request, me: PageReader, session: DB) -> Response:
    _admin(me)
    notice = request.query_params.get("notice")
    return _page(request, session, notice=notice if notice in ("saved", "imported") else None)


def _form(raw: Any, *keys: str) -> dict[str, str]:
    return {k: str(raw.get(k) or "").strip() for k in keys}


@router.post("/admin/roster/import")
async def roster_import(request: Request, me: PageWriter, session: DB) -> Response:
    _admin(me)
    form = await request.form()
    text = str(form.get("csv") or "")
    upload = form.get("file")
    if hasattr(upload, "read"):
        data = await upload.read()  # type: ignore[union-attr]
        if data:
            text = data.decode("utf-8", "replace")
    try:
        people, shifts = roster.read_csv(text)
        roster.replace_all(session, people, shifts)
    except InputError as exc:
        session.rollback()
        return _page(request, session, error=str(exc), status_code=400)
    desk_ops.audit(session, me, desk(request).now(), entity="roster", entity_id=0,
                   action="roster_import", detail={"lines": len(shifts),
                                                   "people": len(people)})
    return RedirectResponse("/admin/roster?notice=imported", status_code=303)


@router.post("/admin/roster/lines")
async def roster_add_line(request: Request, me: PageWriter, session: DB) -> Response:
    _admin(me)
    f = _form(await request.form(), "when", "start", "end", "role", "person")
    header = "when,start,end,role,person\n"
    try:
        _, (line,) = roster.read_csv(header + ",".join(
            v.replace(",", " ") for v in f.values()) + "\n")
        roster.add_shift(session, line)
    except (InputError, ValueError) as exc:
        session.rollback()
        return _page(request, session, error=str(exc), status_code=400)
    desk_ops.audit(session, me, desk(request).now(), entity="roster", entity_id=0,
                   action="roster_add", detail=f)
    return RedirectResponse("/admin/roster?notice=saved", status_code=303)


@router.post("/admin/roster/lines/{line_id}/remove")
async def roster_remove_line(line_id: PathId, request: Request, me: PageWriter,
                             session: DB) -> Response:
    _admin(me)
    if not roster.remove_shift(session, line_id):
        return _page(request, session, error=f"no roster line {line_id}", status_code=404)
    desk_ops.audit(session, me, desk(request).now(), entity="roster", entity_id=line_id,
                   action="roster_remove")
    return RedirectResponse("/admin/roster?notice=saved", status_code=303)


@router.post("/admin/roster/people")
async def roster_person(request: Request, me: PageWriter, session: DB) -> Response:
    _admin(me)
    f = _form(await request.form(), "name", "display_name", "phone", "email", "channels")
    if not f["name"]:
        return _page(request, session, error="a person needs a name", status_code=400)
    person = roster.Person(f["name"], f["display_name"] or f["name"], f["phone"], f["email"],
                           tuple(c.strip() for c in f["channels"].split(";") if c.strip()))
    row = roster.upsert_person(session, person)
    desk_ops.audit(session, me, desk(request).now(), entity="roster_person",
                   entity_id=row.id, action="roster_person",
                   detail={k: v for k, v in f.items() if k != "name"} | {"name": f["name"]})
    return RedirectResponse("/admin/roster?notice=saved", status_code=303)


# ---------------------------------------------------------------- 确认收到


def _cfg(request: Request) -> service.Config:
    return service.Config.from_settings(desk(request).settings, need_key=True)


def _ack_page(request: Request, *, alert: Alert | None = None, token: str = "",
              done: bool = False, error: str | None = None,
              status_code: int = 200) -> HTMLResponse:
    return render(request, "ack.html", {"alert": alert, "token": token, "done": done,
                                        "error": error}, status_code=status_code)


@router.get("/ack/{token}", response_class=HTMLResponse)
def ack_page(token: str, request: Request, session: DB) -> Response:
    try:
        row = ack.peek(session, _cfg(request).key, token, desk(request).now())
    except ack.AckError as exc:
        return _ack_page(request, error=str(exc), status_code=410)
    return _ack_page(request, alert=session.get(Alert, row.alert_id), token=token)


@router.post("/ack/{token}", response_class=HTMLResponse)
def ack_confirm(token: str, request: Request, session: DB) -> Response:
    origin = request.headers.get("origin")
    if origin and origin not in ("null", f"{request.url.scheme}://{request.url.netloc}"):
        return _ack_page(request, error="跨站请求被拒绝 (cross-site request refused)",
                         status_code=403)
    try:
        done = service.acknowledge(session, _cfg(request), token, desk(request).now())
    except ack.AckError as exc:
        return _ack_page(request, error=str(exc), status_code=410)
    return _ack_page(request, alert=session.get(Alert, done.alert_id), done=True)


