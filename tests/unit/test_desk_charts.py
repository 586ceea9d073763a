"""The queue chart draws no line across empty days (issue 16)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from responders.web.charts import mean_runs, volume_sentiment_svg


@pytest.mark.parametrize(("means", "runs"), [
    ([], []),
    ([None, None], []),
    ([0.2, 0.4], [[(0, 0.2), (1, 0.4)]]),
    ([0.2, None, 0.4, 0.5], [[(0, 0.2)], [(2, 0.4), (3, 0.5)]]),
    ([None, 0.3, 0.3, None, None, 0.9], [[(1, 0.3), (2, 0.3)], [(5, 0.9)]]),
])
def test_mean_runs_split_at_empty_buckets(means: list[float | None],
                                          runs: list[list[tuple[int, float]]]) -> None:
    assert mean_runs(means) == runs


def test_svg_breaks_the_mean_line_at_an_empty_day() -> None:
    days = [date(2026, 11, 20) + timedelta(days=i) for i in range(5)]
    counts = {"negative": [1, 1, 0, 2, 1], "neutral": [0] * 5, "positive": [0] * 5}
    svg = volume_sentiment_svg(days, counts, [0.1, 0.2, None, 0.3, 0.4], title="t",
                               labels={})
    assert svg.count("<polyline") == 2  # days 1–2 and 4–5, nothing bridging day 3
    joined = volume_sentiment_svg(days, counts, [0.1, 0.2, 0.25, 0.3, 0.4], title="t",
                                  labels={})
    assert joined.count("<polyline") == 1


@pytest.mark.parametrize(("counts", "axis"), [
    ([1, 0, 1], ["0", "1", "2"]),  # was 0, 0, 1: round(0.5) is 0
    ([3, 1], ["0", "2", "4"]),
    ([4, 2], ["0", "2", "4"]),
])
def test_left_axis_labels_are_whole_distinct_counts(counts: list[int], axis: list[str]) -> None:
    import re
    days = [date(2026, 11, 20) + timedelta(days=i) for i in range(len(counts))]
    by = {"negative": counts, "neutral": [0] * len(counts), "positive": [0] * len(counts)}
    svg = volume_sentiment_svg(days, by, [None] * len(counts), title="t", labels={})
    left = re.findall(r'text-anchor="end">([^<]*)</text>', svg)
    assert sorted(left, key=int) == axis
