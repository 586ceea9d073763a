"""Parse fetched feed bytes (RSS 0.9x/1.0/2.0, Atom 0.3/1.0) into plain, normalised entries.

Order of work, and why:
1. Decode the bytes ourselves (BOM, HTTP charset, XML declaration, then UTF-8 / GB18030
   fallbacks), because Chinese sites often declare the wrong encoding and expat cannot read
   GBK at all. The document is re-encoded as UTF-8 with a matching declaration.
2. Refuse what is not a feed (empty, binary, JSON, an HTML page) with "not a feed: …".
3. Check the whole document with expat before feedparser sees it: any DTD that declares
   entities (billion laughs, XXE) is refused — a feed never needs one — and malformed or
   truncated XML is refused with expat's line/column, so half an entry is never stored.
4. Only then feedparser, on an in-memory stream (handing it bytes or a str would let it
   open a file or URL of that name).
"""

from __future__ import annotations

import codecs
import hashlib
import html
import io
import re
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime
from html.entities import name2codepoint
from typing import Any
from xml.parsers import expat

import feedparser

from monitor.errors import ParseError
from monitor.text import normalize_text, parse_datetime

__all__ = ["FeedEntry", "ParsedFeed", "parse_feed"]


@dataclass(frozen=True)
class FeedEntry:
    entry_id: str  # guid/id; else link; else sha256 of title+published+text
    title: str  # normalised plain text
    text: str  # normalised plain text of content or summary (HTML stripped)
    link: str | None
    author: str | None
    published_at: datetime | None  # aware (no zone in the feed → default_tz)


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: tuple[FeedEntry, ...]
    warnings: tuple[str, ...]  # recoverable oddities, e.g. declared encoding was wrong


# -- 1. decoding -------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?\?>", re.IGNORECASE)
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# GB2312 and GBK labels are used loosely for GBK text; GB18030 is a strict superset of both,
# so decoding with it reads every real-world "gb2312" feed (WHATWG does the same mapping).
_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "hz"})


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name.replace("-", "_")
    except LookupError:
        return None
    return "gb18030" if name in _GB_FAMILY else name


def _decode(body: bytes, content_type: str | None, warnings: list[str]) -> str:
    """The document as text.

    Valid UTF-8 wins over any label when the body has non-ASCII bytes: Chinese text in
    another encoding is almost never valid UTF-8 by accident, while UTF-8 text often *is*
    valid GB18030 or Latin-1 and would silently turn into mojibake. Otherwise the labels
    are tried in order (HTTP charset, XML declaration), then GB18030.
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            try:
                return body[len(bom) :].decode(name)
            except UnicodeDecodeError as exc:
                raise ParseError(f"not a feed: invalid {name} after a byte-order mark") from exc

    decl_match = _XML_DECL.match(body)
    enc_match = _DECL_ENCODING.search(decl_match.group(0)) if decl_match else None
    http_match = _CHARSET.search(content_type or "")
    labels = (
        (http_match.group(1) if http_match else None, "HTTP charset"),
        (enc_match.group(1).decode("ascii") if enc_match else None, "XML declaration"),
    )
    candidates: list[tuple[str, str]] = []  # (codec, "the XML declaration says gbk")
    for label, origin in labels:
        if label is None:
            continue
        codec = _codec(label)
        if codec is None:
            warnings.append(f"unknown encoding {label!r} in the {origin}; ignored")
        else:
            candidates.append((codec, f"the {origin} says {label}"))

    if any(b > 0x7F for b in body) and _decodes(body, "utf_8"):
        used, name = "utf_8", "UTF-8"
    else:
        order = [c for c, _ in candidates] + ["utf_8", "gb18030"]
        used = next((c for c in order if _decodes(body, c)), "")
        name = used.upper().replace("_", "-")
        if not used:
            used = candidates[0][0] if candidates else "utf_8"
            warnings.append(f"the feed is not valid {used}; undecodable bytes were replaced")
            return body.decode(used, errors="replace")
    for codec, claim in candidates:
        if codec != used:
            warnings.append(f"{claim}, but the feed is {name}; decoded as {name}")
    return body.decode(used)


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


# -- 2. is it a feed at all --------------------------------------------------------------

_HTML_START = re.compile(r"<!doctype\s+html|<html[\s>]", re.IGNORECASE)
_FEED_START = re.compile(r"<(?:[\w-]+:)?(?:rss|feed|rdf)[\s>/]", re.IGNORECASE)
_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})
_XML_DECL_TEXT = re.compile(r"^\s*<\?xml[^>]*?\?>", re.IGNORECASE)


def _refuse_non_feed(text: str) -> None:
    if not text.strip():
        raise ParseError("not a feed: the response body is empty")
    head = text.lstrip()[:4096]
    if "\x00" in head or "\ufffd" * 4 in head:
        raise ParseError("not a feed: the response is binary data, not XML")
    if head[0] in "{[":
        raise ParseError("not a feed: the response looks like JSON, not XML")
    if head[0] != "<":
        raise ParseError(f"not a feed: the response is not XML (it starts with {head[:20]!r})")
    html_match = _HTML_START.search(head)
    if html_match and not (
        (feed := _FEED_START.search(head)) and feed.start() < html_match.start()
    ):
        raise ParseError("not a feed: the response is an HTML page, not RSS or Atom")


# -- 3. the safety and well-formedness check -----------------------------------------------

_ENTITY_REF = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})


def _replace_html_entities(text: str, warnings: list[str]) -> str:
    """&nbsp; and friends are HTML, not XML, but sloppy feeds use them anyway. Rewriting them
    as numeric references keeps such feeds readable without ever honouring a DTD."""
    count = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal count
        name = match.group(1)
        if name in _XML_ENTITIES or name not in name2codepoint:
            return match.group(0)
        count += 1
        return f"&#{name2codepoint[name]};"

    out = _ENTITY_REF.sub(swap, text)
    if count:
        warnings.append(f"replaced {count} HTML entity reference(s) that XML does not define")
    return out


class _Hostile(Exception):
    pass


def _check_xml(document: bytes) -> str:
    """Parse the whole document with expat; return the root element's local name.

    Refuses DTDs that declare entities (general or parameter, internal or external) and
    never loads an external DTD: param-entity parsing is off and no external-entity handler
    fetches anything. An external DTD *reference* alone (RSS 0.91's Netscape DOCTYPE) is
    harmless and allowed.
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    root: list[str] = []

    def entity_decl(name: str, is_param: int, *_: Any) -> None:
        raise _Hostile(
            f"refused: the feed's DTD declares the entity {name!r}; feeds never need entity"
            " declarations and they are used for billion-laughs and XXE attacks"
        )

    def external_ref(*_: Any) -> int:
        raise _Hostile("refused: the feed refers to an external entity (XXE)")

    def start(name: str, _attrs: Any) -> None:
        if not root:
            root.append(name.rsplit(":", 1)[-1].lower())

    parser.EntityDeclHandler = entity_decl
    parser.UnparsedEntityDeclHandler = lambda name, *_: entity_decl(name, 0)
    parser.ExternalEntityRefHandler = external_ref
    parser.StartElementHandler = start
    try:
        parser.Parse(document, True)
    except _Hostile as exc:
        raise ParseError(str(exc)) from None
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) if exc.code else str(exc)
        raise ParseError(
            f"malformed XML: {reason} at line {exc.lineno}, column {exc.offset + 1}"
        ) from None
    return root[0] if root else ""


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


def _entry_text(entry: Any, *, to_simplified: bool) -> str:
    for content in entry.get("content") or []:
        text = _plain(content, "", to_simplified=to_simplified)
        if text:
            return text
    return _plain(
        entry.get("summary_detail"), entry.get("summary", ""), to_simplified=to_simplified
    )


def _published(entry: Any, default_tz: str) -> datetime | None:
    # The raw string first: feedparser's *_parsed reads a zone-less time as UTC, which for a
    # Chinese feed is eight hours off.
    # dict.get, not entry.get: feedparser's own get() maps "published" to "updated" with a
    # DeprecationWarning; we look at each key ourselves.
    for key in ("published", "updated", "created", "issued", "modified"):
        raw = dict.get(entry, key)
        if isinstance(raw, str):
            parsed = parse_datetime(raw, default_tz=default_tz)
            if parsed is not None:
                return parsed
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        struct = dict.get(entry, key)
        if struct:
            try:
                return datetime.fromtimestamp(timegm(struct), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _entry(entry: Any, *, to_simplified: bool, default_tz: str) -> FeedEntry:
    title = _plain(entry.get("title_detail"), entry.get("title", ""), to_simplified=to_simplified)
    text = _entry_text(entry, to_simplified=to_simplified)
    link = str(entry.get("link") or "").strip() or None
    author_raw = str(entry.get("author") or "")
    author = normalize_text(author_raw, to_simplified=to_simplified) or None
    published_at = _published(entry, default_tz)
    entry_id = str(entry.get("id") or "").strip() or link
    if not entry_id:
        stamp = published_at.isoformat() if published_at else ""
        entry_id = hashlib.sha256("\x1f".join((title, stamp, text)).encode()).hexdigest()
    return FeedEntry(entry_id, title, text, link, author, published_at)


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
    if b"\x00" in body[:1024] and not any(body.startswith(bom) for bom, _ in _BOMS):
        raise ParseError("not a feed: the response is binary data, not XML")
    text = _decode(body, content_type, warnings)
    _refuse_non_feed(text)
    text = _replace_html_entities(text, warnings)
    document = _as_utf8_document(text)
    root = _check_xml(document)
    if root == "html":
        raise ParseError("not a feed: the response is an HTML page, not RSS or Atom")
    if root not in _FEED_ROOTS:
        raise ParseError(f"not a feed: the XML root element is <{root}>, not RSS, RDF or Atom")

    parsed = feedparser.parse(io.BytesIO(document), sanitize_html=True)
    if parsed.get("bozo") and parsed.get("bozo_exception") is not None:
        # expat accepted the document, so this is feedparser being picky; keep going.
        warnings.append(f"feedparser: {parsed['bozo_exception']}")

    entries: list[FeedEntry] = []
    for index, raw in enumerate(parsed.entries, start=1):
        entry = _entry(raw, to_simplified=to_simplified, default_tz=default_tz)
        if not (entry.title or entry.text or entry.link):
            warnings.append(f"entry {index} has no title, text or link; skipped")
            continue
        entries.append(entry)
    feed_title = _plain(
        parsed.feed.get("title_detail"), parsed.feed.get("title", ""), to_simplified=to_simplified
    )
    return ParsedFeed(feed_title or None, tuple(entries), tuple(warnings))
