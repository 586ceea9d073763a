"""Tables for monitor.text: HTML stripping, normalisation, content hashes, date parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.errors import ConfigError
from monitor.text import content_hash, normalize_text, parse_datetime, strip_html

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("", ""),
        ("纯文本，没有标签", "纯文本，没有标签"),
        ("<p>司法厅发布</p><p>第二段</p>", "司法厅发布\n第二段"),
        ("第一行<br>第二行<br/>第三行", "第一行\n第二行\n第三行"),
        ("<b>律师</b>&amp;<i>公证</i>", "律师&公证"),
        ("&lt;script&gt; 是文字", "<script> 是文字"),
        ("前<script>var x = '<p>不可见</p>';</script>后", "前后"),
        ("前<style>p { color: red }</style>后", "前后"),
        ("前<noscript>请启用脚本</noscript>后", "前后"),
        ("a&nbsp;&nbsp;&nbsp;b\t\t c", "a b c"),
        ("<p>  行首空格  </p>\n\n\n<p>下一段</p>", "行首空格\n下一段"),
        ("零\u200b宽\ufeff字符", "零宽字符"),
        ("<div><p>未闭合<b>标签", "未闭合标签"),
        ("<<<>>> &&& <a href=", "<<<>>> &&&"),
        ("<!-- 注释 -->正文<![CDATA[x]]>", "正文"),
        ("&#20013;&#x6587;", "中文"),
    ],
)
def test_strip_html(html: str, expected: str) -> None:
    assert strip_html(html) == expected


@pytest.mark.parametrize(
    "garbage",
    ["<", "</", "<!", "<!DOCTYPE", "<a b='", "&#99999999999;", "\x00\x01<p\x00>", "<" * 10000],
)
def test_strip_html_never_raises_on_garbage(garbage: str) -> None:
    assert isinstance(strip_html(garbage), str)


@pytest.mark.parametrize(
    ("text", "to_simplified", "expected"),
    [
        ("ＡＢＣ　１２３", False, "ABC 123"),
        ("百分之１００％", False, "百分之100%"),
        # Chinese punctuation stays full-width: it is how the language is written.
        ("你好，世界！（测试）：对吗？", False, "你好，世界！（测试）：对吗？"),
        ("臺灣司法與律師", True, "台湾司法与律师"),
        ("臺灣司法與律師", False, "臺灣司法與律師"),
        ("<p>河南省<b>司法廳</b></p>", True, "河南省司法厅"),
        ("  多个   空格\n\n\n换行  ", False, "多个 空格\n换行"),
        ("", True, ""),
    ],
)
def test_normalize_text(text: str, to_simplified: bool, expected: str) -> None:
    assert normalize_text(text, to_simplified=to_simplified) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("标题", "正文内容"), ("标题", "<p>正文内容</p>")),
        (("标题", "正文 内容"), ("  标题 ", "正文\n\n内容")),
        (("Title 标题", "Text"), ("title标题", "TEXT")),
        (("２０２６年", "ＡＢＣ"), ("2026年", "abc")),
        (("司法厅通报", "律师"), ("司法廳通報", "律師")),
        (("标题", "正文&amp;附件"), ("标题", "正文&附件")),
    ],
)
def test_content_hash_equal_for_reformatted_story(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert content_hash(*a) == content_hash(*b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("标题", "正文内容"), ("标题", "正文内容有变")),
        (("标题一", "正文"), ("标题二", "正文")),
        # Moving words between title and text is a different story.
        (("标题正文", ""), ("标题", "正文")),
    ],
)
def test_content_hash_differs_for_different_story(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert content_hash(*a) != content_hash(*b)


def test_content_hash_is_sha256_hex() -> None:
    digest = content_hash("标题", "正文")
    assert len(digest) == 64
    assert int(digest, 16) >= 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Fri, 20 Nov 2026 09:30:00 +0800", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("Fri, 20 Nov 2026 01:30:00 GMT", datetime(2026, 11, 20, 1, 30, tzinfo=UTC)),
        ("20 Nov 2026 09:30 EST", datetime(2026, 11, 20, 14, 30, tzinfo=UTC)),
        ("Fri, 20 Nov 26 09:30:00 +0800", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        # Zone-less RFC 822 and "CST" (China Standard Time on Chinese sites) → Shanghai.
        ("Fri, 20 Nov 2026 09:30:00", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("Fri, 20 Nov 2026 09:30:00 CST", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("Fri, 20 Nov 2026 01:30:00 -0000", datetime(2026, 11, 20, 1, 30, tzinfo=UTC)),
        ("2026-11-20T01:30:00Z", datetime(2026, 11, 20, 1, 30, tzinfo=UTC)),
        ("2026-11-20T09:30:00+08:00", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("2026-11-20T09:30:00.250+08:00",
         datetime(2026, 11, 20, 9, 30, 0, 250000, tzinfo=SHANGHAI)),
        ("2026-11-20T09:30:00", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("2026-11-20 09:30", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("2026/11/20 09:30:15", datetime(2026, 11, 20, 9, 30, 15, tzinfo=SHANGHAI)),
        ("2026-11-20", datetime(2026, 11, 20, tzinfo=SHANGHAI)),
        ("2026-11", datetime(2026, 11, 1, tzinfo=SHANGHAI)),
        ("2026", datetime(2026, 1, 1, tzinfo=SHANGHAI)),
        ("2026年11月20日 09:30", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("2026年11月20日09时30分", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("2026年11月20日 9:05:07", datetime(2026, 11, 20, 9, 5, 7, tzinfo=SHANGHAI)),
        ("2026年1月2日", datetime(2026, 1, 2, tzinfo=SHANGHAI)),
        ("２０２６年１１月２０日　０９：３０", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("  2026-11-20 09:30  ", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        # 12-hour clocks, English and Chinese.
        ("20 Nov 2026 9:30 PM", datetime(2026, 11, 20, 21, 30, tzinfo=SHANGHAI)),
        ("20 Nov 2026 9:30 am", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
        ("20 Nov 2026 12:10 AM", datetime(2026, 11, 20, 0, 10, tzinfo=SHANGHAI)),
        ("Fri, 20 Nov 2026 01:30 PM GMT", datetime(2026, 11, 20, 13, 30, tzinfo=UTC)),
        ("2026年11月20日 下午3:30", datetime(2026, 11, 20, 15, 30, tzinfo=SHANGHAI)),
        ("2026年11月20日 上午9:30", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
    ],
)  # fmt: skip
def test_parse_datetime(value: str, expected: datetime) -> None:
    parsed = parse_datetime(value)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is not None


@pytest.mark.parametrize(
    "value",
    [None, "", "   ", "garbage", "昨天", "2026-02-30", "2026-13-01", "2026年11月32日",
     "2026-11-20 25:00", "Fri, 99 Nov 2026 09:30:00 +0800", "1" * 500, "2026-11-20 09:30 +99",
     "2026-11-20 15:30 PM", "下午"],
)  # fmt: skip
def test_parse_datetime_unparseable_is_none(value: str | None) -> None:
    assert parse_datetime(value) is None


def test_parse_datetime_zone_less_uses_default_tz() -> None:
    parsed = parse_datetime("2026-11-20 09:30", default_tz="UTC")
    assert parsed == datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def test_parse_datetime_unknown_default_tz_is_config_error() -> None:
    with pytest.raises(ConfigError):
        parse_datetime("2026-11-20", default_tz="Mars/Olympus")


@pytest.mark.parametrize(("raw", "clean"), [
    ("法律\x00援助", "法律援助"), ("a\x07b\x1bc\x7fd\x85e", "abcde"), ("孤\ud800立", "孤立"),
    ("非\ufffe字符\uffff", "非字符"), ("换\x0c页\t制表", "换 页 制表"), ("行\r\n二", "行\n二"),
])
def test_control_characters_never_reach_stored_text(raw: str, clean: str) -> None:
    """NUL cannot be stored in PostgreSQL text at all; no control character is text."""
    assert normalize_text(raw, to_simplified=True) == clean
    assert strip_html(raw) == clean
