"""`yuqing register import|list|demo` and the official formats of `yuqing report annual`
(html, docx, xlsx, json; md is the older figures-only layout of tasks.cli_digest)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from monitor.errors import InputError
from monitor.settings import Settings
from monitor.yamlfile import read_yaml
from tasks.cli_common import _emit, _Parser, _runtime

ANNUAL_FORMATS = ("html", "docx", "xlsx", "json")


def _calendar(settings: Settings) -> Any:
    from responders.register.calendar import load_calendar

    return load_calendar(Path(settings.config_dir), settings.home)


def annual_input_path(settings: Settings, year: int) -> Path:
    return settings.home / "annual" / f"{year}.yaml"


def cmd_annual(args: argparse.Namespace, settings: Settings) -> int:
    """The report in the official layout (国办公开办函〔2021〕30号). Checks first: a report whose
    checks fail is refused (exit 2, the failing check and row named) unless --draft."""
    from zoneinfo import ZoneInfo

    from responders import annual_report as ar
    from responders.reports import as_json as reports_json
    from responders.reports import build_report, load_period, year_period

    if args.format in ("docx", "xlsx") and args.out is None:
        raise InputError(f"--format {args.format} writes a file: give --out FILE")
    period = year_period(args.year)
    src = args.input or annual_input_path(settings, args.year)
    extra = (ar.parse_input(read_yaml(src, InputError), str(src))
             if args.input or src.is_file() else ar.AnnualInput())
    rt = _runtime(settings)
    with rt.sessions() as session:
        pubs, alerts = load_period(session, period, settings.timezone)
        requests, cases = ar.load_register(session, args.year)
    output = build_report(period, pubs, alerts, tz=settings.timezone, office=settings.office)
    today = datetime.now(UTC).astimezone(ZoneInfo(settings.timezone)).date()
    annual = ar.build_annual(args.year, requests=requests, cases=cases, output=output,
                             pubs=pubs, tz=settings.timezone, extra=extra, today=today,
                             office=settings.office)
    ar.run_checks(annual)
    if not args.draft:
        ar.refuse_unless_passed(annual)
    data: bytes
    if args.format == "json":
        # The shape, plus the older figures of `report annual --format json` under
        # their old keys (publications, alerts, messages …), so existing readers keep working.
        doc = {**reports_json(output), **ar.as_json(annual)}
        data = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode()
    elif args.format == "html":
        data = ar.to_html(annual, draft=args.draft).encode()
    elif args.format == "docx":
        data = ar.to_docx(annual, draft=args.draft)
    else:
        data = ar.to_xlsx(annual, draft=args.draft)
    failed = [c for c in annual.checks if not c.passed]
    if args.out is not None:
        args.out.write_bytes(data)
        print(f"wrote {args.out} ({args.year}, {len(annual.checks) - len(failed)}/"
              f"{len(annual.checks)} checks passed{', DRAFT' if args.draft else ''})")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    for c in failed:
        print(f"check failed (draft): {c.name} — {c.detail}", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from responders.register import importing

    defaults = importing.CASE_COLUMNS if args.cases else importing.REQUEST_COLUMNS
    mapping = importing.read_mapping(
        read_yaml(args.mapping, InputError) if args.mapping else None, defaults,
        str(args.mapping))
    try:
        rows = importing.read_sheet(args.file)
    except OSError as exc:
        raise InputError(f"{args.file}: cannot read ({exc.strerror or exc})") from None
    cal = _calendar(settings)
    now = datetime.now(UTC)
    rt = _runtime(settings)
    with rt.sessions() as session:
        if args.cases:
            report = importing.import_cases(session, "cli:import", rows, mapping, now,
                                            name=args.file.name)
        else:
            report = importing.import_requests(session, "cli:import", rows, mapping, cal, now,
                                               name=args.file.name)
        if report.stored:
            session.commit()
        else:
            session.rollback()
    if args.json:
        _emit(report.as_dict())
    else:
        for row, err in report.errors:
            print(f"{args.file.name} row {row}: {err}", file=sys.stderr)
        if report.stored:
            print(f"{report.kind}: {report.rows} rows — {report.created} created, "
                  f"{report.updated} updated, {report.unchanged} unchanged")
        else:
            print(f"{args.file.name}: refused, nothing stored ({len(report.errors)} problems "
                  f"in {len({r for r, _ in report.errors})} rows)", file=sys.stderr)
    return 0 if report.stored else 2


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import select

    from responders.register.models import DisclosureRequest

    rt = _runtime(settings)
    with rt.sessions() as session:
        q = select(DisclosureRequest).order_by(DisclosureRequest.received_on,
                                               DisclosureRequest.number)
        if args.year:
            q = q.where(DisclosureRequest.received_on >= date(args.year, 1, 1),
                        DisclosureRequest.received_on <= date(args.year, 12, 31))
        if args.open:
            q = q.where(DisclosureRequest.state == "open")
        rows = session.scalars(q.limit(args.limit)).all()
        out = [{"number": r.number, "received_on": r.received_on.isoformat(),
                "applicant_type": r.applicant_type, "subject": r.subject,
                "due_on": r.due_on.isoformat(), "state": r.state, "outcome": r.outcome,
                "answered_on": r.answered_on.isoformat() if r.answered_on else None}
               for r in rows]
    if args.json:
        _emit(out)
    else:
        for r in out:
            print(f"{r['number']:<10} {r['received_on']}  期限 {r['due_on']}  "
                  f"{r['outcome'] or '办理中':<20} {r['subject'][:40]}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from responders.register.demo import load_demo

    rt = _runtime(settings)
    with rt.sessions() as session:
        result = load_demo(session, Path(settings.config_dir), settings.home,
                           _calendar(settings), datetime.now(UTC))
        session.commit()
    _emit(result)
    return 0


def _year(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a year")
    return int(text)


def register(sub: Any) -> None:
    s = sub.add_parser("register", help="the register of disclosure requests (依申请公开)")
    rs = s.add_subparsers(dest="register_cmd", required=True, parser_class=_Parser)
    p = rs.add_parser("import", help="a year's register from a CSV/XLSX sheet; all or nothing")
    p.add_argument("file", type=Path)
    p.add_argument("--cases", action="store_true",
                   help="the sheet lists reconsiderations and lawsuits, not requests")
    p.add_argument("--mapping", type=Path,
                   help="YAML `columns:` field → the sheet's heading (default: Chinese headings)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import)
    p = rs.add_parser("list", help="requests with their deadlines and outcomes")
    p.add_argument("--year", type=_year)
    p.add_argument("--open", action="store_true", help="only those still being handled")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    p = rs.add_parser("demo", help="load the demo year (config/demo/register/)")
    p.set_defaults(func=cmd_demo)


def add_annual_options(p: argparse.ArgumentParser) -> None:
    """Called by tasks.cli_digest for `report annual`: the official formats beside md."""
    p.add_argument("--draft", action="store_true",
                   help="emit even when the checks fail (marked 草稿, failures on stderr)")
    p.add_argument("--out", type=Path, help="write to this file (required for docx, xlsx)")
    p.add_argument("--input", type=Path, help="the office's figures and narrative for the "
                   "year (default $YUQING_HOME/annual/<year>.yaml)")
