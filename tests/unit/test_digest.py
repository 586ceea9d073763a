"""responders.digest's pure parts: weeks, the figures from plain records, the change text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.errors import InputError
from responders.digest import (
    AlertRec,
    IsoWeek,
    ItemGroup,
    PubRec,
    WeekData,
    build_digest,
    change_text,
    last_complete_week,
    parse_week,
    render_text,
)

SH = ZoneInfo("Asia/Shanghai")
W47 = IsoWeek(2026, 47)


@pytest.mark.parametrize(("text", "week"), [
    ("2026-W47", IsoWeek(2026, 47)), ("2026W47", IsoWeek(2026, 47)),
    ("2026-w01", IsoWeek(2026, 1)), (" 2026-W7 ", IsoWeek(2026, 7)),
    ("2026-W53", IsoWeek(2026, 53)),   # 2026 has 53 ISO weeks (it starts on a Thursday)
])
def test_parse_week(text: str, week: IsoWeek) -> None:
    assert parse_week(text) == week


@pytest.mark.parametrize(("text", "says"), [
    ("2026-47", "malformed"), ("W47", "malformed"), ("2026-W", "malformed"), ("", "malformed"),
    ("2025-W53", "2025 has no week 53"), ("2026-W00", "has no week 0"),
])
def test_parse_week_refuses_with_a_sentence(text: str, says: str) -> None:
    with pytest.raises(InputError, match=says) as exc:
        parse_week(text)
    assert "2026-W47" in str(exc.value)  # the example of what to type


@pytest.mark.parametrize(("now", "week"), [
    # Monday 08:00 in Shanghai is Monday 00:00 UTC: the week just ended.
    (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), IsoWeek(2026, 47)),
    # Sunday 23:30 UTC is already Monday 07:30 in Shanghai.
    (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), IsoWeek(2026, 47)),
    # Sunday 15:00 UTC is Sunday 23:00 in Shanghai: the week before is the last complete one.
    (datetime(2026, 11, 22, 15, 0, tzinfo=UTC), IsoWeek(2026, 46)),
    # Across a year: Monday 4 January 2027 → 2026-W53.
    (datetime(2027, 1, 4, 1, 0, tzinfo=UTC), IsoWeek(2026, 53)),
])
def test_last_complete_week_in_shanghai(now: datetime, week: IsoWeek) -> None:
    assert last_complete_week(now, "Asia/Shanghai") == week


def test_week_bounds_are_local_midnights() -> None:
    start, end = W47.bounds("Asia/Shanghai")
    assert start == datetime(2026, 11, 16, tzinfo=SH)
    assert end - start == timedelta(days=7)
    assert start.astimezone(UTC) == datetime(2026, 11, 15, 16, 0, tzinfo=UTC)
    assert W47.previous() == IsoWeek(2026, 46) and IsoWeek(2027, 1).previous() == IsoWeek(2026, 53)


@pytest.mark.parametrize(("now", "before", "text"), [
    (10, 5, "+100%"), (5, 10, "-50%"), (7, 7, "持平"), (3, 0, "新出现"), (0, 0, "持平"),
    (15, 8, "+88%"), (0, 4, "-100%"),
])
def test_change_text(now: int, before: int, text: str) -> None:
    assert change_text(now, before) == text


def item(day: int, hour: int, topics: tuple[str, ...] = ("lawyers",), label: str | None =
         "negative", score: float | None = 0.1, kind: str = "weibo") -> ItemGroup:
    return ItemGroup.one(datetime(2026, 11, day, hour, tzinfo=SH), kind, topics, label, score)


def alert(i: int, created: datetime, due: datetime, state: str = "new", *,
          changed: datetime | None = None, answered: datetime | None = None,
          priority: str = "P2", reach: int = 0) -> AlertRec:
    return AlertRec(i, priority, state, ("lawyers",), f"预警{i}", None, "来源", created, due,
                    changed, reach, 1, answered)


def test_items_count_on_their_local_day_and_week() -> None:
    data = WeekData([
        item(15, 23),                      # Sunday of W46: previous week
        item(16, 0),                       # Monday 00:00 local: first hour of W47
        ItemGroup.one(datetime(2026, 11, 15, 16, 30, tzinfo=UTC), "news", (), "neutral", 0.5),
        item(22, 23),                      # last hour of W47
        item(23, 0),                       # next week: ignored
    ], [], [])
    d = build_digest(data, W47)
    assert (d.total, d.previous_total) == (3, 1)
    assert d.daily["negative"] == [1, 0, 0, 0, 0, 0, 1]
    assert d.daily["neutral"] == [1, 0, 0, 0, 0, 0, 0]   # 16:30 UTC Sunday = Monday 00:30
    assert [(r.key, r.count, r.previous) for r in d.by_kind] == [("weibo", 2, 1), ("news", 1, 0)]
    assert d.by_topic[-1].key == "_none"   # unclassified last
    assert d.daily_mean[0] == pytest.approx((0.1 + 0.5) / 2)


def test_negative_topics_need_enough_items_and_rank_by_share() -> None:
    data = WeekData(
        [item(17, 9, ("drug_rehab",))] * 3 + [item(17, 9, ("drug_rehab",), "positive", 0.9)]
        + [item(18, 9, ("legal_aid",))] * 2                          # too few to rank
        + [item(18, 9, ("notary",))] * 3 + [item(18, 9, ("notary",), "neutral", 0.5)] * 3
        + [item(19, 9, ("prisons",), "positive", 0.9)] * 5           # nothing negative
        + [item(19, 9, ("lawyers",), None, None)] * 4,               # not scored
        [], [])
    d = build_digest(data, W47, topic_names={"drug_rehab": "戒毒", "notary": "公证"})
    assert [(t.name, t.negative, t.items) for t in d.negative_topics] == [("戒毒", 3, 4),
                                                                         ("公证", 3, 6)]
    assert d.scored == 17 and d.sentiment == {"negative": 8, "neutral": 3, "positive": 6}


def test_response_record() -> None:
    mon = datetime(2026, 11, 16, 9, tzinfo=SH)
    alerts = [
        alert(1, mon, mon + timedelta(hours=5), "responded", changed=mon + timedelta(hours=3),
              answered=mon + timedelta(hours=3), priority="P1", reach=100),
        # Answered an hour late: closed this week, due this week, not on time.
        alert(2, mon, mon + timedelta(hours=48), "responded",
              changed=mon + timedelta(hours=49), answered=mon + timedelta(hours=49),
              reach=900),
        # Dismissed: closed, but not counted among those due an answer.
        alert(3, mon, mon + timedelta(hours=48), "dismissed", changed=mon + timedelta(hours=1),
              priority="P3"),
        # Raised last week, still open, deadline passed: overdue.
        alert(4, mon - timedelta(days=4), mon - timedelta(days=2), "assigned"),
        # Raised last week and closed only after this week: it was overdue at the week's end.
        alert(5, mon - timedelta(days=4), mon - timedelta(days=2), "responded",
              changed=mon + timedelta(days=9), answered=mon + timedelta(days=9)),
        # Open, due next week: neither overdue nor due.
        alert(6, mon + timedelta(days=6), mon + timedelta(days=8)),
    ]
    pubs = [PubRec(mon + timedelta(hours=3), "政务微博", "回应", "通报", 1),
            PubRec(mon + timedelta(hours=4), "门户网站", "回应", "通报", 1),
            PubRec(mon + timedelta(days=2), "门户网站", "政策解读", "解读", None),
            PubRec(mon + timedelta(days=7), "门户网站", "回应", "下周的", 6)]
    d = build_digest(WeekData([], alerts, pubs), W47, desk_url="https://desk.example/")
    assert (d.opened, d.closed, d.responded, d.dismissed) == (4, 3, 2, 1)
    assert d.overdue == 2
    assert (d.due, d.on_time) == (2, 1)
    assert (d.responses, d.interpretations) == (2, 1)
    assert d.by_channel == [("门户网站", 1, 1), ("政务微博", 1, 0)]
    # P1 first, then P2 by reach; links to the desk.
    assert [a.id for a in d.top_alerts] == [1, 2, 6, 3]
    assert d.top_alerts[0].url == "https://desk.example/alerts/1"
    assert d.opened_by_priority == {"P1": 1, "P2": 2, "P3": 1}


def test_a_week_still_running_calls_overdue_only_what_is_past_due() -> None:
    # Previewed on Wednesday: an alert due on Friday is not overdue yet (the week's end has
    # not come), one due on Tuesday is; the finished week judges both at Sunday midnight.
    mon = datetime(2026, 11, 16, 9, tzinfo=SH)
    alerts = [alert(1, mon, mon + timedelta(days=1)), alert(2, mon, mon + timedelta(days=4)),
              alert(3, mon + timedelta(days=2, hours=6), mon + timedelta(days=3))]  # raised after
    wednesday = mon + timedelta(days=2)
    assert build_digest(WeekData([], alerts, []), W47, now=wednesday).overdue == 1
    assert build_digest(WeekData([], alerts, []), W47).overdue == 3
    assert build_digest(WeekData([], alerts, []), W47,
                        now=mon + timedelta(days=30)).overdue == 3
    # The words follow: "as of" the preview for a running week, "at the weekend" after it.
    running = build_digest(WeekData([], alerts, []), W47, now=wednesday)
    assert running.as_of == wednesday
    assert "截至 11-18 09:00 超期未办 1 条" in render_text(running)
    ended = build_digest(WeekData([], alerts, []), W47)
    assert ended.as_of is None and "周末仍超期未办 3 条" in render_text(ended)


@pytest.mark.parametrize(("env", "link"), [
    ({}, "http://127.0.0.1:8000"),
    ({"YUQING_WEB_PORT": "8123"}, "http://127.0.0.1:8123"),   # the port the desk serves
    ({"YUQING_WEB_PUBLIC_URL": "https://yuqing.sft.example.cn/"},
     "https://yuqing.sft.example.cn"),
    ({"YUQING_WEB_PUBLIC_URL": "https://a.example", "YUQING_DIGEST_DESK_URL": "https://b.example"},
     "https://b.example"),
])
def test_the_digest_links_to_the_desk_people_reach(env: dict[str, str], link: str) -> None:
    from monitor.settings import load_settings
    from responders.digest import desk_link

    assert desk_link(load_settings(env=env)) == link


def test_empty_week_says_so() -> None:
    d = build_digest(WeekData([], [], []), W47)
    assert d.empty
    text = render_text(d)
    assert "本周（2026年11月16日至11月22日）没有监测到信息" in text
    assert "一、信息量" not in text
