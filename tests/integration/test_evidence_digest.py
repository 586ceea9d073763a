"""The weekly digest states the coverage of its week (issue 18): a source's failing spell
appears as "微博关键词·河南司法 11-17 14:00 至 18:00 未能采集" in the text and HTML parts, a
spell outside the week or too short does not, and a week with none says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from monitor.models import CoverageGap, Source
from responders.digest import IsoWeek, digest_for, preview_html, render_text

pytestmark = pytest.mark.integration

W47 = IsoWeek(2026, 47)  # 2026-11-16 … 11-22


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=UTC) - timedelta(hours=8)  # Shanghai time


def test_the_digest_shows_its_weeks_blind_spots(sessions: Any, settings: Any) -> None:
    with sessions() as s:
        src = Source(name="微博关键词·河南司法", url="https://example.cn/w", kind="weibo",
                     host="example.cn", interval_s=600, created_at=at(1, 0), failure_count=0,
                     items_seen=3)
        s.add(src)
        s.flush()
        s.add_all([
            CoverageGap(source_id=src.id, kind="failing", started_at=at(17, 14),
                        ended_at=at(17, 18), detail="HTTP 503"),
            CoverageGap(source_id=src.id, kind="failing", started_at=at(18, 9),
                        ended_at=at(18, 9, 5)),                     # a blip: not reported
            CoverageGap(source_id=src.id, kind="failing", started_at=at(10, 9),
                        ended_at=at(10, 12)),                       # the week before
        ])
        s.commit()
        d = digest_for(s, W47, settings)
        quiet = digest_for(s, IsoWeek(2026, 30), settings)
    line = "微博关键词·河南司法 11-17 14:00 至 18:00 未能采集"
    assert d.coverage == [line]
    assert "五、监测盲区" in render_text(d) and line in render_text(d)
    assert line in preview_html(d)
    assert quiet.coverage == ["本期所有信息源均正常采集，无监测盲区。"]
    assert quiet.coverage[0] in render_text(quiet)
