"""The operator view's queries never scan `items` or `alerts` (issue 15, DESIGN principle 12):
a /metrics scrape every 15 s must cost the same at a million items. On PostgreSQL, with
enough rows for the planner to care, EXPLAIN every statement `read_figures` runs."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

from responders import status as status_module
from responders.status import read_figures

pytestmark = pytest.mark.skipif(
    not os.environ.get("YUQING_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="EXPLAIN on PostgreSQL (set YUQING_TEST_DATABASE_URL)")

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
ITEMS = 120_000
ALERTS = 40_000


def _fill(session: Session) -> None:
    """One source; ITEMS items (the last 30 waiting for analysis), ALERTS alerts of which
    1 in 100 is open: a year's proportions, built in SQL at once."""
    session.execute(text(
        "INSERT INTO sources (name, url, kind, host, interval_s, allow_private, "
        "failure_count, items_seen, created_at) VALUES ('河南法治网', 'https://x.example/rss', "
        "'news', 'x.example', 600, false, 0, 0, :now)"), {"now": NOW})
    session.execute(text(
        "INSERT INTO items (source_id, entry_id, content_hash, title, text, fetched_at, "
        "analyzed_at, topics, keywords) "
        "SELECT 1, 'e' || g, md5(g::text), '司法行政舆情 ' || g, '某县法律援助中心 ' || g, "
        ":now - make_interval(mins => (:n - g)), "
        "CASE WHEN g > :n - 30 THEN NULL ELSE :now END, '[]', '[]' "
        "FROM generate_series(1, :n) AS g"), {"now": NOW, "n": ITEMS})
    session.execute(text(
        "INSERT INTO alerts (item_id, priority, state, reasons, topics, sla_rule, milestones, "
        "created_at, due_at) "
        "SELECT g, (ARRAY['P1','P2','P3'])[1 + g % 3], "
        "CASE WHEN g % 100 = 0 THEN 'new' ELSE 'responded' END, '[]', '[]', 'r', '[]', "
        ":now - make_interval(hours => g % 5000), :now - make_interval(hours => g % 50 - 25) "
        "FROM generate_series(1, :n) AS g"), {"now": NOW, "n": ALERTS})
    session.commit()
    session.execute(text("ANALYZE items"))
    session.execute(text("ANALYZE alerts"))
    session.commit()


def test_no_statement_of_the_status_scans_items_or_alerts(
        sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    with sessions() as session:
        _fill(session)
    # Above this many rows items are not counted but estimated (the default is 200,000).
    monkeypatch.setattr(status_module, "EXACT_COUNT_BELOW", ITEMS // 2)
    seen: list[tuple[str, Any]] = []
    with sessions() as session:
        engine = session.get_bind()

        def keep(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
                 many: bool) -> None:
            if statement.lstrip().upper().startswith("SELECT"):
                seen.append((statement, params))

        event.listen(engine, "before_cursor_execute", keep)
        try:
            figures = read_figures(session, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
    assert figures.unanalysed == 30 and figures.items_estimated
    assert abs(figures.items_stored - ITEMS) < ITEMS * 0.1
    assert sum(figures.open_by_priority.values()) == ALERTS // 100
    assert seen
    plans = []
    with sessions() as session:
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            for statement, params in seen:
                cursor.execute("EXPLAIN " + statement, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                plans.append(plan)
                assert "Seq Scan on items" not in plan, plan
                assert "Seq Scan on alerts" not in plan, plan
    assert any("items" in p for p in plans) and any("alerts" in p for p in plans)
