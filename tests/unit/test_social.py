"""Social parsers (monitor.social) on recorded-style fixtures; parser selection by kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.polling import is_silent, politeness_delay
from monitor.social import SocialEntry, parser_for, social_fields
from monitor.social.base import as_count, dig
from monitor.social.weibo import weibo_time
from monitor.social.weibo_ids import bid_to_mid, mid_to_bid

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "social"
FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def _parse(kind: str, name: str, config: dict[str, object] | None = None) -> list[SocialEntry]:
    parsed = parser_for(kind, config)((FIX / name).read_bytes(), content_type=None)
    assert all(isinstance(e, SocialEntry) for e in parsed.entries)
    return list(parsed.entries)  # type: ignore[arg-type]


def test_weibo_time() -> None:
    t = weibo_time("Fri Nov 20 09:30:00 +0800 2026")
    assert t == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert weibo_time("2026-11-20 09:30") == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert weibo_time("") is None


@pytest.mark.parametrize(("value", "expected"), [
    (12, 12), ("12", 12), ("1.2万", 12000), ("10万+", 100000), ("", None), (None, None),
    (True, None), (-3, 0), ("很多", None), (3.7, 3)])
def test_as_count(value: object, expected: int | None) -> None:
    assert as_count(value) == expected


def test_dig() -> None:
    assert dig({"a": [{"b": 1}]}, "a.0.b") == 1
    assert dig({"a": []}, "a.0.b") is None
    assert dig({"a": 1}, None) is None


def test_weibo_search_keeps_reposts_linked_to_their_original() -> None:
    entries = _parse("weibo", "weibo_search.json")
    ids = [e.external_id for e in entries]
    # The original appears once although two reposts carry it; the non-status card is skipped.
    assert ids == ["5101234567890123", "5101234567890456", "5101234567890789",
                   "5101234567891011"]
    original, bare, chain, other = entries
    assert original.author == "洛阳老街坊"
    assert original.published_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert (original.reposts, original.comments, original.likes) == (1260, 384, 5021)
    assert original.link == "https://weibo.com/6012345678/P3xYzAbCd"
    assert "<a" not in original.text and "@洛阳司法" in original.text
    assert bare.text == "转发微博"
    assert bare.repost_of == original.external_id == chain.repost_of
    assert chain.original_link == original.link
    assert chain.likes == 10000
    assert other.repost_of is None
    assert other.extra["verified"] is True
    assert "\n点赞！" in other.text  # <br /> kept as a line break


def test_weibo_timeline_envelope() -> None:
    entries = _parse("weibo", "weibo_timeline.json")
    assert [e.author for e in entries] == ["河南司法", "河南司法"]
    assert entries[0].entry_id == "weibo:5101299990000001"


def test_weibo_api_refusal_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="refused"):
        parser_for("weibo")(b'{"ok": 0, "msg": "\xe8\xaf\xb7\xe6\xb1\x82\xe8\xbf\x87\xe5\xbf\xab"}')
    with pytest.raises(ParseError, match="malformed JSON at line 1"):
        parser_for("weibo")(b'{"statuses": [')


def test_board_messages_keep_region_state_and_reply() -> None:
    entries = _parse("board", "board_threads.json")
    assert [e.external_id for e in entries] == ["18823456", "18823102", "18822777"]
    asked, answered, pending = entries
    assert asked.title == "申请法律援助被拒，理由不清楚"
    assert asked.extra["message"] is True
    assert (asked.extra["region"], asked.extra["domain"], asked.extra["state"]) == \
        ("周口市", "司法", "未回复")
    assert asked.published_at == datetime(2026, 11, 19, 13, 14, 7, tzinfo=UTC)
    assert answered.extra["state"] == "已回复"
    assert answered.extra["reply"].startswith("您好！您的建议收悉")
    assert answered.extra["reply_at"] == "2026-11-16T10:05:00+08:00"
    assert answered.extra["reply_unit"] == "信阳市司法局"
    assert pending.extra["state"] == "办理中" and pending.extra["reply"] is None


def test_json_api_with_field_mapping() -> None:
    mapping = {"items": "data.results", "id": "post_id", "text": "content",
               "time": "publish_time", "author": "author.nickname", "url": "share_url",
               "reposts": "stats.forward", "comments": "stats.comment", "likes": "stats.like"}
    parsed = parser_for("news", {"mapping": mapping})((FIX / "vendor_api.json").read_bytes())
    entries = parsed.entries
    assert [e.entry_id for e in entries] == ["json:dy_7391002", "json:tt_5521937"]
    assert parsed.warnings == ("post 3 has no text; skipped",)
    first = entries[0]
    assert isinstance(first, SocialEntry)
    assert (first.author, first.reposts, first.comments, first.likes) == \
        ("南阳身边事", 342, 1280, 23000)
    assert first.published_at == datetime(2026, 11, 20, 6, 3, tzinfo=UTC)


def test_json_api_wrong_mapping_says_where() -> None:
    with pytest.raises(ParseError, match="no list of posts at 'data.items'"):
        parser_for("news", {"mapping": {"items": "data.items"}})(
            (FIX / "vendor_api.json").read_bytes())


def test_json_api_default_mapping_is_the_import_schema() -> None:
    body = '[{"id": 7, "text": "法律援助", "likes": "3", "repost_of": 5}]'.encode()
    [entry] = parser_for("news")(body).entries
    assert isinstance(entry, SocialEntry)
    assert (entry.external_id, entry.likes, entry.repost_of) == ("7", 3, "5")


def test_bridges_keep_account_and_engagement() -> None:
    [a, b] = _parse("wechat", "wechat_bridge.xml")
    assert a.author == "河南司法行政在线"
    assert a.extra == {"account": "河南司法行政在线", "reads": 100000}
    assert (a.likes, b.likes, b.extra["reads"]) == (230, 41, 8652)
    [w] = _parse("weibo", "weibo_bridge.xml")
    assert (w.reposts, w.comments, w.likes) == (88, 41, 612)
    assert (w.author, w.external_id) == ("河南司法", "P3xQrStUv")


def test_plain_kinds_still_use_the_feed_parser() -> None:
    parsed = parser_for("news")((FEEDS / "rss20.xml").read_bytes())
    assert parsed.entries and not any(isinstance(e, SocialEntry) for e in parsed.entries)
    assert social_fields(parsed.entries[0]) == {}


NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("last", "interval", "wait"), [
    (None, 0.5, 0.0), (NOW - timedelta(seconds=0.2), 0.5, 0.3),
    (NOW - timedelta(seconds=2), 0.5, 0.0), (NOW, 0.0, 0.0)])
def test_politeness_delay(last: datetime | None, interval: float, wait: float) -> None:
    assert politeness_delay(last, NOW, interval) == pytest.approx(wait)


@pytest.mark.parametrize(("hours_quiet", "silent"), [(None, False), (0.5, False), (2.1, True)])
def test_is_silent(hours_quiet: float | None, silent: bool) -> None:
    last = None if hours_quiet is None else NOW - timedelta(hours=hours_quiet)
    assert is_silent(last, NOW, interval_s=1800, silent_after=4) is silent


# -- Weibo as the mobile site, the web site and bridges really send it ---------------------------

SENT = "Wed, 02 Dec 2026 01:00:00 GMT"  # the response's Date header: 09:00 in Shanghai
FETCHED = datetime(2026, 12, 2, 1, 3, tzinfo=UTC)  # our clock, three minutes later
SHANGHAI = timezone(timedelta(hours=8))


def _mobile(**kwargs: object) -> list[SocialEntry]:
    parsed = parser_for("weibo")((FIX / "weibo_mobile_relative.json").read_bytes(), **kwargs)
    return list(parsed.entries)  # type: ignore[arg-type]


def test_weibo_relative_times_count_from_the_date_header_in_shanghai() -> None:
    times = [e.published_at for e in _mobile(response_date=SENT, fetched_at=FETCHED)]
    assert times == [
        datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI),  # 刚刚
        datetime(2026, 12, 2, 8, 55, tzinfo=SHANGHAI),  # 5分钟前
        datetime(2026, 12, 1, 18, 0, tzinfo=SHANGHAI),  # 15小时前
        datetime(2026, 12, 1, 12, 30, tzinfo=SHANGHAI),  # 昨天 12:30
        datetime(2026, 11, 27, 0, 0, tzinfo=SHANGHAI),  # 11-27: this year
        datetime(2019, 6, 27, 0, 0, tzinfo=SHANGHAI),  # 2019-06-27
    ]


def test_weibo_relative_times_fall_back_to_the_fetch_time() -> None:
    first = _mobile(fetched_at=FETCHED)[0]
    assert first.published_at == FETCHED  # 刚刚, and no Date header
    assert _mobile(response_date="not a date", fetched_at=FETCHED)[0].published_at == FETCHED


def test_weibo_relative_times_without_any_clock_are_a_counted_warning() -> None:
    parsed = parser_for("weibo")((FIX / "weibo_mobile_relative.json").read_bytes())
    assert [e.published_at is None for e in parsed.entries] == [True] * 4 + [True, False]
    assert parsed.warnings[-1] == "5 status(es) have a time that could not be read; left undated"


@pytest.mark.parametrize(("value", "now", "expected"), [
    ("30秒前", datetime(2026, 1, 2, 0, 0, 30, tzinfo=SHANGHAI),
     datetime(2026, 1, 2, 0, 0, tzinfo=SHANGHAI)),
    ("前天 23:59", datetime(2026, 1, 2, 8, 0, tzinfo=SHANGHAI),
     datetime(2025, 12, 31, 23, 59, tzinfo=SHANGHAI)),
    ("12-30", datetime(2026, 1, 2, 8, 0, tzinfo=SHANGHAI),  # last year's 30 December
     datetime(2025, 12, 30, 0, 0, tzinfo=SHANGHAI)),
    ("今天 08:10", datetime(2026, 1, 1, 20, 0, tzinfo=UTC),  # already 2 January in Shanghai
     datetime(2026, 1, 2, 8, 10, tzinfo=SHANGHAI)),
    ("02-30", datetime(2026, 3, 1, tzinfo=SHANGHAI), None),
])  # fmt: skip
def test_weibo_time_relative_forms(value: str, now: datetime, expected: datetime | None) -> None:
    assert weibo_time(value, now) == expected


def test_weibo_emoticons_are_kept_as_name_tokens() -> None:
    texts = [e.text for e in _mobile(fetched_at=FETCHED)]
    assert texts[0] == "法律援助中心的工作人员太负责了[赞] 帮我要回了三个月工资"
    assert texts[1] == ("去公证处办个继承公证，材料交了三次还说不全[怒]"
                        "到底要什么能不能一次说清楚[允悲]")
    assert texts[3].endswith("[doge]")


def test_weibo_pictures_region_and_device_are_kept() -> None:
    first, second, *_ = _mobile(fetched_at=FETCHED)
    assert "picture_count" not in first.extra
    assert second.extra["picture_count"] == 2
    assert second.extra["picture_urls"] == ["https://wx1.sinaimg.cn/large/008aBcDely1h0a1.jpg",
                                            "https://wx1.sinaimg.cn/large/008aBcDely1h0a2.jpg"]
    assert (second.extra["region"], second.extra["device"]) == ("河南", "HUAWEI Mate 40 Pro")


def test_a_long_post_given_in_part_loses_its_stub_and_says_so() -> None:
    parsed = parser_for("weibo")((FIX / "weibo_mobile_relative.json").read_bytes(),
                                 fetched_at=FETCHED)
    cut = parsed.entries[2]
    assert isinstance(cut, SocialEntry)
    assert cut.text.endswith("人民调解规范化专项整治") and "全文" not in cut.text
    assert cut.extra["truncated"] is True
    assert parsed.warnings == ("status 3 (4654321098765434) is a long post given only in part; "
                               "its beginning was kept without the “…全文” stub",)


def test_a_single_status_envelope_with_its_long_text() -> None:
    parsed = parser_for("weibo")((FIX / "weibo_show_long.json").read_bytes())
    [post] = parsed.entries
    assert isinstance(post, SocialEntry)
    assert parsed.warnings == ()
    assert post.entry_id == "weibo:4654321098765434"
    assert post.text.endswith("欢迎社会各界监督。[心]")  # longText, not the cut text_raw
    assert "展开" not in post.text and "truncated" not in post.extra
    assert post.extra["picture_count"] == 3
    assert post.extra["picture_urls"][0] == "https://wx3.sinaimg.cn/large/006xYzAbgy1h8k2.jpg"
    assert post.published_at == datetime(2026, 12, 2, 0, 12, 40, tzinfo=UTC)


def test_the_status_object_alone_and_text_raw() -> None:
    body = ('{"id": 4654321098765435, "created_at": "Tue Dec 01 12:30:00 +0800 2026",'
            '"text": "审批太慢<img alt=\\"[doge]\\" src=\\"x.png\\">",'
            '"text_raw": "审批太慢[doge] 真的",'
            '"user": {"id": 7012345680, "screen_name": "中原小透明"}}').encode()
    [post] = parser_for("weibo")(body).entries
    assert post.text == "审批太慢[doge] 真的"
    assert post.link == "https://weibo.com/7012345680/KmN8FAMhZ"  # bid computed from the mid


def test_a_bare_long_text_response_is_refused_in_words() -> None:
    body = '{"ok": 1, "data": {"ok": 1, "longTextContent": "全文……"}}'.encode()
    with pytest.raises(ParseError, match="long-text response .* names no post"):
        parser_for("weibo")(body)


def test_one_post_is_one_item_through_the_bridge_and_the_api() -> None:
    [bridged] = _parse("weibo", "weibo_rsshub.xml")
    [api] = parser_for("weibo")((FIX / "weibo_show_long.json").read_bytes()).entries
    assert isinstance(api, SocialEntry)
    assert bridged.entry_id == api.entry_id == "weibo:4654321098765434"
    assert bridged.external_id == api.external_id == "4654321098765434"
    assert bridged.extra["bid"] == api.extra["bid"] == "KmN8FAMhY"
    assert bridged.text == api.text  # emoticon kept the same way on both routes
    # The bridge's <img> after the text are the post's pictures; the emoticon is not one.
    assert bridged.extra["picture_count"] == 2
    assert bridged.extra["picture_urls"] == api.extra["picture_urls"][:2]


@pytest.mark.parametrize(("mid", "bid"), [
    ("3491273850170657", "yCirT0Iox"), ("4885639100630954", "MzVRA2E8G"),
    ("231101124784859058", "Bh0tgako3U"), ("4654321098765434", "KmN8FAMhY")])
def test_weibo_mid_and_bid_convert_both_ways(mid: str, bid: str) -> None:
    assert mid_to_bid(mid) == bid and bid_to_mid(bid) == mid


def test_weibo_bid_that_cannot_be_a_mid() -> None:
    assert bid_to_mid("P3xQrStUv") is None  # a group beyond seven digits
    assert bid_to_mid("abc-def") is None and mid_to_bid("x1") is None


# -- today's 人民网 领导留言板 responses ----------------------------------------------------


def test_board_response_data_envelope_with_answers_and_unix_datelines() -> None:
    parsed = parser_for("board")((FIX / "board_people_list.json").read_bytes())
    asked, answered, pending = parsed.entries
    assert isinstance(asked, SocialEntry) and isinstance(answered, SocialEntry)
    assert asked.title == "县法律援助中心拖延受理工伤案件"  # threadsTitle
    assert asked.text.startswith("我于11月3日向县法律援助中心")  # threadsContent
    assert asked.published_at == datetime(2025, 11, 26, 2, 40, tzinfo=UTC)  # dateline, seconds
    assert asked.extra["message"] is True and asked.extra["state"] == "未回复"
    assert answered.extra["state"] == "已回复"  # 已办理 is answered
    assert answered.extra["reply"].startswith("您好！办理继承公证需提供")  # answerContent
    assert answered.extra["reply_unit"] == "郑州市司法局"  # answerOrganization
    assert answered.extra["reply_at"] == "2025-11-24T02:06:40+00:00"  # answerTime
    assert isinstance(pending, SocialEntry)
    assert pending.published_at == datetime(2025, 11, 24, 16, 0, tzinfo=UTC)  # milliseconds
    # The thread with neither title nor text is an error for that thread, never an item.
    assert [e.external_id for e in parsed.entries] == ["19500123", "19500456", "19500999"]
    assert parsed.warnings == (
        "1 message(s) have neither title nor text and were not stored: 19500789",)


def test_board_result_data_single_thread() -> None:
    [thread] = _parse("board", "board_people_detail.json")
    assert thread.entry_id == "board:19500456"
    assert thread.extra["reply_unit"] == "郑州市司法局"


def test_board_that_says_it_failed_is_a_parse_error() -> None:
    body = '{"result": "fail", "message": "访问过于频繁"}'.encode()
    with pytest.raises(ParseError, match="refused the request: 访问过于频繁"):
        parser_for("board")(body)


def test_a_mapping_on_a_board_source_keeps_the_message_semantics() -> None:
    mapping = {"items": "data.records", "id": "msgId", "title": "subject", "text": "body",
               "time": "postTime", "region": "area", "state": "status",
               "reply": "answer.text", "reply_unit": "answer.org", "reply_at": "answer.time"}
    parsed = parser_for("board", {"mapping": mapping})(
        (FIX / "board_vendor_mapped.json").read_bytes())
    asked, answered = parsed.entries
    assert isinstance(asked, SocialEntry) and isinstance(answered, SocialEntry)
    assert asked.extra["message"] is True and asked.extra["state"] == "未回复"
    assert asked.extra["region"] == "开封市"
    assert answered.extra["state"] == "已回复"
    assert answered.extra["reply_unit"] == "商丘市司法局"
    assert answered.extra["reply_at"] == "2026-11-27T09:00:00+08:00"
    assert parsed.warnings == ("post 3 has neither title nor text; skipped",)
    # The same mapping on a news source is just posts.
    [news, _] = parser_for("news", {"mapping": mapping})(
        (FIX / "board_vendor_mapped.json").read_bytes()).entries
    assert isinstance(news, SocialEntry) and "message" not in news.extra


BOARD_RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>留言板</title>
<item><title>继承公证反复要求补材料</title><link>https://demo.example/t/1</link><guid>ly-1</guid>
<description><![CDATA[<p>五次到公证处，每次都被要求补一份新的证明。</p><p>【回复】开封市司法局：已责令整改并为您办结公证。感谢您的监督。（2026-11-20）</p>]]></description></item>
<item><title>律师费扣了七万多</title><link>https://demo.example/t/2</link><guid>ly-2</guid>
<description><![CDATA[<p>请求省司法厅督促调查、责令退费。</p><p>【办理状态】已转郑州市司法局办理</p>]]></description></item>
<item><title>村里能否配法律顾问</title><link>https://demo.example/t/3</link><guid>ly-3</guid>
<description><![CDATA[<p>我们村离县城远，能否配一名法律顾问？</p>]]></description></item>
</channel></rss>""".encode()


def test_a_board_served_as_rss_splits_the_reply_off_the_message() -> None:
    from monitor.social.board import is_answered
    from monitor.social.registry import parser_for
    answered, forwarded, waiting = parser_for("board")(BOARD_RSS).entries
    assert is_answered(answered.extra) and answered.extra["message"]
    assert answered.extra["reply_unit"] == "开封市司法局"
    reply = answered.extra["reply"]
    assert reply.startswith("已责令整改") and "（2026" not in reply
    assert answered.extra["reply_at"].startswith("2026-11-20")
    assert "【回复】" not in answered.text and "责令整改" not in answered.text
    assert not is_answered(forwarded.extra) and forwarded.extra["state"] == "已转郑州市司法局办理"
    assert "办理状态" not in forwarded.text
    assert not is_answered(waiting.extra) and waiting.extra["state"] == "未回复"
    assert waiting.text.endswith("法律顾问？")
