"""Press-desk commands: web, tokens, policies (users: tasks.cli_users). Registered through
tasks.cli.COMMAND_MODULES."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.errors import InputError
from monitor.settings import Settings
from tasks.bootstrap import init_database


def make_enqueue(settings: Settings) -> Any:
    """The web app's way to start background work, without importing tasks/ into it."""
    state: dict[str, Any] = {}

    def enqueue(name: str, args: list[Any]) -> None:
        from tasks.celery_app import create_app

        if "app" not in state:
            state["app"] = create_app(settings)
        state["app"].send_task(name, args=args)

    return enqueue


def build_web_app(settings: Settings) -> Any:
    from responders.status import BrokerInfo
    from responders.web import create_app
    from tasks.celery_app import QUEUES, broker_url

    app = create_app(settings, make_enqueue(settings))
    app.state.broker = BrokerInfo(broker_url(settings), QUEUES)  # for /readyz, /metrics
    return app


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    import logging

    import uvicorn

    from tasks.logsetup import configure

    init_database(settings)
    # Our handler (logging.format, .level) for uvicorn's loggers too: log_config=None below.
    level = configure(settings.tree.logging, args.loglevel)
    app = build_web_app(settings)
    print(f"press desk at http://{args.host}:{args.port}/", flush=True)
    # proxy_headers: behind an HTTPS proxy, X-Forwarded-Proto marks the request https and
    # the session cookie gets Secure.
    # X-Forwarded-* are believed only from web.trusted_proxies (a proxy on loopback by
    # default); the app applies the same list to the login throttle's address.
    uvicorn.run(app, host=args.host, port=args.port, log_config=None,
                log_level=logging.getLevelName(level).lower(),
                proxy_headers=bool(settings.web.trusted_proxies),
                forwarded_allow_ips=",".join(settings.web.trusted_proxies))
    return 0


def read_password(prompt: str = "password: ") -> str:
    """From the terminal without echo, or the first line of stdin when it is not a tty."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("again: ") != first:
            raise InputError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _sessions(settings: Settings) -> Any:
    from monitor.db import make_engine, make_sessionmaker
    from responders.schema import migrate

    engine = make_engine(settings.database_url)
    migrate(engine)
    return make_sessionmaker(engine)


def cmd_tokens(args: argparse.Namespace, settings: Settings) -> int:
    from responders.auth import create_token

    with _sessions(settings)() as session:
        plain = create_token(session, args.name, args.role, datetime.now(UTC), user=args.user)
        session.commit()
    if args.user is None:
        print(f"token {args.name} acts for no user: it may read the desk but not act on it "
              "(give --user NAME for one that acts)", file=sys.stderr)
    # The only time the token is shown: it is stored as a hash.
    print(plain)
    return 0


def cmd_policies(args: argparse.Namespace, settings: Settings) -> int:
    from responders.policies import import_policies, read_policies

    docs = read_policies(args.path)
    with _sessions(settings)() as session:
        result = import_policies(session, docs, datetime.now(UTC))
        session.commit()
    print(f"policies: {result['created']} added, {result['updated']} updated, "
          f"{result['unchanged']} unchanged")
    return 0


def ensure_first_admin(settings: Settings, password: str | None) -> str | None:
    """For `yuqing run`: when there is no user yet, create `admin` and return the password
    to print once (YUQING_ADMIN_PASSWORD sets it). None when users exist."""
    import secrets

    from sqlalchemy import func, select

    from responders.auth import add_user
    from responders.models import User

    with _sessions(settings)() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
        chosen = password or secrets.token_urlsafe(12)
        add_user(session, "admin", "admin", chosen, datetime.now(UTC), actor="run")
        session.commit()
    return chosen


def register(sub: Any) -> None:
    s = sub.add_parser("web", help="serve the press desk (workers run apart)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--loglevel", help="debug|info|warning|error (default logging.level)")
    s.set_defaults(func=cmd_web)

    s = sub.add_parser("tokens", help="API tokens")
    ts = s.add_subparsers(dest="tokens_cmd", required=True)
    c = ts.add_parser("create", help="print a new API token (shown once)")
    c.add_argument("name")
    c.add_argument("--role", required=True, choices=["officer", "approver", "admin"])
    c.add_argument("--user", help="the person the token acts for (its role may not be above "
                   "theirs); without it the token may only read")
    s.set_defaults(func=cmd_tokens)

    s = sub.add_parser("policies", help="the policy library")
    ps = s.add_subparsers(dest="policies_cmd", required=True)
    i = ps.add_parser("import", help="import policy documents from a file or folder")
    i.add_argument("path", type=Path)
    s.set_defaults(func=cmd_policies)
