"""Run yuqing's feed parser over feedparser's own test corpus and compare with feedparser.

    YUQING_FEEDPARSER_CORPUS=/path/to/feedparser/tests python scripts/feedparser_corpus.py

The corpus is feedparser's `tests/` directory (github.com/kurtmckee/feedparser), fetched by
whoever runs this; it is never committed here. Prints JSON figures: feeds read, feeds refused
(on purpose, or not), entries kept against the entries feedparser finds with a title, text or
link. tests/unit/test_feedparser_corpus.py runs the same function and skips without a corpus.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.feeds import parse_feed
from monitor.text import strip_html

_HEADER = re.compile(rb"^Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", re.MULTILINE)
# What yuqing refuses by design: entity declarations and external entities (billion laughs,
# XXE), oversized documents, and bodies that are not RSS/Atom at all (empty, CDF, HTML, JSON).
ON_PURPOSE = ("refused:", "not a feed:", "too large")


def _content_type(body: bytes) -> str | None:
    head = body[:2000]
    for name, value in _HEADER.findall(head):
        if name.lower() == b"content-type":
            return value.decode("latin-1")
    return None


def _feedparser_entries(body: bytes, content_type: str | None) -> int:
    headers = {"content-type": content_type} if content_type else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    # Visible text, as yuqing keeps it: an entry whose content is only markup (an empty
    # <span>, an SVG circle) has no text for a reader.
    return sum(1 for e in parsed.entries
               if strip_html(e.get("title") or "") or strip_html(e.get("summary") or "")
               or any(strip_html(c.get("value") or "") for c in e.get("content") or [])
               or e.get("link"))


def run(corpus: Path) -> dict[str, Any]:
    files = sorted(p for p in corpus.rglob("*.xml") if p.is_file())
    refused: Counter[str] = Counter()
    unexpected: list[tuple[str, str]] = []
    short: list[tuple[str, int, int]] = []
    kept = found = 0
    for path in files:
        body = path.read_bytes()
        ctype = _content_type(body)
        expected = _feedparser_entries(body, ctype)
        try:
            parsed = parse_feed(body, content_type=ctype)
        except ParseError as exc:
            message = str(exc)
            if message.startswith(ON_PURPOSE):
                refused[message.split(":")[0] + ": " + message.split(":")[1][:60].strip()] += 1
            else:
                unexpected.append((str(path.relative_to(corpus)), message))
            continue
        found += expected
        kept += min(len(parsed.entries), expected)
        if len(parsed.entries) < expected:
            short.append((str(path.relative_to(corpus)), len(parsed.entries), expected))
    return {
        "feeds": len(files),
        "refused_on_purpose": sum(refused.values()),
        "refused_on_purpose_by_reason": dict(refused.most_common()),
        "refused_unexpectedly": len(unexpected),
        "unexpected": unexpected,
        "entries_feedparser_finds": found,
        "entries_kept": kept,
        "feeds_with_fewer_entries": short,
    }


if __name__ == "__main__":
    where = os.environ.get("YUQING_FEEDPARSER_CORPUS") or (sys.argv[1] if len(sys.argv) > 1
                                                           else "")
    if not where or not Path(where).is_dir():
        sys.exit("set YUQING_FEEDPARSER_CORPUS to feedparser's tests/ directory")
    print(json.dumps(run(Path(where)), ensure_ascii=False, indent=1))
