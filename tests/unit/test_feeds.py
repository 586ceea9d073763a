"""monitor.feeds.parse_feed on fixture files in tests/fixtures/feeds/."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.feeds import FeedEntry, parse_feed
from tests.support.fake_web import FakeWeb, fake_web  # noqa: F401 - fixture

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
SHANGHAI = timezone(timedelta(hours=8))


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- every feed format ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "feed_title", "first_title", "first_link", "count"),
    [
        ("rss090.rdf", "河南普法", "“八五”普法中期评估工作全面启动",
         "https://sft.henan.gov.cn/pufa/2026/0801.html", 2),
        ("rss091.xml", "河南司法行政在线", "省司法厅开展“宪法宣传周”系列活动",
         "https://sft.henan.gov.cn/2026/12-04/3100.html", 1),
        ("rss092.xml", "河南省司法厅 - 通知公告", "2026年度全省律师事务所年度检查考核结果公示",
         "https://sft.henan.gov.cn/tzgg/2026/1105.html", 1),
        ("rss10.rdf", "行政复议与应诉", "新修订行政复议法实施情况通报",
         "https://sft.henan.gov.cn/xzfy/2026/1110.html", 1),
        ("rss20.xml", "河南省司法厅 - 工作动态", "全省法律援助工作推进会在郑州召开",
         "https://sft.henan.gov.cn/2026/11-20/3001.html", 3),
        ("atom03.xml", "河南省监狱管理局", "全省监狱系统开展安全生产大检查",
         "https://jyj.henan.gov.cn/2026/1120.html", 1),
        ("atom10.xml", "河南司法 · 政策解读", "图解：《河南省公共法律服务条例》解读",
         "https://sft.henan.gov.cn/zcjd/2026/501.html", 2),
    ],
)  # fmt: skip
def test_each_feed_format(
    name: str, feed_title: str, first_title: str, first_link: str, count: int
) -> None:
    feed = parse_feed(load(name))
    assert feed.title == feed_title
    assert len(feed.entries) == count
    assert feed.entries[0].title == first_title
    assert feed.entries[0].link == first_link
    assert feed.warnings == ()


def test_rss20_entry_fields() -> None:
    first, second, third = parse_feed(load("rss20.xml")).entries
    assert first == FeedEntry(
        entry_id="sft-henan-3001",  # the guid, even when it is not a permalink
        title="全省法律援助工作推进会在郑州召开",
        # HTML stripped (script contents too), paragraphs kept apart.
        text="11月20日，全省法律援助工作推进会在郑州召开。\n"
        "会议要求，进一步扩大法律援助覆盖面，让群众在每一个司法案件中感受到公平正义。",
        link="https://sft.henan.gov.cn/2026/11-20/3001.html",
        author="sft@henan.gov.cn (省司法厅办公室)",
        published_at=datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI),
    )
    # content:encoded (the full text) wins over the description (a summary).
    assert second.text.startswith("为广泛听取社会各界意见，现将《河南省人民调解条例")
    assert "意见可通过电子邮件反馈" in second.text
    assert second.entry_id == second.link  # no guid: the link
    # Traditional → Simplified; no guid and no link: a hash of title, time and text.
    assert third.title == "网友反映某公证处办事效率低 司法厅回应"
    assert third.author == "省司法厅新闻办"
    assert third.link is None
    expected_id = hashlib.sha256(
        "\x1f".join((third.title, "2026-11-18T08:15:00+08:00", third.text)).encode()
    ).hexdigest()
    assert third.entry_id == expected_id


def test_traditional_kept_when_not_converting() -> None:
    third = parse_feed(load("rss20.xml"), to_simplified=False).entries[2]
    assert third.title == "網友反映某公證處辦事效率低 司法廳回應"


def test_atom_fields() -> None:
    first, second = parse_feed(load("atom10.xml")).entries
    assert first.entry_id == "tag:sft.henan.gov.cn,2026:zcjd/501"
    assert first.author == "政策法规处"
    assert first.text == "条例共六章四十条。\n明确了公共法律服务平台建设、人员保障等内容。"
    assert first.published_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    # A plain-text title keeps a literal "<"; only updated → used as the time.
    assert second.title == "问答：法律援助申请需要哪些材料？ a < b"
    assert second.published_at == datetime(2026, 11, 19, 9, 0, tzinfo=SHANGHAI)


def test_rss10_dublin_core_date_and_creator() -> None:
    (entry,) = parse_feed(load("rss10.rdf")).entries
    assert entry.published_at == datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI)
    assert entry.author == "行政复议处"


def test_zero_entries_is_fine() -> None:
    feed = parse_feed(load("empty_channel.xml"))
    assert feed.title == "河南省司法厅 - 新闻发布会"
    assert feed.entries == ()


# -- dates -----------------------------------------------------------------------------


def test_zone_less_dates_are_asia_shanghai() -> None:
    times = [e.published_at for e in parse_feed(load("zoneless_dates.xml")).entries]
    assert times == [
        datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI),  # 2026-11-20 09:30
        datetime(2026, 11, 20, 14, 5, tzinfo=SHANGHAI),  # 2026年11月20日 14:05
        datetime(2026, 11, 20, 16, 45, tzinfo=SHANGHAI),  # RFC 822 without a zone
        datetime(2026, 11, 20, 18, 0, tzinfo=SHANGHAI),  # dc:date without a zone
        None,  # "刚刚" (just now) is not a date
    ]


def test_zone_less_dates_follow_default_tz() -> None:
    first = parse_feed(load("zoneless_dates.xml"), default_tz="UTC").entries[0]
    assert first.published_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def test_falls_back_to_feedparser_date_parsing() -> None:
    # A Perforce-style date our parser does not know but feedparser does (as UTC).
    body = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        "<item><title>律师协会换届</title><pubDate>Fri, 2026/11/20 09:30:00 GMT</pubDate>"
        "</item></channel></rss>"
    ).encode()
    (entry,) = parse_feed(body).entries
    assert entry.published_at == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


# -- hostile XML -----------------------------------------------------------------------------


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(ParseError, match="declares the entity 'lol'"):
        parse_feed(load("billion_laughs.xml"))


@pytest.mark.parametrize("name", ["xxe.xml", "xxe_parameter.xml"])
def test_xxe_is_refused_without_reading_the_file(name: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(load(name))
    assert "refused" in str(info.value)
    assert "root:" not in str(info.value)


def test_external_entities_are_never_fetched(fake_web: FakeWeb) -> None:
    """Whether declared as entities or as the DTD itself, nothing named in the prolog is
    fetched; an external DTD reference alone (RSS 0.91 style) is allowed."""
    fake_web.add("/evil.dtd", 200, b'<!ENTITY secret "stolen">', {"Content-Type": "text/xml"})
    fake_web.add("/secret.txt", 200, "机密".encode(), {"Content-Type": "text/plain"})
    items = "<channel><title>t</title><item><title>标题</title></item></channel></rss>"
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{fake_web.url("/secret.txt")}">]>'
        f'<rss version="2.0">{items.replace("标题", "&x;")}'
    )
    param = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "{fake_web.url("/evil.dtd")}">'
        f'%p;]><rss version="2.0">{items}'
    )
    dtd_only = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{fake_web.url("/evil.dtd")}">'
        f'<rss version="2.0">{items}'
    )
    for body in (xxe, param):
        with pytest.raises(ParseError, match="refused"):
            parse_feed(body.encode())
    assert parse_feed(dtd_only.encode()).entries[0].title == "标题"
    assert fake_web.hits("/evil.dtd") == 0
    assert fake_web.hits("/secret.txt") == 0


def test_body_that_names_a_file_is_not_opened() -> None:
    # feedparser would open a file if handed its name; we only ever give it a stream.
    with pytest.raises(ParseError, match="not a feed"):
        parse_feed(b"/etc/passwd")


# -- not a feed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the response body is empty"),
        (b"  \r\n\t ", "the response body is empty"),
        (load("not_feed.html"), "an HTML page"),
        (b"<html><body><p>404 \xe9\xa1\xb5\xe9\x9d\xa2\xe4\xb8\x8d\xe5\xad\x98\xe5\x9c\xa8</p>",
         "an HTML page"),
        (b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'><body/></html>",
         "an HTML page"),
        (load("not_feed.json"), "looks like JSON"),
        (b'[{"title": "x"}]', "looks like JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "binary data"),
        (bytes(range(128, 256)) * 8, "binary data"),
        ("这不是一个订阅源".encode(), "not XML"),
        (load("opml.xml"), "root element is <opml>"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "root element is <svg>"),
    ],
)  # fmt: skip
def test_not_a_feed(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body)
    assert str(info.value).startswith("not a feed: ")
    assert reason in str(info.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        # A break in the prolog, where a DTD would be, is never repaired.
        (b"<?xml version='1.0'?><!DOCTYPE rss [<!ELEMENT rss ANY><rss version='2.0'></rss>",
         "at line 1"),
        (b"<rss version='2.0' <channel></channel></rss>", "not well-formed (invalid token)"),
    ],
)  # fmt: skip
def test_malformed_xml_is_refused_with_position(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(body)
    assert str(info.value).startswith("malformed XML: ")
    assert reason in str(info.value)


def test_truncated_feed_keeps_only_the_entries_complete_before_the_break() -> None:
    feed = parse_feed(load("truncated.xml"))
    # The first item is whole; the second breaks off mid-description and is not stored.
    assert [e.title for e in feed.entries] == ["全省公证行业开展“减证便民”专项行动"]
    assert feed.entries[0].text == "全面推行公证事项证明材料清单制度，"
    assert feed.title == "河南省司法厅 - 工作动态"
    assert feed.warnings == (
        "the feed breaks off or is malformed (no element found at line 12, column 41); kept "
        "the 1 entry complete before that point, dropped everything after it",
    )


def test_a_tag_never_closed_keeps_the_feed_but_no_half_entry() -> None:
    feed = parse_feed(b"<rss version='2.0'><channel><title>a</titel></channel></rss>")
    assert feed.entries == ()
    assert "mismatched tag at line 1, column 39" in feed.warnings[0]


# -- encodings -------------------------------------------------------------------------------


def test_gbk_feed_declared_gb2312() -> None:
    # Written by a GBK encoder but labelled gb2312 (镕 is GBK-only), as many sites do.
    feed = parse_feed(load("gbk.xml"))
    (entry,) = feed.entries
    assert feed.title == "洛阳市司法局"
    assert entry.title == "市司法局开展“法律援助惠民生”活动"
    assert entry.text.endswith("发放宣传资料3000余份。镕")
    assert entry.published_at == datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
    assert feed.warnings == ()


def test_gbk_feed_declared_utf8_is_recovered_with_a_warning() -> None:
    feed = parse_feed(load("gbk_declared_utf8.xml"))
    assert feed.entries[0].title == "市司法局开展“法律援助惠民生”活动"
    assert feed.warnings == (
        "the XML declaration says utf-8, but the feed is GB18030; decoded as GB18030",
    )


def test_utf8_declared_latin1_is_recovered_with_a_warning() -> None:
    feed = parse_feed(load("utf8_declared_latin1.xml"))
    assert feed.title == "南阳市司法局"
    assert feed.entries[0].title == "市司法局组织开展行政执法案卷评查"
    assert feed.warnings == (
        "the XML declaration says ISO-8859-1, but the feed is UTF-8; decoded as UTF-8",
    )


def test_wrong_http_charset_is_recovered_with_a_warning() -> None:
    feed = parse_feed(load("rss20.xml"), content_type="application/rss+xml; charset=GBK")
    assert feed.entries[0].title == "全省法律援助工作推进会在郑州召开"
    assert feed.warnings == ("the HTTP charset says GBK, but the feed is UTF-8; decoded as UTF-8",)


def test_http_charset_used_when_the_document_declares_nothing() -> None:
    body = "<rss version='2.0'><channel><title>信阳市司法局</title></channel></rss>".encode("gbk")
    assert parse_feed(body, content_type="text/xml; charset=gbk").title == "信阳市司法局"
    # Without any label we still find GB18030 rather than failing.
    assert parse_feed(body).title == "信阳市司法局"


def test_utf16_with_bom() -> None:
    text = load("rss20.xml").decode("utf-8").replace('encoding="utf-8"', 'encoding="utf-16"')
    feed = parse_feed(text.encode("utf-16"))
    assert feed.title == "河南省司法厅 - 工作动态"
    assert len(feed.entries) == 3


def test_unknown_encoding_label_is_a_warning() -> None:
    body = b"<?xml version='1.0' encoding='x-klingon'?><rss version='2.0'><channel>" \
        b"<title>ok</title></channel></rss>"  # fmt: skip
    feed = parse_feed(body)
    assert feed.title == "ok"
    assert feed.warnings == ("unknown encoding 'x-klingon' in the XML declaration; ignored",)


def test_html_entities_in_a_sloppy_feed_are_read() -> None:
    feed = parse_feed(load("html_entities.xml"))
    assert feed.title == "开封市司法局 动态"
    assert feed.entries[0].title == "“法律明白人”培训—第二期"
    assert feed.entries[0].text == "全市 200余名“法律明白人”参加培训…"
    assert feed.warnings == ("replaced 5 HTML entity reference(s) that XML does not define",)


def test_entries_with_nothing_in_them_are_skipped_with_a_warning() -> None:
    body = (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>t</title>"
        "<item><description>  </description></item><item><title>有效条目</title></item>"
        "</channel></rss>"
    ).encode()
    feed = parse_feed(body)
    assert [e.title for e in feed.entries] == ["有效条目"]
    assert feed.warnings == ("entry 1 has no title, text or link; skipped",)
