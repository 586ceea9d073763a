"""`yuqing events report ID` and `yuqing events export ID` (issue 18): the 舆情处置专报 as
HTML, DOCX or PDF, and the referral package (ZIP) for 公安/网信. Registered under `events`
by tasks.cli_events."""

from __future__ import annotations

import argparse
import getpass
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.settings import Settings
from tasks.cli_common import _emit, _runtime


def _write(path: Path, body: bytes) -> None:
    """Whole or nothing: a temporary file beside the target, renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_event_report(args: argparse.Namespace, settings: Settings) -> int:
    from responders.event_report import render, report_for

    fmt = args.format or (args.out.suffix.lstrip(".").lower() if args.out else "html")
    rt = _runtime(settings)
    with rt.sessions() as session:
        report = report_for(session, settings, args.id, datetime.now(UTC))
    body = render(report, fmt, settings)  # a missing PDF font fails here, before writing
    if args.out is None:
        print(body.decode("utf-8") if fmt == "html" else f"--out FILE is needed for {fmt}")
        return 0 if fmt == "html" else 2
    _write(args.out, body)
    _emit({"event_id": report.event_id, "format": fmt, "out": str(args.out),
           "bytes": len(body), "snapshots": len(report.evidence)})
    return 0


def cmd_event_export(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.evidence_store import evidence_store, sha256_of
    from responders.alerts import event_alert
    from responders.event_report import report_for
    from responders.evidence_export import build_package, record_export

    rt = _runtime(settings)
    store = evidence_store(settings)
    now = datetime.now(UTC)
    with rt.sessions() as session:
        report = report_for(session, settings, args.id, now)
        alert = event_alert(session, report.event_id)
        package, manifest = build_package(report, store)
        record_export(session, f"cli:{getpass.getuser()}", report, package, now,
                      alert.id if alert is not None else None)
        session.commit()
    _write(args.out, package)
    _emit({"event_id": report.event_id, "out": str(args.out), "bytes": len(package),
           "sha256": sha256_of(package), "snapshots": len(manifest["snapshots"])})
    return 0


def register_events(se: Any) -> None:
    """Add `report` and `export` to the `events` command group (tasks.cli_events)."""
    r = se.add_parser("report", help="the 舆情处置专报 of one event: --format docx|pdf|html")
    r.add_argument("id", type=int)
    r.add_argument("--format", choices=("docx", "pdf", "html"),
                   help="default: from --out's suffix, else html to standard output")
    r.add_argument("--out", type=Path, help="the file to write")
    r.set_defaults(func=cmd_event_report)
    x = se.add_parser("export", help="the referral package (ZIP: snapshots, manifest, "
                      "timeline) of one event, audit-logged")
    x.add_argument("id", type=int)
    x.add_argument("--out", type=Path, required=True, help="the .zip to write")
    x.set_defaults(func=cmd_event_export)
