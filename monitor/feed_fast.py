"""A fast reading of the plainest RSS feeds, equal to what feedparser would give, or None.

feedparser re-parses the whole (already checked) document through a heavy Python SAX mixin;
on a 100-item feed that is two thirds of parse_feed's CPU. Most feeds a worker polls in bulk
are the simplest RSS 2.0 shape: <rss><channel> with a few text elements, items of title,
link, guid, pubDate, author and description. For exactly that shape this module reads the
fields from an ElementTree of the checked document and hands back what feedparser would have
stored for them (the same keys, the same values after the same steps; an HTML description
goes through feedparser's own URI resolver and sanitiser), so monitor.feeds builds its
entries from them unchanged.

Anything else declines (returns None) and the caller uses feedparser: another root, any
namespace or prefix but a channel's <atom:link href=…/>, any attribute but rss@version and
guid@isPermaLink, a DOCTYPE, an element not listed below, an element inside a text element,
text directly in rss, channel or item, an element twice in the channel or in one item, and
"<" or "&" in any text but an item's description (feedparser guesses whether a title is
HTML, and mends "&" in links). Declining is always safe: when in doubt, decline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from feedparser.html import _cp1252
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import _urljoin, resolve_relative_uris

from monitor.evidence_raw import body_text
from monitor.feed_repair import CheckedXml

__all__ = ["FastFeed", "read_simple_rss"]

_ATOM_DECLARATION = b'xmlns:atom="http://www.w3.org/2005/Atom"'
_ATOM_LINK = "{http://www.w3.org/2005/Atom}link"
# Text elements of <channel> that only describe the feed; their values are not used for the
# entries, and none of them changes feedparser's state beyond its own key.
_CHANNEL_TEXT = frozenset({
    "title", "link", "description", "language", "copyright", "managingEditor", "webMaster",
    "pubDate", "lastBuildDate", "generator", "docs", "ttl", "category",
})
_C1 = re.compile("[" + "".join(map(chr, sorted(_cp1252))) + "]")


@dataclass(frozen=True)
class FastFeed:
    feed: dict[str, Any]  # the feed-level keys feedparser would store (title, title_detail)
    entries: list[dict[str, Any]]  # per item, the keys monitor.feeds reads, as feedparser's
    bodies: list[str]  # per item, its raw XML text (as monitor.evidence_raw.entry_bodies)


def _as_feedparser_stores(text: str) -> str:
    """The last steps of feedparser's pop() for a str on a UTF-8 document: its repair of
    UTF-8 read as Latin-1, then its windows-1252 mapping of C1 controls."""
    # Only a text of Latin-1 characters, not all ASCII, can change (ASCII comes back as it
    # was; beyond U+00FF the encoding fails); asking first spares an exception per field.
    if not text.isascii() and max(text) <= "\xff":
        try:
            text = text.encode("iso-8859-1").decode("utf-8")
        except UnicodeDecodeError:
            pass
    # str.translate looks up every character; only C1 controls are in the table.
    return text.translate(_cp1252) if _C1.search(text) else text


def _plain_value(raw: str) -> str:
    return _as_feedparser_stores(raw.strip())


def _uri_value(raw: str) -> str:
    # feedparser resolves link and permalink guids against the document's base, which for an
    # in-memory stream without xml:base is "": its _urljoin then only mends "http:///x" (it
    # drops the slashes after "://"; urljoin with no base hands the address back).
    value = raw.strip()
    return _as_feedparser_stores(_urljoin("", value) if ":///" in value else value)


def read_simple_rss(checked: CheckedXml) -> FastFeed | None:
    """feedparser's reading of the checked document when it is the plainest RSS shape
    described above, else None."""
    document = checked.document
    if b"<!DOCTYPE" in document or not _known_namespaces(document):
        return None  # a DOCTYPE sets feedparser's version; a namespace, its element names
    try:
        # ElementTree's C parser: no Python call per element. The document has passed
        # check_xml, so it declares no entity and none is ever loaded.
        rss = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return None
    if rss.tag != "rss" or not set(rss.keys()) <= {"version"} or _text_beside(rss) \
            or len(rss) != 1:
        return None
    channel = rss[0]
    if channel.tag != "channel" or channel.keys() or _text_beside(channel):
        return None
    feed: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()  # a second <title> is not stored by feedparser: keep it simple
    for child in channel:
        if child.tag == "item":
            entry = _item(child)
            if entry is None:
                return None
            entries.append(entry)
        elif child.tag == _ATOM_LINK and _self_link(child):
            pass  # feedparser files it among the feed's links; nothing an entry reads
        elif child.tag in _CHANNEL_TEXT and child.tag not in seen and not child.keys() and (
                text := _leaf_text(child)) is not None:
            seen.add(child.tag)
            if child.tag == "title":
                value = _plain_value(text)
                feed["title"] = value
                feed["title_detail"] = {"type": "text/plain", "value": value}
        else:
            return None
    if len(checked.entry_spans) != len(entries):
        return None
    bodies = [body_text(document[start:end]) for start, end in checked.entry_spans]
    return FastFeed(feed, entries, bodies)


def _known_namespaces(document: bytes) -> bool:
    """Whether the only namespace declared is the one RSS bridges (RSSHub, WordPress) put
    on <rss> for their <atom:link rel="self">: feedparser reads that element as a feed link
    and nothing else."""
    declared = document.count(b"xmlns")
    if not declared:
        return True
    root = document.find(b"<rss")
    root_tag = document[root:document.find(b">", root)] if root >= 0 else b""
    return declared == 1 and _ATOM_DECLARATION in root_tag


def _self_link(element: ElementTree.Element) -> bool:
    """An empty <atom:link href=…> in the channel (with href, feedparser reads no text)."""
    return (element.get("href") is not None and set(element.keys()) <= {"href", "rel", "type"}
            and not len(element) and not (element.text or "").strip())


def _text_beside(element: ElementTree.Element) -> bool:
    """Text directly in a container element (before or between its children), which
    feedparser files under whatever it is reading then."""
    return bool((element.text or "").strip()) or any(
        (child.tail or "").strip() for child in element)


def _leaf_text(element: ElementTree.Element) -> str | None:
    """The text of an element with no children and no markup in it, else None."""
    text = element.text or ""
    if len(element) or "<" in text or "&" in text:
        return None
    return text


def _item(item: ElementTree.Element) -> dict[str, Any] | None:
    """The keys feedparser would store for one <item>, or None to decline."""
    if item.keys() or (item.text or "").strip():
        return None
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in item:
        name = child.tag
        text = child.text or ""
        read = _ITEM_FIELDS.get(name)
        if (read is None or name in seen or len(child) or (child.tail or "").strip()
                or (name not in _MARKUP_READ and ("<" in text or "&" in text))):
            return None
        if child.keys() and not (name == "guid" and len(child.keys()) == 1
                                 and child.get("isPermaLink") in ("true", "false")):
            return None
        seen.add(name)
        read(entry, text, child)
    return entry


def _title(entry: dict[str, Any], text: str, _element: ElementTree.Element) -> None:
    value = _plain_value(text)
    entry["title"] = value
    entry["title_detail"] = {"type": "text/plain", "value": value}


def _description(entry: dict[str, Any], text: str, _element: ElementTree.Element) -> None:
    value = text.strip()
    if "<" in value or "&" in value:
        # HTML (escaped or in CDATA): feedparser's own URI resolver and sanitiser, as its
        # pop() applies them to an RSS description (base "", the document read as UTF-8).
        value = _sanitize_html(resolve_relative_uris(value, "", "utf-8", "text/html"),
                               "utf-8", "text/html")
    else:
        # Plain text comes through both as it went in; the sanitiser turns CRLF into LF.
        value = value.replace("\r\n", "\n")
    value = _as_feedparser_stores(value)
    entry["summary"] = value
    entry["summary_detail"] = {"type": "text/html", "value": value}


def _link(entry: dict[str, Any], text: str, _element: ElementTree.Element) -> None:
    entry["link"] = _uri_value(text)


def _guid(entry: dict[str, Any], text: str, element: ElementTree.Element) -> None:
    if element.get("isPermaLink", "true") == "true":
        value = _uri_value(text)
        # feedparser: a permalink guid is the link unless a <link> came before it; a later
        # <link> overwrites it.
        entry.setdefault("link", value)
    else:
        value = _plain_value(text)
    entry["id"] = value


def _pub_date(entry: dict[str, Any], text: str, _element: ElementTree.Element) -> None:
    entry["published"] = _plain_value(text)


def _author(entry: dict[str, Any], text: str, _element: ElementTree.Element) -> None:
    # feedparser keeps the text as "author" and only parses an e-mail address out of it
    # into author_detail, which monitor.feeds does not read.
    entry["author"] = _plain_value(text)


def _unread(_entry: dict[str, Any], _text: str, _element: ElementTree.Element) -> None:
    """An item element feedparser stores under a key monitor.feeds never reads."""


# The text elements an <item> may have, each with what feedparser stores for it.
_ITEM_FIELDS: dict[str, Callable[[dict[str, Any], str, ElementTree.Element], None]] = {
    "title": _title, "description": _description, "link": _link, "guid": _guid,
    "pubDate": _pub_date, "author": _author, "category": _unread, "comments": _unread,
}
# The one element whose text may hold markup: it is read as feedparser reads it.
_MARKUP_READ = frozenset({"description"})
