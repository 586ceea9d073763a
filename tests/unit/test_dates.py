"""monitor.text.read_datetime: the date forms feeds write, the zones they name, and the
impossible ones that are an error rather than a guess."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from monitor.text import parse_datetime, read_datetime, strip_html

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(("value", "expected"), [
    # Zone names from feedparser's table, fixed offsets.
    ("Thu, 01 Jan 2004 19:48:21 ET", datetime(2004, 1, 2, 0, 48, 21, tzinfo=UTC)),
    ("Mon, 26 January 2004 16:31:00 PT", datetime(2004, 1, 27, 0, 31, tzinfo=UTC)),
    ("Thu, 30 Apr 2015 08:57:00 MET", datetime(2015, 4, 30, 7, 57, tzinfo=UTC)),
    ("Thu, 30 Apr 2015 08:57:00 MEST", datetime(2015, 4, 30, 6, 57, tzinfo=UTC)),
    ("Fri, 2006/09/15 08:19:53 EDT", datetime(2006, 9, 15, 12, 19, 53, tzinfo=UTC)),
    ("Fri, 20 Nov 2026 09:30:00 JST", datetime(2026, 11, 20, 0, 30, tzinfo=UTC)),
    ("Wed, 19 Aug 2009 18:28:00 Etc/GMT", datetime(2009, 8, 19, 18, 28, tzinfo=UTC)),
    ("Wed, 19 Feb 2012 22:40:00 GMT-01:01", datetime(2012, 2, 19, 23, 41, tzinfo=UTC)),
    ("Wed, 19 Feb 2012 22:40:00 -01:01", datetime(2012, 2, 19, 23, 41, tzinfo=UTC)),
    ("2026-11-20 09:30 Asia/Tokyo", datetime(2026, 11, 20, 0, 30, tzinfo=UTC)),
    # "CST" on a Chinese site is China Standard Time, not US Central.
    ("Fri, 20 Nov 2026 09:30:00 CST", datetime(2026, 11, 20, 9, 30, tzinfo=SHANGHAI)),
    # Date only, stray comma, no seconds, asctime.
    ("Thu, 01 Jan 2004", datetime(2004, 1, 1, tzinfo=SHANGHAI)),
    ("Mon, 13 Feb, 2012 06:28:00 UTC", datetime(2012, 2, 13, 6, 28, tzinfo=UTC)),
    ("Thu, 01 Jan 2004 00:00 GMT", datetime(2004, 1, 1, tzinfo=UTC)),
    ("Sun Jan  4 16:29:06 2004", datetime(2004, 1, 4, 16, 29, 6, tzinfo=SHANGHAI)),
    ("Sun Jul 15 01:16:00 +0000 2012", datetime(2012, 7, 15, 1, 16, tzinfo=UTC)),
    # Unix time, seconds and milliseconds.
    ("1763602200", datetime(2025, 11, 20, 1, 30, tzinfo=UTC)),
    ("1763602200000", datetime(2025, 11, 20, 1, 30, tzinfo=UTC)),
    ("1763602200.5", datetime(2025, 11, 20, 1, 30, tzinfo=UTC)),
])  # fmt: skip
def test_dates_feeds_write(value: str, expected: datetime) -> None:
    reading = read_datetime(value)
    assert reading.problem is None
    assert reading.value == expected  # the same instant (aware datetimes compare so)


@pytest.mark.parametrize("value", [
    "Sun, 16 Dec 2012 11:47:32 +zz:00", "Sun, 16 Dec 2012 11:47:32 +00:zz",
    "2004-01-01T19:48:21+zz:00", "9999-12-31T23:59:59-99:99", "2026-11-20 09:30 +25:00",
    "Fri, 20 Nov 2026 09:30:00 GMT+25:00",
])  # fmt: skip
def test_an_impossible_zone_is_a_problem_not_a_guess(value: str) -> None:
    reading = read_datetime(value)
    assert reading.value is None
    assert reading.problem and reading.problem.startswith("impossible time zone")
    assert parse_datetime(value) is None


@pytest.mark.parametrize("value", ["2026-02-30", "Sun, 99 Jun 2009 12:00:00 GMT", "第20261120号",
                                   "刚刚", "2026-11-20"[:4] + "年"])
def test_not_a_date_is_none_without_a_problem(value: str) -> None:
    assert read_datetime(value).problem is None
    assert parse_datetime(value) is None


def test_date_without_zone_follows_default_tz() -> None:
    assert parse_datetime("Thu, 01 Jan 2004", default_tz="UTC") == datetime(2004, 1, 1,
                                                                            tzinfo=UTC)


def test_emoticon_alts_are_text_other_alts_are_not() -> None:
    html = ('太慢了<img alt="[怒]" src="a.png"/>再等等<img alt="[允悲]" src="b.png">'
            '<img alt="现场照片" src="c.jpg"><img alt="[一个很长很长很长很长的描述文字]">')
    assert strip_html(html) == "太慢了[怒]再等等[允悲]"
