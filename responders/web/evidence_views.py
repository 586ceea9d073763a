"""Evidence in the desk (issue 18): a snapshot's download and the event's 舆情处置专报
(/events/{id}/report as a page, ?format=docx|pdf as a file). Both are reads (GET, any
signed-in role); the listing itself is on the alert page (templates/_evidence.html).

A snapshot is served as an attachment of type application/octet-stream with nosniff: it
is someone else's page, and must never run in the desk's origin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from monitor.evidence_store import evidence_store
from responders.event_report import render as render_report
from responders.event_report import report_for, to_html
from responders.evidence import get_snapshot
from responders.web.deps import DB, PageReader, desk
from responders.web.params import PathId
from responders.web.rendering import render
from responders.web.unit_of_work import DeskRoute

router = APIRouter(include_in_schema=False, route_class=DeskRoute)
EXT = {"application/xml": "xml", "application/json": "json"}


@router.get("/evidence/{snapshot_id}")
def evidence_download(snapshot_id: PathId, request: Request, me: PageReader,
                      session: DB) -> Response:
    settings = desk(request).settings
    snap = get_snapshot(session, snapshot_id)
    body = evidence_store(settings).get(snap.sha256 or "")
    base = (snap.media_type or "").split(";")[0].strip()
    ext = "html" if snap.kind == "page" and "html" in base else EXT.get(base, "bin")
    name = f"item{snap.item_id}-{snap.kind}-{snap.sha256}.{ext}"
    return Response(body, media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff", "X-Evidence-SHA256": snap.sha256 or ""})


@router.get("/events/{event_id}/report", response_class=HTMLResponse)
def event_report_page(event_id: PathId, request: Request, me: PageReader, session: DB,
                      format: str = "html") -> Response:  # noqa: A002 - the query's name
    ctx = desk(request)
    report = report_for(session, ctx.settings, event_id, ctx.now())
    if format == "html":
        return render(request, "event_report.html", {
            "event_id": report.event_id, "body": to_html(report, standalone=False)})
    body = render_report(report, format, ctx.settings)
    media = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "pdf": "application/pdf"}[format]
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="event{report.event_id}-report.{format}"'})
