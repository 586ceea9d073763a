"""A Weibo post has two names: the numeric mid (the APIs' `id`/`mid`/`idstr`) and the short
bid in its web address (`https://weibo.com/2301234567/MzVRA2E8G`, the APIs' `bid` or
`mblogid`). The bid is the mid in base 62, seven decimal digits at a time, each group written
as four base-62 digits — so either can be computed from the other, and a post that comes
through an RSS bridge (which only knows the address) and through the API (which knows the
mid) is named alike: `weibo:<mid>`."""

from __future__ import annotations

import re

__all__ = ["bid_to_mid", "mid_to_bid"]

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BID = re.compile(r"^[0-9A-Za-z]{1,16}$")


def _chunks(text: str, size: int) -> list[str]:
    """`text` cut into groups of `size` from the right: "1234567890", 7 → ["123", "4567890"]."""
    head = len(text) % size
    return ([text[:head]] if head else []) + [text[i:i + size]
                                              for i in range(head, len(text), size)]


def mid_to_bid(mid: str) -> str | None:
    """"4885639100630954" → "MzVRA2E8G"; None when `mid` is not a decimal id."""
    if not mid.isdigit() or mid.startswith("0"):
        return None
    out = []
    for n, group in enumerate(_chunks(mid, 7)):
        value, digits = int(group), ""
        while value:
            value, rest = divmod(value, 62)
            digits = _DIGITS[rest] + digits
        out.append(digits if n == 0 else digits.rjust(4, "0"))
    return "".join(out).lstrip("0") or None


def bid_to_mid(bid: str) -> str | None:
    """"MzVRA2E8G" → "4885639100630954"; None when `bid` cannot be one (a numeric address
    already is a mid, and is returned as it is)."""
    if bid.isdigit():
        return bid if not bid.startswith("0") else None
    if not _BID.match(bid):
        return None
    out = []
    for n, group in enumerate(_chunks(bid, 4)):
        value = 0
        for char in group:
            value = value * 62 + _DIGITS.index(char)
        if n and value >= 10_000_000:
            return None  # a group must fit seven decimal digits
        out.append(str(value) if n == 0 else str(value).rjust(7, "0"))
    return "".join(out).lstrip("0") or None
