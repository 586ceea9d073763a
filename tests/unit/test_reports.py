"""responders.reports' pure parts: periods and the figures from plain records."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.errors import InputError
from responders.reports import (
    AlertRow,
    PubRow,
    as_json,
    build_report,
    month_period,
    to_markdown,
    year_period,
)

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("text", "start", "end"), [
    ("2026-11", date(2026, 11, 1), date(2026, 12, 1)),
    ("2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ("2026-2", date(2026, 2, 1), date(2026, 3, 1)),
])
def test_month_period(text: str, start: date, end: date) -> None:
    p = month_period(text)
    assert (p.start, p.end, p.kind) == (start, end, "monthly")


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "11-2026", "2026/11", ""])
def test_month_period_refuses(text: str) -> None:
    with pytest.raises(InputError, match="2026-11"):
        month_period(text)


def test_year_period_refuses_a_silly_year() -> None:
    with pytest.raises(InputError):
        year_period(26)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SH)


def test_annual_figures() -> None:
    pubs = [PubRow(1, "回应", "政务微博", at(3, 1)), PubRow(1, "回应", "门户网站", at(3, 1, 11)),
            PubRow(2, "政策解读", "门户网站", at(5, 2)),
            PubRow(2, "政策解读", "微信公众号", at(5, 2)),
            PubRow(3, "回应", "留言板回复", at(6, 3)),
            # 1 January 00:30 in Shanghai is still 31 December in UTC: it belongs to 2026.
            PubRow(4, "回应", "县级门户", datetime(2025, 12, 31, 16, 30, tzinfo=ZoneInfo("UTC"))),
            PubRow(5, "回应", "门户网站", datetime(2027, 1, 1, 0, 30, tzinfo=SH))]  # 2027
    alerts = [
        AlertRow(1, "P1", "responded", ("drug_rehab",), at(3, 1, 8), at(3, 1, 13), False,
                 at(3, 1)),
        AlertRow(2, "P2", "responded", ("legal_aid",), at(6, 1), at(6, 3, 10), True, at(6, 3)),
        AlertRow(3, "P2", "responded", ("legal_aid",), at(6, 1), at(6, 3), True,
                 at(6, 3) + timedelta(hours=2)),
        AlertRow(4, "P3", "new", (), at(7, 1), at(7, 3), True, None),
        AlertRow(5, "P3", "dismissed", ("lawyers",), at(8, 1), at(8, 3), True, None),
    ]
    r = build_report(year_period(2026), pubs, alerts, topic_names={"legal_aid": "法律援助"})
    # Channels in the office's order, free-text ones after.
    assert r.by_channel == [("门户网站", 1, 1), ("政务微博", 1, 0), ("微信公众号", 0, 1),
                            ("留言板回复", 1, 0), ("县级门户", 1, 0)]
    assert (r.responses, r.interpretations, r.publications) == (3, 1, 6)
    assert (r.alerts, r.alerts_responded, r.alerts_dismissed) == (5, 3, 1)
    assert (r.alerts_due, r.alerts_on_time) == (4, 2)
    assert (r.messages, r.messages_replied, r.messages_on_time, r.messages_late,
            r.messages_pending) == (4, 2, 1, 1, 1)
    assert r.by_topic[0] == ("法律援助", {"P1": 0, "P2": 2, "P3": 0})
    md = to_markdown(r)
    assert "收到留言板网友留言 4 条，已回复 2 条，其中在规定时限内回复 1 条" in md
    assert "| 合计 | 4 | 2 | 6 |" in md
    assert as_json(r)["period"] == {"kind": "annual", "label": "2026年",
                                    "first_day": "2026-01-01", "last_day": "2026-12-31"}


def test_empty_month_renders() -> None:
    md = to_markdown(build_report(month_period("2026-11"), [], []))
    assert "2026年11月，未发布政策解读。" in md and "| （无） | 0 | 0 | 0 | 0 |" in md
