"""`yuqing users list|add|set-role|disable|enable|passwd`: desk users from the command line.

Every change is audit-logged (actor "cli"), as the desk's admin page logs its own
(responders.auth). `passwd` is the documented way back in when the first admin's password is
lost: it needs only access to the database, as every other command here does. Exit codes by
the contract (tasks.cli_common): 0 done (or nothing to do), 2 bad input, a refusal such as the
last admin, or an unknown user, 1 anything else."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from monitor.settings import Settings
from responders.models import ROLES
from tasks.cli_desk import _sessions, read_password


def _list(session: Any, as_json: bool) -> int:
    from sqlalchemy import select

    from responders.models import User

    rows = session.scalars(select(User).order_by(User.name)).all()
    if as_json:
        sys.stdout.write(json.dumps([
            {"name": u.name, "display_name": u.display_name, "role": u.role,
             "active": u.active, "email": u.email} for u in rows], ensure_ascii=False) + "\n")
        return 0
    for u in rows:
        print(f"{u.name}\t{u.role}\t{'active' if u.active else 'disabled'}")
    return 0


def _new_password(args: argparse.Namespace) -> str:
    from responders.auth import generate_password

    if getattr(args, "generate", False):
        return generate_password()
    return read_password("new password: " if args.users_cmd == "passwd" else "password: ")


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    from responders import auth

    now = datetime.now(UTC)
    with _sessions(settings)() as session:
        cmd = args.users_cmd
        if cmd == "list":
            return _list(session, args.json)
        if cmd == "add":
            password = _new_password(args)
            user = auth.add_user(session, args.name, args.role, password, now,
                                 display_name=args.display_name or "", email=args.email)
            session.commit()
            print(f"added {user.role} {user.name}")
            if args.generate:
                print(f"password: {password}")
            return 0
        if cmd == "set-role":
            before, after = auth.set_role(session, args.name, args.role, now)
            session.commit()
            print(f"{args.name}: {before} → {after}" if before != after
                  else f"{args.name} is {after} already")
            return 0
        if cmd in ("disable", "enable"):
            changed = auth.set_active(session, args.name, cmd == "enable", now)
            session.commit()
            if not changed:
                print(f"{args.name} is {cmd}d already")
            elif cmd == "disable":
                print(f"disabled {args.name}: their sessions ended and their API tokens are "
                      "refused until `yuqing users enable`")
            else:
                print(f"enabled {args.name}")
            return 0
        # passwd
        password = _new_password(args)
        auth.set_password(session, args.name, password, now)
        session.commit()
    if args.generate:
        # The only time it is shown; on its own line, last, so it does not scroll away.
        print(f"new password for {args.name} (their sessions ended):")
        print(password)
    else:
        print(f"password changed for {args.name}; their sessions ended")
    return 0


def register(sub: Any) -> None:
    s = sub.add_parser("users", help="desk users: list, add, set-role, disable, enable, "
                       "passwd")
    us = s.add_subparsers(dest="users_cmd", required=True, parser_class=type(s))
    a = us.add_parser("add", help="add a user; the password is read from a prompt, or from "
                      "stdin when it is not a terminal")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--display-name")
    a.add_argument("--email")
    a.add_argument("--generate", action="store_true", help="make up a password and print it")
    ls = us.add_parser("list", help="users with their role and whether they are active")
    ls.add_argument("--json", action="store_true")
    r = us.add_parser("set-role", help="change a user's role (from their next request)")
    r.add_argument("name")
    r.add_argument("role", choices=ROLES)
    d = us.add_parser("disable", help="stop a user at once: sessions ended, tokens refused")
    d.add_argument("name")
    e = us.add_parser("enable", help="let a disabled user log in again")
    e.add_argument("name")
    p = us.add_parser("passwd", help="set a user's password (a prompt, or stdin); the way "
                      "to recover a lost admin password")
    p.add_argument("name")
    p.add_argument("--generate", action="store_true", help="make up a password and print it")
    s.set_defaults(func=cmd_users)
