"""monitor.feed_fast reads the plainest RSS exactly as the feedparser path does, or declines.

Every feed here is parsed twice: as parse_feed does it (fast reading when it applies) and with
the fast reading switched off (feedparser, the reference). The two must give equal ParsedFeeds
(raw bodies compared too) or the same ParseError. Corpus: the fixture feeds, the demo feeds,
bench-like 100-item feeds (bench/pipeline.py's rss()) over the repo's text corpora, hand-made
edge cases, and feedparser's own test corpus when YUQING_FEEDPARSER_CORPUS names it.
"""

from __future__ import annotations

import json
import os
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from monitor import feeds
from monitor.errors import ParseError
from monitor.feed_fast import FastFeed, read_simple_rss
from monitor.feed_repair import CheckedXml, check_xml
from monitor.feeds import ParsedFeed, parse_feed

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)
Outcome = tuple[str, object]


def _outcome(body: bytes, content_type: str | None) -> Outcome:
    try:
        parsed = parse_feed(body, content_type=content_type)
    except ParseError as exc:
        return ("error", str(exc))
    return ("feed", _comparable(parsed))


def _comparable(parsed: ParsedFeed) -> object:
    # raw and raw_type are compare=False on FeedEntry; evidence must be equal too.
    return (parsed, [(e.raw, e.raw_type) for e in parsed.entries])


def _both(body: bytes, content_type: str | None,
          monkeypatch: pytest.MonkeyPatch) -> tuple[Outcome, Outcome, list[FastFeed | None]]:
    readings: list[FastFeed | None] = []

    def spy(checked: CheckedXml) -> FastFeed | None:
        reading = read_simple_rss(checked)
        readings.append(reading)
        return reading

    with monkeypatch.context() as patch:
        patch.setattr(feeds, "read_simple_rss", spy)
        fast = _outcome(body, content_type)
    with monkeypatch.context() as patch:
        patch.setattr(feeds, "read_simple_rss", lambda _checked: None)
        reference = _outcome(body, content_type)
    return fast, reference, readings


def rss(posts: list[tuple[str, str, str, str]]) -> bytes:
    """bench/pipeline.py's rss(): (guid, title, text, link) per item."""
    items = "".join(
        f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"<guid isPermaLink=\"false\">{escape(guid)}</guid>"
        f"<pubDate>{format_datetime(NOW)}</pubDate>"
        f"<description>{escape(text)}</description></item>" for guid, title, text, link in posts)
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
            f"<title>bench</title><link>https://bench.example/</link>{items}</channel></rss>"
            ).encode()


def _corpus_texts() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for path in sorted((ROOT / "config" / "demo").glob("*.xml")):
        out.extend((e.title, e.text) for e in parse_feed(path.read_bytes()).entries)
    for name in ("triage/posts.jsonl", "events_corpus.jsonl", "justice_sentiment.jsonl"):
        for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text = str(row.get("text") or "")
            out.append((str(row.get("title") or text[:20]), text))
    return out


def _bench_like() -> Iterator[bytes]:
    texts = _corpus_texts()
    for start in range(0, len(texts), 100):
        chunk = texts[start:start + 100]
        yield rss([(f"b-{start + i}", title, f"{text}（b{start}）", f"https://bench.example/b/{i}")
                   for i, (title, text) in enumerate(chunk)])


def _bench_like_html() -> Iterator[bytes]:
    """The same feeds with HTML descriptions (escaped, as generators write them)."""
    texts = _corpus_texts()
    for start in range(0, len(texts), 100):
        chunk = texts[start:start + 100]
        yield rss([(f"h-{start + i}", title,
                    f"<p>{text}</p><p><img src=\"https://img.example/{i}.jpg\"> "
                    f"<img alt=\"[赞]\" src=\"/e/zan.gif\"><br>&nbsp;（h{start}）</p>",
                    f"https://bench.example/h/{i}")
                   for i, (title, text) in enumerate(chunk)])


def _item(inner: str, channel: str = "<title>t</title>") -> bytes:
    return (f"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel>{channel}"
            f"<item>{inner}</item></channel></rss>").encode()


_PUB = "<pubDate>Tue, 24 Nov 2026 17:00:00 +0800</pubDate>"
# Shapes the fast reading must read exactly like feedparser, or decline.
EDGE_CASES = [
    _item("<title>  县司法局 \r\n 开展 </title><link> https://a.example/1 </link>" + _PUB),
    _item("<title>Ã©tude â€“ mojibake</title><description>cafÃ© \x85 \x96 text</description>"),
    _item("<title>C1: \x80\x85\x9f</title><link>http:///a.example/x</link>"),
    _item("<title>every C1: " + "".join(map(chr, range(0x80, 0xA0))) + "</title>"),
    _item("<title>a &gt; b</title>"),
    _item("<title>a &amp; b</title><link>https://a.example/?a=1&amp;b=2</link>"),
    _item("<title><![CDATA[plain in cdata]]></title><description><![CDATA[<p>html</p>]]>"
          "</description>"),
    _item("<title>x</title><description>line\r\nline&#13;\n&#13;end  </description>"),
    _item("<guid>https://a.example/perma</guid><title>permalink only</title>"),
    _item("<link>https://a.example/l</link><guid>https://a.example/g</guid>"),
    _item("<guid isPermaLink=\"true\">https://a.example/g</guid><link>https://a.example/l</link>"),
    _item("<guid isPermaLink=\"false\">relative/id</guid><link>/relative/link</link>"),
    _item("<guid isPermaLink=\"False\">x</guid><title>odd case</title>"),
    _item("<title></title><description/><link/>"),
    _item("<title/>"),
    _item("<description>no title, 繁體中文的內容，軟體與網路</description>"),
    _item("<title>bad date</title><pubDate>not a date at all</pubDate>"),
    _item("<title>odd date</title><pubDate>2026-11-24 19:20:00</pubDate>"),
    _item("<title>zone</title><pubDate>Tue, 24 Nov 2026 17:00:00 +2500</pubDate>"),
    _item("<title>a</title><title>twice</title>"),
    _item("<title>x</title>stray text"),
    _item("<title>x<b>bold</b></title>"),
    _item("<title>x</title><author>a@b.example (A)</author>"),
    _item("<title>x</title><category>c</category><comments>/c</comments>"),
    _item("<title>x</title><!-- a comment --><?pi here?>" + _PUB),
    _item("<title>a<!-- c -->b<?pi x?>c</title><description>d<!-- c -->e</description>"),
    _item("<title>xmlns in a title</title>"),
    _item("<title>h</title><description><![CDATA[<p>段落一</p><img src=\"/rel/a.png\" "
          "alt=\"[doge]\"><script>alert(1)</script><p style=\"color:red\" onclick=\"x()\">"
          "二&nbsp;三 &amp; 四</p><img src=\"https://a.example/b.jpg\">]]></description>"),
    _item("<title>h</title><description>&lt;b&gt;escaped&lt;/b&gt; &amp;amp; "
          "&lt;a href=\"rel\"&gt;link&lt;/a&gt;&lt;br/&gt;\r\nnext</description>"),
    _item("<title>h</title><description><![CDATA[<!-- c --><![CDATA[x]]&gt;<div>未闭合]]>"
          "</description>"),
    _item("<title>h</title><author>fazhi@demo.example (大河报记者 陈思远)</author>"),
    _item("<title>h</title><author>  网友“豫东小李” </author>"),
    _item("<title>\u3000全角\u00a0ＡＢＣ２０２６\u200b</title>"),
    _item("<title>x</title>", channel=""),
    _item("<title>x</title>", channel="<title> 頻道 </title><description>d</description>"
          "<lastBuildDate>Tue, 24 Nov 2026 17:00:00 +0800</lastBuildDate><ttl>10</ttl>"),
    _item("<title>x</title>", channel="<image><title>img</title></image>"),
    b"<?xml version=\"1.0\"?><rss><channel><title>t</title><item><title>no version</title>"
    b"</item></channel></rss>",
    b"<rss version=\"2.0\"><channel><item><title>a</title></item><title>late</title>"
    b"<item><title>b</title></item></channel></rss>",
    b"<rss version=\"2.0\"><channel><title>first</title><item><title>a</title></item>"
    b"<title>second</title></channel></rss>",
    b"<rss version=\"2.0\"><channel><title>first</title><title>second</title></channel></rss>",
    b"<rss version=\"2.0\"><channel><title>t</title></channel><channel><item><title>two"
    b"</title></item></channel></rss>",
    b"<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><title>t"
    b"</title><atom:link href=\"https://a.example/feed\" rel=\"self\" "
    b"type=\"application/rss+xml\"/><atom:link href=\"https://a.example/\" rel=\"alternate\" "
    b"type=\"text/html\"/><item><title>atom self link</title></item></channel></rss>",
    b"<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel><item>"
    b"<title>x</title><atom:link href=\"https://a.example/i\"/></item></channel></rss>",
    b"<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>"
    b"<atom:link rel=\"self\">text</atom:link><item><title>x</title></item></channel></rss>",
    b"<rss version=\"2.0\" xmlns:a=\"http://www.w3.org/2005/Atom\"><channel>"
    b"<a:link href=\"https://a.example/\"/><item><title>x</title></item></channel></rss>",
    b"<rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><item>"
    b"<title>x</title><dc:creator>d</dc:creator></item></channel></rss>",
    b"<rss version=\"2.0\"><channel><item><title>a</title></item><item><title>b</title>"
    b"<link>https://a.example/b</link></item><item><title>c</title></item>",  # truncated
    b"<!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" "
    b"\"http://my.netscape.com/publish/formats/rss-0.91.dtd\"><rss version=\"0.91\"><channel>"
    b"<item><title>doctype</title></item></channel></rss>",
]


def _files() -> list[Path]:
    paths = sorted((ROOT / "tests" / "fixtures" / "feeds").iterdir())
    paths += sorted((ROOT / "tests" / "fixtures" / "social").glob("*.xml"))
    return paths + sorted(p for p in (ROOT / "config" / "demo").iterdir()
                          if p.suffix in (".xml", ".rdf"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.name)
def test_fixture_and_demo_feeds_read_the_same(path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fast, reference, _ = _both(path.read_bytes(), None, monkeypatch)
    assert fast == reference


def test_bench_like_feeds_take_the_fast_path_and_read_the_same(
        monkeypatch: pytest.MonkeyPatch) -> None:
    bodies = list(_bench_like()) + list(_bench_like_html())
    assert len(bodies) > 30
    for body in bodies:
        fast, reference, readings = _both(body, "application/rss+xml; charset=utf-8",
                                          monkeypatch)
        assert readings and readings[0] is not None  # the fast path did read it
        assert fast == reference
        assert fast[0] == "feed"


@pytest.mark.parametrize("body", EDGE_CASES)
def test_edge_cases_read_the_same_or_fall_back(body: bytes,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fast, reference, _ = _both(body, None, monkeypatch)
    assert fast == reference


def _fast(body: bytes) -> FastFeed | None:
    return read_simple_rss(check_xml(body, []))


def test_the_fast_path_declines_what_it_does_not_fully_understand() -> None:
    declined = [b for b in EDGE_CASES if _fast(b) is None]
    # markup, "&", an element twice, stray text, a nested element, an unknown element or
    # namespace, an attribute it does not know, two channels, a DOCTYPE, a broken document
    assert len(declined) >= 12
    taken = _fast(EDGE_CASES[0])
    assert taken is not None and taken.entries[0]["link"] == "https://a.example/1"


_HEADER = re.compile(rb"^Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.MULTILINE)


@pytest.mark.skipif(not os.environ.get("YUQING_FEEDPARSER_CORPUS"),
                    reason="set YUQING_FEEDPARSER_CORPUS to feedparser's tests/")
def test_feedparser_corpus_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = Path(os.environ["YUQING_FEEDPARSER_CORPUS"])
    compared = fast_read = 0
    for path in sorted(p for p in corpus.rglob("*") if p.suffix in (".xml", ".rdf")):
        body = path.read_bytes()
        header = dict(_HEADER.findall(body[:2000]))
        content_type = header.get(b"Content-type") or header.get(b"Content-Type")
        fast, reference, readings = _both(
            body, content_type.decode("latin-1") if content_type else None, monkeypatch)
        assert fast == reference, path
        compared += 1
        fast_read += any(r is not None for r in readings)
    assert compared > 2000
    assert fast_read > 0


_PIECES = ["县司法局", "軟體網路", "保障著", " ", "\u3000", "\r\n", "\t", "Ã©", "\x85", "ＡＢ２",
           "a", "http:///x", "/rel", "https://a.example/p?q=1", "&amp;", "&lt;p&gt;", "<b>",
           "</b>", "<![CDATA[<i>c</i>]]>", "&#13;", "&#x85;", "Tue, 24 Nov 2026 17:00:00 +0800",
           "2026-11-24 19:20:00", "😀", "\u200b", ">", "\"", "'"]
_FIELDS = ["title", "link", "guid", "guid isPermaLink=\"false\"", "guid isPermaLink=\"true\"",
           "pubDate", "description", "author", "category", "comments"]


def _random_feed(rng: random.Random) -> bytes:
    def text() -> str:
        return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 5)))
    items = []
    for _ in range(rng.randint(0, 4)):
        fields = rng.sample(_FIELDS, rng.randint(0, 6))
        inner = "".join(f"<{f}>{text()}</{f.split()[0]}>" for f in fields)
        items.append(f"<item>{inner}</item>{rng.choice(['', ' ', chr(10)])}")
    head = rng.choice(["", "<title>" + text() + "</title>", "<description>d</description>"])
    ns = rng.choice(["", " xmlns:atom=\"http://www.w3.org/2005/Atom\""])
    link = "<atom:link href=\"https://a.example/f\" rel=\"self\"/>" if ns and rng.random() < .7 \
        else ""
    return (f"<rss version=\"2.0\"{ns}><channel>{head}{link}{''.join(items)}</channel></rss>"
            ).encode()


def test_random_plain_feeds_read_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(20261204)
    taken = 0
    for _ in range(400):
        body = _random_feed(rng)
        fast, reference, readings = _both(body, None, monkeypatch)
        assert fast == reference, body
        taken += any(r is not None for r in readings)
    assert taken > 100  # the fast path was exercised, not only declined
