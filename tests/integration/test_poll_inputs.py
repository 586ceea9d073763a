"""Real inputs polled end to end over loopback HTTP into the database: Weibo's relative
times and extra fields, today's board envelopes, a sloppy feed's repairs as the source's
warning, and one Weibo post through a bridge and the API stored once in one source."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import select

from monitor.fetch import FetchPolicy
from monitor.models import Item, Source
from monitor.sources import SourceSpec, upsert_source
from tests.support.polling import poll_once
from tests.support.settings import defaults, poll_settings

FIX = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
POLICY = replace(FetchPolicy.from_section(defaults().fetch), connect_timeout=2,
                 read_timeout=2, total_timeout=4)
CFG = poll_settings(min_interval_s=60, max_backoff_s=3600)


def _source(sessions, name, url, kind="news", config=None):
    with sessions() as s:
        src, _ = upsert_source(s, SourceSpec(name=name, url=url, interval_s=600, kind=kind,
                                             allow_private=True, config=config), NOW)
        s.commit()
        return src.id


def _items(sessions, sid):
    with sessions() as s:
        return list(s.scalars(select(Item).where(Item.source_id == sid).order_by(Item.id)))


def test_weibo_relative_times_and_extras_are_stored(fake_web, sessions):
    # The server's clock is ten minutes behind ours: "刚刚" and "5分钟前" count from its Date
    # header, not from the poll's clock.
    server_now = NOW - timedelta(minutes=10)
    fake_web.add("/weibo", 200, (FIX / "social" / "weibo_mobile_relative.json").read_bytes(),
                 {"Content-Type": "application/json",
                  "Date": format_datetime(server_now, usegmt=True)})
    sid = _source(sessions, "微博搜索", fake_web.url("/weibo"), kind="weibo")
    report = poll_once(sessions, sid, policy=POLICY, cfg=CFG, now=NOW)
    assert report is not None and report.ok and len(report.new_item_ids) == 6
    items = _items(sessions, sid)
    published = [i.published_at.replace(tzinfo=UTC) if i.published_at.tzinfo is None
                 else i.published_at for i in items]
    assert published[0] == server_now and published[1] == server_now - timedelta(minutes=5)
    second = items[1]
    assert second.text.endswith("[允悲]")
    assert second.extra["picture_count"] == 2 and second.extra["region"] == "河南"
    assert items[2].extra["truncated"] is True and "全文" not in items[2].text
    with sessions() as s:
        warning = s.get(Source, sid).last_warning
    assert warning and "long post given only in part" in warning


def test_board_envelope_of_today_and_the_empty_message_warning(fake_web, sessions):
    fake_web.add("/board", 200, (FIX / "social" / "board_people_list.json").read_bytes(),
                 {"Content-Type": "application/json"})
    sid = _source(sessions, "领导留言板", fake_web.url("/board"), kind="board")
    report = poll_once(sessions, sid, policy=POLICY, cfg=CFG, now=NOW)
    assert report is not None and report.ok
    items = _items(sessions, sid)
    assert [i.external_id for i in items] == ["19500123", "19500456", "19500999"]
    assert all(i.title and i.extra["message"] for i in items)
    assert items[1].extra["reply_unit"] == "郑州市司法局"
    with sessions() as s:
        warning = s.get(Source, sid).last_warning
    assert warning == "1 message(s) have neither title nor text and were not stored: 19500789"


def test_a_sloppy_feed_is_stored_whole_with_its_repairs_as_the_warning(fake_web, sessions):
    body = (FIX / "feeds" / "twelve_items.xml").read_text(encoding="utf-8")
    body = body.replace("3103.html", "3103.html?from=rss&id=3").replace("省司法厅发布",
                                                                          "省司法厅\x08发布")
    fake_web.add("/feed", 200, body.encode(), {"Content-Type": "application/rss+xml"})
    sid = _source(sessions, "门户网站", fake_web.url("/feed"))
    report = poll_once(sessions, sid, policy=POLICY, cfg=CFG, now=NOW)
    assert report is not None and report.ok and len(report.new_item_ids) == 12
    with sessions() as s:
        src = s.get(Source, sid)
        assert src.last_error is None
        assert src.last_warning == ("removed 1 control character(s) that XML forbids; "
                                    "escaped 1 bare '&' that began no entity reference")
    links = [i.link for i in _items(sessions, sid)]
    assert "https://sft.henan.gov.cn/2026/11-11/3103.html?from=rss&id=3" in links


def test_one_weibo_post_through_the_bridge_then_the_api_is_one_item(fake_web, sessions):
    fake_web.add("/w", 200, (FIX / "social" / "weibo_rsshub.xml").read_bytes(),
                 {"Content-Type": "application/rss+xml"})
    sid = _source(sessions, "河南司法微博", fake_web.url("/w"), kind="weibo")
    first = poll_once(sessions, sid, policy=POLICY, cfg=CFG, now=NOW)
    assert first is not None and len(first.new_item_ids) == 1
    # The office switches the source from the bridge to the API: same post, no new item.
    fake_web.add("/w", 200, (FIX / "social" / "weibo_show_long.json").read_bytes(),
                 {"Content-Type": "application/json"})
    second = poll_once(sessions, sid, policy=POLICY, cfg=CFG, now=NOW + timedelta(hours=1))
    assert second is not None and second.ok and second.new_item_ids == []
    [item] = _items(sessions, sid)
    assert item.entry_id == "weibo:4654321098765434" and item.external_id == "4654321098765434"
