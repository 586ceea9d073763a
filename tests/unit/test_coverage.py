"""The blind-spot arithmetic (monitor.coverage): clipping to the period, merging a source's
overlapping spans, dropping blips, and the sentence the digest and the 专报 print."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.coverage import FAILING, SILENT, Span, describe, merge_spans, summary_lines

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 Shanghai
H = timedelta(hours=1)


def span(start_h: float, end_h: float, *, kind: str = FAILING, sid: int = 1,
         name: str = "微博关键词·河南司法", ongoing: bool = False) -> Span:
    return Span(sid, name, kind, T0 + start_h * H, T0 + end_h * H, ongoing)


def test_overlapping_spans_of_a_source_merge_and_are_clipped() -> None:
    got = merge_spans([span(-5, 2), span(1, 4), span(10, 30, ongoing=True)],
                      T0, T0 + 24 * H, timedelta(minutes=30))
    assert [(s.start, s.end, s.ongoing) for s in got] == [
        (T0, T0 + 4 * H, False), (T0 + 10 * H, T0 + 24 * H, True)]


def test_blips_are_dropped_and_kinds_kept_apart() -> None:
    got = merge_spans([span(1, 1.1), span(2, 5, kind=SILENT), span(3, 4)],
                      T0, T0 + 24 * H, timedelta(minutes=30))
    assert [(s.kind, s.start) for s in got] == [(SILENT, T0 + 2 * H), (FAILING, T0 + 3 * H)]


@pytest.mark.parametrize(("s", "e", "ongoing", "text"), [
    (6, 10, False, "微博关键词·河南司法 12-01 14:00 至 18:00 未能采集"),
    (14, 20, False, "微博关键词·河南司法 12-01 22:00 至 12-02 04:00 未能采集"),
    (6, 10, True, "微博关键词·河南司法 12-01 14:00 至 18:00 未能采集（至期末仍未恢复）"),
])
def test_describe(s: float, e: float, ongoing: bool, text: str) -> None:
    assert describe(span(s, e, ongoing=ongoing), "Asia/Shanghai") == text


def test_a_period_without_blind_spots_says_so() -> None:
    assert summary_lines([], "Asia/Shanghai") == ["本期所有信息源均正常采集，无监测盲区。"]
