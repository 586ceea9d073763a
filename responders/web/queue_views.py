"""The alert queue's pages: filters, sort and page in the URL (a reload keeps them, a link
shares the view), the chart that follows the filters, and bulk actions over selected rows.

The query string is the one place a view's state lives: `queue_filter` reads it (every value
checked, a bad one refused in words), `queue_query` writes it back for links, the pager and
htmx's pushed URL."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import QueryParams

from monitor.errors import InputError
from responders.queue import (
    PRIORITY_ORDER,
    SORTS,
    QueueFilter,
    alert_rows,
    source_choices,
    users,
)
from responders.web.bulk import BULK_ACTIONS, MAX_BULK, run_bulk
from responders.web.charts import filtered_series, volume_sentiment_svg
from responders.web.deps import DB, ApiWriter, PageReader, PageWriter, desk
from responders.web.i18n import translate
from responders.web.params import BodyId, Text, page_id, page_ids
from responders.web.rendering import render, request_lang
from responders.web.unit_of_work import DeskRoute
from responders.workflow import ALERT_STATES

router = APIRouter(include_in_schema=False, route_class=DeskRoute)

PAGE_SIZE = 50
MAX_PAGE = 10_000
SENTIMENTS = ("negative", "neutral", "positive")
DUE = ("soon", "overdue")


def _choice(q: QueryParams, name: str, allowed: tuple[str, ...]) -> str | None:
    value = (q.get(name) or "").strip()
    if value and value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(allowed)}, not {value[:40]!r}")
    return value or None


def queue_filter(q: QueryParams) -> QueueFilter:
    """The queue's filter and sort from a query string; an unknown value is refused (400)
    with the parameter's name rather than silently showing everything."""
    return QueueFilter(
        priority=_choice(q, "priority", PRIORITY_ORDER),
        topic=(q.get("topic") or "").strip() or None,
        source_id=page_id(q.get("source"), "source"),
        sentiment=_choice(q, "sentiment", SENTIMENTS),
        state=_choice(q, "state", ("open", "all", *ALERT_STATES)),
        assignee=(q.get("assignee") or "").strip() or None,
        due=_choice(q, "due", DUE),
        sort=_choice(q, "sort", SORTS) or "priority",
        event_id=page_id(q.get("event"), "event"),
    )


def queue_page_number(q: QueryParams) -> int:
    number = page_id(q.get("page"), "page") or 1
    if number > MAX_PAGE:
        raise InputError(f"page must be a whole number from 1 to {MAX_PAGE}")
    return number


def queue_query(f: QueueFilter, page: int = 1) -> str:
    """The query string of a view (only what differs from the default), for links."""
    pairs = [("priority", f.priority), ("topic", f.topic),
             ("source", str(f.source_id) if f.source_id else None),
             ("sentiment", f.sentiment), ("state", f.state), ("assignee", f.assignee),
             ("due", f.due), ("event", str(f.event_id) if f.event_id else None),
             ("sort", None if f.sort == "priority" else f.sort),
             ("page", str(page) if page > 1 else None)]
    return urlencode([(k, v) for k, v in pairs if v])


def queue_href(**values: Any) -> str:
    """A link to the queue filtered by `values` (the overview's numbers)."""
    return "/?" + urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _view(request: Request, session: Any) -> dict[str, Any]:
    ctx = desk(request)
    f = queue_filter(request.query_params)
    page = queue_page_number(request.query_params)
    rows = alert_rows(session, f, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE,
                        now=ctx.now())
    return {"alerts": rows[:PAGE_SIZE], "f": f, "page": page,
            "prev_query": queue_query(f, page - 1) if page > 1 else None,
            "next_query": queue_query(f, page + 1) if len(rows) > PAGE_SIZE else None,
            "query": queue_query(f, page), "bulk_actions": BULK_ACTIONS,
            "users": users(session)}


def _chart(request: Request, session: Any, f: QueueFilter) -> str:
    ctx = desk(request)
    lang = request_lang(request)
    series = filtered_series(session, ctx.now(), f, tz=ctx.settings.timezone,
                             past=ctx.past_days)
    labels = {k: translate(lang, k) for k in ("negative", "neutral", "positive", "mean")}
    return volume_sentiment_svg(series.days, series.by_label, series.mean_score,
                                title=translate(lang, "chart_title"), labels=labels)


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, me: PageReader, session: DB) -> Response:
    view = _view(request, session)
    return render(request, "queue.html", {
        **view, "sources": source_choices(session), "topics": desk(request).topic_names,
        "chart": _chart(request, session, view["f"]),
    })


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(request: Request, me: PageReader, session: DB) -> Response:
    """The table, pager and chart alone, for htmx when a filter changes; the browser's
    address follows (HX-Push-Url), so a reload or a shared link shows the same view."""
    view = _view(request, session)
    response = render(request, "_queue_box.html", {
        **view, "chart": _chart(request, session, view["f"])})
    response.headers["HX-Push-Url"] = "/?" + view["query"] if view["query"] else "/"
    return response


@router.post("/queue/bulk", response_class=HTMLResponse)
async def queue_bulk(request: Request, me: PageWriter, session: DB) -> Response:
    """One action with one reason over the selected alerts, each through the workflow on
    its own: one in a wrong state is reported and the others go on; one commit."""
    form = await request.form()
    ids = page_ids([str(v) for v in form.getlist("alert")], "alert")
    back = str(form.get("back", ""))
    back_f = queue_filter(QueryParams(back))  # checked, then re-encoded: no open redirect
    outcomes = run_bulk(session, me, ids, str(form.get("action", "")), desk(request).now(),
                        reason=str(form.get("reason", "")),
                        assignee=str(form.get("assignee") or "") or None)
    return render(request, "bulk_result.html", {
        "outcomes": outcomes, "action": str(form.get("action", "")),
        "back": "/?" + queue_query(replace(back_f)),
        "done": sum(1 for o in outcomes if o.ok),
    })


api = APIRouter(prefix="/api/v1", tags=["desk"], route_class=DeskRoute)


class BulkIn(BaseModel):
    alert_ids: list[BodyId] = Field(min_length=1, max_length=MAX_BULK)
    action: Text
    reason: Text = ""
    assignee: Text | None = None


@api.post("/alerts/bulk")
def bulk_api(body: BulkIn, request: Request, me: ApiWriter, session: DB) -> Response:
    """One action (assign, dismiss, escalate) with one reason over many alerts, each
    through its own state-checked, audited transition; `results` says per alert whether
    it was done and, if not, why. One commit."""
    outcomes = run_bulk(session, me, list(body.alert_ids), body.action, desk(request).now(),
                        reason=body.reason, assignee=body.assignee)
    return JSONResponse({"done": sum(1 for o in outcomes if o.ok), "results": [
        {"alert_id": o.alert_id, "ok": o.ok, "outcome": o.key.removeprefix("bk_"),
         "error": o.detail or None} for o in outcomes]})
