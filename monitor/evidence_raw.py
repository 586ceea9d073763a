"""The raw body of each entry, kept with its item for evidence (issue 18).

A feed entry's raw body is its own `<item>`/`<entry>` element, cut out of the checked
document by byte offsets found in one expat pass (the document has already been refused if
it declares entities: monitor.feed_repair.check_xml). A social post's raw body is its JSON
object as the platform gave it. Both are written at ingest for new items only
(monitor.ingest), in the side table `item_raw`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from xml.parsers import expat

XML = "application/xml"
JSON_TYPE = "application/json"
_ENTRY_TAGS = frozenset({"item", "entry"})
# One entry larger than this is not kept raw (its page is still snapshotted); a feed with
# megabyte entries is a broken feed, not evidence.
MAX_RAW_CHARS = 200_000


def _local(name: str) -> str:
    return name.rsplit(" ", 1)[-1].rsplit(":", 1)[-1].lower()


def entry_bodies(document: bytes) -> list[str] | None:
    """The XML text of each top-level item/entry element in document order, or None when
    the document cannot be walked (the caller then keeps no raw bodies for it)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0

    def on_start(name: str, _attrs: Any) -> None:
        nonlocal depth, start
        if _local(name) in _ENTRY_TAGS:
            if depth == 0:
                start = parser.CurrentByteIndex
            depth += 1

    def on_end(name: str) -> None:
        nonlocal depth
        if _local(name) in _ENTRY_TAGS and depth > 0:
            depth -= 1
            if depth == 0:
                at = parser.CurrentByteIndex
                close = document.find(b">", at)
                spans.append((start, close + 1 if close >= 0 else len(document)))

    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    try:
        parser.Parse(document, True)
    except expat.ExpatError:
        return None
    return [body_text(document[s:e]) for s, e in spans]


def body_text(element: bytes) -> str:
    """One entry element's bytes as kept raw: "" when it is too large to keep."""
    text = element.decode("utf-8", errors="replace")
    return text if len(text) <= MAX_RAW_CHARS else ""


def json_body(post: Mapping[str, Any] | Any) -> str | None:
    """A post's JSON as given (keys kept in order, Chinese unescaped), or None if too big."""
    try:
        text = json.dumps(post, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return None
    return text if len(text) <= MAX_RAW_CHARS else None
