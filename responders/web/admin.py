"""Admin pages and API: users (add, role, disable/enable, password reset), sources (health,
add, remove, re-enable a gone one), the outbox's undelivered notifications (通知投递) and the
topic taxonomy (view, edit).

Admin only (403 otherwise, checked on the server), CSRF on every POST (PageWriter/ApiWriter),
every change audit-logged in the same transaction (the request's unit of work commits it,
responders.web.unit_of_work). A refused change re-renders the page with the reason and
with what the admin typed, so nothing is lost."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from monitor.errors import InputError, NotFound
from monitor.models import Source
from monitor.polling import GONE, LIKELY_GONE, enable_source, gone_state
from monitor.sources import (
    KINDS,
    IntervalRules,
    find_source,
    item_counts,
    list_sources,
    remove_source,
    upsert_source,
    validate_spec,
)
from responders import admin_topics, outbox_admin
from responders import auth as auth_ops
from responders import desk as desk_ops
from responders.auth import Principal
from responders.errors import DeskError
from responders.models import ROLES, User
from responders.queue import users as all_users
from responders.web.deps import (
    DB,
    ApiReader,
    ApiWriter,
    DeskContext,
    PageReader,
    PageWriter,
    UoW,
    desk,
)
from responders.web.i18n import reason
from responders.web.params import PathId, Text
from responders.web.rendering import render, request_lang
from responders.web.unit_of_work import DeskRoute
from responders.workflow import RoleForbidden

router = APIRouter(include_in_schema=False, route_class=DeskRoute)
api = APIRouter(prefix="/api/v1", tags=["admin"], route_class=DeskRoute)


def _reason(request: Request, exc: Exception) -> str:
    """A refusal's reason in the page's language (responders.web.i18n.reason): the domain's
    sentence is English, the desk's frame around it is not."""
    return reason(request_lang(request), str(exc))


def _admin(me: Principal) -> None:
    if me.role != "admin":
        raise RoleForbidden("only admins manage users, sources and topics")


# ---------------------------------------------------------------- users

USER_NOTICES = ("added", "role", "disabled", "enabled", "password")


def _users_page(request: Request, session: Session, *, error: str | None = None,
                notice: str | None = None, generated: tuple[str, str] | None = None,
                status_code: int = 200) -> HTMLResponse:
    response = render(request, "users.html", {
        "users": all_users(session), "roles": ROLES, "error": error, "notice": notice,
        "generated": generated,
    }, status_code=status_code)
    if generated:
        response.headers["Cache-Control"] = "no-store"  # a password shown once, not cached
    return response


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, me: PageReader, session: DB) -> Response:
    _admin(me)
    notice = request.query_params.get("notice")
    return _users_page(request, session, notice=notice if notice in USER_NOTICES else None)


async def _user_change(request: Request, me: Principal, session: Session, user_id: int,
                       action: str) -> Response:
    """One admin change to a person (responders.auth audits it); a refusal (the last admin,
    a short password) re-renders the page with the reason, having changed nothing."""
    _admin(me)
    ctx = desk(request)
    form = await request.form()
    user = _user(session, user_id)
    generated: tuple[str, str] | None = None
    try:
        if action == "role":
            auth_ops.set_role(session, user.name, str(form.get("role", "")), ctx.now(),
                              actor=me.actor)
        elif action in ("disable", "enable"):
            auth_ops.set_active(session, user.name, action == "enable", ctx.now(),
                                actor=me.actor)
        else:
            password = str(form.get("password", ""))
            if form.get("generate") == "1":
                password = auth_ops.generate_password()
                generated = (user.name, password)
            auth_ops.set_password(session, user.name, password, ctx.now(), actor=me.actor)
    except NotFound:
        raise
    except (InputError, DeskError) as exc:
        session.rollback()
        return _users_page(request, session, error=_reason(request, exc), status_code=400)
    if generated:
        # Shown once, on this answer: a redirect would have to carry it in the URL. The
        # request's unit of work commits before the page is sent.
        session.flush()
        return _users_page(request, session, notice="password", generated=generated)
    notice = {"disable": "disabled", "enable": "enabled"}.get(action, action)
    return RedirectResponse(f"/admin/users?notice={notice}", status_code=303)


@router.post("/admin/users")
async def users_add(request: Request, me: PageWriter, session: DB) -> Response:
    _admin(me)
    form = await request.form()
    try:
        auth_ops.add_user(session, str(form.get("name", "")), str(form.get("role", "")),
                          str(form.get("password", "")), desk(request).now(), actor=me.actor,
                          display_name=str(form.get("display_name", "")))
    except InputError as exc:
        session.rollback()
        return _users_page(request, session, error=_reason(request, exc), status_code=400)
    return RedirectResponse("/admin/users?notice=added", status_code=303)


@router.post("/admin/users/{user_id}/role")
async def users_role(user_id: PathId, request: Request, me: PageWriter,
                     session: DB) -> Response:
    return await _user_change(request, me, session, user_id, "role")


@router.post("/admin/users/{user_id}/disable")
async def users_disable(user_id: PathId, request: Request, me: PageWriter,
                        session: DB) -> Response:
    return await _user_change(request, me, session, user_id, "disable")


@router.post("/admin/users/{user_id}/enable")
async def users_enable(user_id: PathId, request: Request, me: PageWriter,
                       session: DB) -> Response:
    return await _user_change(request, me, session, user_id, "enable")


@router.post("/admin/users/{user_id}/password")
async def users_password(user_id: PathId, request: Request, me: PageWriter,
                         session: DB) -> Response:
    return await _user_change(request, me, session, user_id, "password")


# ---------------------------------------------------------------- sources

def add_source(ctx: DeskContext, session: Session, me: Principal,
               raw: dict[str, Any]) -> int:
    """Validate (monitor.sources.validate_spec) and add; a name in use is refused rather
    than silently re-pointed (updating a source is `yuqing init`'s job)."""
    spec = validate_spec(raw, IntervalRules.from_section(ctx.settings.poll), where="source")
    try:
        find_source(session, spec.name)
    except InputError:
        pass
    else:
        raise InputError(f"a source named {spec.name!r} exists already")
    source, _ = upsert_source(session, spec, ctx.now())
    desk_ops.audit(session, me, ctx.now(), entity="source", entity_id=source.id,
                   action="create", detail={"name": source.name, "url": source.url,
                                            "kind": source.kind})
    return source.id


def drop_source(ctx: DeskContext, session: Session, me: Principal, source_id: int, *,
                purge: bool) -> tuple[str, int]:
    name, count = remove_source(session, str(source_id), purge=purge)
    desk_ops.audit(session, me, ctx.now(), entity="source", entity_id=source_id,
                   action="delete", detail={"name": name, "items_deleted": count})
    return name, count


def _sources_page(request: Request, session: Session, *, error: str | None = None,
                  notice: str | None = None, form: dict[str, str] | None = None,
                  status_code: int = 200) -> HTMLResponse:
    ctx = desk(request)
    now = ctx.now()
    sources = list_sources(session)
    after = int(ctx.settings.poll.likely_gone_days * 86400)
    gone = {s.id: state for s in sources if (state := gone_state(
        s.last_status, s.last_success_at, s.created_at, now, likely_gone_after_s=after))}
    undelivered, undelivered_total = outbox_admin.problems(session, now)
    return render(request, "sources.html", {
        "sources": sources, "counts": item_counts(session), "kinds": KINDS,
        "error": error, "notice": notice, "form": form or {},
        "default_interval": ctx.settings.poll.default_interval,
        "gone": gone, "GONE": GONE, "LIKELY_GONE": LIKELY_GONE,
        "undelivered": undelivered, "undelivered_total": undelivered_total,
        "resendable": outbox_admin.RESENDABLE,
    }, status_code=status_code)


@router.get("/admin/sources", response_class=HTMLResponse)
def sources_page(request: Request, me: PageReader, session: DB) -> Response:
    _admin(me)
    notice = request.query_params.get("notice")
    return _sources_page(request, session, notice=notice if notice in (
        "added", "removed", "enabled", "resent") else None)


@router.post("/admin/sources")
async def sources_add(request: Request, me: PageWriter, uow: UoW) -> Response:
    _admin(me)
    ctx = desk(request)
    session = uow.session
    form = {k: str(v).strip() for k, v in (await request.form()).items()
            if k in ("name", "url", "kind", "interval")}
    try:
        source_id = add_source(ctx, session, me, {k: v for k, v in form.items() if v})
    except InputError as exc:
        # Before re-rendering, so the list shows what is stored, not the refused change
        # (the 400 would roll it back anyway, but only after the page was drawn).
        session.rollback()
        return _sources_page(request, session, error=_reason(request, exc), form=form,
                             status_code=400)
    uow.after_commit(lambda: ctx.enqueue("monitor.poll_source", [source_id]))  # the row exists
    return RedirectResponse("/admin/sources?notice=added", status_code=303)


@router.post("/admin/sources/{source_id}/remove")
async def sources_remove(source_id: PathId, request: Request, me: PageWriter,
                         session: DB) -> Response:
    _admin(me)
    form = await request.form()
    try:
        drop_source(desk(request), session, me, source_id, purge=form.get("purge") == "yes")
    except InputError as exc:
        session.rollback()
        return _sources_page(request, session, error=_reason(request, exc), status_code=400)
    return RedirectResponse("/admin/sources?notice=removed", status_code=303)


@router.post("/admin/sources/{source_id}/enable")
def sources_enable(source_id: PathId, request: Request, me: PageWriter, uow: UoW) -> Response:
    """Poll again a source marked gone (HTTP 410), as `yuqing sources enable` does."""
    _admin(me)
    ctx = desk(request)
    session = uow.session
    source = session.get(Source, source_id)
    if source is None:
        raise NotFound(f"no source {source_id}")
    if not enable_source(source):
        return _sources_page(request, session, status_code=400, error=reason(
            request_lang(request),
            f"source {source.name!r} is not marked gone (HTTP 410); nothing to enable"))
    desk_ops.audit(session, me, ctx.now(), entity="source", entity_id=source.id,
                   action="enable", from_state=GONE, to_state="active",
                   detail={"name": source.name, "url": source.url})
    uow.after_commit(lambda: ctx.enqueue("monitor.poll_source", [source_id]))
    return RedirectResponse(f"/admin/sources?notice=enabled#source-{source_id}",
                            status_code=303)


@router.post("/admin/outbox/{message_id}/resend")
def outbox_resend(message_id: PathId, request: Request, me: PageWriter, uow: UoW) -> Response:
    """A failed notification sent again (responders.outbox_admin: never an unknown one)."""
    _admin(me)
    ctx = desk(request)
    outbox_admin.resend(uow.session, me, message_id, ctx.now())
    uow.after_commit(lambda: ctx.enqueue("responders.drain_outbox", []))
    return RedirectResponse("/admin/sources?notice=resent#outbox", status_code=303)


def _iso(d: datetime | None) -> str | None:
    return d.isoformat() if d else None


def source_json(s: Source, items: int) -> dict[str, Any]:
    iso = _iso
    return {"id": s.id, "name": s.name, "url": s.url, "kind": s.kind,
            "interval_s": s.interval_s, "items": items,
            "last_success_at": iso(s.last_success_at), "failure_count": s.failure_count,
            "last_error": s.last_error, "last_warning": s.last_warning,
            "next_check_at": iso(s.next_check_at), "silent_since": iso(s.silent_since)}


@api.get("/sources/health")
def api_sources_health(me: ApiReader, session: DB) -> list[dict[str, Any]]:
    counts = item_counts(session)
    return [source_json(s, counts.get(s.id, 0)) for s in list_sources(session)]


@api.delete("/sources/{source_id}")
def api_remove_source(source_id: PathId, request: Request, me: ApiWriter, session: DB,
                      purge: bool = False) -> dict[str, Any]:
    _admin(me)
    name, count = drop_source(desk(request), session, me, source_id, purge=purge)
    return {"removed": name, "items_deleted": count}


# ---------------------------------------------------------------- topics

def _paths(ctx: DeskContext) -> tuple[Path, Path]:
    return ctx.settings.home, Path(ctx.settings.config_dir)


def save_topics(ctx: DeskContext, session: Session, me: Principal, text: str) -> None:
    home, config = _paths(ctx)
    saved = admin_topics.save(text, home, config)  # InputError: nothing written
    desk_ops.audit(session, me, ctx.now(), entity="taxonomy", entity_id=0, action="edit",
                   detail={"file": str(saved.path), "before_sha256": saved.before_sha256,
                           "after_sha256": saved.after_sha256,
                           "topics": len(saved.topic_ids), "added": list(saved.added),
                           "removed": list(saved.removed)})
    # This process's labels follow at once; workers notice the file's new mtime.
    ctx.topic_names.clear()
    ctx.topic_names.update(admin_topics.topic_names(home, config))


def _topics_page(request: Request, *, text: str | None = None, error: str | None = None,
                 saved: bool = False, status_code: int = 200) -> HTMLResponse:
    home, config = _paths(desk(request))
    path = admin_topics.topics_path(home, config)
    current = path.read_text(encoding="utf-8")
    taxonomy = admin_topics.parse(current, config) if error is None else None
    return render(request, "topics.html", {
        "taxonomy": taxonomy, "text": current if text is None else text, "path": str(path),
        "edited": path == admin_topics.edited_path(home), "error": error, "saved": saved,
    }, status_code=status_code)


@router.get("/admin/topics", response_class=HTMLResponse)
def topics_page(request: Request, me: PageReader) -> Response:
    _admin(me)
    return _topics_page(request, saved=request.query_params.get("saved") == "1")


@router.post("/admin/topics")
async def topics_save(request: Request, me: PageWriter, session: DB) -> Response:
    _admin(me)
    text = str((await request.form()).get("yaml", ""))
    try:
        save_topics(desk(request), session, me, text)
    except InputError as exc:
        session.rollback()
        return _topics_page(request, text=text, error=_reason(request, exc), status_code=400)
    return RedirectResponse("/admin/topics?saved=1", status_code=303)


class TopicsIn(BaseModel):
    yaml: Text


@api.get("/topics")
def api_topics(request: Request, me: ApiReader) -> dict[str, Any]:
    _admin(me)
    home, config = _paths(desk(request))
    path = admin_topics.topics_path(home, config)
    return {"path": str(path), "yaml": path.read_text(encoding="utf-8")}


@api.put("/topics")
def api_put_topics(body: TopicsIn, request: Request, me: ApiWriter,
                   session: DB) -> JSONResponse:
    _admin(me)
    save_topics(desk(request), session, me, body.yaml)
    return JSONResponse({"saved": True, "topics": len(desk(request).topic_names)})

