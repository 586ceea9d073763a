"""The chart's past days from the desk's memo (issue 15: the fourteen-day chart was most of a
queue page's time at a million items): the same series as a full read, today's bucket live,
the past days read again once the memo is older than its time to live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item
from responders.queue import PAST_DAYS_TTL, PastDays, daily_series
from tests.support.analysis import source_row

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)   # Wednesday 12:00 in Shanghai
_n = count()


def _item(s: Session, src: int, at: datetime, label: str, score: float,
          published: datetime | None = None) -> None:
    n = next(_n)
    s.add(Item(source_id=src, entry_id=f"m{n}", content_hash=f"mh{n}", title=f"帖子{n}",
               text="网友反映法律援助热线打不通", fetched_at=at, published_at=published,
               sentiment_score=score, sentiment_label=label))


def _plain(series):  # noqa: ANN001, ANN202 - a DaySeries, compared as values
    return series.days, series.by_label, series.mean_score


def test_memo_matches_a_full_read_keeps_today_live_and_expires(
        sessions: sessionmaker[Session]) -> None:
    past = PastDays()
    with sessions() as s:
        src = source_row(s, "大河网", "news", NOW)
        for day in range(14):
            for k in range(day % 3 + 1):
                _item(s, src, NOW - timedelta(days=day, hours=k), ("negative", "neutral",
                                                                   "positive")[k], 0.2 + k / 5)
        # published two days ago, first seen today: counts on its publication day
        _item(s, src, NOW - timedelta(hours=1), "negative", 0.1,
              published=NOW - timedelta(days=2))
        s.commit()
        full = daily_series(s, NOW)
        assert _plain(daily_series(s, NOW, past=past)) == _plain(full)   # fills the memo
        assert _plain(daily_series(s, NOW, past=past)) == _plain(full)   # read from it

        _item(s, src, NOW - timedelta(minutes=5), "negative", 0.05)            # today
        _item(s, src, NOW - timedelta(minutes=5), "negative", 0.05,
              published=NOW - timedelta(days=3))                               # a past day
        s.commit()
        later = NOW + timedelta(minutes=1)
        memo = daily_series(s, later, past=past)
        fresh = daily_series(s, later)
        # today's bucket is live, the past day waits for the memo to expire
        assert memo.by_label["negative"][-1] == fresh.by_label["negative"][-1] \
            == full.by_label["negative"][-1] + 1
        assert memo.by_label["negative"][-4] == full.by_label["negative"][-4]
        assert fresh.by_label["negative"][-4] == full.by_label["negative"][-4] + 1

        expired = NOW + PAST_DAYS_TTL + timedelta(seconds=1)
        assert _plain(daily_series(s, expired, past=past)) == _plain(daily_series(s, expired))
