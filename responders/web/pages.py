"""Server-rendered pages. Every state change is a POST carrying the CSRF token and ends in
a redirect (303) so a reload never repeats it. Handlers flush; the request's unit of work
commits (responders.web.unit_of_work)."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.errors import InputError, NotFound
from monitor.models import Event, Item
from monitor.office import OwnVoice
from responders import desk as desk_ops
from responders import reminders as reminders_ops
from responders import voice as voice_ops
from responders.auth import authenticate, close_session, open_session
from responders.drafting import create_draft
from responders.effect import load_effect
from responders.evidence import alert_evidence
from responders.models import CHANNELS, OUTPUT_KINDS, Output, Policy
from responders.notify import service as notify_service
from responders.outputs import COLUMNS as LOG_COLUMNS
from responders.outputs import (
    LogCursor,
    log_counts,
    next_log_cursor,
    output_log,
    row_dict,
    to_csv,
)
from responders.policies import suggest
from responders.queue import users
from responders.tone import tone_sql
from responders.web.charts import event_buckets, volume_sentiment_svg
from responders.web.deps import DB, PageReader, PageWriter, desk
from responders.web.effect_chart import effect_svg
from responders.web.i18n import translate
from responders.web.params import PathId, page_ids, page_year
from responders.web.rendering import render, request_lang
from responders.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfError,
    client_address,
    new_login_csrf,
    secure_cookie_flag,
)
from responders.web.sentiment_review_views import review_context
from responders.web.unit_of_work import DeskRoute
from responders.workflow import allowed_actions

router = APIRouter(include_in_schema=False, route_class=DeskRoute)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" or "https://…" would be an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


# ---------------------------------------------------------------- login

@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/overview") -> Response:
    # Officers start the day on the overview (responders.web.overview).
    token = new_login_csrf()
    response = render(request, "login.html", {"login_csrf": token, "next": _safe_next(next),
                                              "error": None})
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=secure_cookie_flag(request, desk(request).secure_cookies))
    return response


@router.post("/login")
def login(request: Request, session: DB, username: Annotated[str, Form()],
          password: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/") -> Response:
    ctx = desk(request)
    # Login CSRF (double submit): the form's token must match the cookie set with the form.
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or cookie != csrf_token:
        raise CsrfError("the login form expired; reload the page")
    now = ctx.now()
    address = client_address(request, ctx.trusted_proxies)
    lang = request_lang(request)
    # The throttle's rows are written in a short transaction of their own: a failed
    # login's answer rolls the request back, and its failure must count all the same.
    with ctx.sessions() as counts:
        wait = ctx.throttle.wait(counts, username, address, now)
    if wait:
        seconds = max(1, math.ceil(wait.total_seconds()))
        response = _login_again(request, translate(lang, "login_throttled",
                                                        seconds=seconds), next, 429)
        response.headers["Retry-After"] = str(seconds)
        return response
    user = authenticate(session, username, password)
    if user is None:
        with ctx.sessions() as counts:
            ctx.throttle.failed(counts, username, address, now)
            counts.commit()
        return _login_again(request, translate(lang, "login_failed"), next, 401)
    ctx.throttle.succeeded(session, username)  # commits with the new session
    plain = open_session(session, user, now)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, plain, httponly=True, samesite="lax", path="/",
                        secure=secure_cookie_flag(request, ctx.secure_cookies))
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def _login_again(request: Request, error: str, next: str, status: int) -> Response:
    token = new_login_csrf()
    response = render(request, "login.html", {"login_csrf": token, "next": _safe_next(next),
                                              "error": error}, status_code=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=secure_cookie_flag(request, desk(request).secure_cookies))
    return response


@router.post("/logout")
def logout(request: Request, me: PageWriter,
           session: DB) -> Response:
    close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# The queue's pages are in responders.web.queue_views.


# ---------------------------------------------------------------- alert

def _suggest_for(session: Session, alert: Any) -> list[tuple[Policy, float]]:
    query = f"{alert.item.title} {alert.item.text}"
    return suggest(session, query, topics=list(alert.topics), limit=5)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(alert_id: PathId, request: Request, me: PageReader,
               session: DB) -> Response:
    alert = desk_ops.get_alert(session, alert_id)
    outputs = session.scalars(select(Output).where(Output.alert_id == alert.id)
                              .order_by(Output.id)).all()
    event, event_items, event_chart = _event_view(request, session, alert.item)
    voice = _voice_view(request, session, alert, event, event_items)
    return render(request, "alert.html", {
        **voice,
        "alert": alert, "item": alert.item, "history": desk_ops.history(session, alert.id),
        "actions": allowed_actions("alert", alert.state, me.role),
        "users": users(session), "outputs": outputs, "kinds": OUTPUT_KINDS,
        "suggestions": _suggest_for(session, alert),
        "reminders": reminders_ops.for_alert(session, alert.id),
        "deliveries": notify_service.deliveries(session, alert.id),  # issue 17
        "event": event, "event_items": event_items, "event_chart": event_chart,
        "evidence": alert_evidence(session, alert.id),  # issue 18 (templates/_evidence.html)
        # issue 19: the officers' verdicts beside the model's labels (_sentiment_review.html)
        **review_context(session, me, [alert.item, *event_items[:10]]),
    })


EVENT_ITEMS_SHOWN = 200


def _event_view(request: Request, session: Session,
                item: Item) -> tuple[Event | None, list[Item], str | None]:
    """The alert's event (its items, newest first) and a chart of their volume and
    sentiment over time, when the item belongs to an event of more than one item."""
    if item.event_id is None:
        return None, [], None
    event = session.get(Event, item.event_id)
    when = func.coalesce(Item.published_at, Item.fetched_at)
    # The newest posts of the event, cut in SQL: a story reposted ten thousand times would
    # otherwise load every post on every view of its alert.
    members = list(session.scalars(select(Item).where(Item.event_id == item.event_id)
                                   .order_by(when.desc(), Item.id.desc())
                                   .limit(EVENT_ITEMS_SHOWN)))
    if event is None or len(members) < 2:
        return event, members, None
    # The chart counts every post, from three columns (no ORM objects).
    points = session.execute(select(when, Item.sentiment_label, tone_sql())
                             .where(Item.event_id == item.event_id)).all()
    buckets = event_buckets(list(points), tz=desk(request).settings.timezone)
    lang = request_lang(request)
    labels = {k: translate(lang, k) for k in ("negative", "neutral", "positive", "mean")}
    chart = volume_sentiment_svg(buckets.starts, buckets.by_label, buckets.mean_score,
                                 title=translate(lang, "event_chart_title"), labels=labels,
                                 ticks=buckets.ticks)
    return event, members, chart


def _voice_view(request: Request, session: Session, alert: Any, event: Event | None,
                members: list[Item]) -> dict[str, Any]:
    """本单位已发声 (the office's own posts in the event) and 回应效果 (before and after the
    first response), for the alert page."""
    ctx = desk(request)
    own = OwnVoice.from_section(ctx.settings.office_voice)
    posts = voice_ops.own_posts(session, members or [alert.item], own)
    effect = None
    chart = None
    if event is not None:
        effect = load_effect(session, event.id, own, hours=ctx.settings.office_voice
                             .effect_hours, now=ctx.now())
    if effect is not None:
        lang = request_lang(request)
        chart = effect_svg(effect, title=translate(lang, "effect_chart_title"),
                           before=translate(lang, "effect_before"),
                           after=translate(lang, "effect_after"))
    return {"own_posts": posts, "own_ids": {p.item_id for p in posts}, "effect": effect,
            "effect_chart": chart}


@router.post("/alerts/{alert_id}/own/{item_id}/record")
def alert_record_own(alert_id: PathId, item_id: PathId, request: Request, me: PageWriter,
                     session: DB) -> Response:
    """One click: the office's own post, already out, recorded in the output log."""
    ctx = desk(request)
    voice_ops.record_own_post(session, me, alert_id, item_id, ctx.now(),
                              OwnVoice.from_section(ctx.settings.office_voice))
    return RedirectResponse(f"/alerts/{alert_id}#own-voice", status_code=303)


@router.post("/alerts/{alert_id}/draft")
async def alert_draft(alert_id: PathId, request: Request, me: PageWriter,
                      session: DB) -> Response:
    ctx = desk(request)
    form = await request.form()
    kind = str(form.get("kind", ""))
    cited = page_ids([str(v) for v in form.getlist("policy")], "policy")
    output = create_draft(session, me, alert_id, kind, cited, ctx.drafting(), ctx.now())
    return RedirectResponse(f"/outputs/{output.id}", status_code=303)


@router.post("/alerts/{alert_id}/{action}")
async def alert_action(alert_id: PathId, action: str, request: Request,
                       me: PageWriter,
                       session: DB) -> Response:
    form = await request.form()
    desk_ops.alert_action(session, me, alert_id, action, desk(request).now(),
                          reason=str(form.get("reason", "")),
                          assignee=str(form.get("assignee") or "") or None)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


# ---------------------------------------------------------------- outputs

def _output_page(request: Request, session: Session, me: Any, output_id: int, *,
                 error: str | None = None, typed: dict[str, str] | None = None,
                 status_code: int = 200) -> HTMLResponse:
    """The output, and beside the editor what it answers: the alert's post (text, author,
    source, time) and the full text of the policy documents it cites. `typed` is what the
    officer wrote when a save was refused: shown again, so nothing is lost."""
    output = desk_ops.get_output(session, output_id)
    suggestions = _suggest_for(session, output.alert) if output.alert else []
    cited = [p for p in (session.get(Policy, i) for i in output.cited_policy_ids) if p]
    shown = {p.id for p, _ in suggestions}
    suggestions += [(p, 0.0) for p in cited if p.id not in shown]
    actions = allowed_actions("output", output.state, me.role)
    if "approve" in actions and output.author_id == me.user_id:
        actions.remove("approve")  # separation of duties, also enforced on the server
    zone = ZoneInfo(desk(request).settings.timezone)
    return render(request, "output.html", {
        "output": output, "actions": actions, "suggestions": suggestions,
        "channels": CHANNELS, "now_local": desk(request).now().astimezone(zone)
        .strftime("%Y-%m-%dT%H:%M"),
        "post": output.alert.item if output.alert else None, "cited": cited,
        "error": error, "typed": typed,
    }, status_code=status_code)


@router.get("/outputs/{output_id}", response_class=HTMLResponse)
def output_page(output_id: PathId, request: Request, me: PageReader,
                session: DB) -> Response:
    return _output_page(request, session, me, output_id)


@router.post("/outputs/{output_id}/edit")
async def output_edit(output_id: PathId, request: Request, me: PageWriter,
                      session: DB) -> Response:
    form = await request.form()
    cited = page_ids([str(v) for v in form.getlist("policy")], "policy")
    title, body = str(form.get("title", "")), str(form.get("body", ""))
    try:
        desk_ops.edit_output(session, me, output_id, desk(request).now(),
                             title=title, body=body, cited_policy_ids=cited)
        if form.get("then") == "submit":
            # One unit with the edit: a refused submit (a 【待填写：…】 left) keeps the
            # stored text as it was, and the page shows the refusal with what was typed.
            desk_ops.output_action(session, me, output_id, "submit", desk(request).now())
    except NotFound:
        raise
    except InputError as exc:
        session.rollback()
        return _output_page(request, session, me, output_id, error=str(exc),
                            typed={"title": title, "body": body}, status_code=400)
    return RedirectResponse(f"/outputs/{output_id}", status_code=303)


@router.post("/outputs/{output_id}/publish")
async def output_publish(output_id: PathId, request: Request, me: PageWriter,
                         session: DB) -> Response:
    ctx = desk(request)
    form = await request.form()
    channels = [str(c) for c in form.getlist("channel")]
    other = str(form.get("other_channel", "")).strip()
    if other:
        channels.append(other)
    when = parse_local(str(form.get("published_at", "")), ctx.settings.timezone) or ctx.now()
    link = str(form.get("link", "")) or None
    pubs = [desk_ops.PublicationInput(channel=c, link=link, published_at=when) for c in channels]
    desk_ops.publish_output(session, me, output_id, pubs, ctx.now())
    return RedirectResponse(f"/outputs/{output_id}", status_code=303)


def parse_local(value: str, tz: str) -> datetime | None:
    """A datetime-local form value (zone-less, the office's zone) → aware datetime."""
    if not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(f"not a date and time: {value!r}") from exc
    return dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(tz))


@router.post("/outputs/{output_id}/{action}")
async def output_action(output_id: PathId, action: str, request: Request,
                        me: PageWriter,
                        session: DB) -> Response:
    form = await request.form()
    desk_ops.output_action(session, me, output_id, action, desk(request).now(),
                           comment=str(form.get("comment", "")))
    return RedirectResponse(f"/outputs/{output_id}", status_code=303)


# ---------------------------------------------------------------- output log

LOG_PAGE = 100   # rows per page of the output log (the exports hold every row)


def _log_filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {"year": page_year(q.get("year") or ""), "channel": q.get("channel") or None,
            "kind": q.get("kind") or None, "tz": desk(request).settings.timezone}


def _log_rows(request: Request, session: Session) -> list[Any]:
    return output_log(session, **_log_filters(request))


@router.get("/log", response_class=HTMLResponse)
def log_page(request: Request, me: PageReader,
             session: DB) -> Response:
    filters = _log_filters(request)
    after = request.query_params.get("after") or ""
    rows = output_log(session, **filters, limit=LOG_PAGE,
                      after=LogCursor.decode(after) if after else None)
    cursor = next_log_cursor(rows, LOG_PAGE)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "after"]
    next_url = ("/log?" + urlencode([*params, ("after", cursor.encode())])
                if cursor is not None else None)
    return render(request, "log.html", {"rows": rows, "counts": log_counts(session, **filters),
                                        "kinds": OUTPUT_KINDS, "channels": CHANNELS,
                                        "query": urlencode(params), "next_url": next_url})


@router.get("/log.csv")
def log_csv(request: Request, me: PageReader,
            session: DB) -> Response:
    lang = request_lang(request)
    body = to_csv(_log_rows(request, session), desk(request).settings.timezone,
                  headers={c: translate(lang, f"csv_{c}") for c in LOG_COLUMNS})
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="output-log.csv"'})


@router.get("/log.json")
def log_json(request: Request, me: PageReader,
             session: DB) -> Response:
    tz = desk(request).settings.timezone
    rows = [row_dict(r, tz) for r in _log_rows(request, session)]
    return Response(json.dumps(rows, ensure_ascii=False, indent=1),
                    media_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="output-log.json"'})
