"""Social parsers (monitor.social) on recorded-style fixtures; parser selection by kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.polling import is_silent, politeness_delay
from monitor.social import SocialEntry, parser_for, social_fields
from monitor.social.base import as_count, dig
from monitor.social.weibo import weibo_time

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
