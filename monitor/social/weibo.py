"""Weibo status objects, as the Weibo JSON APIs return them, by keyword search or by account
timeline. Accepted envelopes (recorded from the open API and the mobile site):
`{"statuses": [...]}` (statuses/user_timeline, search/topics), `{"data": {"cards": [{"mblog":
{...}}]}}` (m.weibo.cn search and containers), `{"data": {"list": [...]}}`, or a bare list.

A repost's `text` holds only the reposters' comments ("转发微博", "//@name: …"); its
`retweeted_status` is the original, which is stored as an entry of its own (it may be news to
us) and named in the repost's `repost_of`, so both land in one event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from monitor.errors import ParseError
from monitor.feeds import ParsedFeed
from monitor.social.base import SocialEntry, as_count, load_json
from monitor.text import normalize_text, parse_datetime

WEIBO_TIME = "%a %b %d %H:%M:%S %z %Y"  # "Fri Nov 20 09:30:00 +0800 2026"


def weibo_time(value: Any) -> datetime | None:
    """Weibo's created_at ("Fri Nov 20 09:30:00 +0800 2026"); other formats best effort."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return datetime.strptime(value.strip(), WEIBO_TIME)
    except ValueError:
        return parse_datetime(value)


def _statuses(data: Any) -> list[Mapping[str, Any]]:
    if isinstance(data, list):
        raw = data
    elif isinstance(data, Mapping):
        got = data.get("data")
        inner: Mapping[str, Any] = got if isinstance(got, Mapping) else {}
        raw = (data.get("statuses") or inner.get("statuses") or inner.get("list")
               or [c.get("mblog") for c in inner.get("cards") or [] if isinstance(c, Mapping)]
               or [])
    else:
        raw = []
    return [s for s in raw if isinstance(s, Mapping)]


def _entry(status: Mapping[str, Any], *, to_simplified: bool,
           repost_of: str | None = None, original_link: str | None = None) -> SocialEntry:
    sid = str(status.get("idstr") or status.get("id") or status.get("mid") or "").strip()
    got = status.get("user")
    user: Mapping[str, Any] = got if isinstance(got, Mapping) else {}
    uid = str(user.get("idstr") or user.get("id") or "")
    bid = str(status.get("bid") or status.get("mblogid") or status.get("mid") or sid)
    link = f"https://weibo.com/{uid}/{bid}" if uid and bid else None
    text = normalize_text(str(status.get("text") or status.get("text_raw") or ""),
                          to_simplified=to_simplified)
    return SocialEntry(
        entry_id=f"weibo:{sid}",
        title="",
        text=text,
        link=link,
        author=str(user.get("screen_name") or "") or None,
        published_at=weibo_time(status.get("created_at")),
        external_id=sid,
        reposts=as_count(status.get("reposts_count")),
        comments=as_count(status.get("comments_count")),
        likes=as_count(status.get("attitudes_count")),
        repost_of=repost_of,
        original_link=original_link,
        extra={"platform": "weibo", "mid": str(status.get("mid") or sid),
               "user_id": uid, "verified": bool(user.get("verified"))},
    )


def parse_weibo_json(body: bytes, *, to_simplified: bool = True, **_: Any) -> ParsedFeed:
    data = load_json(body)
    if isinstance(data, Mapping) and data.get("ok") == 0 and not _statuses(data):
        raise ParseError(f"Weibo API refused the request: {data.get('msg') or 'ok=0'}")
    statuses = _statuses(data)
    if not statuses and not (isinstance(data, Mapping | list)):
        raise ParseError("not Weibo JSON: expected statuses or data.cards")
    entries: list[SocialEntry] = []
    warnings: list[str] = []
    seen: set[str] = set()
    links: dict[str | None, str | None] = {}  # external id → link (the fullest copy wins)
    for n, status in enumerate(statuses, 1):
        if not (status.get("id") or status.get("idstr") or status.get("mid")):
            warnings.append(f"status {n} has no id; skipped")
            continue
        original = status.get("retweeted_status")
        repost_of = link = None
        if isinstance(original, Mapping) and (original.get("id") or original.get("idstr")):
            orig = _entry(original, to_simplified=to_simplified)
            links.setdefault(orig.external_id, orig.link)
            repost_of, link = orig.external_id, links[orig.external_id]
            if orig.entry_id not in seen:
                seen.add(orig.entry_id)
                entries.append(orig)
        entry = _entry(status, to_simplified=to_simplified, repost_of=repost_of,
                       original_link=link)
        links[entry.external_id] = entry.link
        if entry.entry_id in seen:
            continue
        seen.add(entry.entry_id)
        entries.append(entry)
    return ParsedFeed(None, tuple(entries), tuple(warnings))
