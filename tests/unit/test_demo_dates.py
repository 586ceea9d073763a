"""The demo dated relative to now (tasks.demo_dates): every absolute time in the bundled files
moves by the same whole days, written as it was written, so the newest post is under a day old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest

from tasks.demo_dates import days_behind, shift, timestamps

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo"
FILES = sorted(p for p in DEMO.iterdir() if p.suffix in (".xml", ".rdf", ".json"))


@pytest.mark.parametrize("text,days,expected", [
    ("<pubDate>Tue, 24 Nov 2026 09:12:00 +0800</pubDate>", 7,
     "<pubDate>Tue, 01 Dec 2026 09:12:00 +0800</pubDate>"),
    ("<pubDate>Tue, 24 Nov 2026 09:12:00 +0800</pubDate>", 8,     # the weekday follows
     "<pubDate>Wed, 02 Dec 2026 09:12:00 +0800</pubDate>"),
    ('"created_at": "Tue Nov 24 09:12:00 +0800 2026"', 40,
     '"created_at": "Sun Jan 03 09:12:00 +0800 2027"'),
    ("<updated>2026-11-24T10:00:00+08:00</updated>", 1,
     "<updated>2026-11-25T10:00:00+08:00</updated>"),
    ("<dc:date>2026-12-31T23:30Z</dc:date>", 1, "<dc:date>2027-01-01T23:30Z</dc:date>"),
    ('"threadsCheckTime": "2026-11-21 07:55:18"', 3, '"threadsCheckTime": "2026-11-24 07:55:18"'),
    # relative times count from the server's Date header; ids and text dates stay
    ('"created_at": "12分钟前", "id": "20261124100000"', 5,
     '"created_at": "12分钟前", "id": "20261124100000"'),
    ("11月4日晚，洛阳市某县", 5, "11月4日晚，洛阳市某县"),
])
def test_times_move_by_whole_days_as_written(text: str, days: int, expected: str) -> None:
    assert shift(text.encode(), days).decode() == expected


def test_the_newest_demo_post_is_under_a_day_old_whenever_it_is_served() -> None:
    bodies = [p.read_bytes() for p in FILES]
    newest = max(t for b in bodies for t in timestamps(b))
    for now in (newest + timedelta(hours=1), newest + timedelta(days=9, hours=5),
                datetime(2031, 6, 1, tzinfo=UTC)):
        days = days_behind(bodies, now)
        moved = max(t for b in bodies for t in timestamps(shift(b, days)))
        assert timedelta(0) <= now - moved < timedelta(days=1)
    assert days_behind(bodies, newest - timedelta(days=3)) == 0  # a clock behind: as recorded


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_demo_file_moves_whole_and_stays_valid(path: Path) -> None:
    body, days = path.read_bytes(), 9
    before, after = list(timestamps(body)), list(timestamps(shift(body, days)))
    assert before and len(after) == len(before)
    assert all(b - a == timedelta(days=days) for a, b in zip(before, after, strict=True))
    if path.suffix != ".json":
        # still a feed feedparser reads without complaint, in its declared encoding (the
        # board's GB18030 included), with the moved dates
        old, new = feedparser.parse(body), feedparser.parse(shift(body, days))
        assert not new.bozo and len(new.entries) == len(old.entries)
        for o, n in zip(old.entries, new.entries, strict=True):
            assert o.get("title") == n.get("title")
        dated = [e for e in old.entries if e.get("published")]
        if dated and "," in dated[0].published:
            first = parsedate_to_datetime(new.entries[0].published)
            assert first - parsedate_to_datetime(dated[0].published) == timedelta(days=days)
