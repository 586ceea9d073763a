"""The social entry, JSON helpers shared by the parsers, and parser selection."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.errors import ParseError
from monitor.feeds import FeedEntry, ParsedFeed, parse_feed

Parser = Callable[..., ParsedFeed]


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


CONFIG_KEYS = ("mapping", "format")
FORMATS = ("json",)


def validate_config(config: Any, where: str = "config") -> dict[str, Any]:
    """A source's `config` from a sources file or the API, checked: only the keys the parsers
    read (parser_for), with a well-formed JSON-API mapping. InputError names what is wrong."""
    from monitor.errors import InputError
    from monitor.social.jsonapi import validate_mapping

    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise InputError(f"{where}: expected a mapping")
    unknown = sorted(str(k) for k in config if k not in CONFIG_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                         f"known: {', '.join(CONFIG_KEYS)}")
    out: dict[str, Any] = {}
    if "mapping" in config:
        out["mapping"] = validate_mapping(config["mapping"], f"{where}.mapping")
    if "format" in config:
        if config["format"] not in FORMATS:
            raise InputError(f"{where}.format: must be one of {', '.join(FORMATS)}, "
                             f"got {config['format']!r}")
        out["format"] = config["format"]
    return out


def looks_like_json(body: bytes) -> bool:
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return head in (b"{", b"[")


def parser_for(kind: str, config: Mapping[str, Any] | None = None) -> Parser:
    """The parser for a source of this kind and config (see module docstring)."""
    from monitor.social.board import parse_board_json
    from monitor.social.bridge import parse_bridge_feed
    from monitor.social.jsonapi import parse_json_api
    from monitor.social.weibo import parse_weibo_json

    cfg = dict(config or {})

    def choose(body: bytes, *, content_type: str | None = None, to_simplified: bool = True,
               default_tz: str = "Asia/Shanghai") -> ParsedFeed:
        if looks_like_json(body):
            if cfg.get("mapping") or cfg.get("format") == "json":
                return parse_json_api(body, mapping=cfg.get("mapping") or {},
                                      to_simplified=to_simplified, default_tz=default_tz)
            if kind == "weibo":
                return parse_weibo_json(body, to_simplified=to_simplified)
            if kind == "board":
                return parse_board_json(body, to_simplified=to_simplified,
                                        default_tz=default_tz)
            return parse_json_api(body, mapping={}, to_simplified=to_simplified,
                                  default_tz=default_tz)
        if kind in ("weibo", "wechat"):
            return parse_bridge_feed(body, content_type=content_type,
                                     to_simplified=to_simplified, default_tz=default_tz)
        return parse_feed(body, content_type=content_type, to_simplified=to_simplified,
                          default_tz=default_tz)

    return choose
