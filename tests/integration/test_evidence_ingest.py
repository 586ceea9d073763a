"""Evidence at ingest (issue 18): the raw body each new item came from is kept in
`item_raw` (a feed entry's own XML element, a Weibo status's JSON), and a poll's health is
recorded as spans of what was not watched (`coverage_gaps`), opened and closed by apply_poll
in the poll's own transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.coverage import FAILING, describe, gaps_between
from monitor.fetch import FetchResult
from monitor.models import CoverageGap, Item, ItemRaw
from monitor.polling import FetchFailed, PollPlan, apply_poll, parse_result, read_plan
from monitor.sources import SourceSpec, upsert_source
from tests.support.feeds import SAMPLE_POSTS, rss, sample_feed
from tests.support.settings import poll_settings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
CFG = poll_settings(min_interval_s=60, max_backoff_s=3600)
SOCIAL = Path(__file__).resolve().parents[1] / "fixtures" / "social"


def _result(body: bytes, content_type: str) -> FetchResult:
    return FetchResult(url="https://example.gov.cn/x", status=200, body=body,
                       not_modified=False, etag=None, last_modified=None,
                       content_type=content_type, max_age_s=None, retry_after_s=None)


def _plan(sessions: sessionmaker[Session], spec: SourceSpec) -> PollPlan:
    with sessions() as s:
        src, _ = upsert_source(s, spec, NOW - timedelta(days=1))
        s.commit()
        plan = read_plan(s, src.id, cfg=CFG, now=NOW)
    assert plan is not None
    return plan


def _apply(sessions: sessionmaker[Session], plan: PollPlan, outcome: object,
           now: datetime) -> None:
    with sessions() as s:
        apply_poll(s, plan, outcome, cfg=CFG, now=now)  # type: ignore[arg-type]
        s.commit()


def test_a_feed_entry_keeps_its_own_xml(sessions: sessionmaker[Session]) -> None:
    plan = _plan(sessions, SourceSpec(name="省司法厅", url="https://example.gov.cn/rss",
                                      interval_s=600))
    _apply(sessions, plan, parse_result(plan, _result(sample_feed(), "application/rss+xml"),
                                        CFG), NOW)
    with sessions() as s:
        rows = s.execute(select(Item.title, ItemRaw.body, ItemRaw.media_type)
                         .join(ItemRaw, ItemRaw.item_id == Item.id)).all()
    assert len(rows) == len(SAMPLE_POSTS)
    for title, body, media in rows:
        assert media == "application/xml"
        assert body.startswith("<item") and body.endswith("</item>")
        assert title in body and body.count("<item") == 1  # its own element, not its neighbour's
    # A re-poll stores nothing twice, raw bodies included.
    _apply(sessions, plan, parse_result(plan, _result(sample_feed(), "application/rss+xml"),
                                        CFG), NOW + timedelta(minutes=10))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(ItemRaw)) == len(SAMPLE_POSTS)


def test_a_weibo_status_keeps_its_json(sessions: sessionmaker[Session]) -> None:
    plan = _plan(sessions, SourceSpec(name="微博关键词·河南司法", url="https://example.gov.cn/w",
                                      kind="weibo", interval_s=600))
    body = (SOCIAL / "weibo_search.json").read_bytes()
    _apply(sessions, plan, parse_result(plan, _result(body, "application/json"), CFG), NOW)
    with sessions() as s:
        rows = s.execute(select(Item.external_id, ItemRaw.body)
                         .join(ItemRaw, ItemRaw.item_id == Item.id)).all()
    assert rows
    for external_id, raw in rows:
        status = json.loads(raw)
        assert external_id in {str(status.get("idstr")), str(status.get("id")),
                               str(status.get("mid"))}


def test_a_failing_spell_is_one_span_from_the_last_good_poll(
        sessions: sessionmaker[Session]) -> None:
    plan = _plan(sessions, SourceSpec(name="微博关键词·河南司法", url="https://example.gov.cn/r",
                                      interval_s=600))
    ok = parse_result(plan, _result(sample_feed(), "application/rss+xml"), CFG)
    _apply(sessions, plan, ok, NOW)                                      # 14:00 good
    for minutes in (10, 30, 90, 200):                                   # failing until 18:00
        _apply(sessions, plan, FetchFailed("HTTP 503 Service Unavailable", 503),
               NOW + timedelta(minutes=minutes))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(CoverageGap)) == 1
    again = parse_result(plan, _result(rss([("n-1", "司法所回应社区矫正失联传闻", "洛阳市某区"
                                                  "司法局通报：该社区矫正对象已到案。")]),
                                         "application/rss+xml"), CFG)
    _apply(sessions, plan, again, NOW + timedelta(hours=4))              # 18:00 good again
    with sessions() as s:
        gap = s.scalars(select(CoverageGap)).one()
        assert gap.kind == FAILING and gap.started_at == NOW
        assert gap.ended_at == NOW + timedelta(hours=4)
        assert gap.detail and "503" in gap.detail
        spans = gaps_between(s, NOW - timedelta(days=1), NOW + timedelta(days=1),
                             now=NOW + timedelta(days=1), min_gap=timedelta(minutes=30))
    assert [describe(sp, "Asia/Shanghai") for sp in spans] == [
        "微博关键词·河南司法 12-01 14:00 至 18:00 未能采集"]
