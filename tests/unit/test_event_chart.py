"""Per-event chart buckets (responders.web.charts.event_buckets, pure) and their SVG."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from responders.web.charts import event_buckets, volume_sentiment_svg

T0 = datetime(2024, 5, 6, 1, 20, tzinfo=UTC)  # 09:20 in Shanghai


def test_a_young_event_is_bucketed_by_local_hour() -> None:
    rows = [(T0, "negative", 0.1), (T0 + timedelta(minutes=30), "negative", 0.3),
            (T0 + timedelta(hours=2), "neutral", 0.5), (T0 + timedelta(hours=2), None, None)]
    b = event_buckets(rows)
    assert [s.hour for s in b.starts] == [9, 10, 11]
    assert b.ticks == ["5/6", "10时", "11时"]
    assert b.by_label == {"negative": [2, 0, 0], "neutral": [0, 0, 1], "positive": [0, 0, 0]}
    assert b.mean_score == [0.2, None, 0.5]


def test_a_long_event_is_bucketed_by_local_day() -> None:
    # 23:30 UTC is 07:30 the next morning in Shanghai
    rows = [(T0, "negative", 0.2), (datetime(2024, 5, 8, 23, 30, tzinfo=UTC), "positive", 0.9)]
    b = event_buckets(rows, max_buckets=48)
    assert [s.day for s in b.starts] == [6, 7, 8, 9]
    assert b.ticks == ["5/6", "5/7", "5/8", "5/9"]
    assert b.by_label["positive"] == [0, 0, 0, 1]
    assert b.mean_score == [0.2, None, None, 0.9]


def test_no_items_no_buckets() -> None:
    assert event_buckets([]).starts == []


def test_svg_uses_the_given_ticks() -> None:
    b = event_buckets([(T0, "negative", 0.1), (T0 + timedelta(hours=1), "positive", 0.9)])
    svg = volume_sentiment_svg(b.starts, b.by_label, b.mean_score, title="事件<走势>",
                               labels={}, ticks=b.ticks)
    assert "10时" in svg and "事件&lt;走势&gt;" in svg and svg.count("<rect") >= 2
