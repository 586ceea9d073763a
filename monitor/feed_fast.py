"""A fast reading of the plainest RSS feeds, equal to what feedparser would give, or None.

feedparser re-parses the whole (already checked) document through a heavy Python SAX mixin;
on a 100-item feed that is two thirds of parse_feed's CPU. Most feeds a worker polls in bulk
are the simplest RSS 2.0 shape: <rss><channel> with a few text elements, items of title,
link, guid, pubDate and description, all plain text. For exactly that shape this module
reads the fields in one expat pass and hands back what feedparser would have stored for them
(the same keys, the same values after the same steps), so monitor.feeds builds its entries
from them unchanged.

Anything else declines (returns None) and the caller uses feedparser: another root, any
namespace or prefix, any attribute but rss@version and guid@isPermaLink, a DOCTYPE, an
element not listed below, an element inside a text element, text directly in rss, channel or
item, an element twice in one item, and any text with "<" or "&" in it (markup, which
feedparser would sanitise, resolve and guess the type of). Declining is always safe: when in
doubt, decline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from feedparser.html import _cp1252
from feedparser.urls import _urljoin

from monitor.evidence_raw import body_text

__all__ = ["FastFeed", "read_simple_rss"]

# Text elements of <channel> that only describe the feed; their values are not used for the
# entries, and none of them changes feedparser's state beyond its own key.
_CHANNEL_TEXT = frozenset({
    "title", "link", "description", "language", "copyright", "managingEditor", "webMaster",
    "pubDate", "lastBuildDate", "generator", "docs", "ttl", "category",
})
# Text elements of <item>, and the key feedparser stores each under (None: not one we read).
_ITEM_TEXT: dict[str, str | None] = {
    "title": "title", "link": "link", "guid": "id", "pubDate": "published",
    "description": "summary", "category": None, "comments": None,
}
_C1 = re.compile("[" + "".join(map(chr, sorted(_cp1252))) + "]")
_GUID_ATTRS: tuple[dict[str, str], ...] = ({}, {"isPermaLink": "false"}, {"isPermaLink": "true"})


class _Decline(Exception):
    pass


@dataclass(frozen=True)
class FastFeed:
    feed: dict[str, Any]  # the feed-level keys feedparser would store (title, title_detail)
    entries: list[dict[str, Any]]  # per item, the keys monitor.feeds reads, as feedparser's
    bodies: list[str]  # per item, its raw XML text (as monitor.evidence_raw.entry_bodies)


def _as_feedparser_stores(text: str) -> str:
    """The last steps of feedparser's pop() for a str on a UTF-8 document: its repair of
    UTF-8 read as Latin-1, then its windows-1252 mapping of C1 controls."""
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    # str.translate looks up every character; only C1 controls are in the table.
    return text.translate(_cp1252) if _C1.search(text) else text


def _plain_value(raw: str) -> str:
    return _as_feedparser_stores(raw.strip())


def _uri_value(raw: str) -> str:
    # feedparser resolves link and permalink guids against the document's base, which for an
    # in-memory stream without xml:base is "" (its _urljoin still mends "http:///x").
    return _as_feedparser_stores(_urljoin("", raw.strip()))


def _html_value(raw: str) -> str:
    # Text without "<" or "&" comes through feedparser's URI resolver and sanitiser as it
    # went in; the sanitiser then strips it again and turns CRLF into LF.
    return _as_feedparser_stores(raw.strip().replace("\r\n", "\n"))


class _Reader:
    def __init__(self, parser: Any, document: bytes) -> None:
        self.parser = parser
        self.document = document
        self.stack: list[str] = []
        self.text: list[str] = []
        self.feed: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.bodies: list[str] = []
        self.seen: set[str] = set()  # text elements already met in this item
        self.item_start = 0
        self.permalink = False
        self.channels = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if "".join(self.text).strip():
            raise _Decline  # text beside elements: feedparser files it somewhere odd
        depth = len(self.stack)
        parent = self.stack[-1] if self.stack else ""
        if depth == 0:
            ok = name == "rss" and set(attrs) <= {"version"}
        elif depth == 1:
            self.channels += 1
            ok = name == "channel" and not attrs and self.channels == 1
        elif depth == 2:
            ok = (name in _CHANNEL_TEXT or name == "item") and not attrs
            if name == "item":
                self._begin_item()
        elif depth == 3 and parent == "item":
            ok = name in _ITEM_TEXT and name not in self.seen and (
                not attrs or (name == "guid" and attrs in _GUID_ATTRS))
            self.seen.add(name)
            if name == "guid":
                self.permalink = attrs.get("isPermaLink", "true") == "true"
        else:
            ok = False  # an element inside a text element: markup feedparser would keep
        if not ok:
            raise _Decline
        self.stack.append(name)
        self.text = []

    def _begin_item(self) -> None:
        self.item_start = self.parser.CurrentByteIndex
        self.entries.append({})
        self.seen = set()

    def data(self, text: str) -> None:
        self.text.append(text)

    def end(self, name: str) -> None:
        self.stack.pop()
        depth = len(self.stack)
        text = "".join(self.text)
        self.text = []
        if name in ("rss", "channel", "item") and depth < 3:
            if text.strip():
                raise _Decline
            if name == "item":
                self._end_item()
            return
        if "<" in text or "&" in text:
            raise _Decline
        if depth == 2 and name == "title":
            value = _plain_value(text)
            self.feed["title"] = value
            self.feed["title_detail"] = {"type": "text/plain", "value": value}
        elif depth == 3:
            self._item_field(name, text)

    def _item_field(self, name: str, text: str) -> None:
        entry = self.entries[-1]
        key = _ITEM_TEXT[name]
        if key == "title":
            value = _plain_value(text)
            entry["title"] = value
            entry["title_detail"] = {"type": "text/plain", "value": value}
        elif key == "summary":
            value = _html_value(text)
            entry["summary"] = value
            entry["summary_detail"] = {"type": "text/html", "value": value}
        elif key == "link":
            entry["link"] = _uri_value(text)
        elif key == "id":
            value = _uri_value(text) if self.permalink else _plain_value(text)
            entry["id"] = value
            if self.permalink:
                # feedparser: a permalink guid is the link unless a <link> came before it; a
                # later <link> overwrites it.
                entry.setdefault("link", value)
        elif key == "published":
            entry["published"] = _plain_value(text)

    def _end_item(self) -> None:
        at = self.parser.CurrentByteIndex
        close = self.document.find(b">", at)
        end = close + 1 if close >= 0 else len(self.document)
        self.bodies.append(body_text(self.document[self.item_start:end]))


def read_simple_rss(document: bytes) -> FastFeed | None:
    """feedparser's reading of `document` (checked by monitor.feed_repair.check_xml) when it
    is the plainest RSS shape described above, else None."""
    parser = expat.ParserCreate()
    reader = _Reader(parser, document)
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.data
    parser.StartDoctypeDeclHandler = _decline
    parser.buffer_text = True
    try:
        parser.Parse(document, True)
    except (_Decline, expat.ExpatError):
        return None
    return FastFeed(reader.feed, reader.entries, reader.bodies)


def _decline(*_: Any) -> None:
    raise _Decline
