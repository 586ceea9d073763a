"""`yuqing digest preview|send|log` and `yuqing report annual|monthly`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.errors import InputError
from monitor.settings import Settings
from tasks.cli_common import UsageError, _emit, _local, _Parser, _runtime
from tasks.cli_register import add_annual_options


def _week(args: argparse.Namespace, settings: Settings) -> Any:
    from responders.digest import last_complete_week, parse_week

    if args.week:
        return parse_week(args.week)
    return last_complete_week(datetime.now(UTC), settings.timezone)


def _build(args: argparse.Namespace, settings: Settings) -> Any:
    from responders.digest import digest_for

    week = _week(args, settings)  # a malformed week fails before any database work
    rt = _runtime(settings)
    with rt.sessions() as session:
        return digest_for(session, week, settings, now=datetime.now(UTC))


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    from responders.digest import preview_html, render_text

    d = _build(args, settings)
    if args.out:
        args.out.write_text(preview_html(d), encoding="utf-8")
        print(f"wrote {args.out} ({d.week.label}: {d.total} items, {d.opened} alerts)")
    else:
        sys.stdout.write(render_text(d))
    return 0


def cmd_send(args: argparse.Namespace, settings: Settings) -> int:
    from responders.digest import digest_for, send_digest
    from responders.mail import SmtpSettings

    week = _week(args, settings)
    recipients = [a.strip() for given in (args.to or []) for a in given.split(",") if a.strip()]
    if not recipients:
        recipients = list(settings.digest.to)
    if not recipients:
        raise UsageError("no recipients: set YUQING_DIGEST_TO (comma-separated) or "
                         "digest.to in the config, or pass --to ADDR")
    smtp = SmtpSettings.from_settings(settings)
    rt = _runtime(settings)
    with rt.sessions() as session:
        now = datetime.now(UTC)
        d = digest_for(session, week, settings, now=now)
        report = send_digest(session, d, recipients, smtp, now)
    if args.json:
        _emit(report.as_dict())
    else:
        print(f"digest {week.label}: sent {report.sent}, skipped {report.skipped}, "
              f"failed {report.failed}")
    for rcpt, out in report.outcomes.items():
        if out.skipped and out.status == "sent":
            continue
        if out.skipped or out.status != "sent":
            print(f"  {rcpt}: {out.status}{' (recorded earlier)' if out.skipped else ''}"
                  f"{f' {out.code}' if out.code else ''} {out.detail}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_log(args: argparse.Namespace, settings: Settings) -> int:
    from responders.mail import mail_log

    rt = _runtime(settings)
    with rt.sessions() as session:
        rows = mail_log(session, key_prefix=args.key, limit=args.limit)
    out = [{"key": r.key, "recipient": r.recipient, "state": r.state, "attempts": r.attempts,
            "code": r.code, "detail": r.detail, "claimed_at": r.claimed_at,
            "next_attempt_at": r.next_attempt_at} for r in rows]
    if args.json:
        _emit(out, settings.timezone)
        return 0
    if not out:
        print("no mail sent yet")
    for r in rows:
        print(f"{_local(r.claimed_at, settings)}  {r.key:<22} {r.recipient:<32} {r.state:<9} "
              f"{r.code or '':>3}  {r.detail[:80]}")
    return 0


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from responders.admin_topics import topic_names
    from responders.reports import (
        as_json,
        build_report,
        load_period,
        month_period,
        to_markdown,
        year_period,
    )

    if args.report_cmd == "annual":
        if args.format != "md":  # the official formats (issue 20)
            from tasks.cli_register import cmd_annual

            return cmd_annual(args, settings)
        period = year_period(args.year)
    else:
        if not args.month:
            raise InputError("give the month, e.g. --month 2026-11")
        period = month_period(args.month)
    rt = _runtime(settings)
    with rt.sessions() as session:
        pubs, alerts = load_period(session, period, settings.timezone)
    report = build_report(period, pubs, alerts, tz=settings.timezone,
                          topic_names=topic_names(settings.home, Path(settings.config_dir)),
                          office=settings.office)
    if args.format == "json":
        sys.stdout.write(json.dumps(as_json(report), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(to_markdown(report))
    return 0


def register(sub: Any) -> None:
    s = sub.add_parser("digest", help="the weekly sentiment digest by e-mail")
    ds = s.add_subparsers(dest="digest_cmd", required=True, parser_class=_Parser)
    p = ds.add_parser("preview", help="render a week's digest without sending it")
    p.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: the last complete week)")
    p.add_argument("--out", type=Path, help="write the HTML (charts inlined) to this file; "
                   "without it the plain-text part goes to stdout")
    p.set_defaults(func=cmd_preview)
    p = ds.add_parser("send", help="send a week's digest now (at most once per recipient)")
    p.add_argument("--week", help="ISO week, e.g. 2026-W47 (default: the last complete week)")
    p.add_argument("--to", action="append", metavar="ADDR",
                   help="send to this address instead of digest.to (repeatable)")
    p.add_argument("--json", action="store_true", help='print {"sent", "skipped", "failed"}')
    p.set_defaults(func=cmd_send)
    p = ds.add_parser("log", help="mail sent and its outcome, newest first")
    p.add_argument("--key", help="only keys starting with this, e.g. digest:2026-W47")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_log)

    s = sub.add_parser("report", help="figures for the disclosure report, from the output log")
    rs = s.add_subparsers(dest="report_cmd", required=True, parser_class=_Parser)
    p = rs.add_parser("annual", help="one calendar year, laid out like the annual report")
    p.add_argument("--year", type=int, required=True)
    p.add_argument("--format", choices=("md", "html", "docx", "xlsx", "json"), default="md",
                   help="md: yuqing's figures only; the others: the official report "
                   "(国办公开办函〔2021〕30号), checked")
    add_annual_options(p)
    p.set_defaults(func=cmd_report)
    p = rs.add_parser("monthly", help="one month, for the office's own use")
    p.add_argument("--month", required=True, help="e.g. 2026-11")
    p.add_argument("--format", choices=("md", "json"), default="md")
    p.set_defaults(func=cmd_report)
