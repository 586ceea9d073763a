"""The referral package (移送材料包) for 公安/网信 (issue 18): one ZIP per event with every
snapshot as stored (named by its SHA-256), a manifest of URLs, fetch times, HTTP statuses,
hashes and deletion marks (manifest.json and manifest.csv), the timeline (timeline.csv) and
the 专报 as HTML. Each export is audit-logged (entity `event`, action `export`) with the
package's own hash; the package is written by the caller after the commit."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.evidence_store import EvidenceStore, sha256_of
from responders.desk import audit
from responders.event_report import Report, to_html

EXTENSIONS = {"application/xml": "xml", "application/json": "json", "text/html": "html",
              "application/rss+xml": "xml", "text/plain": "txt"}


def _ext(media_type: str | None) -> str:
    base = (media_type or "").split(";")[0].strip().lower()
    return EXTENSIONS.get(base, "bin")


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8


def build_package(report: Report, store: EvidenceStore) -> tuple[bytes, dict[str, Any]]:
    """The ZIP's bytes and its manifest. Reads the store (no session needed)."""
    entries: list[dict[str, Any]] = []
    files: dict[str, bytes] = {}
    for e in report.evidence:
        row: dict[str, Any] = {
            "item_id": e.item_id, "title": e.title, "kind": e.kind, "url": e.url,
            "fetched_at": e.fetched_at.isoformat(), "http_status": e.http_status,
            "sha256": e.sha256, "deleted": e.deleted, "error": e.error, "file": None}
        if e.sha256:
            name = f"snapshots/{e.sha256}.{_ext(e.media_type)}"
            files[name] = store.get(e.sha256)  # checks the hash: an altered file is refused
            row["file"] = name
        entries.append(row)
    manifest = {"event_id": report.event_id, "title": report.title,
                "generated_at": report.generated_at.isoformat(), "timezone": report.tz,
                "snapshots": entries,
                "timeline": [{"at": t.at.isoformat(), "what": t.what} for t in report.timeline],
                "coverage": report.coverage}
    head = ["item_id", "kind", "url", "fetched_at", "http_status", "sha256", "deleted", "file"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        z.writestr("manifest.csv", _csv([head, *[[str(r[k] if r[k] is not None else "")
                                                  for k in head] for r in entries]]))
        z.writestr("timeline.csv", _csv([["时间", "事项"],
                                         *[[report.local(t.at), t.what]
                                           for t in report.timeline]]))
        z.writestr("report.html", to_html(report))
        for name, body in sorted(files.items()):
            z.writestr(name, body)
    return buf.getvalue(), manifest


def record_export(session: Session, who: str, report: Report, package: bytes,
                  now: datetime, alert_id: int | None) -> None:
    """The audit entry of one export (the caller commits)."""
    audit(session, who, now, entity="event", entity_id=report.event_id, action="export",
          alert_id=alert_id, detail={"sha256": sha256_of(package), "size": len(package),
                                     "snapshots": len(report.evidence)})
