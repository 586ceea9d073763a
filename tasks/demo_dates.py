"""The demo feeds dated relative to now: every absolute timestamp in the bundled files moves
forward by the same whole number of days, so that the newest post is less than a day old
whenever the demo is served — a newcomer's queue has live clocks and a full 14-day chart, not
a month-old archive on the backfill rule.

Pure: bytes in, bytes out; `now` is the caller's. The formats are the ones the demo files
use (RFC 822 pubDate, ISO 8601 with an offset, the zone-less "2026-11-24 19:20:00" of the
boards, Weibo's "Tue Nov 24 09:12:00 +0800 2026"); relative times ("12分钟前") are left as they
are, since they count from the server's Date header. Whole days keep each post's hour and the
order and spacing of every story; weekday names are rewritten to match the new date. Dates
written inside the text ("11月4日晚") are not touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MON = "|".join(_MONTHS)
_DAY = "|".join(_DAYS)

# All on bytes: the board feed is GB18030, whose multi-byte sequences never hold two ASCII
# digits in a row, so none of these can match inside a character.
_RFC822 = re.compile(
    rf"(?:({_DAY}), )?(\d{{1,2}}) ({_MON}) (\d{{4}}) (\d{{2}}:\d{{2}}:\d{{2}}) ([+-]\d{{4}})"
    .encode())
_WEIBO = re.compile(
    rf"({_DAY}) ({_MON}) (\d{{2}}) (\d{{2}}:\d{{2}}:\d{{2}}) ([+-]\d{{4}}) (\d{{4}})".encode())
_ISO = re.compile(
    rb"(?<![\d.])(\d{4})-(\d{2})-(\d{2})([T ])(\d{2}):(\d{2})(?::(\d{2}))?"
    rb"(Z|[+-]\d{2}:\d{2})?(?![\d:])")


def _zone(offset: str) -> timezone:
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[-2:])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


_LOCAL = timezone(timedelta(hours=8))  # a zone-less demo time is Asia/Shanghai


def timestamps(body: bytes) -> Iterable[datetime]:
    """Every absolute time in `body`, aware."""
    for m in _RFC822.finditer(body):
        day, mon, year, hms, off = (g.decode() if g else "" for g in m.groups()[1:])
        h, mi, s = map(int, hms.split(":"))
        yield datetime(int(year), _MONTHS.index(mon) + 1, int(day), h, mi, s,
                       tzinfo=_zone(off))
    for m in _WEIBO.finditer(body):
        _, mon, day, hms, off, year = (g.decode() for g in m.groups())
        h, mi, s = map(int, hms.split(":"))
        yield datetime(int(year), _MONTHS.index(mon) + 1, int(day), h, mi, s,
                       tzinfo=_zone(off))
    for m in _ISO.finditer(body):
        year, month, date, _, hour, minute, second, off = m.groups()
        zone = _LOCAL if off is None else UTC if off == b"Z" else _zone(off.decode())
        yield datetime(int(year), int(month), int(date), int(hour), int(minute),
                       int(second or 0), tzinfo=zone)


def days_behind(bodies: Iterable[bytes], now: datetime) -> int:
    """Whole days to move the demo forward so that its newest time is within a day before
    `now` (0 when the clock is behind the recording)."""
    newest = max((t for b in bodies for t in timestamps(b)), default=None)
    if newest is None or newest >= now:
        return 0
    return (now - newest) // timedelta(days=1)


def shift(body: bytes, days: int) -> bytes:
    """`body` with every absolute time `days` days later, written as it was written."""
    if days == 0:
        return body
    delta = timedelta(days=days)

    def rfc822(m: re.Match[bytes]) -> bytes:
        named, day, mon, year, hms, off = (g.decode() if g else "" for g in m.groups())
        h, mi, s = map(int, hms.split(":"))
        t = datetime(int(year), _MONTHS.index(mon) + 1, int(day), h, mi, s) + delta
        out = f"{t.day:02d} {_MONTHS[t.month - 1]} {t.year} {t:%H:%M:%S} {off}"
        return (f"{_DAYS[t.weekday()]}, {out}" if named else out).encode()

    def weibo(m: re.Match[bytes]) -> bytes:
        _, mon, day, hms, off, year = (g.decode() for g in m.groups())
        h, mi, s = map(int, hms.split(":"))
        t = datetime(int(year), _MONTHS.index(mon) + 1, int(day), h, mi, s) + delta
        return (f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:02d} {t:%H:%M:%S} {off} "
                f"{t.year}").encode()

    def iso(m: re.Match[bytes]) -> bytes:
        y, mo, d, sep, h, mi, s, off = m.groups()
        t = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0)) + delta
        text = f"{t:%Y-%m-%d}{sep.decode()}{t:%H:%M}" + (f":{t:%S}" if s is not None else "")
        return text.encode() + (off or b"")

    return _ISO.sub(iso, _WEIBO.sub(weibo, _RFC822.sub(rfc822, body)))
