"""Weibo and WeChat public accounts through RSS bridges (RSSHub-style routes). The feed is
parsed as any feed (monitor.feeds: hostile XML refused first); then what the bridge knows
about the post is kept: the account (the entry's author, else the feed's title, which
bridges set to the account name) and the engagement counts bridges write into the
description ("转发 12 评论 3 赞 40", "阅读 10万+ 在看 230").
"""

from __future__ import annotations

import re
from typing import Any

from monitor.feeds import ParsedFeed, parse_feed
from monitor.social.base import SocialEntry, as_count
from monitor.social.weibo_ids import bid_to_mid

_COUNT = r"\s*[:：]?\s*(\d+(?:\.\d+)?[万亿]?\+?)"
_REPOSTS = re.compile(r"(?:转发|分享)" + _COUNT)
_COMMENTS = re.compile(r"评论" + _COUNT)
_LIKES = re.compile(r"(?:赞|点赞|在看)" + _COUNT)
_READS = re.compile(r"阅读" + _COUNT)
_WEIBO_ID = re.compile(r"weibo\.(?:com|cn)/(?:\d+/)?(?:status/|detail/)?([A-Za-z0-9]{9,16})")
_ACCOUNT_SUFFIX = re.compile(r"\s*(?:的微博|的微信公众号|的公众号|微信公众号)$")


def _count(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return as_count(match.group(1)) if match else None


def parse_bridge_feed(body: bytes, *, content_type: str | None = None,
                      to_simplified: bool = True, default_tz: str = "Asia/Shanghai",
                      **_: Any) -> ParsedFeed:
    parsed = parse_feed(body, content_type=content_type, to_simplified=to_simplified,
                        default_tz=default_tz)
    account = _ACCOUNT_SUFFIX.sub("", parsed.title or "") or None
    entries = []
    for e in parsed.entries:
        tail = e.text[-200:]  # counts sit at the end; the story itself may contain "转发"
        wid = _WEIBO_ID.search(e.link or "") or _WEIBO_ID.search(e.entry_id)
        bid = wid.group(1) if wid else None
        # The bridge knows the post by its address (the bid); the API by its mid. Named by
        # the mid, as monitor.social.weibo names it, one post is one item either way.
        mid = bid_to_mid(bid) if bid and "weibo." in (e.link or e.entry_id) else None
        reads = _count(_READS, tail)
        extra: dict[str, Any] = {"account": account}
        if reads is not None:
            extra["reads"] = reads
        if mid:
            extra.update(platform="weibo", mid=mid, bid=bid)
            if e.pictures:  # RSSHub writes a post's pictures as <img> after its text
                extra.update(picture_count=len(e.pictures), picture_urls=list(e.pictures))
        entries.append(SocialEntry(
            entry_id=f"weibo:{mid}" if mid else e.entry_id, title=e.title, text=e.text,
            link=e.link, author=e.author or account, published_at=e.published_at,
            external_id=mid or bid,
            reposts=_count(_REPOSTS, tail), comments=_count(_COMMENTS, tail),
            likes=_count(_LIKES, tail),
            extra=extra, raw=e.raw, raw_type=e.raw_type,
        ))
    return ParsedFeed(parsed.title, tuple(entries), parsed.warnings)
