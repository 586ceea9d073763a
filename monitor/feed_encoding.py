"""The text of a fetched feed document: which encoding its bytes are in, and why we think so.

Order of evidence, strongest first:
1. a byte-order mark;
2. the shape of the first bytes when there is none: "<" is 00 3C in UTF-16-BE, 3C 00 in
   UTF-16-LE, 00 00 00 3C / 3C 00 00 00 in UTF-32 (XML 1.0 appendix F);
3. valid UTF-8, whatever the labels say, when the body has non-ASCII bytes — Chinese text in
   another encoding is almost never valid UTF-8 by accident, while UTF-8 text often *is* valid
   GB18030 or Latin-1 and would silently turn into mojibake;
4. the labels (HTTP charset, then the XML declaration) that decode the body;
5. charset-normalizer's detection, for a body no label reads (or no label at all).

GB2312/GBK labels are read as GB18030, a strict superset (WHATWG maps them the same way).
Every guess and every disagreement between a label and the bytes is a warning, so mojibake is
never stored silently.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from monitor.errors import ParseError

__all__ = ["BOMS", "decode_document", "sniff_wide"]

BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<" (or whitespace before it) in each wide encoding, longest patterns first.
_WIDE = (
    (b"\x00\x00\x00<", "utf_32_be"),
    (b"<\x00\x00\x00", "utf_32_le"),
    (b"\x00<", "utf_16_be"),
    (b"<\x00", "utf_16_le"),
)
# The XML declaration, also when comments come before it (feedparser reads those too).
_XML_DECL = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<\?xml[^>]*?\?>", re.IGNORECASE | re.DOTALL)
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE)
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_GB_FAMILY = frozenset({"gb2312", "gbk", "gb18030", "hz"})
# Labels that decode (nearly) any byte string, so their decoding proves nothing: when the
# detector finds a multi-byte CJK encoding that reads the body — which random Latin text
# never does — it wins over these.
_DECODES_ANYTHING = frozenset({"latin_1", "iso8859_1", "cp1252", "ascii"})
_MULTI_BYTE = frozenset({"gb18030", "big5", "big5hkscs", "cp950", "shift_jis", "cp932",
                         "euc_jp", "euc_jis_2004", "euc_jisx0213", "euc_kr", "cp949"})
_WIDE_CODECS = frozenset({"utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be",
                          "utf_32_le"})


def codec_name(label: str | None) -> str | None:
    """Python's codec name for an encoding label ("GB2312" → "gb18030"), None if unknown."""
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip()).name.replace("-", "_")
    except LookupError:
        return None
    return "gb18030" if name in _GB_FAMILY else name


def _display(codec: str) -> str:
    return codec.upper().replace("_", "-")


def _decodes(body: bytes, codec: str) -> bool:
    try:
        body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _cut_utf8(body: bytes) -> int | None:
    """Where a UTF-8 body was cut inside its last character (a truncated download), or None
    when it is not UTF-8 cut that way."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(body) - 3:
            return exc.start
    return None


def _stray_bytes_in_utf8(body: bytes) -> int:
    """How many invalid sequences a body that is otherwise plainly UTF-8 has (a stray byte
    from a bad copy-paste); 0 when it is not such a body. "Plainly": at least 20 valid
    multi-byte characters and at most one bad sequence per 50 of them — a body in another
    encoding has nearly every non-ASCII byte invalid as UTF-8."""
    text = body.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 0x7F) - bad
    return bad if good >= 20 and bad * 50 <= good else 0


def sniff_wide(body: bytes) -> str | None:
    """UTF-16/32 without a byte-order mark, recognised by how "<" is written."""
    for start, codec in _WIDE:
        if body.startswith(start):
            return codec
    return None


def detect(body: bytes) -> str | None:
    """charset-normalizer's best reading of the body, as a codec name; None if it has none.

    Among readings about as clean as the best one, the GB family is preferred: the sources
    are Chinese, and short GBK text can look like another CJK encoding to a detector."""
    matches = charset_normalizer.from_bytes(body)
    best = matches.best()
    if best is None:
        return None
    for match in matches:
        name = codec_name(match.encoding)
        if name == "gb18030" and match.chaos <= best.chaos + 0.01:
            return name
    return codec_name(best.encoding)


def _plausible(body: bytes, codec: str) -> bool:
    """Whether the detector finds reading the body as `codec` at all plausible. Big5 bytes
    decode as GB18030 without an error, but as nonsense the detector rejects outright; then
    the declared label is wrong, whatever the decoder says."""
    try:
        return charset_normalizer.from_bytes(body, cp_isolation=[codec]).best() is not None
    except (LookupError, ValueError):
        return True  # a codec the detector does not know: no evidence against the label


def _labels(body: bytes, content_type: str | None,
            warnings: list[str]) -> list[tuple[str, str]]:
    """(codec, "the XML declaration says gbk") for each known label, HTTP first."""
    decl = _XML_DECL.match(body)
    enc = _DECL_ENCODING.search(decl.group(0)) if decl else None
    http = _CHARSET.search(content_type or "")
    found: list[tuple[str, str]] = []
    for label, origin in ((http.group(1) if http else None, "HTTP charset"),
                          (enc.group(1).decode("ascii") if enc else None, "XML declaration")):
        if label is None:
            continue
        codec = codec_name(label)
        if codec is None:
            warnings.append(f"unknown encoding {label!r} in the {origin}; ignored")
        elif codec in _WIDE_CODECS:
            # The label was readable as ASCII, so the body is not UTF-16/32 (had it been,
            # the mark or the first bytes would have said so): a copied-over declaration.
            warnings.append(f"the {origin} says {label}, but the feed is not {label}; ignored")
        else:
            found.append((codec, f"the {origin} says {label}"))
    return found


def decode_document(body: bytes, content_type: str | None, warnings: list[str]) -> str:
    """The document as text; each guess or disagreement appended to `warnings`."""
    for bom, name in BOMS:
        if body.startswith(bom):
            try:
                return body[len(bom):].decode(name)
            except UnicodeDecodeError as exc:
                if name != "utf-8":
                    raise ParseError(f"not a feed: invalid {name} after a byte-order mark"
                                     ) from exc
                # A few bad bytes in a UTF-8 feed: replaced, and said. A body that is mostly
                # bad bytes is refused as binary by the caller (runs of U+FFFD).
                warnings.append(f"the feed has a UTF-8 byte-order mark but invalid UTF-8 at "
                                f"byte {exc.start + len(bom)}; undecodable bytes were replaced")
                return body[len(bom):].decode(name, errors="replace")
    wide = sniff_wide(body)
    if wide is not None:
        try:
            text = body.decode(wide)
        except UnicodeDecodeError as exc:
            raise ParseError(f"not a feed: the response looks like {_display(wide)} without "
                             "a byte-order mark but does not decode as it") from exc
        warnings.append(f"the feed is {_display(wide)} without a byte-order mark; "
                        f"decoded as {_display(wide)}")
        return text

    candidates = _labels(body, content_type, warnings)
    if not any(b > 0x7F for b in body):
        used = next((c for c, _ in candidates if _decodes(body, c)), "utf_8")
        return body.decode(used)
    cut = _cut_utf8(body)
    if cut is not None and cut > 0:
        # Valid UTF-8 up to a character the cut split: that is a truncated UTF-8 body, not
        # another encoding (the break itself is handled, and warned about, by the XML check).
        body = body[:cut]
    stray = 0 if _decodes(body, "utf_8") else _stray_bytes_in_utf8(body)
    if stray:
        warnings.append(f"the feed is UTF-8 with {stray} invalid byte sequence(s); "
                        "they were removed")
        return body.decode("utf-8", errors="ignore")
    if _decodes(body, "utf_8"):
        used = "utf_8"
    else:
        detected = detect(body)
        readable = [c for c, _ in candidates if _decodes(body, c)]
        overruled = bool(readable) and detected is not None and detected != readable[0] \
            and _decodes(body, detected) and (
                (readable[0] in _DECODES_ANYTHING and detected in _MULTI_BYTE)
                or not _plausible(body, readable[0]))
        if readable and not overruled:
            used = readable[0]
            if detected and detected != used and _decodes(body, detected):
                warnings.append(f"the bytes look like {_display(detected)}, but the feed "
                                f"declares {_display(used)}; decoded as declared — check "
                                "the text for garbled characters")
        elif detected and _decodes(body, detected):
            used = detected
            if not candidates:
                warnings.append(f"the feed declares no encoding; detected "
                                f"{_display(used)} and decoded as that")
        elif _decodes(body, "gb18030"):
            used = "gb18030"
        else:
            used = readable[0] if readable else (candidates[0][0] if candidates else "utf_8")
            warnings.append(f"the feed is not valid {_display(used)}; undecodable bytes "
                            "were replaced")
            return body.decode(used, errors="replace")
    for codec, claim in candidates:
        if codec != used:
            warnings.append(f"{claim}, but the feed is {_display(used)}; decoded as "
                            f"{_display(used)}")
    return body.decode(used)
