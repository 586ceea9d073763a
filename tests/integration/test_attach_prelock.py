"""The candidate index is read, and each post weighed against it, before the attach lock
(monitor.event_store.attach): what another worker writes in between is read again under the
lock (Event.changed_seq). Here the other worker's batch runs exactly in that gap — between
one batch's index read and its lock — on the test PostgreSQL database (SQLite serialises
the whole analysis at its claim, so there is no gap to test)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor import event_store
from monitor.models import Event, Item
from tests.support.analysis import analyse, source_row

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STORY = ("网友反映洛阳市某公证处办理继承公证要求提供的证明材料过多，跑了五趟还没办成，"
         "群众投诉不断。洛阳市司法局回应称已责令整改。")
OTHER = ("驻马店市西平县一名社区矫正对象擅自离开居住地三天未归，县司法局已发出警告并"
         "提请撤销缓刑，检察机关介入调查。")

_n = 0


def _item(session: Session, source_id: int, text: str, at: datetime) -> int:
    global _n
    _n += 1
    item = Item(source_id=source_id, entry_id=f"pl{_n}", content_hash=f"plh{_n}", title="",
                text=text, fetched_at=at, published_at=at, topics=[], keywords=[],
                analysis_runs=0, extra={})
    session.add(item)
    session.flush()
    return item.id


@pytest.fixture
def in_the_gap(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[], None]], None]:
    """Runs `between` once, when the next attach asks for its lock (its index is read):
    as another worker would, on a connection of its own, committed before the lock."""
    plan: list[Callable[[], None]] = []
    real = event_store._lock

    def lock(session: Session) -> None:
        if plan:
            plan.pop()()
        real(session)

    monkeypatch.setattr(event_store, "_lock", lock)
    return plan.append


def _pg(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite: the claim takes the database's write lock, no gap to test")


def test_an_event_another_worker_creates_in_the_gap_is_joined_not_duplicated(
        sessions: sessionmaker[Session], in_the_gap) -> None:
    _pg(sessions)
    with sessions() as s:
        weibo = source_row(s, "gap-weibo", "weibo", NOW)
        news = source_row(s, "gap-news", "news", NOW)
        first = _item(s, weibo, STORY, NOW)
        second = _item(s, news, "【大河报】" + STORY.replace("回应称", "表示"),
                       NOW + timedelta(minutes=5))
        s.commit()

    def other_worker() -> None:
        with sessions() as other:
            analyse(other, [first], NOW)
            other.commit()

    in_the_gap(other_worker)
    with sessions() as s:
        analyse(s, [second], NOW + timedelta(minutes=6))
        s.commit()
    with sessions() as s:
        events = s.scalars(select(Event).where(Event.kind != "merged")).all()
        # One story, one event: the second post found the event created after its index
        # was read (without the re-read it makes an event of its own).
        assert len(events) == 1
        assert events[0].item_count == 2
        assert {i.event_id for i in s.scalars(select(Item))} == {events[0].id}
        # Each batch's writes carry a later number than the one before.
        assert events[0].changed_seq >= 2


def test_an_event_merged_in_the_gap_is_not_joined(
        sessions: sessionmaker[Session], in_the_gap) -> None:
    """Two stories, then a post that another worker's bridging post merges in the gap: the
    waiting batch must not join the event that was merged away."""
    _pg(sessions)
    with sessions() as s:
        weibo = source_row(s, "gap2-weibo", "weibo", NOW)
        news = source_row(s, "gap2-news", "news", NOW)
        a = _item(s, weibo, STORY, NOW)
        b = _item(s, news, OTHER, NOW)
        s.commit()
    with sessions() as s:
        analyse(s, [a, b], NOW)
        s.commit()
        ids = {e.first_item_id: e.id for e in s.scalars(select(Event))}
        story_event, other_event = ids[a], ids[b]

    def other_worker() -> None:
        # Folds the OTHER event into STORY's by hand, as a bridging post's merge does:
        # marked merged, with the next change number.
        with sessions() as other:
            gone = other.get(Event, other_event)
            kept = other.get(Event, story_event)
            assert gone is not None and kept is not None
            seq = event_store._change_mark(other) + 1
            gone.kind, gone.merged_into, gone.changed_seq = "merged", kept.id, seq
            other.execute(Item.__table__.update().where(Item.event_id == gone.id)
                          .values(event_id=kept.id))
            kept.item_count += gone.item_count
            kept.changed_seq = seq
            other.commit()

    with sessions() as s:
        late = _item(s, news, "【续报】" + OTHER, NOW + timedelta(minutes=30))
        s.commit()
    in_the_gap(other_worker)
    with sessions() as s:
        analyse(s, [late], NOW + timedelta(minutes=31))
        s.commit()
    with sessions() as s:
        joined = s.get(Item, late)
        assert joined is not None
        assert joined.event_id != other_event  # not the merged-away event
        event = s.get(Event, joined.event_id)
        assert event is not None and event.kind != "merged"
