"""Message boards in the style of 人民网 领导留言板: a thread list where each thread is a
citizen's message (title, body, region, domain, state 已回复/未回复) with the official reply
and its time once there is one. Each message is stored with `extra.message = true`, which
makes it an event — and an alert — of its own kind: a request that needs a reply in time,
never merged with other citizens' messages however alike they read.

Accepted envelopes: `{"result": {"data": [...]}}`, `{"data": {"list": [...]}}`,
`{"data": [...]}`, `{"list": [...]}`, a bare list, and today's 人民网 responses:
`{"result": "success", "responseData": [...]}` (the thread list) and `{"resultData": {...}}`
(one thread, or a list inside it). Field names vary between boards and years; the aliases
below cover the ones seen — the older `threadsTitle`/`threadsContent`, `dateline` as a Unix
timestamp, the reply as `answerContent` by `answerOrganization` at `answerTime`.

A thread with neither title nor text is an error for that thread (counted in a warning),
never an empty item.

A board served as RSS (`board_from_feed`) carries the reply inside the item's text, the way
the 留言板 pages print it: a paragraph opening with 【回复】 (or 【答复】, 【官方回复】), the
answering unit before the first colon and the date in brackets at its end; a 【办理状态】
paragraph carries the state. Those are split off into the same board fields, so an RSS
message that was answered reads as answered and its text is the citizen's words only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from monitor.errors import ParseError
from monitor.evidence_raw import JSON_TYPE, json_body
from monitor.feeds import FeedEntry, ParsedFeed
from monitor.social.base import SocialEntry, load_json
from monitor.text import normalize_text, parse_datetime

_ID = ("tid", "id", "threadId", "messageId", "threadsId")
_TITLE = ("title", "subject", "threadsTitle")
_BODY = ("content", "body", "message", "text", "threadsContent")
_REGION = ("region", "fidName", "areaName", "area")
_DOMAIN = ("domain", "domainName", "typeName", "category")
_STATE = ("state", "stateInfo", "status", "replyState")
_TIME = ("created_at", "createDateTime", "threadsCheckTime", "dateline", "threadsDateline",
         "time", "date")
_REPLY_BODY = ("content", "body", "message", "text", "answerContent", "replyContent")
_REPLY_TIME = ("replyTime", "answerTime", "answerDateline", "replyDateline", "time",
               "created_at")
_REPLY_UNIT = ("unitName", "unit", "answerOrganization", "organization", "replyUnit")
_LISTS = ("data", "list", "threads", "rows", "records")
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


def _is_thread(obj: Mapping[str, Any]) -> bool:
    return _first(obj, _ID) is not None and any(k in obj for k in (*_TITLE, *_BODY))


def _threads(data: Any) -> list[Mapping[str, Any]]:
    if isinstance(data, Mapping):
        result = data.get("result")
        if isinstance(result, str) and result.lower() not in ("success", "ok", "0", "200"):
            said = data.get("message") or data.get("msg") or data.get("resultMsg") or result
            raise ParseError(f"the message board refused the request: {said}")
        for key in ("responseData", "resultData", "result", "data"):
            got = data.get(key)
            if isinstance(got, list):
                return [t for t in got if isinstance(t, Mapping)]
            if isinstance(got, Mapping):
                inner = next((got[k] for k in _LISTS if isinstance(got.get(k), list)), None)
                if inner is not None:
                    return [t for t in inner if isinstance(t, Mapping)]
                if _is_thread(got):
                    return [got]  # one thread's detail
        for key in ("list", "threads"):
            if isinstance(data.get(key), list):
                return [t for t in data[key] if isinstance(t, Mapping)]
    if isinstance(data, list):
        return [t for t in data if isinstance(t, Mapping)]
    raise ParseError("not a message-board list: expected responseData, resultData, "
                     "result.data, data.list or a list")


def _reply(thread: Mapping[str, Any], default_tz: str
           ) -> tuple[str | None, datetime | None, str | None]:
    """The official reply's text, time and unit: nested under `reply` (or the first of
    `replies`/`answerList`), or flat on the thread (`answerContent`, `answerOrganization`)."""
    nested: Any = thread.get("reply")
    for key in ("replies", "answerList", "answers"):
        many = thread.get(key)
        if not isinstance(nested, Mapping) and isinstance(many, list) and many:
            nested = many[0]
    reply: Mapping[str, Any] = nested if isinstance(nested, Mapping) else {}
    text = _first(reply, _REPLY_BODY) or _first(thread, ("replyContent", "answerContent"))
    when = _first(reply, _REPLY_TIME) or _first(thread, _REPLY_TIME[:4])
    unit = _first(reply, _REPLY_UNIT) or _first(thread, _REPLY_UNIT[2:])
    reply_at = parse_datetime(str(when), default_tz=default_tz) if when is not None else None
    return (str(text) if text else None, reply_at, str(unit) if unit else None)


def parse_board_json(body: bytes, *, to_simplified: bool = True,
                     default_tz: str = "Asia/Shanghai", **_: Any) -> ParsedFeed:
    entries: list[SocialEntry] = []
    warnings: list[str] = []
    empty: list[str] = []
    norm = normalize_text
    for n, thread in enumerate(_threads(load_json(body)), 1):
        tid = _first(thread, _ID)
        if tid is None:
            warnings.append(f"thread {n} has no id; skipped")
            continue
        title = norm(str(_first(thread, _TITLE) or ""), to_simplified=to_simplified)
        text = norm(str(_first(thread, _BODY) or ""), to_simplified=to_simplified)
        if not (title or text):
            empty.append(str(tid))
            continue
        reply_text, reply_at, reply_unit = _reply(thread, default_tz)
        entries.append(SocialEntry(
            entry_id=f"board:{tid}",
            title=title,
            text=text,
            link=str(_first(thread, _LINK) or "") or None,
            author=str(thread.get("author") or thread.get("nickName") or "") or None,
            published_at=parse_datetime(str(_first(thread, _TIME) or ""),
                                        default_tz=default_tz),
            external_id=str(tid),
            extra=message_extra(
                region=str(_first(thread, _REGION) or "") or None,
                domain=str(_first(thread, _DOMAIN) or "") or None,
                state=str(_first(thread, _STATE) or "") or None,
                reply=reply_text,
                reply_at=reply_at,
                reply_unit=reply_unit,
                to_simplified=to_simplified),
            raw=json_body(thread), raw_type=JSON_TYPE,
        ))
    if empty:
        warnings.append(f"{len(empty)} message(s) have neither title nor text and were not "
                        f"stored: {', '.join(empty[:10])}")
    return ParsedFeed(None, tuple(entries), tuple(warnings))


# A paragraph of an RSS board item that is the office's answer or the message's state.
_REPLY_LINE = re.compile(
    r"^\s*[【\[](?:官方)?(?:回复|答复|回复内容|办理结果)[】\]]\s*(?P<body>.*)$")
_STATE_LINE = re.compile(r"^\s*[【\[](?:办理状态|状态|处理状态)[】\]]\s*(?P<body>.*)$")
# "开封市司法局：…" — the unit is the text before the first colon, if short enough to be a name.
_UNIT = re.compile(r"^(?P<unit>[^：:。，,]{2,30})[：:]\s*(?P<rest>.+)$", re.S)
# "…感谢您的监督。（2026-11-20）" — the reply's date in brackets at its end.
_WHEN = re.compile(r"[（(](?P<when>\d{4}-\d{1,2}-\d{1,2}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?)[)）]\s*$")


def _split_reply(text: str, default_tz: str
                 ) -> tuple[str, str | None, datetime | None, str | None, str | None]:
    """(message text, reply, reply time, unit, state) of an RSS board item's text."""
    kept: list[str] = []
    reply: str | None = None
    when: datetime | None = None
    unit: str | None = None
    state: str | None = None
    for line in text.split("\n"):
        if (m := _REPLY_LINE.match(line)) and m.group("body").strip():
            body = m.group("body").strip()
            if (u := _UNIT.match(body)) is not None:
                unit, body = u.group("unit").strip(), u.group("rest").strip()
            if (w := _WHEN.search(body)) is not None:
                when = parse_datetime(w.group("when"), default_tz=default_tz)
                body = body[:w.start()].rstrip()
            reply = body if reply is None else f"{reply}\n{body}"
        elif (m := _STATE_LINE.match(line)) and m.group("body").strip():
            state = m.group("body").strip()[:40]
        else:
            kept.append(line)
    return "\n".join(kept).strip(), reply, when, unit, state


def _board_entry(entry: FeedEntry, default_tz: str, to_simplified: bool) -> SocialEntry:
    text, reply, reply_at, unit, state = _split_reply(entry.text, default_tz)
    # A state line that says the message was answered counts as answered (已回复); any other
    # (已转…办理, 办理中) leaves it waiting for its reply.
    if state is not None and not any(w in state for w in ("已回复", "已答复", "已办结")):
        said: str | None = state
    else:
        said = "已回复" if state is not None else None
    social = SocialEntry(**{f: getattr(entry, f) for f in FeedEntry.__dataclass_fields__})
    return replace(social, text=text or entry.text, external_id=entry.entry_id,
                   extra=message_extra(region=None, domain=None, state=said, reply=reply,
                                       reply_at=reply_at, reply_unit=unit,
                                       to_simplified=to_simplified))


def board_from_feed(parsed: ParsedFeed, *, default_tz: str = "Asia/Shanghai",
                    to_simplified: bool = True) -> ParsedFeed:
    """An RSS/Atom feed of a message board, read as board messages (see module docstring)."""
    return ParsedFeed(parsed.title,
                      tuple(_board_entry(e, default_tz, to_simplified) for e in parsed.entries),
                      parsed.warnings)
