"""Hourly burst counters (monitor.counters) in the test database (SQLite, or PostgreSQL when
YUQING_TEST_DATABASE_URL is set): upserts that add, merges that move, one read for a batch,
and — through the analysis — nothing counted twice when a batch is redelivered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor import counters
from monitor.models import BurstCount, Event, Item
from tests.support.analysis import analyse, source_row

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _rows(session: Session) -> dict[tuple[str, str, datetime], int]:
    return {(r.scope, r.key, r.hour): r.count for r in session.scalars(select(BurstCount))}


def test_counts_add_up_per_hour_and_scope(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        counters.add_event_items(s, [(7, NOW + timedelta(minutes=5)),
                                     (7, NOW + timedelta(minutes=59)),
                                     (7, NOW - timedelta(minutes=1)), (8, NOW)])
        counters.add_topic_items(s, [(["notary", "notary", "legal_aid"], NOW),
                                     ([], NOW), (["notary"], NOW + timedelta(minutes=30))])
        # A second batch into the same hours adds to them (ON CONFLICT … count + excluded).
        counters.add_event_items(s, [(7, NOW + timedelta(minutes=10))])
        s.commit()
        hour, before = NOW, NOW - timedelta(hours=1)
        assert _rows(s) == {
            ("event", "7", hour): 3, ("event", "7", before): 1, ("event", "8", hour): 1,
            # a topic named twice by one item counts the item once
            ("topic", "notary", hour): 2, ("topic", "legal_aid", hour): 1,
        }


def test_hours_are_utc_whatever_zone_the_time_comes_in(sessions: sessionmaker[Session]) -> None:
    from zoneinfo import ZoneInfo

    with sessions() as s:
        shanghai = NOW.astimezone(ZoneInfo("Asia/Shanghai")) + timedelta(minutes=3)
        counters.add_event_items(s, [(1, shanghai), (1, NOW + timedelta(minutes=4))])
        s.flush()
        assert _rows(s) == {("event", "1", NOW): 2}


def test_merge_moves_the_gone_events_hours_into_the_kept_one(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        counters.add_event_items(s, [(1, NOW), (1, NOW - timedelta(hours=2)),
                                     (2, NOW), (2, NOW - timedelta(hours=5)), (3, NOW)])
        counters.merge_events(s, 1, 2)
        s.flush()
        assert _rows(s) == {
            ("event", "1", NOW): 2, ("event", "1", NOW - timedelta(hours=2)): 1,
            ("event", "1", NOW - timedelta(hours=5)): 1, ("event", "3", NOW): 1}


def test_reader_loads_the_asked_keys_since_a_time_in_one_go(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        counters.add_event_items(s, [(1, NOW), (1, NOW - timedelta(hours=30)), (2, NOW)])
        counters.add_topic_items(s, [(["notary"], NOW), (["prison"], NOW)])
        s.flush()
        reader = counters.BurstReader.load(s, events=[1, 99], topics=["notary"],
                                           since=NOW - timedelta(hours=24, minutes=30))
        assert reader.event(1) == {NOW: 1}  # the hour 30 h ago is before `since`
        assert reader.event(99) == {}
        assert reader.event(2) == {}  # not asked for
        assert reader.topic("notary") == {NOW: 1}
        assert reader.topic("prison") == {}


def test_analysis_counts_each_item_once_even_when_the_batch_comes_again(
        sessions: sessionmaker[Session]) -> None:
    """The counters follow the analysis claim: a redelivered batch claims nothing and counts
    nothing; the event's hours add up to its items, the topic's to its items."""
    story = ("网友反映洛阳市某公证处办理继承公证要求提供的证明材料过多，跑了五趟还没办成，"
             "群众投诉不断。")
    with sessions() as s:
        src = source_row(s, "weibo", "weibo", NOW)
        ids = []
        for n in range(6):
            at = NOW - timedelta(minutes=20 * n)
            item = Item(source_id=src, entry_id=f"e{n}", content_hash=f"h{n}", title="",
                        text=story + "！" * n, fetched_at=at, published_at=at, topics=[],
                        keywords=[], analysis_runs=0, extra={})
            s.add(item)
            s.flush()
            ids.append(item.id)
        analyse(s, ids[:4], NOW)
        analyse(s, ids, NOW)       # 2 new, 4 redelivered
        analyse(s, ids[2:], NOW)   # all redelivered
        s.commit()
        [event] = s.scalars(select(Event)).all()
        assert event.item_count == 6
        rows = _rows(s)
        assert sum(n for (scope, key, _h), n in rows.items()
                   if scope == "event" and key == str(event.id)) == 6
        # 12:00, 11:40, 11:20, 11:00 | 10:40, 10:20
        assert rows[("event", str(event.id), NOW)] == 1
        assert rows[("event", str(event.id), NOW - timedelta(hours=1))] == 3
        assert rows[("event", str(event.id), NOW - timedelta(hours=2))] == 2
        assert rows[("topic", "notary", NOW - timedelta(hours=1))] == 3
        assert s.scalar(select(func.sum(Item.analysis_runs))) == 6
