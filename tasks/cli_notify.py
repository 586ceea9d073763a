"""`yuqing notify test URL` and `yuqing roster list|import|who` (issue 17)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from monitor.settings import Settings
from tasks.cli_common import UsageError, _emit, _Parser, _runtime


def cmd_notify_test(args: argparse.Namespace, settings: Settings) -> int:
    """Send a test message through the alerts' own sender. URL is a channel URL form (a
    plain http(s) URL is a generic JSON webhook) or a name from notify.channels."""
    from responders.mail import SmtpSettings
    from responders.notify import channels
    from responders.notify.message import Notice

    url = settings.notify.channels.get(args.url, args.url)
    spec = channels.parse(args.url if url != args.url else "test", url, os.environ)
    now = datetime.now(UTC)
    base = settings.web.base_url.rstrip("/")
    notice = Notice(alert_id=0, priority=args.priority, title="这是一条测试消息（yuqing notify "
                    "test）", reasons=("测试通道是否可用",), due_at=now + timedelta(hours=5),
                    alert_url=f"{base}/" if base else "", test=True)
    contact = None
    if spec.kind in channels.PERSONAL_KINDS:
        if not args.to:
            raise UsageError(f"a {spec.kind} channel needs --to (a mobile number or an "
                             f"e-mail address)")
        contact = channels.Contact("test", phone=args.to, email=args.to)
    smtp = SmtpSettings.from_settings(settings) if spec.kind == "email" else None
    policy = channels.SendPolicy(timeout=settings.notify.timeout,
                                 allow_private=settings.notify.allow_private,
                                 tz=settings.timezone, smtp=smtp)
    result = channels.send(spec, notice, now, policy, contact)
    if result.outcome == "sent":
        print(f"accepted by {spec.kind} ({spec.shown()}): {result.detail}")
        return 0
    print(f"yuqing: {spec.kind} ({spec.shown()}) did not take the message: "
          f"{result.detail}", file=sys.stderr)
    return 1


def _at(text: str | None, settings: Settings) -> datetime:
    zone = ZoneInfo(settings.timezone)
    if not text:
        return datetime.now(UTC)
    try:
        when = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        try:
            hm = datetime.strptime(text.strip(), "%H:%M").time()
        except ValueError:
            raise UsageError(f"--at {text!r}: expected a time such as 22:40 or "
                             f"2026-12-05T22:40 (in {settings.timezone})") from None
        when = datetime.combine(datetime.now(zone).date(), hm)
    return when if when.tzinfo else when.replace(tzinfo=zone)


def cmd_roster_list(args: argparse.Namespace, settings: Settings) -> int:
    from responders.notify import roster

    rt = _runtime(settings)
    with rt.sessions() as session:
        people, shifts = roster.load(session)
    if args.json:
        _emit({"people": [p.__dict__ for p in people],
               "shifts": [{**s.__dict__, "on_date": s.on_date.isoformat() if s.on_date
                           else None} for s in shifts]}, settings.timezone)
        return 0
    days = "一二三四五六日"
    for s in shifts:
        when = s.on_date.isoformat() if s.on_date else f"每周{days[(s.weekday or 1) - 1]}"
        print(f"{when:<12} {s.start}-{s.end}  {roster.ROLE_WORDS[s.role]:<6} {s.person}")
    for p in people:
        print(f"  {p.name} ({p.display_name}) phone={p.phone or '-'} email={p.email or '-'} "
              f"channels={';'.join(p.channels) or 'all'}")
    return 0


def cmd_roster_import(args: argparse.Namespace, settings: Settings) -> int:
    from responders.desk import audit
    from responders.notify import roster

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.file}: {exc}") from None
    people, shifts = roster.read_csv(text)
    rt = _runtime(settings)
    with rt.sessions() as session:
        roster.replace_all(session, people, shifts)
        audit(session, "cli", datetime.now(UTC), entity="roster", entity_id=0,
              action="roster_import", detail={"file": str(args.file), "lines": len(shifts)})
        session.commit()
    print(f"roster imported: {len(shifts)} lines, {len(people)} people")
    return 0


def cmd_roster_who(args: argparse.Namespace, settings: Settings) -> int:
    from responders.notify import roster

    at = _at(args.at, settings)
    rt = _runtime(settings)
    with rt.sessions() as session:
        _, shifts = roster.load(session)
    who: dict[str, Any] = {r: roster.on_duty(at, shifts, settings.timezone, r)
                           for r in roster.ROLES}
    if args.json:
        _emit({"at": at, **who}, settings.timezone)
        return 0
    local = at.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M")
    print(f"on duty at {local} ({settings.timezone}):")
    for role in roster.ROLES:
        print(f"  {roster.ROLE_WORDS[role]}: {', '.join(who[role]) or '(nobody)'}")
    return 0


def cmd_fake_robots(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.notify_fakes import FakeRobots

    robots = FakeRobots(Path(settings.home) / "logs" / "fake-robots.jsonl", port=args.port)
    print(f"fake WeCom robot and SMS gateway on {robots.base_url} (Ctrl-C to stop)",
          flush=True)
    try:
        robots.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        robots.server.server_close()
    return 0


def register(sub: Any) -> None:
    s = sub.add_parser("notify", help="notification channels (WeCom, DingTalk, Feishu, SMS …)")
    ns = s.add_subparsers(dest="notify_cmd", required=True, parser_class=_Parser)
    p = ns.add_parser("test", help="send a test message to a channel, the way alerts go")
    p.add_argument("url", help="a channel URL (wecombot://KEY, dingtalk://TOKEN?secret=…, "
                   "feishu://…, smsgw+https://…, mailto:, or a plain http(s) URL = generic "
                   "JSON webhook) or a name from notify.channels")
    p.add_argument("--priority", choices=("P1", "P2", "P3"), default="P1")
    p.add_argument("--to", help="the mobile number or address, for SMS and e-mail channels")
    p.set_defaults(func=cmd_notify_test)
    p = ns.add_parser("fake-robots", help="a loopback WeCom robot and SMS gateway for the "
                      "demo (config/notify.demo.yaml points at it)")
    p.add_argument("--port", type=int, default=8099)
    p.set_defaults(func=cmd_fake_robots)

    s = sub.add_parser("roster", help="the on-call roster (值班表)")
    rs = s.add_subparsers(dest="roster_cmd", required=True, parser_class=_Parser)
    p = rs.add_parser("list", help="the weekly lines, dated exceptions and people")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_roster_list)
    p = rs.add_parser("import", help="replace the roster with a CSV file's lines")
    p.add_argument("file", help="when,start,end,role,person,display_name,phone,email,channels")
    p.set_defaults(func=cmd_roster_import)
    p = rs.add_parser("who", help="who is on duty (now, or --at)")
    p.add_argument("--at", help="a time in the office's zone: 22:40 or 2026-12-05T22:40")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_roster_who)
