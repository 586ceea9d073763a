"""The tone charts and the digest average (issue 19): the balance of the three classes'
probabilities where the engine gave them, so neutral posts count near the middle however
their score leans; the score for an item without them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item
from monitor.sentiment.base import tone
from responders.digest import IsoWeek, load_week
from responders.queue import daily_series
from tests.support.analysis import source_row

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)   # Wednesday 12:00 in Shanghai


@pytest.mark.parametrize(("score", "neg", "pos", "expected"), [
    (0.02, 0.03, 0.01, 0.49),     # a neutral notice the score calls negative
    (0.98, 0.01, 0.04, 0.515),    # and one it calls positive
    (0.10, 0.85, 0.05, 0.10),     # a negative post
    (0.30, None, None, 0.30),     # a binary engine's score, or an item from before
    (None, None, None, None),     # not scored
])
def test_tone_table(score: float | None, neg: float | None, pos: float | None,
                    expected: float | None) -> None:
    got = tone(score, neg, pos)
    assert got == pytest.approx(expected) if expected is not None else got is None


def test_the_daily_mean_and_the_digest_read_the_balance(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        src = source_row(s, "河南司法（门户）", "government", NOW)
        # Three neutral notices whose scores sit at the extremes, and one older item that
        # has a score only: the day's mean is the tones', not the scores'.
        rows = [(0.02, 0.03, 0.94, 0.03), (0.97, 0.02, 0.95, 0.03), (0.03, 0.04, 0.92, 0.04),
                (0.40, None, None, None)]
        for n, (score, neg, neu, pos) in enumerate(rows):
            s.add(Item(source_id=src, entry_id=f"e{n}", content_hash=f"h{n}",
                       title=f"通知{n}", text="关于开展法律援助宣传月活动的通知",
                       fetched_at=NOW - timedelta(hours=1), published_at=None,
                       sentiment_score=score, sentiment_label="neutral",
                       sentiment_p_negative=neg, sentiment_p_neutral=neu,
                       sentiment_p_positive=pos))
        s.commit()
        expected = sum(tone(sc, ng, ps) or 0.0 for sc, ng, _, ps in rows) / len(rows)
        series = daily_series(s, NOW, days=3)
        assert series.mean_score[-1] == pytest.approx(expected)
        assert abs(series.mean_score[-1] - 0.5) < 0.05   # the scores' mean would be 0.355
        week = load_week(s, IsoWeek(2026, 48), "Asia/Shanghai")
        # one group (same day, kind, topics, label): the tones' sum and how many have one
        tones = [t for t in (tone(sc, ng, ps) for sc, ng, _, ps in rows) if t is not None]
        assert sum(g.count for g in week.items) == len(rows)
        assert sum(g.scored for g in week.items) == len(tones)
        assert sum(g.score_sum for g in week.items) == pytest.approx(sum(tones))
