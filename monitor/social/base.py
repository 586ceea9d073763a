"""The social entry and the JSON helpers the parsers share.

The parsers import this module, so it imports none of them: choosing a parser for a source
is monitor.social.registry's job."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.errors import ParseError
from monitor.feeds import FeedEntry


@dataclass(frozen=True)
class SocialEntry(FeedEntry):
    external_id: str | None = None
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None
    repost_of: str | None = None
    original_link: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def social_fields(entry: FeedEntry) -> dict[str, Any]:
    """The item columns a social entry adds (empty for a plain feed entry)."""
    if not isinstance(entry, SocialEntry):
        return {}
    return {
        "external_id": entry.external_id[:200] if entry.external_id else None,
        "reposts": entry.reposts,
        "comments": entry.comments,
        "likes": entry.likes,
        "repost_of": entry.repost_of[:200] if entry.repost_of else None,
        "original_link": entry.original_link[:2000] if entry.original_link else None,
        "extra": dict(entry.extra),
    }


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 JSON: {exc.reason} at byte {exc.start}") from exc
    except json.JSONDecodeError as exc:
        raise ParseError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
                         ) from exc


def dig(obj: Any, path: str | None) -> Any:
    """The value at a dotted path ("data.cards.0.mblog"), or None when any step is missing."""
    if not path:
        return None
    for step in path.split("."):
        if isinstance(obj, Mapping):
            obj = obj.get(step)
        elif isinstance(obj, list) and step.isdigit() and int(step) < len(obj):
            obj = obj[int(step)]
        else:
            return None
    return obj


def as_count(value: Any) -> int | None:
    """Engagement counts as platforms give them: 12, "12", "1.2万", "100万+", "" → int|None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, float):
        return max(int(value), 0)
    text = str(value).strip().rstrip("+")
    scale = 1
    if text.endswith("万"):
        text, scale = text[:-1], 10_000
    elif text.endswith("亿"):
        text, scale = text[:-1], 100_000_000
    try:
        return max(int(float(text) * scale), 0)
    except ValueError:
        return None
