"""Weibo status objects, as the Weibo JSON APIs return them, by keyword search, by account
timeline or one at a time. Accepted envelopes (recorded from the open API, the mobile site
m.weibo.cn and the web site's ajax API):

- `{"statuses": [...]}` (statuses/user_timeline, search/topics), `{"data": {"statuses": …}}`
- `{"data": {"cards": [{"mblog": {...}}, {"card_group": [{"mblog": …}]}]}}` (m.weibo.cn)
- `{"data": {"list": [...]}}` (weibo.com/ajax), or a bare list
- one status: `{"ok": 1, "data": {status}}` (m.weibo.cn statuses/show, weibo.com/ajax
  statuses/show) or the status object itself (open API statuses/show)

A repost's `text` holds only the reposters' comments ("转发微博", "//@name: …"); its
`retweeted_status` is the original, which is stored as an entry of its own (it may be news to
us) and named in the repost's `repost_of`, so both land in one event.

What a press office needs from a post, and where it is:
- the time: `created_at`, absolute ("Fri Nov 20 09:30:00 +0800 2026") or, on the mobile
  site, relative ("刚刚", "5分钟前", "昨天 12:30", "06-27") — read against the response's
  Date header, else the fetch time, in Asia/Shanghai;
- the whole text: `longText.longTextContent` (or `longTextContent`) for a long post; else
  `text_raw` (plain, emoticons as "[名称]"), else `text` (HTML, emoticons as <img alt>).
  A long post given only in part has its "…全文" stub removed and is marked `truncated`;
- pictures (`pics`, `pic_infos`/`pic_ids`, `pic_urls`, `pic_num`), the region ("发布于 河南")
  and the device (`source`) in the item's extra fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.errors import ParseError
from monitor.evidence_raw import JSON_TYPE, json_body
from monitor.feeds import ParsedFeed
from monitor.social.base import SocialEntry, as_count, load_json
from monitor.social.weibo_ids import mid_to_bid
from monitor.text import normalize_text, parse_datetime, read_datetime

WEIBO_TIME = "%a %b %d %H:%M:%S %z %Y"  # "Fri Nov 20 09:30:00 +0800 2026"
_SHANGHAI = ZoneInfo("Asia/Shanghai")
_AGO = re.compile(r"^(\d+)\s*(秒|分钟|小时|天)前$")
_DAY_CLOCK = re.compile(r"^(今天|昨天|前天)\s*(\d{1,2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")
_AGO_UNIT = {"秒": 1, "分钟": 60, "小时": 3600, "天": 86400}
_FULL_TEXT_STUB = re.compile(r"\s*(?:\.\.\.|…)+\s*全文\s*$")
_REGION = re.compile(r"^\s*(?:发布于|来自)\s*")


def weibo_time(value: Any, reference: datetime | None = None) -> datetime | None:
    """Weibo's created_at. Absolute ("Fri Nov 20 09:30:00 +0800 2026", "2019-06-27") or, with
    a `reference` time (when the response was sent), the mobile site's relative forms read
    in Asia/Shanghai: "刚刚", "30秒前", "5分钟前", "15小时前", "今天 08:10", "昨天 12:30",
    "06-27" (this year, or last year when that would be in the future)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value))
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.strptime(text, WEIBO_TIME)
    except ValueError:
        pass
    if reference is not None:
        relative = _relative(text, reference.astimezone(_SHANGHAI))
        if relative is not None:
            return relative
    return parse_datetime(text)


def _relative(text: str, now: datetime) -> datetime | None:
    if text in ("刚刚", "刚才"):
        return now
    ago = _AGO.match(text)
    if ago:
        return now - timedelta(seconds=int(ago.group(1)) * _AGO_UNIT[ago.group(2)])
    clock = _DAY_CLOCK.match(text)
    try:
        if clock:
            back = {"今天": 0, "昨天": 1, "前天": 2}[clock.group(1)]
            day = (now - timedelta(days=back)).date()
            return datetime(day.year, day.month, day.day, int(clock.group(2)),
                            int(clock.group(3)), tzinfo=_SHANGHAI)
        month_day = _MONTH_DAY.match(text)
        if month_day:
            month, day_of = int(month_day.group(1)), int(month_day.group(2))
            hour, minute = int(month_day.group(3) or 0), int(month_day.group(4) or 0)
            when = datetime(now.year, month, day_of, hour, minute, tzinfo=_SHANGHAI)
            if when > now + timedelta(days=1):  # "12-30" read on 2 January
                when = when.replace(year=now.year - 1)
            return when
    except ValueError:  # "02-30", "25:00"
        return None
    return None


def reference_time(response_date: str | None, fetched_at: datetime | None) -> datetime | None:
    """The "now" relative times count from: the response's Date header when it is a valid
    HTTP date (the server's clock wrote the "5分钟前"), else the fetch time."""
    if response_date:
        reading = read_datetime(response_date, default_tz="UTC")
        if reading.value is not None:
            return reading.value
    return fetched_at


def _is_status(obj: Mapping[str, Any]) -> bool:
    return bool(obj.get("id") or obj.get("idstr") or obj.get("mid")) and any(
        key in obj for key in ("text", "text_raw", "longText", "longTextContent"))


def _statuses(data: Any) -> list[Mapping[str, Any]]:
    if isinstance(data, list):
        raw = data
    elif isinstance(data, Mapping):
        got = data.get("data")
        inner: Mapping[str, Any] = got if isinstance(got, Mapping) else {}
        cards: list[Any] = []
        for card in inner.get("cards") or []:
            if isinstance(card, Mapping):
                cards.append(card.get("mblog"))
                cards.extend(c.get("mblog") for c in card.get("card_group") or []
                             if isinstance(c, Mapping))
        raw = (data.get("statuses") or inner.get("statuses") or inner.get("list")
               or [c for c in cards if c] or [])
        if not raw and _is_status(inner):
            raw = [inner]  # {"ok": 1, "data": {status}}
        elif not raw and _is_status(data):
            raw = [data]  # the status itself
    else:
        raw = []
    return [s for s in raw if isinstance(s, Mapping)]


def _pictures(status: Mapping[str, Any]) -> list[str]:
    urls: list[str] = []
    for pic in status.get("pics") or []:  # m.weibo.cn
        if isinstance(pic, Mapping):
            large = pic.get("large")
            url = large.get("url") if isinstance(large, Mapping) else None
            urls.append(str(url or pic.get("url") or ""))
    infos = status.get("pic_infos")  # weibo.com/ajax: pid → sizes
    if isinstance(infos, Mapping):
        for pid in status.get("pic_ids") or list(infos):
            info = infos.get(pid)
            if isinstance(info, Mapping):
                best: Mapping[str, Any] = next(
                    (info[k] for k in ("largest", "original", "large", "bmiddle")
                     if isinstance(info.get(k), Mapping)), {})
                urls.append(str(best.get("url") or ""))
    for pic in status.get("pic_urls") or []:  # open API
        if isinstance(pic, Mapping) and pic.get("thumbnail_pic"):
            urls.append(str(pic["thumbnail_pic"]).replace("/thumbnail/", "/large/"))
    if not urls and status.get("original_pic"):
        urls.append(str(status["original_pic"]))
    return [u for u in dict.fromkeys(urls) if u]


def _long_text(status: Mapping[str, Any]) -> str | None:
    got = status.get("longText")
    if isinstance(got, Mapping) and got.get("longTextContent"):
        return str(got["longTextContent"])
    if status.get("longTextContent"):
        return str(status["longTextContent"])
    return None


def _text(status: Mapping[str, Any], *, to_simplified: bool) -> tuple[str, bool]:
    """The post's text and whether it is only the beginning of a long post."""
    full = _long_text(status)
    raw = full or str(status.get("text_raw") or status.get("text") or "")
    # Emoticons are <img alt="[doge]"> in `text`; strip_html keeps such alts as "[doge]".
    text = normalize_text(raw, to_simplified=to_simplified)
    cut = bool(status.get("isLongText")) and full is None
    stub = _FULL_TEXT_STUB.search(text)
    if stub:
        text, cut = text[: stub.start()].rstrip(), cut or full is None
    return text, cut


def _entry(status: Mapping[str, Any], *, to_simplified: bool, reference: datetime | None,
           repost_of: str | None = None, original_link: str | None = None) -> SocialEntry:
    sid = str(status.get("idstr") or status.get("id") or status.get("mid") or "").strip()
    got = status.get("user")
    user: Mapping[str, Any] = got if isinstance(got, Mapping) else {}
    uid = str(user.get("idstr") or user.get("id") or "")
    bid = str(status.get("bid") or status.get("mblogid") or mid_to_bid(sid) or sid)
    link = f"https://weibo.com/{uid}/{bid}" if uid and bid else None
    text, truncated = _text(status, to_simplified=to_simplified)
    pictures = _pictures(status)
    region = _REGION.sub("", str(status.get("region_name") or "")).strip() or None
    device = normalize_text(str(status.get("source") or ""), to_simplified=False) or None
    extra: dict[str, Any] = {"platform": "weibo", "mid": str(status.get("mid") or sid),
                             "bid": bid, "user_id": uid, "verified": bool(user.get("verified"))}
    count = as_count(status.get("pic_num"))
    if pictures or count:
        extra["picture_count"] = max(count or 0, len(pictures))
        extra["picture_urls"] = pictures
    if region:
        extra["region"] = region
    if device:
        extra["device"] = device
    if truncated:
        extra["truncated"] = True
    return SocialEntry(
        entry_id=f"weibo:{sid}",
        title="",
        text=text,
        link=link,
        author=str(user.get("screen_name") or "") or None,
        published_at=weibo_time(status.get("created_at"), reference),
        external_id=sid,
        reposts=as_count(status.get("reposts_count")),
        comments=as_count(status.get("comments_count")),
        likes=as_count(status.get("attitudes_count")),
        repost_of=repost_of,
        original_link=original_link,
        extra=extra,
        raw=json_body(status),
        raw_type=JSON_TYPE,
    )


def parse_weibo_json(body: bytes, *, to_simplified: bool = True,
                     response_date: str | None = None, fetched_at: datetime | None = None,
                     **_: Any) -> ParsedFeed:
    data = load_json(body)
    if isinstance(data, Mapping) and data.get("ok") == 0 and not _statuses(data):
        raise ParseError(f"Weibo API refused the request: {data.get('msg') or 'ok=0'}")
    inner = data.get("data") if isinstance(data, Mapping) else None
    statuses = _statuses(data)
    if not statuses and isinstance(inner, Mapping) and inner.get("longTextContent"):
        raise ParseError("a Weibo long-text response (longTextContent) names no post: poll "
                         "the post itself (statuses/show), whose long text is read in full")
    if not statuses and not (isinstance(data, Mapping | list)):
        raise ParseError("not Weibo JSON: expected statuses or data.cards")
    reference = reference_time(response_date, fetched_at)
    entries: list[SocialEntry] = []
    warnings: list[str] = []
    seen: set[str] = set()
    links: dict[str | None, str | None] = {}  # external id → link (the fullest copy wins)
    undated = 0
    for n, status in enumerate(statuses, 1):
        if not (status.get("id") or status.get("idstr") or status.get("mid")):
            warnings.append(f"status {n} has no id; skipped")
            continue
        original = status.get("retweeted_status")
        repost_of = link = None
        if isinstance(original, Mapping) and (original.get("id") or original.get("idstr")):
            orig = _entry(original, to_simplified=to_simplified, reference=reference)
            links.setdefault(orig.external_id, orig.link)
            repost_of, link = orig.external_id, links[orig.external_id]
            if orig.entry_id not in seen:
                seen.add(orig.entry_id)
                entries.append(orig)
        entry = _entry(status, to_simplified=to_simplified, reference=reference,
                       repost_of=repost_of, original_link=link)
        links[entry.external_id] = entry.link
        if entry.entry_id in seen:
            continue
        seen.add(entry.entry_id)
        entries.append(entry)
        if entry.extra.get("truncated"):
            warnings.append(f"status {n} ({entry.external_id}) is a long post given only in "
                            "part; its beginning was kept without the “…全文” stub")
        if entry.published_at is None and status.get("created_at"):
            undated += 1
    if undated:
        warnings.append(f"{undated} status(es) have a time that could not be read; "
                        "left undated")
    return ParsedFeed(None, tuple(entries), tuple(warnings))
