"""Events in the database: analysis attaches items to events, one alert per event, bursts and
growth escalate it. In process, against the test database (SQLite, or PostgreSQL when
YUQING_TEST_DATABASE_URL is set); the sentiment engine is a stand-in, the taxonomy and SLA
are the shipped ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from monitor import event_store
from monitor.analyze import analyze_items
from monitor.event_store import EventSettings
from monitor.flagging import FlagPolicy
from monitor.models import Event, EventTerm, Item, Source
from monitor.topics import Taxonomy
from responders.alerts import open_alerts
from responders.models import Alert
from responders.sla import SLA
from tests.support.analysis import analyse, source_row
from tests.support.scorers import AlwaysNegative
from tests.support.settings import defaults, own_voice

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STORY = ("网友反映洛阳市某公证处办理继承公证要求提供的证明材料过多，跑了五趟还没办成，"
         "群众投诉不断。洛阳市司法局回应称已责令整改。")
OTHER = ("平顶山市在全市推行一村一法律顾问全覆盖，群众通过微信群即可免费咨询法律问题，"
         "律师投诉处理也更便捷。")


def _source(session: Session, name: str, kind: str) -> int:
    return source_row(session, name, kind, NOW)


_n = 0


def _item(session: Session, source_id: int, text: str, *, at: datetime = NOW,
          external_id: str | None = None, repost_of: str | None = None,
          reposts: int | None = None, extra: dict[str, object] | None = None) -> int:
    global _n
    _n += 1
    item = Item(source_id=source_id, entry_id=f"e{_n}", content_hash=f"h{_n}", title="",
                text=text, fetched_at=at, published_at=at, topics=[], keywords=[],
                analysis_runs=0, external_id=external_id, repost_of=repost_of,
                reposts=reposts, extra=extra or {})
    session.add(item)
    session.flush()
    return item.id


def _run(session: Session, ids: list[int], taxonomy: Taxonomy, sla: SLA,
         now: datetime = NOW) -> list[int]:
    return analyse(session, ids, now, taxonomy=taxonomy, sla=sla)


def test_near_duplicates_and_reposts_share_one_event_and_one_alert(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    with sessions() as s:
        weibo = _source(s, "weibo", "weibo")
        news = _source(s, "news", "news")
        ids = [
            _item(s, weibo, STORY, external_id="W1", reposts=120),
            _item(s, news, "【大河报】" + STORY.replace("回应称", "表示"), external_id="N1"),
            _item(s, weibo, "转发微博//@中原老李:太折腾人了", external_id="W2", repost_of="W1",
                  reposts=3),
            _item(s, news, OTHER, external_id="N2"),
        ]
        created = _run(s, ids, taxonomy, sla)
        s.commit()
        events = s.scalars(select(Event).order_by(Event.id)).all()
        assert [e.item_count for e in events] == [3, 1]
        story = events[0]
        assert story.first_item_id == ids[0]
        assert sorted(story.source_ids) == sorted([weibo, news])
        assert story.reach == 123
        assert story.negative_share == 1.0
        assert "notary" in story.topics
        items = {i.id: i for i in s.scalars(select(Item))}
        assert {items[i].event_id for i in ids[:3]} == {story.id}
        assert items[ids[3]].event_id == events[1].id
        # One alert per event, on the event's first item.
        alerts = s.scalars(select(Alert).order_by(Alert.id)).all()
        assert len(created) == len(alerts) == 2
        assert alerts[0].item_id == ids[0]

        # A redelivered batch changes nothing.
        assert _run(s, ids, taxonomy, sla) == []
        assert s.scalar(select(func.count()).select_from(Event)) == 2
        assert s.get(Event, story.id).item_count == 3  # type: ignore[union-attr]


def test_later_items_attach_and_a_burst_escalates_the_alert(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    with sessions() as s:
        weibo = _source(s, "weibo", "weibo")
        first = _item(s, weibo, STORY, at=NOW - timedelta(hours=5), external_id="W1")
        [alert_id] = _run(s, [first], taxonomy, sla, now=NOW - timedelta(hours=5))
        before = s.get(Alert, alert_id)
        assert before is not None
        start = before.priority
        # 30 reposts within the last hour: a burst against an almost empty baseline.
        reposts = [_item(s, weibo, f"转发微博//@网友{i}:必须严查", external_id=f"R{i}",
                         repost_of="W1", at=NOW - timedelta(minutes=i)) for i in range(30)]
        notified = _run(s, reposts, taxonomy, sla)
        s.commit()
        assert notified == [alert_id]  # the same alert, escalated — not a new one
        assert s.scalar(select(func.count()).select_from(Alert)) == 1
        event = s.scalars(select(Event)).one()
        assert event.item_count == 31
        assert event.burst
        assert event.burst_reason is not None
        assert event.burst_reason.startswith("1 小时内 30 条，为基线的")
        after = s.get(Alert, alert_id)
        assert after is not None
        assert ("P1", "P2", "P3").index(after.priority) == ("P1", "P2", "P3").index(start) - 1
        assert any(r.startswith("升级") for r in after.reasons)
        assert any("为基线的" in r for r in after.reasons)


# Twelve different stories on one topic (公证): none repeats another, so each is an event of
# its own, and together they are the topic's burst.
NOTARY_STORIES = [
    "郑州一公证处办理遗嘱公证排队三个小时，窗口只开了一个。",
    "开封市民反映学历公证收费标准不透明，同一份材料两次报价不同。",
    "洛阳继承公证要求出具亲属关系证明，派出所却说不再开具。",
    "南阳某公证员态度恶劣，群众质疑其是否具备执业资格。",
    "新乡在线公证平台上传材料总是失败，客服电话无人接听。",
    "许昌办理涉外公证需要翻译件，指定翻译机构价格偏高。",
    "安阳一位老人申请提存公证被拒，家属称理由含糊其辞。",
    "焦作视频公证预约系统崩溃，整个上午都没能挂上号。",
    "商丘房产赋强公证引发纠纷，借款人称对条款毫不知情。",
    "周口公证摇号结果遭质疑，购房者要求公开全部过程录像。",
    "信阳保全证据公证费用远超预期，当事人认为收费不合理。",
    "驻马店公证协会回应投诉，称将对涉事公证机构开展核查。",
]


def test_a_topic_burst_names_the_topic_in_the_event_and_the_alert(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """Issue 12: the reason reads 话题“公证”, the taxonomy's name, never its id "notary";
    the structured topics keep the id."""
    with sessions() as s:
        weibo = _source(s, "weibo", "weibo")
        ids = [_item(s, weibo, text, external_id=f"N{i}", at=NOW - timedelta(minutes=i))
               for i, text in enumerate(NOTARY_STORIES)]
        _run(s, ids, taxonomy, sla)
        s.commit()
        events = s.scalars(select(Event)).all()
        assert len(events) == len(NOTARY_STORIES)
        bursting = [e for e in events if e.burst]
        assert bursting
        for event in bursting:
            assert event.burst_reason is not None
            assert event.burst_reason.startswith("话题“公证”1 小时内")
            assert "notary" not in event.burst_reason
            assert "notary" in event.topics
        reasons = [r for a in s.scalars(select(Alert)) for r in a.reasons]
        assert any(r.startswith("爆发：话题“公证”") for r in reasons)
        assert not any("notary" in r for r in reasons)


def test_steady_event_is_not_escalated(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    with sessions() as s:
        weibo = _source(s, "weibo", "weibo")
        # One repost an hour for eleven hours: the story keeps going, it does not burst.
        first = _item(s, weibo, STORY, at=NOW - timedelta(hours=11), external_id="W1")
        steady = [_item(s, weibo, "转发微博", external_id=f"R{h}", repost_of="W1",
                        at=NOW - timedelta(hours=h, minutes=30)) for h in range(10, -1, -1)]
        alerts = _run(s, [first], taxonomy, sla, now=NOW - timedelta(hours=11))
        assert len(alerts) == 1
        start = s.get(Alert, alerts[0]).priority  # type: ignore[union-attr]
        assert _run(s, steady, taxonomy, sla) == []
        event = s.scalars(select(Event)).one()
        assert (event.item_count, event.burst) == (12, False)
        assert s.get(Alert, alerts[0]).priority == start  # type: ignore[union-attr]


def test_board_message_is_an_alert_of_its_own_kind(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    with sessions() as s:
        board = _source(s, "board", "board")
        text = "我想咨询一下，申请法律援助需要准备哪些材料？谢谢。"
        ids = [_item(s, board, text, extra={"message": True, "state": "未回复",
                                             "region": "郑州市"}),
               _item(s, board, text, extra={"message": True, "state": "未回复"})]
        _run(s, ids, taxonomy, sla)
        events = s.scalars(select(Event)).all()
        # Two citizens asking the same thing are two requests, each needing its reply.
        assert [e.kind for e in events] == ["message", "message"]
        alerts = s.scalars(select(Alert).order_by(Alert.id)).all()
        assert len(alerts) == 2
        assert any("网民留言尚未回复（郑州市）" in r for r in alerts[0].reasons)
        # a question is no emergency: it runs on the board's reply rule, not 48 hours
        assert {a.sla_rule for a in alerts} == {"board_message"}
        assert all(a.milestones[0]["working_days"] == 15 for a in alerts)


def test_the_event_window_counts_from_the_stories_time_not_the_clock(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """A dated story analysed weeks later (a late poll, an imported archive, the demo's feeds
    on a later day) still finds its event: the 7-day window is the items' own time."""
    from datetime import timedelta

    weeks_later = NOW + timedelta(days=30)
    with sessions() as s:
        weibo = _source(s, "weibo", "weibo")
        news = _source(s, "news", "news")
        first = _item(s, weibo, STORY, external_id="W1")
        _run(s, [first], taxonomy, sla, now=weeks_later)
        retold = _item(s, news, "【大河报】" + STORY.replace("回应称", "表示"),
                       at=NOW + timedelta(days=1), external_id="N1")
        _run(s, [retold], taxonomy, sla, now=weeks_later)
        s.commit()
        items = {i.id: i for i in s.scalars(select(Item))}
        assert items[first].event_id == items[retold].event_id is not None


def test_analysis_writes_each_item_row_once_on_postgresql(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """Every write of an item row is a new row version in each of the table's indexes (the
    trigram GIN of its text among them): the analysis, its event and its sketch go in one
    UPDATE per item, and the claim only locks the rows. Counted by PostgreSQL itself for the
    transaction (pg_stat_xact_user_tables), so a second write per item would show."""
    with sessions() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("row-version counts are PostgreSQL's (set YUQING_TEST_DATABASE_URL)")
        weibo = _source(s, "weibo", "weibo")
        news = _source(s, "news", "news")
        ids = [_item(s, weibo, STORY, external_id="W1"),
               _item(s, news, "【大河报】" + STORY, external_id="N1"),
               _item(s, news, OTHER, external_id="N2")]
        s.commit()

        def updated() -> int:
            return int(s.scalar(text(
                "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'items'")) or 0)

        before = updated()
        _run(s, ids, taxonomy, sla)
        assert updated() - before == len(ids)
        s.commit()
        rows = s.scalars(select(Item).where(Item.id.in_(ids))).all()
        # … and that one write holds all of it.
        assert all(r.analyzed_at is not None and r.analysis_runs == 1 and r.event_id
                   and r.signature and r.sentiment_label == "negative" for r in rows)

        # A post joining a stored event writes that event's row once, its figures and its
        # verdict together.
        def events_updated() -> int:
            return int(s.scalar(text(
                "SELECT n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'events'")) or 0)

        # (from a source the batch has not seen: its kind is read with the others')
        # and spreading, so that its verdict changes too: figures and verdict, one write)
        joining = _item(s, _source(s, "weibo2", "weibo"), "转发：" + STORY, external_id="W2",
                        reposts=50_000)
        priority = s.get(Event, rows[0].event_id).priority  # type: ignore[union-attr]
        s.commit()
        before = events_updated()
        _run(s, [joining], taxonomy, sla)
        assert events_updated() - before == 1
        s.commit()
        assert s.get(Item, joining).event_id == rows[0].event_id  # type: ignore[union-attr]
        assert s.get(Event, rows[0].event_id).priority != priority  # type: ignore[union-attr]


def test_term_rows_follow_the_events_last_sighting_and_are_not_rewritten_idle(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """The candidate index (event_terms) holds each event's last sighting on every term row:
    a later post moves all of them; a post that does not move it (an older copy found late)
    writes no term row at all (PostgreSQL counts the transaction's row writes)."""
    with sessions() as s:
        news = _source(s, "news", "news")
        first = _item(s, news, STORY, at=NOW - timedelta(hours=5))
        _run(s, [first], taxonomy, sla, now=NOW)
        s.commit()
        later = _item(s, news, "【大河报】" + STORY, at=NOW - timedelta(hours=1))
        _run(s, [later], taxonomy, sla, now=NOW)
        s.commit()
        event = s.scalars(select(Event)).one()
        assert event.item_count == 2 and event.last_seen_at == NOW - timedelta(hours=1)
        stamps = s.scalars(select(EventTerm.last_seen_at)
                           .where(EventTerm.event_id == event.id)).all()
        assert stamps and set(stamps) == {event.last_seen_at}
        postgres = s.get_bind().dialect.name == "postgresql"

        def written() -> int:
            return int(s.scalar(text(
                "SELECT n_tup_upd + n_tup_ins FROM pg_stat_xact_user_tables "
                "WHERE relname = 'event_terms'")) or 0) if postgres else 0

        before = written()
        older = _item(s, news, "【转载】" + STORY, at=NOW - timedelta(hours=3))
        _run(s, [older], taxonomy, sla, now=NOW)
        assert s.get(Event, event.id).item_count == 3  # type: ignore[union-attr]
        if postgres:
            assert written() - before == 0
        s.commit()
        assert set(s.scalars(select(EventTerm.last_seen_at)
                             .where(EventTerm.event_id == event.id))) == {NOW - timedelta(hours=1)}


def test_alerts_open_on_the_analysed_items_without_reading_them_again(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """open_alerts, right after the analysis in one transaction (as tasks.jobs runs them),
    reads the batch's items from the analysis, not from the database again."""
    with sessions() as s:
        weibo = _source(s, "weibo", "weibo")
        ids = [_item(s, weibo, STORY, external_id="W1"), _item(s, weibo, OTHER, external_id="W2")]
        s.commit()
        analyses = analyze_items(s, ids, scorer=AlwaysNegative(), taxonomy=taxonomy,
                                 policy=FlagPolicy.from_section(defaults().flagging), now=NOW,
                                 events=EventSettings.from_section(defaults().events),
                                 own=own_voice())
        statements: list[str] = []

        def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
            statements.append(statement)

        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            created = open_alerts(s, analyses, sla, NOW)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert created  # alerts were opened …
        item_reads = [q for q in statements if q.lstrip().upper().startswith("SELECT")
                      and "FROM items" in q and "items.text" in q]
        assert item_reads == []  # … without reading the items' rows again
        s.commit()


def test_the_candidate_cache_takes_a_batchs_events_only_when_it_commits(
        sessions: sessionmaker[Session], taxonomy: Taxonomy, sla: SLA) -> None:
    """What a batch wrote is cached as the next batch would read it — after the commit, so
    the next batch does not read it back; a rolled-back batch's events never are."""
    with sessions() as s:
        news = _source(s, "news", "news")
        first = _item(s, news, STORY)
        _run(s, [first], taxonomy, sla)
        event_id = s.get(Item, first).event_id  # type: ignore[union-attr]
        cache = event_store._cache_for(s)
        assert event_id not in cache  # not before the commit
        s.commit()
        event = s.get(Event, event_id)
        assert event is not None
        assert cache[event_id] == (1, list(event.signature), dict(event.story_terms),
                                   event.kind, event.first_seen_at)
        again = _item(s, news, "【大河报】" + STORY)
        _run(s, [again], taxonomy, sla)
        s.rollback()
        assert cache[event_id][0] == 1  # the rolled-back join left the cache as committed
        _run(s, [_item(s, news, "【转载】" + STORY)], taxonomy, sla)
        s.commit()
        assert cache[event_id][0] == 2
