"""JSON API under /api/v1 (OpenAPI at /api/docs). Bearer token or browser session (the
latter with the X-CSRF-Token header on writes). Errors: {"error": "..."} with 400/401/403/
404/409. Handlers flush; the request's unit of work commits (responders.web.unit_of_work)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.errors import InputError
from monitor.sources import IntervalRules, list_sources, upsert_source, validate_spec
from responders import desk as desk_ops
from responders.auth import Principal, add_user
from responders.drafting import create_draft
from responders.models import Alert, AuditEntry, Output
from responders.outputs import output_log, row_dict, to_csv
from responders.policies import policy_dict, suggest
from responders.queue import (
    AlertRow,
    QueueCursor,
    QueueFilter,
    alert_rows,
    count_alerts,
    next_cursor,
    users,
)
from responders.web.deps import DB, ApiReader, ApiWriter, UoW, desk
from responders.web.params import BodyId, Limit, PathId, QueryId, QueryYear, Text
from responders.web.unit_of_work import DeskRoute
from responders.workflow import RoleForbidden

router = APIRouter(prefix="/api/v1", tags=["desk"], route_class=DeskRoute)


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def alert_json(alert: Alert, assignee: str | None = None) -> dict[str, Any]:
    item = alert.item
    return {
        "id": alert.id, "priority": alert.priority, "state": alert.state,
        "assignee": assignee, "title": item.title, "source": item.source.name,
        "link": item.link, "published_at": _iso(item.published_at),
        "sentiment": item.sentiment_score, "sentiment_label": item.sentiment_label,
        "p_negative": item.sentiment_p_negative, "p_neutral": item.sentiment_p_neutral,
        "p_positive": item.sentiment_p_positive,
        "topics": list(alert.topics), "reasons": list(alert.reasons),
        "created_at": _iso(alert.created_at), "due_at": _iso(alert.due_at),
        "milestones": list(alert.milestones),
        # created_at is first sight; the deadlines run from clock_from (issue 12).
        "story_published_at": _iso(alert.story_published_at),
        "clock_from": _iso(alert.clock_from or alert.created_at), "backfill": alert.backfill,
    }


def alert_row_json(row: AlertRow, assignee: str | None = None) -> dict[str, Any]:
    """`alert_json` of a list's row (responders.queue.alert_rows): the same keys and values,
    from the columns the list read instead of the loaded alert, item and source."""
    return {
        "id": row.id, "priority": row.priority, "state": row.state,
        "assignee": assignee, "title": row.title, "source": row.source_name,
        "link": row.link, "published_at": _iso(row.published_at),
        "sentiment": row.sentiment_score, "sentiment_label": row.sentiment_label,
        "p_negative": row.sentiment_p_negative, "p_neutral": row.sentiment_p_neutral,
        "p_positive": row.sentiment_p_positive,
        "topics": list(row.topics), "reasons": list(row.reasons),
        "created_at": _iso(row.created_at), "due_at": _iso(row.due_at),
        "milestones": list(row.milestones),
        "story_published_at": _iso(row.story_published_at),
        "clock_from": _iso(row.clock_from or row.created_at), "backfill": row.backfill,
    }


def output_json(o: Output) -> dict[str, Any]:
    return {
        "id": o.id, "alert_id": o.alert_id, "kind": o.kind, "topic": o.topic, "title": o.title,
        "body": o.body, "state": o.state, "cited_policy_ids": list(o.cited_policy_ids),
        "author": o.author.name if o.author else None,
        "approver": o.approver.name if o.approver else None,
        "review_comment": o.review_comment, "created_at": _iso(o.created_at),
        "updated_at": _iso(o.updated_at),
        "publications": [{"channel": p.channel, "link": p.link,
                          "published_at": _iso(p.published_at)} for p in o.publications],
    }


def audit_json(e: AuditEntry) -> dict[str, Any]:
    return {"at": _iso(e.at), "actor": e.actor, "entity": e.entity, "entity_id": e.entity_id,
            "action": e.action, "from": e.from_state, "to": e.to_state, "detail": e.detail}


def _names(session: Session) -> dict[int, str]:
    return {u.id: u.name for u in users(session)}


def _require_admin(me: Principal) -> None:
    if me.role != "admin":
        raise RoleForbidden("admin only")


class AlertAction(BaseModel):
    reason: Text = ""
    assignee: Text | None = None


class NewOutput(BaseModel):
    kind: Text = Field(description="回应 | 政策解读")
    title: Text | None = None
    body: Text | None = Field(None, description="omit to start from the template")
    cited_policy_ids: list[BodyId] = []


class OutputEdit(BaseModel):
    title: Text
    body: Text
    cited_policy_ids: list[BodyId] = []


class OutputAction(BaseModel):
    comment: Text = ""


class PublicationIn(BaseModel):
    channel: Text
    link: Text | None = None
    published_at: datetime | None = None


class Publish(BaseModel):
    publications: list[PublicationIn]


class SourceIn(BaseModel):
    name: Text
    url: Text
    kind: Text = "news"
    # seconds; none given: poll.default_interval. Bounded by the column (32-bit).
    interval: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class UserIn(BaseModel):
    name: Text
    role: Text
    password: Text
    display_name: Text = ""


@router.get("/alerts")
def api_alerts(request: Request, response: Response, me: ApiReader,
               session: DB, priority: str | None = None,
               topic: str | None = None, source_id: QueryId = None,
               sentiment: str | None = None, state: str | None = Query(None,
               description="a state, 'open' (default) or 'all'"),
               assignee: str | None = None, limit: Limit = 200,
               after: str | None = Query(None, description="the X-Next-After of the "
                                         "previous page: the page after it")
               ) -> list[dict[str, Any]]:
    """One page, in the queue's order; when more follow, the X-Next-After header and a
    Link rel=next give the next page's position; X-Total-Count is the filter's count."""
    names = _names(session)
    f = QueueFilter(priority, topic, source_id, sentiment, state, assignee)
    rows = alert_rows(session, f, limit=limit,
                      after=QueueCursor.decode(after) if after else None)
    cursor = next_cursor(rows, limit)
    response.headers["X-Total-Count"] = str(count_alerts(session, f))
    if cursor is not None:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "after"]
        response.headers["X-Next-After"] = cursor.encode()
        response.headers["Link"] = (f'<{request.url.path}?'
                                    f'{urlencode([*params, ("after", cursor.encode())])}>; '
                                    'rel="next"')
    return [alert_row_json(a, names.get(a.assignee_id or 0)) for a in rows]


@router.get("/alerts/{alert_id}")
def api_alert(alert_id: PathId, me: ApiReader,
              session: DB) -> dict[str, Any]:
    alert = desk_ops.get_alert(session, alert_id)
    out = alert_json(alert, _names(session).get(alert.assignee_id or 0))
    out["text"] = alert.item.text
    out["history"] = [audit_json(e) for e in desk_ops.history(session, alert.id)]
    out["outputs"] = [output_json(o) for o in session.scalars(
        select(Output).where(Output.alert_id == alert.id).order_by(Output.id))]
    return out


@router.post("/alerts/{alert_id}/actions/{action}")
def api_alert_action(alert_id: PathId, action: str, body: AlertAction, request: Request,
                     me: ApiWriter,
                     session: DB) -> dict[str, Any]:
    alert = desk_ops.alert_action(session, me, alert_id, action, desk(request).now(),
                                  reason=body.reason, assignee=body.assignee)
    return alert_json(alert, _names(session).get(alert.assignee_id or 0))


@router.post("/alerts/{alert_id}/outputs", status_code=201)
def api_new_output(alert_id: PathId, body: NewOutput, request: Request,
                   me: ApiWriter,
                   session: DB) -> dict[str, Any]:
    ctx = desk(request)
    output = create_draft(session, me, alert_id, body.kind, body.cited_policy_ids,
                          ctx.drafting(), ctx.now(), title=body.title, body=body.body)
    return output_json(output)


@router.get("/alerts/{alert_id}/policies")
def api_alert_policies(alert_id: PathId, me: ApiReader,
                       session: DB) -> list[dict[str, Any]]:
    alert = desk_ops.get_alert(session, alert_id)
    hits = suggest(session, f"{alert.item.title} {alert.item.text}", topics=list(alert.topics))
    return [{**policy_dict(p), "score": round(s, 4)} for p, s in hits]


@router.get("/outputs/{output_id}")
def api_output(output_id: PathId, me: ApiReader,
               session: DB) -> dict[str, Any]:
    return output_json(desk_ops.get_output(session, output_id))


@router.put("/outputs/{output_id}")
def api_output_edit(output_id: PathId, body: OutputEdit, request: Request,
                    me: ApiWriter,
                    session: DB) -> dict[str, Any]:
    output = desk_ops.edit_output(session, me, output_id, desk(request).now(), title=body.title,
                                  body=body.body, cited_policy_ids=body.cited_policy_ids)
    return output_json(output)


@router.post("/outputs/{output_id}/actions/{action}")
def api_output_action(output_id: PathId, action: str, body: OutputAction, request: Request,
                      me: ApiWriter,
                      session: DB) -> dict[str, Any]:
    output = desk_ops.output_action(session, me, output_id, action, desk(request).now(),
                                    comment=body.comment)
    return output_json(output)


@router.post("/outputs/{output_id}/publications")
def api_publish(output_id: PathId, body: Publish, request: Request,
                me: ApiWriter,
                session: DB) -> dict[str, Any]:
    now = desk(request).now()
    for p in body.publications:
        if p.published_at is not None and p.published_at.tzinfo is None:
            raise InputError("published_at needs a zone offset, e.g. 2024-05-01T10:00:00+08:00")
    pubs = [desk_ops.PublicationInput(p.channel, p.link, p.published_at or now)
            for p in body.publications]
    output = desk_ops.publish_output(session, me, output_id, pubs, now)
    return output_json(output)


@router.get("/output-log")
def api_output_log(request: Request, me: ApiReader,
                   session: DB, year: QueryYear = None,
                   channel: str | None = None, kind: str | None = None,
                   format: str = Query("json", pattern="^(json|csv)$")) -> Response:
    tz = desk(request).settings.timezone
    rows = output_log(session, year=year, channel=channel, kind=kind)
    if format == "csv":
        return Response(to_csv(rows, tz), media_type="text/csv; charset=utf-8")
    return Response(json.dumps([row_dict(r, tz) for r in rows], ensure_ascii=False),
                    media_type="application/json")


@router.get("/policies")
def api_policies(me: ApiReader, session: DB,
                 q: str = "", limit: Limit = 10) -> list[dict[str, Any]]:
    from responders.models import Policy

    if q.strip():
        return [{**policy_dict(p), "score": round(s, 4)}
                for p, s in suggest(session, q, limit=limit)]
    return [policy_dict(p) for p in session.scalars(select(Policy).order_by(Policy.id))]


@router.get("/sources")
def api_sources(me: ApiReader,
                session: DB) -> list[dict[str, Any]]:
    return [{"id": s.id, "name": s.name, "url": s.url, "kind": s.kind,
             "failure_count": s.failure_count, "last_error": s.last_error,
             "last_checked_at": _iso(s.last_checked_at)} for s in list_sources(session)]


@router.post("/sources", status_code=201)
def api_add_source(body: SourceIn, request: Request, me: ApiWriter,
                   uow: UoW) -> JSONResponse:
    _require_admin(me)
    ctx = desk(request)
    session = uow.session
    spec = validate_spec({"name": body.name, "url": body.url, "kind": body.kind,
                          "interval": body.interval},
                         IntervalRules.from_section(ctx.settings.poll), where="source")
    source, created = upsert_source(session, spec, ctx.now())
    desk_ops.audit(session, me, ctx.now(), entity="source", entity_id=source.id,
                   action="create" if created else "update", detail={"url": source.url})
    source_id = source.id
    # After the commit, so the worker finds the row (DESIGN principle 2).
    uow.after_commit(lambda: ctx.enqueue("monitor.poll_source", [source_id]))
    return JSONResponse({"id": source.id, "name": source.name, "created": created},
                        status_code=201 if created else 200)


@router.get("/users")
def api_users(me: ApiReader,
              session: DB) -> list[dict[str, Any]]:
    _require_admin(me)
    return [{"id": u.id, "name": u.name, "role": u.role, "active": u.active}
            for u in users(session)]


@router.post("/users", status_code=201)
def api_add_user(body: UserIn, request: Request, me: ApiWriter,
                 session: DB) -> dict[str, Any]:
    _require_admin(me)
    user = add_user(session, body.name, body.role, body.password, desk(request).now(),
                    display_name=body.display_name, actor=me.actor)
    return {"id": user.id, "name": user.name, "role": user.role}
