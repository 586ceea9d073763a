"""The hot reads use an index (issue 15): on PostgreSQL, with tables filled the way a year
of monitoring fills them (bench/reads.py's COPY build, 40,000 items, 6,000 alerts) and
ANALYZEd, EXPLAIN of each hot query must not show a sequential scan of `items` or `alerts`.
SQLite has no planner statistics worth the name: the test is PostgreSQL's."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.db import make_engine, make_sessionmaker
from monitor.models import Item
from responders.queue import (
    QueueCursor,
    QueueFilter,
    alert_rows,
    count_alerts,
    query_alerts,
    source_choices,
)
from responders.schema import migrate

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_reads", ROOT / "bench" / "reads.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def filled(db_url: str) -> Any:
    if not db_url.startswith("postgresql"):
        pytest.skip("plans are PostgreSQL's: set YUQING_TEST_DATABASE_URL (SQLite keeps no "
                    "statistics for its planner to weigh)")
    engine = make_engine(db_url)
    migrate(engine)
    _bench().build(db_url, 40_000, NOW)
    yield make_sessionmaker(engine)
    engine.dispose()


def _captured(session: Session, call: Any) -> list[tuple[str, Any]]:
    """Every SELECT `call` runs, with its parameters, through the connection's events."""
    from sqlalchemy import event

    got: list[tuple[str, Any]] = []
    conn = session.connection()

    def before(_conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any,
               _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            got.append((statement, params))

    event.listen(conn, "before_cursor_execute", before)
    try:
        call()
    finally:
        event.remove(conn, "before_cursor_execute", before)
    return got


def _explain_all(session: Session, call: Any) -> list[str]:
    plans = []
    raw = session.connection().connection.driver_connection
    assert raw is not None
    for statement, params in _captured(session, call):
        with raw.cursor() as cur:
            cur.execute("EXPLAIN " + statement, params)
            plans.append("\n".join(r[0] for r in cur.fetchall()))
    return plans


def _no_seq_scan(plans: list[str]) -> None:
    assert plans, "nothing was queried"
    for plan in plans:
        assert "Seq Scan on items" not in plan, plan
        assert "Seq Scan on alerts" not in plan, plan


@pytest.mark.parametrize("f", [
    QueueFilter(),                                   # the open queue (partial index)
    QueueFilter(state="all"),
    QueueFilter(state="responded"),
    QueueFilter(priority="P1", state="all"),
], ids=["open", "all", "one-state", "priority"])
def test_queue_pages_use_an_index(filled: Any, f: QueueFilter) -> None:
    with filled() as session:
        first = query_alerts(session, f, limit=50)
        assert len(first) == 50
        after = QueueCursor.of(first[-1])
        _no_seq_scan(_explain_all(session, lambda: query_alerts(session, f, limit=50,
                                                                after=after)))
        # The next page starts where the first ended, in the same order.
        second = query_alerts(session, f, limit=50, after=after)
        assert second and (second[0].priority, second[0].due_at, second[0].id) > (
            first[-1].priority, first[-1].due_at, first[-1].id)
        assert not {a.id for a in first} & {a.id for a in second}


@pytest.mark.parametrize("f", [
    QueueFilter(), QueueFilter(state="all"), QueueFilter(state="responded"),
    QueueFilter(priority="P1", state="all"), QueueFilter(state="all", sort="newest"),
], ids=["open", "all", "one-state", "priority", "newest"])
def test_list_rows_use_an_index(filled: Any, f: QueueFilter) -> None:
    # The queue page's and the API's lean read (alert_rows): the alerts' index, the items'
    # and sources' primary keys, for the first page and the one after it.
    with filled() as session:
        first = alert_rows(session, f, limit=50)
        assert [r.id for r in first] == [a.id for a in query_alerts(session, f, limit=50)]
        after = QueueCursor.of(first[-1]) if f.sort == "priority" else None
        _no_seq_scan(_explain_all(session, lambda: alert_rows(session, f, limit=50)))
        _no_seq_scan(_explain_all(session, lambda: alert_rows(session, f, limit=50,
                                                              after=after)))
        assert len(source_choices(session)) == 20


def test_the_open_count_uses_an_index(filled: Any) -> None:
    with filled() as session:
        _no_seq_scan(_explain_all(session, lambda: count_alerts(session, QueueFilter())))
        assert count_alerts(session, QueueFilter()) == 300  # 5 % of 6,000 are open


def test_daily_chart_digest_and_report_read_along_indexes(filled: Any, settings: Any) -> None:
    from responders.digest import IsoWeek, load_week
    from responders.outputs import log_counts, output_log
    from responders.queue import PastDays, daily_series
    from responders.reports import load_period, month_period

    with filled() as session:
        _no_seq_scan(_explain_all(session, lambda: daily_series(session, NOW)))
        # the desk's memo: the past days once, then today's bucket alone
        past = PastDays()
        _no_seq_scan(_explain_all(session, lambda: daily_series(session, NOW, past=past)))
        _no_seq_scan(_explain_all(session, lambda: daily_series(session, NOW, past=past)))
        _no_seq_scan(_explain_all(session, lambda: load_week(
            session, IsoWeek(2026, 47), "Asia/Shanghai")))
        _no_seq_scan(_explain_all(session, lambda: load_period(
            session, month_period("2026-11"), "Asia/Shanghai")))
        plans = _explain_all(session, lambda: output_log(session, limit=100))
        plans += _explain_all(session, lambda: log_counts(session, year=2026))
        for plan in plans:
            assert "Seq Scan on alerts" not in plan and "Seq Scan on items" not in plan, plan
        # The chart's figures are the items' own: every item of the last 14 days counted.
        series = daily_series(session, NOW)
        start = datetime(2026, 11, 18, 16, 0, tzinfo=UTC)   # 11-19 00:00 in Shanghai
        expected = session.scalar(select(func.count(Item.id)).where(
            Item.fetched_at >= start,
            func.coalesce(Item.published_at, Item.fetched_at) >= start))
        assert expected and sum(sum(v) for v in series.by_label.values()) == expected
