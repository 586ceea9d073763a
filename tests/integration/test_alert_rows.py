"""The lists' lean reads (issue 15): `alert_rows` returns the page `query_alerts` does, in the
same order and cut, and `GET /api/v1/alerts`' rows are the same JSON the single-alert view
builds from the loaded alert — on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item, Source
from responders.models import Alert, User
from responders.queue import (
    TEXT_HEAD,
    QueueCursor,
    QueueFilter,
    alert_rows,
    query_alerts,
    source_choices,
)
from responders.web.api import alert_json, alert_row_json

NOW = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)
LONG = "网友反映某县司法局社区矫正工作流于形式，相关部门应当尽快回应并依法处理，" * 3


def _fill(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        user = User(name="wang", display_name="王", role="officer", password_hash="x",
                    created_at=NOW)
        weibo = Source(name="微博搜索", url="https://m.weibo.cn/api/x", kind="weibo",
                       host="m.weibo.cn", interval_s=300, created_at=NOW)
        news = Source(name="河南法治网", url="https://www.hnfzw.example/rss", kind="news",
                      host="www.hnfzw.example", interval_s=600, created_at=NOW)
        session.add_all([user, weibo, news])
        session.flush()
        for i in range(12):
            item = Item(source_id=(weibo if i % 2 else news).id, entry_id=f"e{i}",
                        content_hash=f"h{i}", title="" if i % 3 == 0 else f"标题{i}",
                        text=LONG, link=None if i % 4 == 0 else f"https://x.example/{i}",
                        published_at=None if i % 5 == 0 else NOW - timedelta(hours=i + 1),
                        fetched_at=NOW - timedelta(hours=i),
                        sentiment_score=None if i == 7 else 0.1 * (i % 10),
                        sentiment_label=None if i == 7 else "negative", topics=["prison"])
            session.add(item)
            session.flush()
            session.add(Alert(
                item_id=item.id, priority=("P1", "P2", "P3")[i % 3],
                state=("new", "assigned", "responded", "escalated")[i % 4],
                reasons=["负面情绪集中", f"理由{i}"], topics=["prison", "legal_aid"][: 1 + i % 2],
                sla_rule="default",
                milestones=[{"name": "首次回应", "at": (NOW + timedelta(hours=i)).isoformat()}],
                created_at=NOW - timedelta(hours=i), due_at=NOW + timedelta(hours=12 - i),
                clock_from=None if i % 2 else NOW - timedelta(hours=i + 2),
                story_published_at=None if i % 3 else NOW - timedelta(hours=i + 3),
                backfill=i == 5, assignee_id=user.id if i % 4 == 1 else None))
        session.commit()


@pytest.mark.parametrize("f", [
    QueueFilter(), QueueFilter(state="all"), QueueFilter(state="all", sort="due"),
    QueueFilter(state="all", sort="newest"), QueueFilter(state="all", source_id=2),
    QueueFilter(state="all", sentiment="negative"), QueueFilter(topic="legal_aid"),
    QueueFilter(state="all", assignee="wang"), QueueFilter(state="all", assignee="none"),
], ids=["open", "all", "due", "newest", "source", "sentiment", "topic", "assignee",
        "unassigned"])
def test_rows_are_the_orm_page(sessions: sessionmaker[Session], f: QueueFilter) -> None:
    _fill(sessions)
    with sessions() as session:
        for limit, offset in ((50, 0), (3, 0), (3, 2)):
            orm = query_alerts(session, f, limit=limit, offset=offset)
            rows = alert_rows(session, f, limit=limit, offset=offset)
            assert [r.id for r in rows] == [a.id for a in orm]
            assert rows, "the filter should match something in the fixture"
            for row, alert in zip(rows, orm, strict=True):
                assert row.title == alert.item.title
                assert row.text_head == alert.item.text[:TEXT_HEAD]
                assert row.source_name == alert.item.source.name
                assert row.event_id == alert.item.event_id


def test_keyset_pages_alike(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    f = QueueFilter(state="all")
    with sessions() as session:
        first = alert_rows(session, f, limit=5)
        after = QueueCursor.of(first[-1])
        assert after == QueueCursor.of(query_alerts(session, f, limit=5)[-1])
        rest = alert_rows(session, f, limit=50, after=after)
        assert [r.id for r in rest] == [a.id for a in query_alerts(session, f, limit=50,
                                                                    after=after)]
        assert [r.id for r in first + rest] == [a.id for a in query_alerts(session, f)]


def test_api_rows_are_the_alert_json(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    f = QueueFilter(state="all")
    with sessions() as session:
        orm = query_alerts(session, f)
        rows = alert_rows(session, f)
        assert len(rows) == 12
        for row, alert in zip(rows, orm, strict=True):
            assert alert_row_json(row, "wang") == alert_json(alert, "wang")


def test_source_choices_by_name(sessions: sessionmaker[Session]) -> None:
    _fill(sessions)
    with sessions() as session:
        got: list[Any] = [(c.id, c.name) for c in source_choices(session)]
        # the database's own order of names (its collation), as the ORM read had it
        want = [(s.id, s.name) for s in session.scalars(select(Source).order_by(Source.name))]
    assert got == want and len(got) == 2
