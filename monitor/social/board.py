"""Message boards in the style of 人民网 领导留言板: a thread list where each thread is a
citizen's message (title, body, region, domain, state 已回复/未回复) with the official reply
and its time once there is one. Each message is stored with `extra.message = true`, which
makes it an event — and an alert — of its own kind: a request that needs a reply in time,
never merged with other citizens' messages however alike they read.

Accepted envelopes: `{"result": {"data": [...]}}`, `{"data": {"list": [...]}}`,
`{"data": [...]}`, `{"list": [...]}` or a bare list. Field names vary between boards; the
aliases below cover the ones seen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from monitor.errors import ParseError
from monitor.feeds import ParsedFeed
from monitor.social.base import SocialEntry, load_json
from monitor.text import normalize_text, parse_datetime

_ID = ("tid", "id", "threadId", "messageId")
_TITLE = ("title", "subject")
_BODY = ("content", "body", "message", "text")
_REGION = ("region", "fidName", "areaName", "area")
_DOMAIN = ("domain", "domainName", "typeName", "category")
_STATE = ("state", "stateInfo", "status", "replyState")
_TIME = ("created_at", "createDateTime", "threadsCheckTime", "time", "date")
_LINK = ("url", "link", "threadUrl")
_REPLIED = frozenset({"已回复", "已办理", "已答复", "replied"})


def message_extra(*, region: str | None, domain: str | None, state: str | None,
                  reply: str | None, reply_at: datetime | None, reply_unit: str | None,
                  to_simplified: bool = True) -> dict[str, Any]:
    """What an item of a board keeps in `extra`: the one shape both the board parser and an
    import into a board source (monitor.importing) write, so the analysis (message events,
    "unanswered" reasons) reads a polled and an imported message alike. A message without a
    state is answered when it has a reply text."""
    reply_text = normalize_text(reply, to_simplified=to_simplified) if reply else None
    said = state or ("已回复" if reply_text else "未回复")
    return {
        "message": True,
        "region": region or None,
        "domain": domain or None,
        "state": "已回复" if said in _REPLIED else said,
        "reply": reply_text,
        "reply_at": reply_at.isoformat() if reply_at else None,
        "reply_unit": reply_unit or None,
    }


# The board fields a re-poll may bring for a message already stored: the reply, never the
# citizen's words (those are the item's text, and its dedup key).
REPLY_FIELDS = ("state", "reply", "reply_at", "reply_unit")


def is_answered(extra: Mapping[str, Any]) -> bool:
    """A message is answered when the board says so (已回复) or a reply is there: some
    boards post the reply before they change the state."""
    reply = extra.get("reply")
    return extra.get("state") == "已回复" or (isinstance(reply, str) and bool(reply.strip()))


def _first(obj: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value not in (None, ""):
            return value
    return None


def _threads(data: Any) -> list[Mapping[str, Any]]:
    for path in (("result", "data"), ("data", "list"), ("data",), ("list",), ("threads",)):
        cur = data
        for step in path:
            cur = cur.get(step) if isinstance(cur, Mapping) else None
        if isinstance(cur, list):
            return [t for t in cur if isinstance(t, Mapping)]
    if isinstance(data, list):
        return [t for t in data if isinstance(t, Mapping)]
    raise ParseError("not a message-board list: expected result.data, data.list or a list")


def parse_board_json(body: bytes, *, to_simplified: bool = True,
                     default_tz: str = "Asia/Shanghai", **_: Any) -> ParsedFeed:
    entries: list[SocialEntry] = []
    warnings: list[str] = []
    for n, thread in enumerate(_threads(load_json(body)), 1):
        tid = _first(thread, _ID)
        if tid is None:
            warnings.append(f"thread {n} has no id; skipped")
            continue
        got = thread.get("reply")
        reply: Mapping[str, Any] = got if isinstance(got, Mapping) else {}
        reply_text = _first(reply, _BODY) or thread.get("replyContent")
        reply_at = parse_datetime(str(_first(reply, ("replyTime", "time", "created_at"))
                                      or thread.get("replyTime") or ""),
                                  default_tz=default_tz)
        norm = normalize_text
        entries.append(SocialEntry(
            entry_id=f"board:{tid}",
            title=norm(str(_first(thread, _TITLE) or ""), to_simplified=to_simplified),
            text=norm(str(_first(thread, _BODY) or ""), to_simplified=to_simplified),
            link=str(_first(thread, _LINK) or "") or None,
            author=str(thread.get("author") or thread.get("nickName") or "") or None,
            published_at=parse_datetime(str(_first(thread, _TIME) or ""),
                                        default_tz=default_tz),
            external_id=str(tid),
            extra=message_extra(
                region=str(_first(thread, _REGION) or "") or None,
                domain=str(_first(thread, _DOMAIN) or "") or None,
                state=str(_first(thread, _STATE) or "") or None,
                reply=str(reply_text) if reply_text else None,
                reply_at=reply_at,
                reply_unit=str(_first(reply, ("unitName", "unit")) or "") or None,
                to_simplified=to_simplified),
        ))
    return ParsedFeed(None, tuple(entries), tuple(warnings))
