"""Events and burst counters stay right when several worker processes analyse at once and
batches are delivered more than once (issue 12, "Speed"): real worker processes on the real
broker and the test database (SQLite, or PostgreSQL when YUQING_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from monitor.event_store import seen_at
from monitor.models import BurstCount, Event, Item
from monitor.sources import SourceSpec, upsert_source
from responders.models import Alert
from tests.integration.conftest import wait_until
from tests.support.feeds import SAMPLE_POSTS


def test_overlapping_redelivered_batches_on_two_workers_count_each_item_once(
        sessions, app, start_worker):
    now = datetime.now(UTC)
    n = 160
    with sessions() as s:
        src, _ = upsert_source(s, SourceSpec(name="并发源", url="https://example.cn/feed",
                                             interval_s=600), now)
        for i in range(n):
            title, body = SAMPLE_POSTS[i % len(SAMPLE_POSTS)]
            at = now - timedelta(minutes=7 * i)  # spread over many hours
            s.add(Item(source_id=src.id, entry_id=f"c{i}", content_hash=f"hash{i}",
                       title=title, text=f"{body}（{i}）", fetched_at=now, published_at=at,
                       topics=[], keywords=[], analysis_runs=0, extra={}))
        s.commit()
        ids = list(s.scalars(select(Item.id).order_by(Item.id)))
    # Two worker processes, two children each: four analysers at once.
    start_worker("--concurrency", "2", name="a")
    start_worker("--concurrency", "2", name="b")
    rng = random.Random(3)
    batches = [ids[k : k + 20] for k in range(0, n, 20)]
    # Every batch three times over (a redelivery, a sweep of orphans …), plus batches that
    # overlap two of them, all in a shuffled order so copies run side by side.
    sends = batches * 3 + [ids[k : k + 30] for k in range(10, n - 30, 25)]
    rng.shuffle(sends)
    for chunk in sends:
        app.send_task("monitor.analyze_items", args=[chunk], queue="analyze")
    def done() -> bool:
        with sessions() as s:
            return (s.scalar(select(func.count()).select_from(Item)
                             .where(Item.analyzed_at.is_(None))) or 0) == 0
    wait_until(done, 240, "every item analysed")
    with sessions() as s:
        items = s.scalars(select(Item)).all()
        assert {i.analysis_runs for i in items} == {1}
        events = {e.id: e for e in s.scalars(select(Event))}
        live = {eid: e for eid, e in events.items() if e.kind != "merged"}
        # Every item is in exactly one live event, and the events' counts add up to it.
        assert all(i.event_id in live for i in items)
        members = Counter(i.event_id for i in items)
        assert {eid: e.item_count for eid, e in live.items()} == dict(members)
        assert sum(e.item_count for e in live.values()) == n
        # Near-duplicates of one sample text are one story: no story split in two by
        # workers attaching at the same moment.
        by_sample = {k: {i.event_id for i in items if i.entry_id in
                         {f"c{j}" for j in range(k, n, len(SAMPLE_POSTS))}}
                     for k in range(len(SAMPLE_POSTS))}
        assert all(len(v) == 1 for v in by_sample.values()), by_sample
        # The burst counters: each event's hours hold its items, once each, by the hour
        # they were out; each topic's hours hold the items of that topic.
        rows = s.scalars(select(BurstCount)).all()
        per_event: Counter[tuple[int, datetime]] = Counter()
        per_topic: Counter[tuple[str, datetime]] = Counter()
        for item in items:
            hour = seen_at(item).replace(minute=0, second=0, microsecond=0)
            per_event[(item.event_id, hour)] += 1
            for topic in set(item.topics):
                per_topic[(topic, hour)] += 1
        assert {(int(r.key), r.hour): r.count for r in rows if r.scope == "event"} == \
            dict(per_event)
        assert {(r.key, r.hour): r.count for r in rows if r.scope == "topic"} == \
            dict(per_topic)
        assert per_topic  # the samples do name topics
        # One alert per event at most, each on its event's first item.
        alerts = s.scalars(select(Alert)).all()
        firsts = {e.first_item_id for e in live.values()}
        assert len({a.item_id for a in alerts}) == len(alerts) > 0
        assert all(a.item_id in firsts for a in alerts)
