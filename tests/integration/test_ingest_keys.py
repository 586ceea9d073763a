"""Storage keys against a real database: a feed re-issuing a story under a new guid stores it
once, while different social posts with the same words (bare "转发微博" reposts) are each
kept, and a re-poll of any of them stores nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.feeds import FeedEntry
from monitor.ingest import dedup_hash, store_entries
from monitor.models import Item, Source
from monitor.social import SocialEntry, parser_for
from monitor.social.weibo_ids import mid_to_bid
from monitor.text import content_hash

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
STORY = "省司法厅通报：全省公共法律服务热线12348今年接听咨询量同比增长两成。"


def feed(guid: str, text: str = STORY) -> FeedEntry:
    return FeedEntry(entry_id=guid, title="热线通报", text=text, link=None, author=None,
                     published_at=None)


def post(pid: str | None, text: str = "转发微博") -> SocialEntry:
    return SocialEntry(entry_id=f"weibo:{pid}" if pid else "bridge-guid-1", title="",
                       text=text, link=None, author=None, published_at=None, external_id=pid)


@pytest.mark.parametrize(("a", "b", "same"), [
    # Feeds: the text is the key, whatever the guid.
    (feed("guid-1"), feed("guid-2"), True),
    (feed("guid-1"), feed("guid-1", STORY + "（更新）"), False),
    # Posts with a platform id: the id is part of the key.
    (post("4990001"), post("4990002"), False),
    (post("4990001"), post("4990001"), True),
    (post("4990001", "原文"), post("4990001", "原文 "), True),  # whitespace folded
    # A post without an id keys on its text like a feed entry.
    (post(None), post(None), True),
])
def test_dedup_hash(a: FeedEntry, b: FeedEntry, same: bool) -> None:
    assert (dedup_hash(a) == dedup_hash(b)) is same


def test_entries_without_an_id_keep_the_plain_content_hash() -> None:
    """Rows stored before the rule was introduced keep matching the feeds they came from."""
    assert dedup_hash(feed("g")) == content_hash("热线通报", STORY)
    assert dedup_hash(post("1")) != content_hash("", "转发微博")


def _source(s: Session, name: str, kind: str) -> int:
    src = Source(name=name, url=f"https://example.cn/{name}", kind=kind, host="example.cn",
                 interval_s=600, created_at=NOW, failure_count=0, items_seen=0)
    s.add(src)
    s.flush()
    return src.id


def test_store_entries_keys(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        news = _source(s, "news", "news")
        weibo = _source(s, "weibo", "weibo")
        # A feed that re-issues the story under a new guid: stored once.
        assert len(store_entries(s, news, [feed("guid-1")], NOW)) == 1
        assert store_entries(s, news, [feed("guid-2")], NOW) == []
        # Three different reposts saying only "转发微博": three posts.
        reposts = [post("4990001"), post("4990002"), post("4990003")]
        assert len(store_entries(s, weibo, reposts, NOW)) == 3
        # A re-poll of the same page stores nothing.
        assert store_entries(s, weibo, reposts, NOW) == []
        s.commit()


API_PAGE = json.dumps({"ok": 1, "data": {"cards": [{"card_type": 9, "mblog": {
    "id": "4990123456789012", "mid": "4990123456789012",
    "created_at": "Tue Nov 24 10:20:00 +0800 2026",
    "text": "【情况通报】关于洛阳市社区矫正对象脱管事件的情况通报，详见省司法厅网站。",
    "user": {"id": 5000001, "screen_name": "河南司法"},
    "reposts_count": 120, "comments_count": 45, "attitudes_count": 300}}]}},
    ensure_ascii=False).encode()


def bridge_page(bid: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>河南司法的微博</title><link>https://weibo.com/5000001</link>
<item><title>【情况通报】关于洛阳市社区矫正对象脱管事件的情况通报</title>
<description>【情况通报】关于洛阳市社区矫正对象脱管事件的情况通报，详见省司法厅网站。</description>
<link>https://weibo.com/5000001/{bid}</link><guid>https://weibo.com/5000001/{bid}</guid>
<pubDate>Tue, 24 Nov 2026 02:20:00 GMT</pubDate></item></channel></rss>""".encode()


def test_one_weibo_post_through_the_api_and_a_bridge_is_stored_once(
        sessions: sessionmaker[Session]) -> None:
    """The API names the post by its mid, an RSS bridge by the bid in its address: both read
    as weibo:<mid>, and the second source to bring it stores nothing (issue 13). A feed's guid
    is not a platform id: two news sources with one guid keep one item each."""
    mid = "4990123456789012"
    bid = mid_to_bid(mid)
    assert bid
    (api,) = parser_for("weibo")(API_PAGE).entries
    (bridged,) = parser_for("weibo")(bridge_page(bid)).entries
    assert api.entry_id == bridged.entry_id == f"weibo:{mid}"
    with sessions() as s:
        search = _source(s, "微博搜索·河南司法（接口）", "weibo")
        bridge = _source(s, "河南司法（RSSHub）", "weibo")
        assert len(store_entries(s, search, [api], NOW)) == 1
        assert store_entries(s, bridge, [bridged], NOW) == []
        assert store_entries(s, bridge, [bridged], NOW) == []  # and on its next poll
        assert s.scalar(select(func.count()).select_from(Item)) == 1
        a, b = _source(s, "news-a", "news"), _source(s, "news-b", "news")
        assert len(store_entries(s, a, [feed("shared-guid")], NOW)) == 1
        assert len(store_entries(s, b, [feed("shared-guid")], NOW)) == 1
        s.commit()
