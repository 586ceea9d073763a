"""The analysis as the worker runs it, for in-process tests of events and alerts: the shipped
taxonomy, SLA and settings, one call that analyses a batch and opens its alerts, and a
source row. The sentiment engine is the caller's (a stand-in by default: these tests are
about grouping and alerts, not about scoring)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from monitor.analyze import analyze_items
from monitor.event_store import EventSettings
from monitor.flagging import FlagPolicy
from monitor.models import Source
from monitor.sentiment.base import Scorer
from monitor.topics import Taxonomy
from responders.alerts import open_alerts
from responders.sla import SLA
from tests.support.scorers import AlwaysNegative
from tests.support.settings import defaults, own_voice

CONFIG = Path(__file__).resolve().parents[2] / "config"


@cache
def shipped_taxonomy() -> Taxonomy:
    return Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")


@cache
def shipped_sla() -> SLA:
    return SLA.from_file(CONFIG / "sla.yaml")


def source_row(session: Session, name: str, kind: str, now: datetime) -> int:
    """A polled source of `kind` named `name` (its URL and host derived from the name)."""
    src = Source(name=name, url=f"https://example.cn/{name}", kind=kind, host="example.cn",
                 interval_s=600, created_at=now, failure_count=0, items_seen=0)
    session.add(src)
    session.flush()
    return src.id


def analyse(session: Session, ids: Sequence[int], now: datetime, *,
            taxonomy: Taxonomy | None = None, sla: SLA | None = None,
            scorer: Scorer | None = None) -> list[int]:
    """analyze_items then open_alerts on `ids`, as tasks.jobs does (without the commit):
    the ids of alerts created or escalated."""
    analyses = analyze_items(session, list(ids), scorer=scorer or AlwaysNegative(),
                             taxonomy=taxonomy or shipped_taxonomy(),
                             policy=FlagPolicy.from_section(defaults().flagging), now=now,
                             events=EventSettings.from_section(defaults().events),
                             own=own_voice())
    return open_alerts(session, analyses, sla or shipped_sla(), now)
