"""The bundled demo feeds are well-formed, varied, dated in range, and exercise the taxonomy;
the social sources (JSON in the platforms' shapes, a WeChat bridge) carry the planted reposts,
near-duplicates and burst the events demo is built around."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml

from monitor.topics import Taxonomy
from tests.support.settings import defaults

CONFIG = Path(__file__).resolve().parents[2] / "config"
DEMO = CONFIG / "demo"
SOURCES: list[dict[str, Any]] = yaml.safe_load((DEMO / "sources.yaml").read_text("utf-8"))[
    "sources"
]
# The XML feeds (read by feedparser here, as an independent check) and the JSON sources.
FEEDS = [s for s in SOURCES if not s["path"].endswith(".json")]
JSON_SOURCES = [s for s in SOURCES if s["path"].endswith(".json")]
KINDS = {"news", "government", "weibo", "wechat", "board"}
SHANGHAI = timezone(timedelta(hours=8))


def _parse(source: dict[str, Any]) -> Any:
    # Bytes, not a path or str: feedparser must see the XML declaration to honour GB18030.
    return feedparser.parse((DEMO / source["path"]).read_bytes())


def _text(entry: Any) -> str:
    html = " ".join(
        [entry.get("title", ""), entry.get("summary", "")]
        + [c.value for c in entry.get("content", [])]
    )
    return re.sub(r"<[^>]+>", " ", html)


def _key(entry: Any) -> str:
    # RSS 1.0 and 0.91 items have no guid; their link is their identity.
    return str(entry.get("id") or entry.get("link"))


@pytest.fixture(scope="module")
def entries() -> list[tuple[str, Any]]:
    return [(s["path"], e) for s in FEEDS for e in _parse(s).entries]


def test_sources_yaml_is_complete() -> None:
    assert len(SOURCES) >= 6
    for source in SOURCES:
        assert {"name", "path", "kind", "interval"} <= set(source) <= {
            "name", "path", "kind", "interval", "config"}
        assert (DEMO / source["path"]).is_file(), source["path"]
        assert source["kind"] in KINDS
        assert isinstance(source["interval"], int) and source["interval"] >= 60
    assert len({s["path"] for s in SOURCES}) == len(SOURCES)
    assert {s["kind"] for s in SOURCES} == KINDS


@pytest.mark.parametrize("source", FEEDS, ids=[s["path"] for s in FEEDS])
def test_every_feed_parses_cleanly(source: dict[str, Any]) -> None:
    feed = _parse(source)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.entries
    for entry in feed.entries:
        assert entry.get("title") and entry.get("link", "").startswith("https://demo.example/")
        assert re.search(r"[\u4e00-\u9fff]", _text(entry))


def test_formats_and_encodings_are_mixed() -> None:
    versions = {s["path"]: _parse(s).version for s in FEEDS}
    assert {"rss20", "atom10", "rss10"} <= set(versions.values())
    encodings = {s["path"]: _parse(s).encoding.lower() for s in FEEDS}
    assert [p for p, enc in encodings.items() if enc != "utf-8"] == ["liuyan_board.xml"]
    assert encodings["liuyan_board.xml"] in {"gb18030", "gbk"}
    raw = (DEMO / "liuyan_board.xml").read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="GB18030"?>')
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_enough_distinct_items(entries: list[tuple[str, Any]]) -> None:
    keys = [_key(e) for _, e in entries]
    assert len(keys) >= 160
    assert [k for k, n in Counter(keys).items() if n > 1] == []


def test_items_are_dated_in_the_demo_window(entries: list[tuple[str, Any]]) -> None:
    days: set[str] = set()
    hours: set[int] = set()
    for path, entry in entries:
        if path == "county_sfj_091.xml":  # RSS 0.91 items carry no date, on purpose
            continue
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
        assert parsed, (path, entry.get("title"))
        # feedparser gives UTC, and reads the board's zone-less times as UTC (8 h late); the
        # window is 2026-11-01 00:00 to 2026-11-26 00:00 Shanghai time, which both satisfy.
        when = datetime(*parsed[:6], tzinfo=UTC)
        assert datetime(2026, 10, 31, 16, tzinfo=UTC) <= when
        assert when < datetime(2026, 11, 25, 16, tzinfo=UTC)
        local = when.astimezone(SHANGHAI)
        days.add(local.date().isoformat())
        hours.add(local.hour)
    assert len(days) >= 20  # spread over the month, not bunched on one day
    assert len(hours) >= 12


def test_rfc822_weekdays_agree_with_dates() -> None:
    # A wrong weekday ("Mon, 25 Nov 2026") is the classic hand-written-feed mistake.
    for source in FEEDS:
        text = (DEMO / source["path"]).read_bytes().decode(_parse(source).encoding)
        for weekday, day, month, year in re.findall(
            r"<(?:pubDate|lastBuildDate)>(\w{3}), (\d{2}) (\w{3}) (\d{4})", text
        ):
            date = datetime.strptime(f"{day} {month} {year}", "%d %b %Y")
            assert date.strftime("%a") == weekday, (source["path"], day, month)


def test_taxonomy_separates_justice_items_from_the_rest(entries: list[tuple[str, Any]]) -> None:
    taxonomy = Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")
    results = [(path, e.title, taxonomy.match(_text(e))) for path, e in entries]
    relevant = [r for r in results if r[2].relevant]
    assert len(relevant) >= 120
    assert len(results) - len(relevant) >= 10
    # the stories the demo is built around are found, with the topic they are about
    expect = {
        "郑州一律所被指“风险代理”收取工伤赔偿金四成 市司法局已介入调查": "lawyers",
        "洛阳一社区矫正对象剪断定位腕带脱管 警方已介入": "community_corrections",
        "开封一公证处被指“让群众跑了五趟” 当地司法局：已责令整改": "notary",
        "交通事故伤残鉴定结果引争议 当事人家属申请重新鉴定": "forensic_appraisal",
        "申请法律援助被要求开经济困难证明，村里不给开": "legal_aid",
        "村调解员与对方是亲戚却不回避，调解不公": "mediation",
        "戒毒所学员“被打致死”系谣言 省戒毒管理局发布情况说明": "drug_rehab",
        "法律职业资格申请系统无法登录": "legal_exam",
        "监狱视频会见名额太少，老人三个月见不到儿子": "prisons",
    }
    by_title = {title: match for _, title, match in results}
    for title, topic in expect.items():
        assert topic in by_title[title].topics, title
    # weather, traffic and sports stay out
    for title in (
        "寒潮来袭！河南大部将降温10℃以上 豫北有小到中雪",
        "河南男篮主场108:97击败广东 豪取四连胜",
    ):
        assert not by_title[title].relevant
    # the rumour thread carries severe terms; a negative complaint carries elevated ones
    rumour = by_title["戒毒所学员“被打致死”系谣言 省戒毒管理局发布情况说明"]
    assert rumour.severity == "severe"
    notary = by_title["开封一公证处被指“让群众跑了五趟” 当地司法局：已责令整改"]
    assert "推诿" in [h.term for h in notary.sensitive]


def test_every_feed_has_justice_items(entries: list[tuple[str, Any]]) -> None:
    taxonomy = Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")
    per_feed = Counter(path for path, e in entries if taxonomy.match(_text(e)).relevant)
    assert set(per_feed) == {s["path"] for s in FEEDS}


# ---------------------------------------------------------------- social sources

def _social(path: str) -> Any:
    """A social source parsed the way the poller does: by its kind and config."""
    from monitor.social import parser_for

    source = next(s for s in SOURCES if s["path"] == path)
    # fetched_at: the demo's Weibo posts carry the mobile API's relative times ("41分钟前"),
    # which the poller reads against the fetch time.
    return parser_for(source["kind"], source.get("config"))(
        (DEMO / path).read_bytes(), fetched_at=DEMO_FETCHED)


DEMO_FETCHED = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # after the dated posts, in the window


def test_social_sources_are_listed() -> None:
    paths = {s["path"]: s for s in SOURCES}
    assert paths["weibo_api_search.json"]["kind"] == "weibo"
    assert paths["liuyan_threads.json"]["kind"] == "board"
    assert paths["vendor_posts.json"]["config"]["mapping"]["items"] == "data.results"
    assert paths["wechat_bridge_zzsf.xml"]["kind"] == "wechat"


@pytest.mark.parametrize("source", JSON_SOURCES, ids=[s["path"] for s in JSON_SOURCES])
def test_json_sources_parse_with_distinct_ids(source: dict[str, Any]) -> None:
    parsed = _social(source["path"])
    assert parsed.entries and not parsed.warnings
    ids = [e.external_id for e in parsed.entries]
    assert None not in ids and len(set(ids)) == len(ids)
    for e in parsed.entries:
        assert re.search(r"[\u4e00-\u9fff]", e.title + e.text)
        # Dated entries are in the demo window; undated ones are the Weibo search's newest
        # posts, which the mobile API dates relatively ("刚刚", "12分钟前").
        if e.published_at is not None:
            assert datetime(2026, 10, 31, 16, tzinfo=UTC) <= e.published_at
            assert e.published_at < datetime(2026, 11, 25, 16, tzinfo=UTC)


def test_weibo_search_plants_a_burst_with_reposts_and_rewrites() -> None:
    from monitor.events import ClusterPolicy, signature, similarity

    entries = _social("weibo_api_search.json").entries
    by_id = {e.external_id: e for e in entries}
    # The burst's posts carry relative times ("41分钟前"): all within the hour of the fetch.
    hour_ago = DEMO_FETCHED - timedelta(hours=1)
    undated = [e for e in entries if e.published_at and e.published_at >= hour_ago]
    [original] = [e for e in undated if e.repost_of is None and "#商丘" in e.text]
    reposts = [e for e in undated if e.repost_of == original.external_id]
    rewrites = [e for e in undated if e.repost_of is None and e is not original]
    # Enough in "the last hour" for a burst (events.bursts.min_count is 10).
    assert len(reposts) + len(rewrites) + 1 >= 15
    # Bare "转发微博" reposts: different posts with the same words, each to be kept.
    bare = [e for e in reposts if e.text == "转发微博"]
    assert len(bare) >= 5
    # The rewrites are near-duplicates by text alone.
    policy = ClusterPolicy.from_section(defaults().events)
    sig = signature(original.text)
    for e in rewrites:
        assert similarity(sig, signature(e.text)) >= policy.threshold, e.text
    # The older lawyer-fee thread has reposts of an original that is in the file.
    dated_reposts = [e for e in entries
                     if e.published_at and e.published_at < hour_ago and e.repost_of]
    assert dated_reposts and all(e.repost_of in by_id for e in dated_reposts)


def test_board_threads_are_messages_with_states() -> None:
    entries = _social("liuyan_threads.json").entries
    assert all(e.extra["message"] and e.extra["region"].startswith("河南省") for e in entries)
    states = {e.extra["state"] for e in entries}
    assert {"已回复", "未回复", "办理中"} <= states
    for e in entries:
        assert bool(e.extra["reply"]) == (e.extra["state"] == "已回复")


def test_vendor_api_is_read_through_the_mapping() -> None:
    entries = {e.external_id: e for e in _social("vendor_posts.json").entries}
    dy = entries["dy_8120001"]
    assert (dy.author, dy.reposts, dy.comments, dy.likes) == ("郑州身边事", 1210, 3460, 41000)
    assert dy.title == "工伤赔偿被律所扣走四成"
    assert entries["ks_8120003"].reposts == 980  # counts given as strings


def test_wechat_bridge_keeps_the_account_and_engagement() -> None:
    entries = _social("wechat_bridge_zzsf.xml").entries
    assert {e.author for e in entries} == {"郑州司法"}
    reads = {e.title: e.extra.get("reads") for e in entries}
    assert reads["郑州市司法局对网友反映的律所收费问题立案调查"] == 100000
    assert reads["律师收费，这些“红线”不能碰！"] == 26000
