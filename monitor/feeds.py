"""Parse fetched feed bytes (RSS 0.9x/1.0/2.0, Atom 0.3/1.0) into plain, normalised entries.

Order of work, and why:
1. Decode the bytes ourselves (monitor.feed_encoding: BOM, UTF-16/32 shape, UTF-8, labels,
   then a detector), because Chinese sites often declare the wrong encoding and expat cannot
   read GBK at all. The document is re-encoded as UTF-8 with its declaration blanked.
2. Refuse what is not a feed (empty, binary, JSON, an HTML page) with "not a feed: …".
3. Mend what sloppy generators get wrong (monitor.feed_repair: bare "&", HTML entities,
   control characters), then check the whole document with expat before feedparser sees it:
   any DTD that declares entities (billion laughs, XXE) is refused — a feed never needs one —
   and a document that breaks off keeps only the entries complete before the break.
4. Only then feedparser, on an in-memory stream (handing it bytes or a str would let it
   open a file or URL of that name). Titles come from each entry's own <title> element,
   which feedparser confuses with an <image>'s title that follows it.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from calendar import timegm
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.evidence_raw import XML, entry_bodies
from monitor.feed_encoding import BOMS, decode_document, sniff_wide
from monitor.feed_fast import read_simple_rss
from monitor.feed_repair import check_xml, repair_text
from monitor.text import normalize_text, read_datetime

__all__ = ["FeedEntry", "ParsedFeed", "parse_feed"]


@dataclass(frozen=True)
class FeedEntry:
    entry_id: str  # guid/id; else link; else sha256 of title+published+text
    title: str  # normalised plain text
    text: str  # normalised plain text of content or summary (HTML stripped)
    link: str | None
    author: str | None
    published_at: datetime | None  # aware (no zone in the feed → default_tz)
    # Addresses of the pictures in the entry's HTML (emoticons aside), for parsers that keep
    # them (a Weibo post through a bridge); not stored for a plain feed entry.
    pictures: tuple[str, ...] = ()
    # The body the entry was parsed from (its XML element, a post's JSON), kept as evidence
    # at ingest (monitor.evidence_raw); not part of the entry's identity.
    raw: str | None = field(default=None, compare=False, repr=False)
    raw_type: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: tuple[FeedEntry, ...]
    warnings: tuple[str, ...]  # recoverable oddities, e.g. declared encoding was wrong


# -- 2. is it a feed at all --------------------------------------------------------------

_HTML_ELEMENT = re.compile(r"<html[\s>]", re.IGNORECASE)
_HTML_DOCTYPE = re.compile(r"<!doctype\s+html", re.IGNORECASE)
_FEED_START = re.compile(r"<(?:[\w-]+:)?(?:rss|feed|rdf)[\s>/]", re.IGNORECASE)
_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
_XML_DECL_TEXT = re.compile(r"^\s*<\?xml[^>]*?\?>", re.IGNORECASE)


def _refuse_non_feed(text: str, warnings: list[str]) -> None:
    if not text.strip():
        raise ParseError("not a feed: the response body is empty")
    head = text.lstrip()[:4096]
    if "\x00" in head or "\ufffd" * 4 in head:
        raise ParseError("not a feed: the response is binary data, not XML")
    if head[0] in "{[":
        raise ParseError("not a feed: the response looks like JSON, not XML")
    if head[0] != "<":
        raise ParseError(f"not a feed: the response is not XML (it starts with {head[:20]!r})")
    feed = _FEED_START.search(head)
    page = _HTML_ELEMENT.search(head)
    if page and not (feed and feed.start() < page.start()):
        raise ParseError("not a feed: the response is an HTML page, not RSS or Atom")
    doctype = _HTML_DOCTYPE.search(head)
    if doctype and not feed:
        raise ParseError("not a feed: the response is an HTML page, not RSS or Atom")
    if doctype and feed and doctype.start() < feed.start():
        # Some CMSs put their page template's XHTML doctype in front of <rss>. It names an
        # external DTD that is never loaded, so it is harmless; the feed is read.
        warnings.append("an HTML doctype stands before the feed's root element; ignored it")


# -- 4. feedparser and the entries ---------------------------------------------------------


def _as_utf8_document(text: str) -> bytes:
    """UTF-8 bytes for expat and feedparser, with the XML declaration blanked out.

    Without a declaration both read UTF-8, which is what we now hand them. Blanking (rather
    than rewriting) keeps expat's line/column numbers true to the original document.
    """
    text = _XML_DECL_TEXT.sub(lambda m: " " * len(m.group(0)), text, count=1)
    return text.encode("utf-8")


def _plain(detail: Any, fallback: str, *, to_simplified: bool) -> str:
    """Normalised text of a feedparser text construct; plain text is escaped first so that
    a literal "<" in a plain-text title is kept, not taken for a tag."""
    value = str(detail.get("value", fallback) if detail else fallback or "")
    kind = str(detail.get("type", "text/html") if detail else "text/html")
    if kind == "text/plain":
        value = html.escape(value, quote=False)
    return normalize_text(value, to_simplified=to_simplified)


_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_IMG_SRC = re.compile(r"""\ssrc\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
_IMG_EMOTICON = re.compile(r"""\salt\s*=\s*["']\[[^\]"']{1,12}\]["']""", re.IGNORECASE)


def _pictures(entry: Any) -> tuple[str, ...]:
    html_parts = [str(c.get("value") or "") for c in entry.get("content") or []]
    html_parts.append(str(entry.get("summary") or ""))
    found: list[str] = []
    for tag in _IMG.findall("".join(html_parts)):
        src = _IMG_SRC.search(tag)
        if src and not _IMG_EMOTICON.search(tag) and src.group(1).startswith("http"):
            found.append(html.unescape(src.group(1)))
    return tuple(dict.fromkeys(found))


def _entry_text(entry: Any, *, to_simplified: bool) -> str:
    for content in entry.get("content") or []:
        text = _plain(content, "", to_simplified=to_simplified)
        if text:
            return text
    return _plain(
        entry.get("summary_detail"), entry.get("summary", ""), to_simplified=to_simplified
    )


def _published(entry: Any, default_tz: str, problems: list[str]) -> datetime | None:
    # The raw string first: feedparser's *_parsed reads a zone-less time as UTC, which for a
    # Chinese feed is eight hours off.
    # dict.get, not entry.get: feedparser's own get() maps "published" to "updated" with a
    # DeprecationWarning; we look at each key ourselves.
    for key in ("published", "updated", "created", "issued", "modified"):
        raw = dict.get(entry, key)
        if isinstance(raw, str):
            reading = read_datetime(raw, default_tz=default_tz)
            if reading.problem:
                # An impossible zone is an error, not a guess: feedparser's *_parsed would
                # silently drop the zone, so it is not asked.
                problems.append(reading.problem)
                return None
            if reading.value is not None:
                return reading.value
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        struct = dict.get(entry, key)
        if struct:
            try:
                return datetime.fromtimestamp(timegm(struct), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _own_title(found: tuple[str, bool] | None, *, to_simplified: bool) -> str | None:
    """The entry's own <title> child as found by the expat pass, normalised."""
    if found is None:
        return None
    raw, plain = found
    return normalize_text(html.escape(raw, quote=False) if plain else raw,
                          to_simplified=to_simplified)


def _entry(entry: Any, *, to_simplified: bool, default_tz: str, own_title: str | None,
           problems: list[str], body: str | None) -> FeedEntry:
    title = _plain(entry.get("title_detail"), entry.get("title", ""), to_simplified=to_simplified)
    if own_title is not None and own_title != title:
        # feedparser took a nested element's title (an <image> after the item's own).
        title = own_title
    text = _entry_text(entry, to_simplified=to_simplified)
    link = str(entry.get("link") or "").strip() or None
    author_raw = str(entry.get("author") or "")
    author = normalize_text(author_raw, to_simplified=to_simplified) or None
    published_at = _published(entry, default_tz, problems)
    entry_id = str(entry.get("id") or "").strip() or link
    if not entry_id:
        stamp = published_at.isoformat() if published_at else ""
        entry_id = hashlib.sha256("\x1f".join((title, stamp, text)).encode()).hexdigest()
    return FeedEntry(entry_id, title, text, link, author, published_at, _pictures(entry),
                     raw=body, raw_type=XML if body else None)


_SAID_ONE_BY_ONE = 3  # entry problems named one by one before they are counted


def parse_feed(
    body: bytes,
    *,
    content_type: str | None = None,
    to_simplified: bool = True,
    default_tz: str = "Asia/Shanghai",
) -> ParsedFeed:
    """Entries of a feed document, or ParseError saying why it cannot be read safely."""
    warnings: list[str] = []
    if not body or not body.strip():
        raise ParseError("not a feed: the response body is empty")
    if (b"\x00" in body[:1024] and not any(body.startswith(bom) for bom, _ in BOMS)
            and sniff_wide(body) is None):
        raise ParseError("not a feed: the response is binary data, not XML")
    text = decode_document(body, content_type, warnings)
    _refuse_non_feed(text, warnings)
    text = repair_text(text, warnings)
    checked = check_xml(_as_utf8_document(text), warnings)
    root = checked.root
    if root == "html":
        raise ParseError("not a feed: the response is an HTML page, not RSS or Atom")
    if root not in _FEED_ROOTS:
        raise ParseError(f"not a feed: the XML root element is <{root}>, not RSS, RDF or Atom")

    if root == "rss":
        fast = read_simple_rss(checked)
        if fast is not None:
            read = _assemble(fast.feed, fast.entries, fast.bodies, checked.entry_titles,
                             list(warnings), to_simplified=to_simplified,
                             default_tz=default_tz, fast=True)
            if read is not None:
                return read
    parsed = feedparser.parse(io.BytesIO(checked.document), sanitize_html=True)
    if parsed.get("bozo") and parsed.get("bozo_exception") is not None:
        # expat accepted the document, so this is feedparser being picky; keep going.
        warnings.append(f"feedparser: {parsed['bozo_exception']}")
    read = _assemble(parsed.feed, parsed.entries, entry_bodies(checked.document) or [],
                     checked.entry_titles, warnings, to_simplified=to_simplified,
                     default_tz=default_tz, fast=False)
    assert read is not None  # only the fast reading declines
    return read


def _undecided_date(raw: Any, entry: FeedEntry, problems: list[str]) -> bool:
    """Whether the entry had a date string that read_datetime could not read; feedparser's
    own reading of it (published_parsed) is then the answer, which the fast path lacks."""
    return entry.published_at is None and not problems and isinstance(
        dict.get(raw, "published"), str)


def _assemble(feed: Any, raw_entries: list[Any], bodies: list[str],
              entry_titles: tuple[tuple[str, bool] | None, ...], warnings: list[str], *,
              to_simplified: bool, default_tz: str, fast: bool) -> ParsedFeed | None:
    """The ParsedFeed from feedparser's reading (or the fast path's equal one); None when
    the fast path's reading lacks something an entry needs."""
    own_titles: tuple[tuple[str, bool] | None, ...] = ()
    if len(entry_titles) == len(raw_entries):
        own_titles = entry_titles  # else the counts disagree: trust feedparser
    if len(bodies) != len(raw_entries):
        bodies = []  # counts disagree: keep no raw bodies rather than wrong ones
    entries: list[FeedEntry] = []
    undated: list[str] = []
    for index, raw in enumerate(raw_entries, start=1):
        problems: list[str] = []
        own = _own_title(own_titles[index - 1], to_simplified=to_simplified) \
            if own_titles else None
        entry = _entry(raw, to_simplified=to_simplified, default_tz=default_tz,
                       own_title=own, problems=problems,
                       body=(bodies[index - 1] or None) if bodies else None)
        if fast and _undecided_date(raw, entry, problems):
            return None
        undated.extend(f"entry {index}: {problem}" for problem in problems)
        if undated and len(undated) <= _SAID_ONE_BY_ONE and problems:
            warnings.append(f"{undated[-1]}; left undated")
        if not (entry.title or entry.text or entry.link):
            warnings.append(f"entry {index} has no title, text or link; skipped")
            continue
        entries.append(entry)
    if len(undated) > _SAID_ONE_BY_ONE:
        # One line for a feed whose generator writes every date wrong, not one per entry.
        warnings.append(f"{len(undated) - _SAID_ONE_BY_ONE} more entries have an impossible "
                        "time zone too; left undated")
    feed_title = _plain(
        feed.get("title_detail"), feed.get("title", ""), to_simplified=to_simplified
    )
    return ParsedFeed(feed_title or None, tuple(entries), tuple(warnings))
