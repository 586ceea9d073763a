"""Evidence in the desk (issue 18): a snapshot's download, the event's 舆情处置专报
(/events/{id}/report as a page, ?format=docx|pdf as a file) and its referral package
(/events/{id}/export.zip, the ZIP of `yuqing events export`). The listing is on the alert
page (templates/_evidence.html), the download buttons on the alert and event pages
(templates/_export.html).

All are GETs for the desk's roles (officer, approver, admin; checked here, not only by
hiding the buttons). The referral package is the one GET that writes: like the CLI, each
package handed out is audit-logged with its own hash, and that entry is committed before
the first byte of the package is sent, so no package leaves the desk unrecorded.

Files are named for the person who saves them (舆情处置专报-事件12.docx) through RFC 5987's
filename*=UTF-8'', with an ASCII filename= for clients that cannot read it.

A snapshot is served as an attachment of type application/octet-stream with nosniff: it
is someone else's page, and must never run in the desk's origin."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from monitor.evidence_store import evidence_store
from responders.alerts import event_alert
from responders.auth import Principal
from responders.event_report import render as render_report
from responders.event_report import report_for, to_html
from responders.evidence import get_snapshot
from responders.evidence_export import build_package, record_export
from responders.web.deps import DB, PageReader, UoW, desk
from responders.web.params import PathId
from responders.web.rendering import render
from responders.web.unit_of_work import DeskRoute
from responders.workflow import RoleForbidden

router = APIRouter(include_in_schema=False, route_class=DeskRoute)
EXT = {"application/xml": "xml", "application/json": "json"}
EXPORT_ROLES = ("officer", "approver", "admin")
MEDIA = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pdf": "application/pdf", "zip": "application/zip"}


def _may_export(me: Principal) -> None:
    if me.role not in EXPORT_ROLES:
        raise RoleForbidden(f"role {me.role!r} may not download reports or evidence packages")


def attachment(name: str, ascii_name: str) -> str:
    """Content-Disposition for a file saved under a Chinese name (RFC 6266 + RFC 5987)."""
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


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
    _may_export(me)
    ctx = desk(request)
    report = report_for(session, ctx.settings, event_id, ctx.now())
    if format == "html":
        return render(request, "event_report.html", {
            "event_id": report.event_id, "body": to_html(report, standalone=False)})
    body = render_report(report, format, ctx.settings)  # refuses a format it does not know
    return Response(body, media_type=MEDIA[format], headers={
        "Content-Disposition": attachment(f"舆情处置专报-事件{report.event_id}.{format}",
                                          f"event{report.event_id}-report.{format}"),
        "X-Content-Type-Options": "nosniff"})


@router.get("/events/{event_id}/export.zip")
def event_export(event_id: PathId, request: Request, me: PageReader, uow: UoW) -> Response:
    """The referral package (移送材料包), audit-logged as `yuqing events export` does."""
    _may_export(me)
    ctx = desk(request)
    session, now = uow.session, ctx.now()
    report = report_for(session, ctx.settings, event_id, now)
    alert = event_alert(session, report.event_id)
    alert_id = alert.id if alert is not None else None
    # The read is done: end its transaction before reading the store, which may be a
    # bucket over the network (no I/O while a transaction is open, DESIGN 11).
    session.rollback()
    package, _manifest = build_package(report, evidence_store(ctx.settings))
    record_export(session, me.actor, report, package, now, alert_id)
    uow.commit()  # the audit entry is kept before the package is handed out
    return Response(package, media_type=MEDIA["zip"], headers={
        "Content-Disposition": attachment(f"移送材料包-事件{report.event_id}.zip",
                                          f"event{report.event_id}-referral.zip"),
        "X-Content-Type-Options": "nosniff"})
