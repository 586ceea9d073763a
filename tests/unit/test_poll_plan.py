"""The pure steps of a poll (monitor.polling): the plan read off a source's row, and the parse
of a fetched response — no database, no network (a transient Source and a hand-made
FetchResult)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.fetch import FetchResult
from monitor.models import Source
from monitor.polling import (
    Fetched,
    FetchFailed,
    PollPlan,
    PollSettings,
    parse_result,
    plan_poll,
)
from tests.support.feeds import SAMPLE_POSTS, sample_feed
from tests.support.settings import poll_settings

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def source(**kw: object) -> Source:
    values: dict[str, object] = {
        "id": 7, "name": "测试源", "url": "https://m.weibo.cn/api/feed", "kind": "weibo",
        "host": "m.weibo.cn", "allow_private": False, "etag": '"v3"',
        "last_modified": "Fri, 20 Nov 2026 01:30:00 GMT", "config": {"format": "json"}}
    values.update(kw)
    return Source(**values)


def result(body: bytes = b"", *, status: int = 200, etag: str | None = '"v4"') -> FetchResult:
    return FetchResult(url="https://m.weibo.cn/api/feed", status=status, body=body,
                       not_modified=status == 304, etag=etag, last_modified=None,
                       content_type="application/rss+xml", max_age_s=None, retry_after_s=None)


def test_the_plan_carries_what_the_fetch_and_the_parser_need() -> None:
    plan = plan_poll(source(), None, NOW, poll_settings())
    assert plan == PollPlan(source_id=7, url="https://m.weibo.cn/api/feed", allow_private=False,
                            etag='"v3"', last_modified="Fri, 20 Nov 2026 01:30:00 GMT",
                            kind="weibo", config={"format": "json"}, wait_s=0.0)


@pytest.mark.parametrize(("host", "last_ago_s", "cfg", "wait"), [
    ("m.weibo.cn", 0.2, poll_settings(), 0.3),            # Weibo's 0.5 s default
    ("m.weibo.cn", 2.0, poll_settings(), 0.0),            # long enough ago
    ("m.weibo.cn", None, poll_settings(), 0.0),           # the host never asked
    ("example.gov.cn", 0.2, poll_settings(), 0.0),        # no interval for other hosts …
    ("example.gov.cn", 0.2, poll_settings(default_host_interval=1.0), 0.8),  # … unless set
    ("", 0.2, poll_settings(default_host_interval=1.0), 0.0),  # no host: nothing to wait for
])
def test_the_politeness_wait_is_planned(host: str, last_ago_s: float | None,
                                        cfg: PollSettings, wait: float) -> None:
    last = None if last_ago_s is None else NOW - timedelta(seconds=last_ago_s)
    assert plan_poll(source(host=host), last, NOW, cfg).wait_s == pytest.approx(wait)


def test_the_plan_is_a_copy_of_the_row() -> None:
    row = source(config={"mapping": {"items": "data"}})
    plan = plan_poll(row, None, NOW, poll_settings())
    row.config["mapping"] = {}
    row.etag = '"changed"'
    assert plan.config == {"mapping": {"items": "data"}} and plan.etag == '"v3"'


def test_a_fetched_feed_is_parsed_by_the_sources_parser() -> None:
    plan = plan_poll(source(kind="news", config={}), None, NOW, poll_settings())
    outcome = parse_result(plan, result(sample_feed()), poll_settings())
    assert isinstance(outcome, Fetched)
    assert [e.title for e in outcome.entries] == [t for t, _ in SAMPLE_POSTS]
    assert outcome.result.etag == '"v4"'


def test_a_304_has_no_entries_and_is_not_parsed() -> None:
    plan = plan_poll(source(), None, NOW, poll_settings())
    outcome = parse_result(plan, result(status=304), poll_settings())
    assert outcome == Fetched(result(status=304))


def test_a_body_that_is_not_a_feed_is_a_failure_with_the_status() -> None:
    plan = plan_poll(source(kind="news", config={}), None, NOW, poll_settings())
    outcome = parse_result(plan, result(b"<html><body>hello</body></html>"), poll_settings())
    assert isinstance(outcome, FetchFailed)
    assert outcome.status == 200 and outcome.retry_after_s is None
    assert "not a feed" in outcome.message.lower()
