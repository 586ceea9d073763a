"""Make a sloppy feed well-formed without ever making a hostile one acceptable.

Two steps, both before feedparser sees the document:

1. `repair_text` mends, on the decoded text, what real generators get wrong and feedparser's
   lenient parser forgives: control characters XML forbids, bare "&" (a link's query string),
   HTML entities without their ";", entities nobody defined, "&#X41;", an XML declaration
   after a comment. Only outside CDATA sections and comments, whose "&" are literal.
2. `check_xml` parses the whole document with expat. DTDs that declare entities (general or
   parameter, internal or external) are refused, and no external DTD or entity is ever loaded:
   param-entity parsing is off and no external-entity handler fetches anything. An external
   DTD *reference* alone (RSS 0.91's Netscape DOCTYPE, an XHTML doctype) is harmless and
   allowed. A document that breaks after its root element began (truncated, a tag never
   closed) is cut after the last entry that was complete and closed there, so entries before
   the break are kept and nothing half-read is; a break before the root element, where a DTD
   would be, is refused as before.

Each repair is one warning in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.entities import html5
from typing import Any
from xml.parsers import expat

from monitor.errors import ParseError

__all__ = ["CheckedXml", "check_xml", "repair_text"]

# Characters XML 1.0 does not allow anywhere, not even as references (§2.2).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_RAW_SPANS = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)
_AMP = re.compile(r"&(?:#([0-9]{1,8});|#[xX]([0-9A-Fa-f]{1,8});|([A-Za-z][A-Za-z0-9]{0,31})(;?))?")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
# HTML's legacy entities that browsers read without ";" ("&nbsp", "&copy").
_LEGACY = frozenset(k for k in html5 if not k.endswith(";"))
_DECL_LATE = re.compile(r"^(\s*(?:<!--.*?-->\s*)+)(<\?xml[^>]*?\?>)", re.DOTALL)
_DOCTYPE = re.compile(r"<!DOCTYPE\b", re.IGNORECASE)


def _allowed(codepoint: int) -> bool:
    return codepoint in (0x9, 0xA, 0xD) or 0x20 <= codepoint <= 0xD7FF \
        or 0xE000 <= codepoint <= 0xFFFD or 0x10000 <= codepoint <= 0x10FFFF


def _numeric(chars: str) -> str:
    return "".join(f"&#{ord(c)};" for c in chars)


@dataclass
class _Counts:
    html: int = 0
    unterminated: int = 0
    undefined: int = 0
    bare: int = 0
    bad_refs: int = 0
    upper_x: int = 0


def _fix_refs(part: str, counts: _Counts, in_dtd: bool) -> str:
    def swap(match: re.Match[str]) -> str:
        dec, hexa, name, semi = match.groups()
        if dec is not None or hexa is not None:
            codepoint = int(dec) if dec is not None else int(hexa, 16)
            if not _allowed(codepoint):
                counts.bad_refs += 1
                return ""
            if hexa is not None and match.group(0)[2] == "X":
                counts.upper_x += 1
                return f"&#x{hexa};"
            return match.group(0)
        if name is None:
            counts.bare += 1
            return "&amp;"
        if semi:
            if name in _XML_ENTITIES or in_dtd:
                # Inside a DTD, a reference may be to an entity the DTD declares; such a DTD
                # is refused by check_xml, so it is left exactly as written.
                return match.group(0)
            if name + ";" in html5:
                counts.html += 1
                return _numeric(html5[name + ";"])
            counts.undefined += 1
            return "&amp;" + name + ";"
        # No ";": a legacy HTML entity as a whole word ("&nbsp" before a space or a Chinese
        # character), as browsers read it; not the name of a query parameter ("&copy=2",
        # "&notify=1", "&copy2"): there the "&" is a bare ampersand.
        if name in _LEGACY and part[match.end():match.end() + 1] != "=":
            counts.unterminated += 1
            return _numeric(html5[name])
        counts.bare += 1
        return "&amp;" + name
    return _AMP.sub(swap, part)


def _warn_counts(counts: _Counts, warnings: list[str]) -> None:
    said = (
        (counts.html, "replaced {} HTML entity reference(s) that XML does not define"),
        (counts.unterminated, "read {} HTML entity reference(s) that lack their ';'"),
        (counts.undefined, "kept {} reference(s) to undefined entities as plain text"),
        (counts.bare, "escaped {} bare '&' that began no entity reference"),
        (counts.upper_x, "read {} '&#X…;' reference(s) as hexadecimal"),
        (counts.bad_refs, "dropped {} character reference(s) to characters XML forbids"),
    )
    warnings.extend(text.format(n) for n, text in said if n)


def repair_text(text: str, warnings: list[str]) -> str:
    """The document with the repairs above, each appended to `warnings`."""
    forbidden = len(_FORBIDDEN.findall(text))
    if forbidden:
        text = _FORBIDDEN.sub("", text)
        warnings.append(f"removed {forbidden} control character(s) that XML forbids")
    late = _DECL_LATE.match(text)
    if late:
        # feedparser reads a declaration after a comment; expat refuses it. Blank it (not
        # delete) so line and column numbers stay true to the original.
        text = late.group(1) + " " * len(late.group(2)) + text[late.end():]
        warnings.append("the XML declaration came after a comment; ignored it")
    counts = _Counts()
    out: list[str] = []
    pos = 0
    doctype = _DOCTYPE.search(text)
    dtd_end = _dtd_end(text, doctype.start()) if doctype else -1
    for raw in _RAW_SPANS.finditer(text):
        out.append(_fix_span(text, pos, raw.start(), dtd_end, counts))
        out.append(raw.group(0))
        pos = raw.end()
    out.append(_fix_span(text, pos, len(text), dtd_end, counts))
    _warn_counts(counts, warnings)
    return "".join(out)


def _fix_span(text: str, start: int, end: int, dtd_end: int, counts: _Counts) -> str:
    if start >= end:
        return ""
    if start < dtd_end:  # the DTD part, then the rest
        cut = min(dtd_end, end)
        return _fix_refs(text[start:cut], counts, True) + (
            _fix_refs(text[cut:end], counts, False) if cut < end else "")
    return _fix_refs(text[start:end], counts, False)


def _dtd_end(text: str, start: int) -> int:
    """Where the DOCTYPE that starts at `start` ends (after its internal subset, if any)."""
    bracket = text.find("[", start)
    close = text.find(">", start)
    if bracket != -1 and (close == -1 or bracket < close):
        end = text.find("]", bracket)
        close = text.find(">", end) if end != -1 else -1
    return len(text) if close == -1 else close + 1


# -- the expat pass ----------------------------------------------------------------------

_ENTRY_ELEMENTS = frozenset({"item", "entry"})


@dataclass(frozen=True)
class CheckedXml:
    root: str  # the root element's local name, lower-cased
    document: bytes  # the document, or its well-formed part when it broke
    # Per entry element, in order: the raw text of its own <title> child and whether that
    # title is plain text (Atom type="text"), or None when it has none.
    entry_titles: tuple[tuple[str, bool] | None, ...]
    # Per entry element, in order: its byte span in `document`, from its start tag's "<" to
    # its end tag's ">".
    entry_spans: tuple[tuple[int, int], ...] = ()


class _Hostile(Exception):
    pass


class _Walk:
    """The expat handlers' state: the element stack and where a break could be cut."""

    def __init__(self, parser: Any, document: bytes) -> None:
        self.parser = parser
        self.document = document
        self.stack: list[str] = []
        self.root = ""
        self.root_seen = False
        # Where the root's start tag begins: the cut when nothing closed before a break.
        self.after_root: tuple[int, tuple[str, ...], int] = (0, (), 0)
        self.entries_done = 0
        # (byte offset just after an element that closed outside any entry, the stack then,
        # entries complete by then)
        self.cut: tuple[int, tuple[str, ...], int] | None = None
        self.titles: list[tuple[str, bool] | None] = []
        self.spans: list[tuple[int, int]] = []
        self._entry_depth: int | None = None
        self._entry_start = 0
        self._title_depth: int | None = None
        self._title_parts: list[str] = []
        self._title_plain = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rsplit(":", 1)[-1].lower()
        if not self.root_seen:
            self.root, self.root_seen = local, True
            self.after_root = (self.parser.CurrentByteIndex, (name,), 0)
        self.stack.append(name)
        depth = len(self.stack)
        if self._entry_depth is None and local in _ENTRY_ELEMENTS and depth > 1:
            self._entry_depth = depth
            self.titles.append(None)
            self._entry_start = self.parser.CurrentByteIndex
        elif (self._entry_depth is not None and depth == self._entry_depth + 1
              and name == "title" and self.titles[-1] is None):
            self._title_depth, self._title_parts = depth, []
            self._title_plain = attrs.get("type", "") in ("text", "text/plain")
        # A tag inside an XHTML title adds nothing: its text is the title's (data()).

    def data(self, text: str) -> None:
        if self._title_depth is not None:
            self._title_parts.append(text)

    def end(self, name: str) -> None:
        depth = len(self.stack)
        self.stack.pop()
        if self._title_depth == depth:
            self.titles[-1] = ("".join(self._title_parts), self._title_plain)
            self._title_depth = None
        if self._entry_depth == depth:
            self._entry_depth = None
            # CurrentByteIndex is where the end tag starts ("</"), or just after "/>".
            at = self.parser.CurrentByteIndex
            close = self.document.find(b">", at)
            self.spans.append((self._entry_start, close + 1 if close >= 0 else len(self.document)))
            self.entries_done += 1
        if self._entry_depth is None and self.stack:
            # CurrentByteIndex is where this end tag starts; the cut goes after its ">".
            self.cut = (self.parser.CurrentByteIndex, tuple(self.stack), self.entries_done)


def _walker(document: bytes) -> tuple[Any, _Walk]:
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    walk = _Walk(parser, document)

    def entity_decl(name: str, is_param: int, *_: Any) -> None:
        raise _Hostile(
            f"refused: the feed's DTD declares the entity {name!r}; feeds never need entity"
            " declarations and they are used for billion-laughs and XXE attacks"
        )

    def external_ref(*_: Any) -> int:
        raise _Hostile("refused: the feed refers to an external entity (XXE)")

    parser.EntityDeclHandler = entity_decl
    parser.UnparsedEntityDeclHandler = lambda name, *_: entity_decl(name, 0)
    parser.ExternalEntityRefHandler = external_ref
    parser.StartElementHandler = walk.start
    parser.EndElementHandler = walk.end
    parser.CharacterDataHandler = walk.data
    return parser, walk


def check_xml(document: bytes, warnings: list[str]) -> CheckedXml:
    """The checked (possibly cut) document, or ParseError: refused, or malformed before any
    complete part."""
    parser, walk = _walker(document)
    try:
        parser.Parse(document, True)
    except _Hostile as exc:
        raise ParseError(str(exc)) from None
    except expat.ExpatError as exc:
        reason = expat.ErrorString(exc.code) if exc.code else str(exc)
        where = f"{reason} at line {exc.lineno}, column {exc.offset + 1}"
        return _cut_at_break(document, walk, where, warnings)
    return CheckedXml(walk.root, document, tuple(walk.titles), tuple(walk.spans))


def _cut_at_break(document: bytes, broken: _Walk, where: str,
                  warnings: list[str]) -> CheckedXml:
    """The part of a broken document up to the last element closed outside any entry, with
    the elements still open closed after it. Refused when the break comes before the root
    element (the prolog, where a DTD is) or before anything closed."""
    if not broken.root_seen:
        if "no element found" in where:
            raise ParseError("not a feed: the document has no element at all")
        raise ParseError(f"malformed XML: {where}")
    offset, open_elements, complete = broken.cut or broken.after_root
    # Expat reports an end tag where "</" starts, an empty element's end just after "/>".
    end = offset if document[:offset].endswith(b"/>") else document.find(b">", offset) + 1
    closing = "".join(f"</{name}>" for name in reversed(open_elements)).encode()
    repaired = document[:end] + closing
    parser, walk = _walker(repaired)
    try:
        parser.Parse(repaired, True)
    except (_Hostile, expat.ExpatError):
        raise ParseError(f"malformed XML: {where}") from None
    kept = "1 entry" if complete == 1 else f"{complete} entries"
    warnings.append(f"the feed breaks off or is malformed ({where}); kept the {kept} "
                    "complete before that point, dropped everything after it")
    return CheckedXml(walk.root, repaired, tuple(walk.titles), tuple(walk.spans))
