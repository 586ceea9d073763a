"""The candidates of a post are bounded however busy the window is (issue 12: a year of a
province's stream stored): at most EVENTS_PER_TERM events per term are read, at most
CANDIDATES_PER_POST weighed, and a post still finds its story among a flood of events that
share its common words — through the words that are its story's own. In process, against
the test database (SQLite, or PostgreSQL when YUQING_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor import event_store
from monitor.event_store import CANDIDATES_PER_POST, EVENTS_PER_TERM, _CandidateIndex, _strongest
from monitor.models import Event, EventTerm, Item
from tests.support.analysis import analyse, shipped_sla, shipped_taxonomy, source_row
from tests.support.settings import defaults

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FIRST = ("网友反映洛阳市某公证处办理继承公证要求提供的证明材料过多，跑了五趟还没办成，"
         "群众投诉不断。洛阳市司法局回应称已责令整改。")
LATER = "洛阳一公证处被指办继承公证让群众反复跑，市司法局：已责令整改"
# Words of the story that many other posts of a busy week use too.
COMMON = ["责令", "整改", "办理", "材料", "反映", "不断", "提供", "过多", "反复", "群众"]
FLOOD = 3 * EVENTS_PER_TERM


@pytest.fixture
def weighed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many candidates each judge call weighed."""
    sizes: list[int] = []
    judge = _CandidateIndex.judge

    def counting(self: _CandidateIndex, near: set[int], *args: object, **kw: object) -> list[int]:
        sizes.append(len(near))
        return judge(self, near, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(event_store._CandidateIndex, "judge", counting)
    yield sizes


def _item(session: Session, source_id: int, n: int, text: str, at: datetime) -> int:
    item = Item(source_id=source_id, entry_id=f"e{n}", content_hash=f"h{n}", title="",
                text=text, fetched_at=at, published_at=at, topics=[], keywords=[],
                analysis_runs=0, extra={})
    session.add(item)
    session.flush()
    return item.id


def _flood(session: Session, at: datetime) -> None:
    """FLOOD events seen after the story's first post, each filed under all the COMMON
    words and its own (as a busy week files them): each of those terms files more events
    than are read."""
    for k in range(FLOOD):
        own = f"别的事{k}"
        seen = at - timedelta(minutes=k)
        profile = {w: 0.3 for w in [*COMMON, own]}
        session.add(Event(item_count=1, source_ids=[], reach=0, negative_count=0,
                          scored_count=1, negative_share=0.0, topics=[], signature=[],
                          first_seen_at=seen, last_seen_at=seen, burst=False,
                          story_terms=profile, kind="event"))
        session.flush()
    for event_id, seen in session.execute(select(Event.id, Event.last_seen_at)
                                          .where(Event.first_item_id.is_(None))):
        session.add_all(EventTerm(term=w, event_id=event_id, last_seen_at=seen)
                        for w in [*COMMON, f"别的事{event_id}"])
    session.flush()


def test_a_post_finds_its_story_through_a_flood_of_events_sharing_its_common_words(
        sessions: sessionmaker[Session], weighed: list[int]) -> None:
    with sessions() as s:
        news = source_row(s, "大河网", "news", NOW)
        first = _item(s, news, 1, FIRST, NOW - timedelta(days=2))
        analyse(s, [first], NOW - timedelta(days=2), taxonomy=shipped_taxonomy(),
                sla=shipped_sla())
        s.commit()
        story = s.get(Item, first).event_id  # type: ignore[union-attr]
        _flood(s, NOW - timedelta(hours=1))
        s.commit()
        weighed.clear()
        later = _item(s, news, 2, LATER, NOW)
        analyse(s, [later], NOW, taxonomy=shipped_taxonomy(), sla=shipped_sla())
        s.commit()
        assert s.get(Item, later).event_id == story  # type: ignore[union-attr]
        # The flood was read, but only as far as the bounds: each judge call weighed at most
        # CANDIDATES_PER_POST of the events, where the flood alone is FLOOD.
        assert weighed and max(weighed) <= CANDIDATES_PER_POST
        assert max(weighed) == CANDIDATES_PER_POST  # the bound was reached: a real test


def test_the_index_reads_the_latest_events_of_a_crowded_term(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        _flood(s, NOW)
        s.commit()
        index = _CandidateIndex.load(s, NOW - timedelta(days=7), {"责令", "别的事3"},
                                     followup=NOW - timedelta(days=45))
        crowded = index.terms["责令"]
        assert len(crowded) == EVENTS_PER_TERM
        latest = s.scalars(select(Event.id).order_by(Event.last_seen_at.desc(), Event.id.desc())
                           .limit(EVENTS_PER_TERM)).all()
        assert crowded == set(latest)
        # A rare term is read whole, however old its event within the window.
        assert index.terms["别的事3"] == {3}


def test_strongest_keeps_the_candidates_closest_to_the_post() -> None:
    profiles = {1: {"a": 1.0}, 2: {"a": 0.5, "b": 0.5}, 3: {"b": 0.2, "c": 0.9}}
    index = _CandidateIndex(terms={"a": {1, 2}, "b": {2, 3}, "c": {3}}, sketches={},
                            profiles=profiles, by_external={}, kinds={}, seen={}, first={})
    vector = {"a": 0.1, "b": 0.5, "c": 0.9}  # closeness: 1 → 0.1, 2 → 0.3, 3 → 0.91
    assert _strongest(index, {1, 2, 3}, vector, limit=2) == {2, 3}
    assert _strongest(index, {1, 2, 3}, vector, limit=1) == {3}
    assert _strongest(index, {1, 2}, vector, limit=5) == {1, 2}
    # a tie goes to the newer event
    assert _strongest(index, {4, 5}, {"z": 1.0}, limit=1) == {5}


def _bare_index(terms: dict[str, set[int]]) -> _CandidateIndex:
    events = {e for members in terms.values() for e in members}
    return _CandidateIndex(terms={t: set(m) for t, m in terms.items()}, sketches={},
                           profiles={e: {} for e in events}, by_external={}, kinds={},
                           seen={e: NOW for e in events}, first={e: NOW for e in events})


def test_one_shared_lesser_term_makes_no_candidate_a_lead_term_or_two_terms_do() -> None:
    cfg = event_store.EventSettings.from_section(defaults().events)
    # The post's terms by weight: 洛阳 and 公证处 lead (LEAD_TERMS = 2), the rest are lesser.
    vector = {"洛阳": 0.9, "公证处": 0.8, "继承": 0.4, "材料": 0.3, "跑了": 0.2,
              "＠洛阳市公证处": 0.1}
    assert event_store.LEAD_TERMS == 2
    index = _bare_index({
        "洛阳": {1},                   # a lead term alone
        "继承": {2, 3}, "材料": {3},   # 2: one lesser term; 3: two
        "跑了": {4},                   # one lesser term
        "＠洛阳市公证处": {5},          # a name alone
    })
    assert index.near(vector, cfg, message=False, at=NOW) == {1, 3, 5}


def test_again_is_near_after_the_index_changes() -> None:
    """attach weighs each post twice (before the lock, then joining): the second time its
    candidates come from the first and what changed since (again). Over random indexes and
    random puts, drops and refreshes, that is the set near finds from scratch."""
    import random

    cfg = event_store.EventSettings.from_section(defaults().events)
    rng = random.Random(7)
    words = [f"词{k}" for k in range(30)] + ["＠名甲", "＠名乙"]
    for _round in range(200):
        index = _bare_index({w: set(rng.sample(range(1, 40), rng.randrange(0, 6)))
                             for w in words})
        vector = {w: rng.random() for w in rng.sample(words, 12)}
        first = index.first_near(vector, cfg, message=False, at=NOW)
        for _change in range(rng.randrange(1, 6)):
            e = rng.randrange(1, 50)
            if rng.random() < 0.25:
                index.drop(e)
            else:  # put or refresh: filed under more terms, as the event now stands
                index.touched.add(e)
                index.profiles.setdefault(e, {})
                index.seen[e] = NOW
                for w in rng.sample(words, 3):
                    index.terms.setdefault(w, set()).add(e)
                    index.fresh.setdefault(w, set()).add(e)
        assert index.again(first, vector, cfg, message=False, at=NOW) == \
            index.near(vector, cfg, message=False, at=NOW)
