"""`yuqing status [--json]`: the operator's view at a glance (responders.status), the same
figures /metrics serves. Exit 0 when all is well, 1 when something needs looking at (the
broker unreachable, sources failing or silent, alerts overdue, notifications failed) — so a
cron job or a monitoring check can use it as it is. Registered through tasks.cli.COMMAND_MODULES.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from monitor.settings import Settings
from tasks.cli_common import _emit, _local


def read_status(settings: Settings, now: datetime) -> dict[str, Any]:
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.db import make_engine, make_sessionmaker
    from monitor.errors import YuqingError
    from responders.broker_probe import probe_broker
    from responders.status import assemble, read_figures
    from tasks.celery_app import QUEUES, broker_url

    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            figures = read_figures(session, now)
    except SQLAlchemyError as exc:
        raise YuqingError(f"cannot read the database ({settings.database_url}): "
                          f"{str(exc).splitlines()[0][:200]}; is it up, and was "
                          "`yuqing init` run?") from exc
    finally:
        engine.dispose()
    return assemble(figures, probe_broker(broker_url(settings), QUEUES), now)


def _lag(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def print_status(status: dict[str, Any], attention: list[str], settings: Settings) -> None:
    src, items, alerts, broker = (status["sources"], status["items"], status["alerts"],
                                  status["broker"])
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(src["by_kind"].items())) or "none"
    print(f"sources   {src['total']} ({kinds}); failing {src['failing']}, "
          f"silent {src['silent']}")
    for p in src["failing_list"]:
        print(f"  FAILING ×{p['failures']}  #{p['id']} {p['name']} [{p['kind']}]  "
              f"last ok {_local(p['since'], settings)}: {p['detail'][:120]}")
    for p in src["silent_list"]:
        print(f"  SILENT   #{p['id']} {p['name']} [{p['kind']}]  since "
              f"{_local(p['since'], settings)}")
    approx = "≈" if items["estimated"] else ""
    print(f"items     {approx}{items['stored']} stored; {items['unanalysed']} waiting for "
          f"analysis, lag {_lag(items['analysis_lag_s'])}")
    queues = ", ".join(f"{q} {n}" for q, n in broker["queues"].items())
    if broker["reachable"]:
        print(f"queues    {queues}  ({broker['url']})")
    else:
        print(f"queues    broker UNREACHABLE ({broker['url']}): {broker['error']}")
    by_p = alerts["open_by_priority"]
    print(f"alerts    {alerts['open']} open (P1 {by_p['P1']}, P2 {by_p['P2']}, "
          f"P3 {by_p['P3']}); {alerts['overdue']} overdue")
    box = status["outbox"]
    print(f"outbox    {box['pending']} pending, {box['sending']} sending, "
          f"{box['failed']} failed, {box['unknown']} unknown")
    print("attention " + ("; ".join(attention) if attention else "none: all is well"))


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from responders.status import needs_attention

    status = read_status(settings, datetime.now(UTC))
    attention = needs_attention(status)
    if args.json:
        _emit({**status, "attention": attention}, settings.timezone)
    else:
        print_status(status, attention, settings)
    return 1 if attention else 0


def register(sub: Any) -> None:
    s = sub.add_parser("status", help="the service at a glance: failing and silent sources, "
                       "analysis lag, queue depths, open and overdue alerts (exit 1 when "
                       "something needs looking at)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_status)
