"""Which parser reads a source: by its kind and config, and by what the body is (JSON or
XML), because one kind ("weibo") arrives both ways — from the platform's JSON API or through
an RSS bridge. Also the check of a source's config, whose keys are the ones read here.

Kept apart from monitor.social.base, which the parsers import, so that the imports run one
way: registry → parsers → base.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from monitor.errors import InputError
from monitor.feeds import ParsedFeed, parse_feed
from monitor.social.board import board_from_feed, parse_board_json
from monitor.social.bridge import parse_bridge_feed
from monitor.social.jsonapi import parse_json_api, validate_mapping
from monitor.social.weibo import parse_weibo_json

Parser = Callable[..., ParsedFeed]

CONFIG_KEYS = ("mapping", "format")
FORMATS = ("json",)


def validate_config(config: Any, where: str = "config") -> dict[str, Any]:
    """A source's `config` from a sources file or the API, checked: only the keys the parsers
    read (parser_for), with a well-formed JSON-API mapping. InputError names what is wrong."""
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
    cfg = dict(config or {})

    def choose(body: bytes, *, content_type: str | None = None, to_simplified: bool = True,
               default_tz: str = "Asia/Shanghai", response_date: str | None = None,
               fetched_at: datetime | None = None) -> ParsedFeed:
        # response_date (the HTTP Date header) and fetched_at are what Weibo's relative
        # times ("5分钟前") count from; the other parsers read absolute times only.
        if looks_like_json(body):
            if cfg.get("mapping") or cfg.get("format") == "json":
                return parse_json_api(body, mapping=cfg.get("mapping") or {}, kind=kind,
                                      to_simplified=to_simplified, default_tz=default_tz)
            if kind == "weibo":
                return parse_weibo_json(body, to_simplified=to_simplified,
                                        response_date=response_date, fetched_at=fetched_at)
            if kind == "board":
                return parse_board_json(body, to_simplified=to_simplified,
                                        default_tz=default_tz)
            return parse_json_api(body, mapping={}, to_simplified=to_simplified,
                                  default_tz=default_tz)
        if kind in ("weibo", "wechat"):
            return parse_bridge_feed(body, content_type=content_type,
                                     to_simplified=to_simplified, default_tz=default_tz)
        parsed = parse_feed(body, content_type=content_type, to_simplified=to_simplified,
                            default_tz=default_tz)
        if kind == "board":
            return board_from_feed(parsed, default_tz=default_tz, to_simplified=to_simplified)
        return parsed

    return choose
