"""A generic JSON API with a field mapping in the source's config, for whatever crawler or
vendor a press office already has. The mapping gives dotted paths:

    config:
      mapping:
        items: data.results        # where the list of posts is (default: the top-level list,
                                   # or the first list under items/data/results/list/posts)
        id: post_id                # each of these is a path inside one post
        text: content
        title: headline
        time: publish_time
        author: author.nickname
        url: share_url
        reposts: stats.forward
        comments: stats.comment
        likes: stats.like

Unmapped fields default to the import schema's names (id, text, title, created_at, author,
url, reposts, comments, likes, repost_of), so a feed already in that shape needs no mapping.

On a message-board source (kind "board") each post stays a citizen's message, as the board
parser makes it: `extra.message` with its state and reply, so board replies close alerts and
unanswered messages raise them. The board fields map too (default names in brackets):
state [state], reply [reply], reply_at [reply_at], reply_unit [reply_unit], region [region],
domain [domain].
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.errors import InputError, ParseError
from monitor.evidence_raw import JSON_TYPE, json_body
from monitor.feeds import ParsedFeed
from monitor.social.base import SocialEntry, as_count, dig, load_json
from monitor.social.board import message_extra
from monitor.text import content_hash, normalize_text, parse_datetime

DEFAULTS = {"id": "id", "text": "text", "title": "title", "time": "created_at",
            "author": "author", "url": "url", "reposts": "reposts", "comments": "comments",
            "likes": "likes", "repost_of": "repost_of"}
BOARD_DEFAULTS = {"state": "state", "reply": "reply", "reply_at": "reply_at",
                  "reply_unit": "reply_unit", "region": "region", "domain": "domain"}
_LIST_KEYS = ("items", "data", "results", "list", "posts")
MAPPING_KEYS = ("items", *DEFAULTS, *BOARD_DEFAULTS)


def validate_mapping(mapping: Any, where: str = "config.mapping") -> dict[str, str]:
    """A source's field mapping checked when it is loaded, not at the first poll: a typo in
    a key would otherwise silently fall back to the default field and store empty posts."""
    if not isinstance(mapping, Mapping):
        raise InputError(f"{where}: expected a mapping of field: dotted.path")
    unknown = sorted(str(k) for k in mapping if k not in MAPPING_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown field(s) {', '.join(unknown)}; "
                         f"known: {', '.join(MAPPING_KEYS)}")
    out: dict[str, str] = {}
    for key, path in mapping.items():
        if not isinstance(path, str | int) or isinstance(path, bool) or not str(path).strip():
            raise InputError(f"{where}.{key}: expected a dotted path like data.results, "
                             f"got {path!r}")
        text = str(path).strip()
        if any(not step or step != step.strip() for step in text.split(".")):
            raise InputError(f"{where}.{key}: {text!r} has an empty or padded step")
        out[str(key)] = text
    return out


def _posts(data: Any, path: str | None) -> list[Mapping[str, Any]]:
    found = dig(data, path) if path else data
    if not path and isinstance(data, Mapping):
        for key in _LIST_KEYS:
            value = data.get(key)
            if isinstance(value, Mapping):
                value = next((v for v in value.values() if isinstance(v, list)), None)
            if isinstance(value, list):
                found = value
                break
    if not isinstance(found, list):
        where = f"at {path!r}" if path else "at the top level or under items/data/results"
        raise ParseError(f"JSON API: no list of posts {where}")
    return [p for p in found if isinstance(p, Mapping)]


def _text_at(post: Mapping[str, Any], path: str) -> str | None:
    value = dig(post, path)
    return str(value) if value not in (None, "") else None


def _message(post: Mapping[str, Any], paths: Mapping[str, str], *, to_simplified: bool,
             default_tz: str) -> dict[str, Any]:
    when = _text_at(post, paths["reply_at"])
    return message_extra(
        region=_text_at(post, paths["region"]), domain=_text_at(post, paths["domain"]),
        state=_text_at(post, paths["state"]), reply=_text_at(post, paths["reply"]),
        reply_at=parse_datetime(when, default_tz=default_tz) if when else None,
        reply_unit=_text_at(post, paths["reply_unit"]), to_simplified=to_simplified)


def parse_json_api(body: bytes, *, mapping: Mapping[str, Any], to_simplified: bool = True,
                   default_tz: str = "Asia/Shanghai", kind: str | None = None,
                   **_: Any) -> ParsedFeed:
    paths = {**DEFAULTS, **BOARD_DEFAULTS, **{k: str(v) for k, v in mapping.items() if v}}
    board = kind == "board"
    entries: list[SocialEntry] = []
    warnings: list[str] = []
    for n, post in enumerate(_posts(load_json(body), mapping.get("items")), 1):
        text = normalize_text(str(dig(post, paths["text"]) or ""), to_simplified=to_simplified)
        title = normalize_text(str(dig(post, paths["title"]) or ""),
                               to_simplified=to_simplified)
        if not (text or title):
            warnings.append(f"post {n} has neither title nor text; skipped" if board
                            else f"post {n} has no text; skipped")
            continue
        raw_id = dig(post, paths["id"])
        pid = str(raw_id) if raw_id not in (None, "") else None
        url = dig(post, paths["url"])
        repost_of = dig(post, paths["repost_of"])
        entries.append(SocialEntry(
            entry_id=f"json:{pid}" if pid else f"json:sha256:{content_hash(title, text)}",
            title=title,
            text=text,
            link=str(url) if url else None,
            author=str(dig(post, paths["author"]) or "") or None,
            published_at=parse_datetime(str(dig(post, paths["time"]) or ""),
                                        default_tz=default_tz),
            external_id=pid,
            reposts=as_count(dig(post, paths["reposts"])),
            comments=as_count(dig(post, paths["comments"])),
            likes=as_count(dig(post, paths["likes"])),
            repost_of=str(repost_of) if repost_of not in (None, "") else None,
            extra=_message(post, paths, to_simplified=to_simplified, default_tz=default_tz)
            if board else {},
            raw=json_body(post), raw_type=JSON_TYPE,
        ))
    return ParsedFeed(None, tuple(entries), tuple(warnings))
