"""The digest's items are counted by the database (issue 15: `load_week` groups two weeks'
items by local day, source kind, topics and label in SQL). The figures, the text and the HTML
must be those of counting every item in Python, as the digest did before — checked here on a
fixture of both weeks' edges, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item, Source
from responders.digest import (
    Digest,
    IsoWeek,
    ItemGroup,
    build_digest,
    load_week,
    preview_html,
    render_text,
)
from responders.tone import tone_sql

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
WEEK = IsoWeek(2026, 47)          # Monday 16 November 2026
TOPICS = [[], ["prison"], ["prison", "legal_aid"], ["legal_aid"], ["社区矫正"], ["lawyer"]]
LABELS = ["negative", "neutral", "positive", None]


def _fill(sessions: sessionmaker[Session]) -> int:
    start, end = WEEK.bounds(TZ)
    pstart, _ = WEEK.previous().bounds(TZ)
    with sessions() as session:
        kinds = ["weibo", "news", "government", "board"]
        srcs = [Source(name=f"源{k}", url=f"https://{k}.example/feed", kind=k,
                       host=f"{k}.example", interval_s=600, created_at=pstart)
                for k in kinds]
        session.add_all(srcs)
        session.flush()
        # every 37 minutes across the two weeks, and a day either side (left out), plus the
        # edges: local midnights, the last microsecond of a day, the weeks' ends
        times = [pstart - timedelta(days=1) + timedelta(minutes=37 * n)
                 for n in range(int(16 * 24 * 60 / 37))]
        times += [pstart, start, start - timedelta(microseconds=1), end - timedelta(seconds=1),
                  end, pstart - timedelta(microseconds=1),
                  datetime(2026, 11, 18, 0, 0, tzinfo=SH),
                  datetime(2026, 11, 18, 0, 0, tzinfo=SH) - timedelta(microseconds=1)]
        for n, at in enumerate(times):
            label = LABELS[n % 4]
            scored = label is not None and n % 7 != 0
            probs = n % 3 == 0 and scored
            session.add(Item(
                source_id=srcs[(n // 3) % 4].id, entry_id=f"e{n}", content_hash=f"h{n}",
                title=f"标题{n}", text="正文", fetched_at=at,
                published_at=at - timedelta(days=n % 9),   # not the digest's clock
                sentiment_label=label,
                sentiment_score=(n % 10) / 10 + 0.05 if scored else None,
                sentiment_p_negative=0.6 if probs else None,
                sentiment_p_positive=0.25 if probs else None,
                topics=TOPICS[n % len(TOPICS)]))
        session.commit()
        return len(times)


def _python_counted(session: Session) -> list[ItemGroup]:
    """The digest's old read, kept as the reference: every item of the two weeks as a row,
    counted one by one in Python."""
    start, end = WEEK.bounds(TZ)
    pstart, _ = WEEK.previous().bounds(TZ)
    rows = session.execute(
        select(Item.fetched_at, Source.kind, Item.topics, Item.sentiment_label, tone_sql())
        .join(Source, Source.id == Item.source_id)
        .where(Item.fetched_at >= pstart, Item.fetched_at < end))
    return [ItemGroup.one(at, kind, tuple(topics or ()), label, score)
            for at, kind, topics, label, score in rows]


def _same(a: Digest, b: Digest) -> None:
    assert a.daily_mean == pytest.approx(b.daily_mean)
    assert replace(a, daily_mean=[]) == replace(b, daily_mean=[])


def test_sql_counts_are_the_python_counts(sessions: sessionmaker[Session]) -> None:
    n_items = _fill(sessions)
    names = {"prison": "监狱管理", "legal_aid": "法律援助"}
    with sessions() as session:
        data = load_week(session, WEEK, TZ)
        reference = replace(data, items=_python_counted(session))
    assert len(data.items) < len(reference.items) / 2       # counted as groups
    assert sum(g.count for g in data.items) == len(reference.items) < n_items
    for now in (None, datetime(2026, 11, 19, 10, 0, tzinfo=SH)):   # a week still running
        sql = build_digest(data, WEEK, tz=TZ, topic_names=names, now=now)
        python = build_digest(reference, WEEK, tz=TZ, topic_names=names, now=now)
        _same(sql, python)
        assert sql.total > 0 and sql.previous_total > 0 and sql.negative_topics
        assert render_text(sql) == render_text(python)
        assert preview_html(sql) == preview_html(python)
