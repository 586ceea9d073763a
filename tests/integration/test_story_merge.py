"""Stories across sources in the database: posts that tell one matter in different words join
one event with one alert, and a bridging post that shows two events to be one story merges
them — one alert kept (the higher priority, the earlier deadline), outputs moved, both alerts'
histories in the audit log. SQLite, or PostgreSQL when YUQING_TEST_DATABASE_URL is set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor import counters
from monitor.analyze import analyze_items
from monitor.event_store import EventSettings
from monitor.flagging import FlagPolicy
from monitor.models import Event, EventTerm, Item, Source
from monitor.topics import Taxonomy
from responders.alerts import open_alerts
from responders.models import Alert, AuditEntry, Output
from responders.sla import SLA
from tests.support.analysis import analyse, source_row
from tests.support.settings import defaults


def counters_of(session: Session, event_id: int) -> dict[datetime, int]:
    """The burst counters' hours of one event (monitor.counters)."""
    reader = counters.BurstReader.load(session, events=[event_id], topics=[],
                                       since=NOW - timedelta(days=1))
    return reader.event(event_id)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

LAWYER = ("洛阳恒正律师事务所收了两万八代理费，开庭前一次都没见过律师，"
          "打电话也不接，这种律所司法局管不管？")
WAGES = ("新安县王某某农民工讨薪，十几个人在工地干了半年，老板跑了，"
         "工钱一分没拿到，申请法律援助也没人管。")
BRIDGE = ("新安县王某某他们十几个农民工讨薪，委托的就是洛阳恒正律师事务所，"
          "两万八代理费交了，律师不见人，法律援助到现在没立案。")


def _item(session: Session, source_id: int, text: str, at: datetime, n: int) -> int:
    item = Item(source_id=source_id, entry_id=f"m{n}", content_hash=f"m{n}", title="",
                text=text, fetched_at=at, published_at=at, topics=[], keywords=[],
                analysis_runs=0, extra={})
    session.add(item)
    session.flush()
    return item.id


def _run(session: Session, ids: list[int], taxonomy: Taxonomy, sla: SLA,
         now: datetime) -> list[int]:
    return analyse(session, ids, now, taxonomy=taxonomy, sla=sla)


def _source(session: Session, name: str, kind: str) -> int:
    return source_row(session, name, kind, NOW)


def test_one_matter_told_by_three_outlets_is_one_event_and_one_alert(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    texts = [
        ("大河报", "news", "【大河报】洛阳市涧西区第二强制隔离戒毒所一名学员猝死，"
                          "家属质疑所方救治不及时，要求公开监控视频。"),
        ("微博搜索", "weibo", "#洛阳戒毒所学员死亡# 我表哥在涧西那个戒毒所里没了，"
                             "所里说是突发疾病，我们家属连监控都看不到[怒][怒]"),
        ("澎湃新闻", "news", "网传洛阳涧西戒毒所打死人？经核查，系学员突发心脏疾病经抢救无效死亡，"
                            "所方已第一时间通知家属并报检察机关。"),
    ]
    with sessions() as s:
        for n, (name, kind, text) in enumerate(texts):
            at = NOW + timedelta(hours=n)
            _run(s, [_item(s, _source(s, name, kind), text, at, n)], taxonomy, sla, at)
        s.commit()
        events = s.scalars(select(Event).where(Event.kind != "merged")).all()
        assert len(events) == 1
        assert events[0].item_count == 3 and len(events[0].source_ids) == 3
        assert len(s.scalars(select(Alert)).all()) == 1
        # The event is filed in the candidate index under its strongest terms.
        filed = set(s.scalars(select(EventTerm.term).where(EventTerm.event_id == events[0].id)))
        assert "涧西" in filed


def test_a_bridging_post_merges_two_events_and_keeps_one_alert(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    with sessions() as s:
        weibo, board = _source(s, "微博搜索", "weibo"), _source(s, "大河报", "news")
        _run(s, [_item(s, weibo, LAWYER, NOW, 1)], taxonomy, sla, NOW)
        later = NOW + timedelta(hours=3)
        _run(s, [_item(s, board, WAGES, later, 2)], taxonomy, sla, later)
        s.commit()
        first, second = s.scalars(select(Alert).order_by(Alert.id)).all()
        # The office started answering the second half of the story: its draft must survive.
        s.add(Output(alert_id=second.id, kind="response", title="关于农民工讨薪的回应",
                     body="…", state="draft", created_at=later, updated_at=later))
        second.priority, first.priority = "P2", "P3"
        second_due = second.due_at = first.due_at - timedelta(hours=1)
        s.commit()
        first_id, second_id = first.id, second.id
        event_a = s.get(Item, first.item_id).event_id  # type: ignore[union-attr]
        event_b = s.get(Item, second.item_id).event_id  # type: ignore[union-attr]
        assert event_a != event_b

        bridge_at = NOW + timedelta(hours=5)
        changed = _run(s, [_item(s, weibo, BRIDGE, bridge_at, 3)], taxonomy, sla, bridge_at)
        s.commit()

        alerts = s.scalars(select(Alert)).all()
        assert [a.id for a in alerts] == [first_id]  # one alert: the story's first item's
        kept = alerts[0]
        assert first_id in changed
        assert kept.priority == "P2"          # the higher priority …
        assert kept.due_at == second_due      # … and the earlier deadline
        assert any(f"#{second_id}" in r for r in kept.reasons)
        assert s.scalars(select(Output.alert_id)).all() == [first_id]
        merged = s.get(Event, event_b)
        assert merged is not None and merged.kind == "merged" and merged.merged_into == event_a
        assert not s.scalars(select(EventTerm).where(EventTerm.event_id == event_b)).all()
        story = s.get(Event, event_a)
        assert story is not None and story.item_count == 3
        assert {i.event_id for i in s.scalars(select(Item))} == {event_a}
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "merge")).all()
        assert {(e.entity_id, e.to_state) for e in entries} == {(second_id, "merged"),
                                                                (first_id, "new")}
        assert all(e.actor == "system:analysis" for e in entries)

        # Redelivery of the bridge changes nothing.
        assert _run(s, [i.id for i in s.scalars(select(Item))], taxonomy, sla, bridge_at) == []


def test_a_follow_up_weeks_later_joins_its_story_by_name_not_by_city(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    # The window for ordinary matches is events.window_days (7); the investigation's result,
    # three weeks later, names the same institution and person, so it is the same story.
    # Another matter in the same city at the same time is not, however long the window.
    start = NOW - timedelta(days=21)
    first = ("许昌仁和司法鉴定所把建安区李某某的两根肋骨骨折鉴定为轻微伤，家属质疑鉴定人"
             "受人请托，要求重新鉴定。")
    later = ("记者从许昌市司法局获悉，经重新鉴定，建安区李某某的损伤程度为轻伤二级。许昌仁和"
             "司法鉴定所涉事鉴定人被立案调查。")
    other = ("许昌魏都区一公证处办理继承公证要求提供几十年前的证明材料，群众跑了五趟还没办成，"
             "投诉到司法局。")
    with sessions() as s:
        src = _source(s, "大河报", "news")
        _run(s, [_item(s, src, first, start, 1)], taxonomy, sla, start)
        _run(s, [_item(s, src, later, NOW, 2), _item(s, src, other, NOW, 3)], taxonomy, sla,
             NOW)
        s.commit()
        by_text = {i.entry_id: i.event_id for i in s.scalars(select(Item))}
        assert by_text["m2"] == by_text["m1"]
        assert by_text["m3"] != by_text["m1"]
        assert EventSettings.from_section(defaults().events).window_days < 21


def test_the_alert_is_headed_by_the_strongest_post_never_the_offices_own(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    # The office's notice comes first, a relative's complaint joins it, then a rumour of a
    # death: one alert, headed by the complaint and then by the rumour — never by the notice.
    notice = ("【情况通报】洛阳市涧西区第二强制隔离戒毒所学员张某某突发疾病，经送医抢救，目前"
              "病情稳定，家属已到医院探视。")
    relative = ("洛阳涧西第二强制隔离戒毒所的张某某是我表弟，所里说突发疾病，家属投诉了三天"
                "都不让看监控，太不负责任了！")
    rumour = ("听说洛阳涧西第二强制隔离戒毒所的张某某已经死亡了，是被打的，家属到现在见不到"
              "人，转发扩散！")
    with sessions() as s:
        own = _source(s, "河南省戒毒管理局", "wechat")
        weibo = _source(s, "微博搜索", "weibo")
        ids = [_item(s, own, notice, NOW, 11)]
        _run(s, ids, taxonomy, sla, NOW)
        assert s.scalars(select(Alert)).all() == []   # the office's own release: no alert
        later = NOW + timedelta(hours=1)
        _run(s, [_item(s, weibo, relative, later, 12)], taxonomy, sla, later)
        alert = s.scalars(select(Alert)).one()
        headline = s.get(Item, alert.item_id)
        assert headline is not None and headline.entry_id == "m12"
        first = alert.priority
        latest = NOW + timedelta(hours=2)
        changed = _run(s, [_item(s, weibo, rumour, latest, 13)], taxonomy, sla, latest)
        s.commit()
        alert = s.scalars(select(Alert)).one()
        assert changed == [alert.id] and alert.priority == "P1" != first
        headline = s.get(Item, alert.item_id)
        assert headline is not None and headline.entry_id == "m13"
        assert len({i.event_id for i in s.scalars(select(Item))}) == 1


def test_a_merge_of_a_late_found_p1_and_a_live_half_runs_the_p1_clock(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """One half a 回溯 P1 (no emergency clock), the other live with a 48-hour reply rule:
    the merged story is a live P1, due by the P1 rule from the live half's clock start — not
    by the other half's 48 hours under a P1 badge."""
    with sessions() as s:
        weibo, board = _source(s, "微博搜索", "weibo"), _source(s, "大河报", "news")
        _run(s, [_item(s, weibo, LAWYER, NOW, 1)], taxonomy, sla, NOW)
        later = NOW + timedelta(hours=3)
        _run(s, [_item(s, board, WAGES, later, 2)], taxonomy, sla, later)
        s.commit()
        first, second = s.scalars(select(Alert).order_by(Alert.id)).all()
        first.priority, first.backfill = "P1", True
        first.due_at = NOW + timedelta(days=7)
        second.priority, second.backfill = "P3", False
        second.clock_from = later
        second.due_at = sla.deadline("P3", later).due_at
        s.commit()
        first_id = first.id

        bridge_at = NOW + timedelta(hours=5)
        _run(s, [_item(s, weibo, BRIDGE, bridge_at, 3)], taxonomy, sla, bridge_at)
        s.commit()
        kept = s.scalars(select(Alert)).one()
        assert kept.id == first_id and kept.priority == "P1" and not kept.backfill
        p1 = sla.deadline("P1", later)
        assert p1.due_at < sla.deadline("P3", later).due_at  # the case is a real one
        assert kept.due_at == p1.due_at and kept.sla_rule == p1.rule
        assert kept.milestones == list(p1.milestones)


@pytest.mark.parametrize("stored", ["none", "one"])
def test_a_merge_inside_one_batch_leaves_one_event_and_its_counts(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA, stored: str) -> None:
    """Bridging inside one batch: both halves new (the folded event held no stored row yet),
    or the later half stored before and folded into a new, earlier half (the kept event's
    row must exist before the stored items move to it)."""
    with sessions() as s:
        weibo, news = _source(s, "微博搜索", "weibo"), _source(s, "大河报", "news")
        later, bridge_at = NOW + timedelta(hours=3), NOW + timedelta(hours=5)
        wages = _item(s, news, WAGES, later, 2)
        if stored == "one":
            _run(s, [wages], taxonomy, sla, later)
            s.commit()
        batch = [_item(s, weibo, LAWYER, NOW, 1), _item(s, weibo, BRIDGE, bridge_at, 3)]
        _run(s, batch if stored == "one" else [batch[0], wages, batch[1]], taxonomy, sla,
             bridge_at)
        s.commit()
        live = s.scalars(select(Event).where(Event.kind != "merged")).all()
        assert len(live) == 1 and live[0].item_count == 3
        story = live[0]
        assert {i.event_id for i in s.scalars(select(Item))} == {story.id}
        assert story.first_seen_at == NOW  # the earliest half is the one kept
        folded = s.scalars(select(Event).where(Event.kind == "merged")).all()
        assert len(folded) == 1  # the two halves were two events, and one was folded
        for gone in folded:
            assert gone.merged_into == story.id
            assert not s.scalars(select(EventTerm).where(EventTerm.event_id == gone.id)).all()
        assert s.scalars(select(EventTerm).where(EventTerm.event_id == story.id)).all()
        hours = counters_of(s, story.id)
        assert sum(hours.values()) == 3  # the three posts, counted once each, on the story
        assert len(s.scalars(select(Alert)).all()) == 1
