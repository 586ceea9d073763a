"""The clock of issue 12, through the database: analyze_items + open_alerts give an alert
deadlines from the story's earliest publication (not from first sight), ignore a publication
"in the future", mark a story found days late as 回溯 without an emergency clock, and the
alert page and the API show both times. SQLite, or PostgreSQL with YUQING_TEST_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.analyze import analyze_items
from monitor.event_store import EventSettings
from monitor.flagging import FlagPolicy
from monitor.models import Item, Source
from monitor.sentiment.base import Sentiment
from monitor.topics import Taxonomy
from responders.alerts import open_alerts
from responders.models import Alert
from responders.sla import SLA
from tests.integration.test_desk_api import Desk, alert_id, desk, login  # noqa: F401
from tests.support.analysis import analyse, source_row
from tests.support.scorers import AlwaysNegative

SEEN = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # first sight, 12:00 in Shanghai
# A severe term (被打) on a topic (戒毒) with negative sentiment: P1, the emergency clock.
STORY = "网传某戒毒所学员被打致死，家属多次投诉无人理会，戒毒所至今没有说法。"


_n = 0


def _item(session: Session, name: str, text: str, published: datetime | None, *,
          fetched: datetime = SEEN, **extra: object) -> int:
    global _n
    _n += 1
    src = Source(name=f"{name}{_n}", url=f"https://example.cn/{name}{_n}", kind="news",
                 host="example.cn", interval_s=600, created_at=SEEN, failure_count=0,
                 items_seen=0)
    session.add(src)
    session.flush()
    item = Item(source_id=src.id, entry_id=f"c{_n}", content_hash=f"c{_n}", title="",
                text=text, fetched_at=fetched, published_at=published, topics=[], keywords=[],
                analysis_runs=0, extra={}, **extra)
    session.add(item)
    session.flush()
    return item.id


def _alerts(session: Session, ids: list[int], taxonomy: Taxonomy, sla: SLA,
            now: datetime = SEEN) -> list[Alert]:
    opened = analyse(session, ids, now, taxonomy=taxonomy, sla=sla)
    session.commit()
    return [session.get_one(Alert, a) for a in opened]


def test_a_p1_story_runs_from_its_earliest_publication(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    with sessions() as s:
        # Two outlets with one story, seen together: the other outlet had it an hour earlier.
        first = _item(s, "a", STORY, SEEN - timedelta(hours=1))
        _item(s, "b", STORY + "记者正在核实。", SEEN - timedelta(hours=2))
        [alert] = _alerts(s, [first, first + 1], taxonomy, sla)
        published = SEEN - timedelta(hours=2)
        assert alert.priority == "P1" and alert.sla_rule == "major_emergency"
        assert alert.clock_from == published and alert.story_published_at == published
        assert alert.created_at == SEEN and not alert.backfill
        assert alert.due_at == published + timedelta(hours=5)  # 3 h left at first sight
        assert [m["due_at"] for m in alert.milestones] == [
            (published + timedelta(hours=h)).isoformat() for h in (5, 24)]
        assert not any(r.startswith("回溯") for r in alert.reasons)


@pytest.mark.parametrize("published", [None, SEEN + timedelta(hours=3)],
                         ids=["unknown", "in-the-future"])
def test_without_a_usable_publication_time_the_clock_starts_at_first_sight(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA,
        published: datetime | None) -> None:
    with sessions() as s:
        [alert] = _alerts(s, [_item(s, "c", STORY, published)], taxonomy, sla)
        assert alert.clock_from == SEEN and alert.story_published_at is None
        assert alert.due_at == SEEN + timedelta(hours=5) and not alert.backfill


def test_a_story_found_80_hours_late_is_backfill_without_an_emergency_clock(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    with sessions() as s:
        published = SEEN - timedelta(hours=80)
        [alert] = _alerts(s, [_item(s, "d", STORY, published)], taxonomy, sla)
        # Still queued at its priority, marked 回溯 with the reason in words …
        assert alert.priority == "P1" and alert.state == "new" and alert.backfill
        assert any(r.startswith("回溯：发布于 2026-11-17 04:00") for r in alert.reasons)
        assert alert.story_published_at == published and alert.created_at == SEEN
        # … on the ordinary 48-hour response from first sight: no 5 h / 24 h milestones.
        assert alert.sla_rule == "government_affairs" and alert.clock_from == SEEN
        assert alert.due_at == SEEN + timedelta(hours=48)
        assert [m["key"] for m in alert.milestones] == ["response"]
        assert s.scalar(select(Alert.backfill).where(Alert.id == alert.id)) is True


def test_an_analysis_backlog_does_not_make_a_live_story_backfill(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """First sight is the fetch, not the alert: a story fetched an hour after it appeared and
    analysed 100 hours later (workers were down) keeps its emergency clock — overdue, shown
    as such — rather than passing for a late find."""
    with sessions() as s:
        published = SEEN - timedelta(hours=1)
        item = _item(s, "e", STORY, published)
        [alert] = _alerts(s, [item], taxonomy, sla, now=SEEN + timedelta(hours=100))
        assert not alert.backfill and alert.clock_from == published
        assert alert.sla_rule != "government_affairs"
        assert alert.due_at == published + timedelta(hours=5)


def test_a_backfill_story_that_grows_now_is_escalated_onto_the_live_clock(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    complaint = "网友投诉某律师事务所乱收费，律师费远超合同约定，投诉到司法局也不作为。"
    with sessions() as s:
        first = _item(s, "e", complaint, SEEN - timedelta(hours=100), external_id="W9")
        [old] = _alerts(s, [first], taxonomy, sla)
        assert old.backfill and old.priority in ("P2", "P3")
        start = old.priority
        # A day later the post is reposted with a reach past events.bursts.reach_escalate.
        later = SEEN + timedelta(days=1)
        repost = _item(s, "f", "转发：" + complaint, later, fetched=later, repost_of="W9",
                       reposts=20_000)
        [grown] = _alerts(s, [repost], taxonomy, sla, now=later)
        assert grown.id == old.id
        assert ("P1", "P2", "P3").index(grown.priority) == ("P1", "P2", "P3").index(start) - 1
        # Live news again: the stricter rule from now, no longer shown as 回溯.
        assert not grown.backfill
        assert grown.sla_rule == sla.deadline(grown.priority, later).rule
        assert grown.due_at == sla.deadline(grown.priority, later).due_at


def test_a_backfill_story_grown_by_more_late_finds_stays_backfill(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """An archive polled in several batches: the story's later posts were published days
    before they were found too, so its growth is not live news and brings no 5-hour clock."""
    complaint = "网友投诉某律师事务所乱收费，律师费远超合同约定，投诉到司法局也不作为。"
    with sessions() as s:
        first = _item(s, "g", complaint, SEEN - timedelta(hours=100), external_id="W10")
        [old] = _alerts(s, [first], taxonomy, sla)
        assert old.backfill
        start = old.priority
        later = SEEN + timedelta(hours=1)
        repost = _item(s, "h", "转发：" + complaint, SEEN - timedelta(hours=99), fetched=later,
                       repost_of="W10", reposts=20_000)
        [grown] = _alerts(s, [repost], taxonomy, sla, now=later)
        assert grown.id == old.id
        assert ("P1", "P2", "P3").index(grown.priority) == ("P1", "P2", "P3").index(start) - 1
        assert grown.backfill
        assert grown.sla_rule == sla.deadline(grown.priority, later, backfill=True).rule
        assert grown.due_at == old.due_at  # never later than promised, and no emergency clock


def test_the_alert_page_and_api_show_publication_and_first_sight(desk: Desk) -> None:  # noqa: F811
    a = alert_id(desk, "P1")
    with desk.sessions() as s:
        alert = s.get_one(Alert, a)
        alert.story_published_at = alert.clock_from = alert.created_at - timedelta(hours=2)
        s.commit()
    login(desk.client, "wang")
    page = desk.client.get(f"/alerts/{a}").text
    # NOW of the desk's seed is 2024-05-06 09:00 UTC, 17:00 in Shanghai.
    assert '<span id="alert-published">2024-05-06 15:00</span>' in page
    # First sight is the post's fetch (an hour before the seeded alert was raised).
    assert '<span id="alert-first-seen">2024-05-06 16:00</span>' in page
    assert "发布时间" in page and "首次发现" in page and 'id="alert-backfill"' not in page
    body = desk.client.get(f"/api/v1/alerts/{a}", headers=desk.bearer("wang")).json()
    assert body["story_published_at"] == "2024-05-06T07:00:00+00:00"
    assert body["clock_from"] == body["story_published_at"]
    assert body["created_at"] == "2024-05-06T09:00:00+00:00" and body["backfill"] is False

    with desk.sessions() as s:
        s.get_one(Alert, a).backfill = True
        s.commit()
    page = desk.client.get(f"/alerts/{a}").text
    assert 'id="alert-backfill"' in page and ">回溯</span>" in page
    # An alert from before issue 12 (no clock_from) reads as counted from first sight.
    other = alert_id(desk, "P2")
    body = desk.client.get(f"/api/v1/alerts/{other}", headers=desk.bearer("wang")).json()
    assert body["clock_from"] == body["created_at"] and body["story_published_at"] is None


class _Neutral:
    """Every text reads as neutral: a calm first report raises nothing by its words."""

    name = "stub-neutral"

    def score(self, text: str | None) -> Sentiment | None:
        return Sentiment(0.6, "neutral")

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        return [self.score(t) for t in texts]


def test_a_story_whose_first_post_raised_nothing_runs_from_that_post(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """The story's first post came in an earlier batch and raised no alert; the post that
    does, hours later, joins its event. The deadlines run from the story's first
    publication, not from the later post's."""
    calm = "某戒毒所学员家属称已多日未能探视，戒毒所工作人员表示正在了解情况。"
    with sessions() as s:
        first_pub = SEEN - timedelta(hours=3)
        first = _item(s, "calm", calm, first_pub, fetched=SEEN - timedelta(hours=2, minutes=50),
                      external_id="W-calm")
        assert analyse(s, [first], SEEN - timedelta(hours=2), taxonomy=taxonomy, sla=sla,
                       scorer=_Neutral()) == []
        s.commit()
        later = _item(s, "loud", "转发：" + STORY, SEEN - timedelta(hours=1),
                      repost_of="W-calm")
        [alert] = _alerts(s, [later], taxonomy, sla)
        assert s.get_one(Item, later).event_id == s.get_one(Item, first).event_id
        assert alert.priority == "P1" and not alert.backfill
        assert alert.story_published_at == first_pub and alert.clock_from == first_pub
        assert alert.due_at == first_pub + timedelta(hours=5)


def test_the_offices_own_earlier_post_does_not_start_the_clock(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """An own release in the story's event, published before the citizen's post, is the
    answer, not the story's start: the clock runs from the first post that is not own."""
    with sessions() as s:
        own_src = source_row(s, "河南省司法厅门户网站", "government", SEEN)
        own_pub = SEEN - timedelta(hours=4)
        own = Item(source_id=own_src, entry_id="own1", content_hash="own1", title="",
                   text="关于某戒毒所学员情况的说明：经核查，该学员身体状况正常。",
                   fetched_at=SEEN, published_at=own_pub, topics=[], keywords=[],
                   analysis_runs=0, extra={}, external_id="OWN1")
        s.add(own)
        s.flush()
        citizen_pub = SEEN - timedelta(hours=1)
        citizen = _item(s, "citizen", STORY, citizen_pub, repost_of="OWN1")
        [alert] = _alerts(s, [own.id, citizen], taxonomy, sla)
        assert s.get_one(Item, citizen).event_id == s.get_one(Item, own.id).event_id
        assert alert.story_published_at == citizen_pub and alert.clock_from == citizen_pub
