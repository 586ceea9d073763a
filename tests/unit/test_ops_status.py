"""The operator view's pure parts: who may read /metrics, where the counters live, the
status' derived figures and the text format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from responders.ops_counters import Counted, counters_url, fetch_fields, outcome_of, parse
from responders.status import BrokerState, Figures, analysis_lag_s, assemble, needs_attention
from responders.web.ops import exposition, metrics_allowed

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(("token", "header", "client", "allowed"), [
    ("", None, "127.0.0.1", True),
    ("", None, "::1", True),
    ("", None, "10.0.0.8", False),            # the LAN: only with a token
    ("", None, "testclient", False),          # not an address
    ("", None, None, False),
    ("s3cret", None, "127.0.0.1", False),     # a token set: needed from loopback too
    ("s3cret", "Bearer s3cret", "10.0.0.8", True),
    ("s3cret", "bearer s3cret", "203.0.113.9", True),
    ("s3cret", "Bearer s3cre", "10.0.0.8", False),
    ("s3cret", "Basic s3cret", "10.0.0.8", False),
    ("s3cret", "Bearer ", "10.0.0.8", False),
])
def test_who_may_read_metrics(token, header, client, allowed):
    assert metrics_allowed(token, header, client) is allowed


@pytest.mark.parametrize(("redis_url", "broker", "expected"), [
    ("", "redis://r:6379/0", "redis://r:6379/0"),
    ("", "redis+socket:///var/yq/broker/redis.sock", "unix:///var/yq/broker/redis.sock"),
    ("", "amqp://guest@mq//", None),               # RabbitMQ and no Redis: not counted
    ("redis://m:6379/2", "amqp://guest@mq//", "redis://m:6379/2"),
    ("rediss://m:6380/1", "redis://r/0", "rediss://m:6380/1"),
])
def test_where_the_counters_live(redis_url, broker, expected):
    assert counters_url(redis_url, broker) == expected


def test_outcomes_and_cumulative_buckets():
    assert [outcome_of(False, False), outcome_of(True, True), outcome_of(True, False)] == [
        "error", "not_modified", "ok"]
    assert set(fetch_fields("news", 0.3)) == {f"news|le={b}" for b in
                                              (0.5, 1.0, 2.5, 5.0, 10.0, 30.0)}
    assert fetch_fields("news", 31.0) == {}  # only +Inf (the count) takes it
    counted = parse({b"weibo|error": b"3", b"news|ok": b"2"},
                    {b"news|le=0.5": b"1", b"news|sum": b"0.9", b"news|count": b"2"})
    assert counted.polls == {"weibo": {"error": 3}, "news": {"ok": 2}}
    assert counted.buckets == {"news": {0.5: 1}} and counted.counts == {"news": 2}


def _figures(**changes):
    base = dict(sources_by_kind={"news": 3, "weibo": 1}, failing_by_kind={}, silent_by_kind={},
                failing=[], silent=[], items_stored=10, items_estimated=False, unanalysed=0,
                oldest_unanalysed_at=None, open_by_priority={"P1": 2}, overdue_by_priority={},
                outbox_by_state={})
    base.update(changes)
    return Figures(**base)


def test_lag_is_the_oldest_waiting_item():
    assert analysis_lag_s(None, NOW) == 0
    assert analysis_lag_s(NOW - timedelta(minutes=3), NOW) == 180
    assert analysis_lag_s(NOW + timedelta(seconds=5), NOW) == 0  # a clock a little ahead


def test_attention_names_what_to_look_at():
    up = BrokerState("redis://r/0", True, {"poll": 0})
    assert needs_attention(assemble(_figures(), up, NOW)) == []
    status = assemble(_figures(failing_by_kind={"weibo": 1}, overdue_by_priority={"P1": 2},
                               outbox_by_state={"failed": 1}),
                      BrokerState("redis://r/0", False, error="ConnectionError: refused"), NOW)
    assert needs_attention(status) == [
        "the broker is unreachable: ConnectionError: refused", "1 source(s) failing",
        "2 open alert(s) overdue", "1 notification(s) failed: check the outbox"]
    assert status["alerts"]["open_by_priority"] == {"P1": 2, "P2": 0, "P3": 0}


def test_exposition_is_valid_prometheus_text():
    status = assemble(_figures(oldest_unanalysed_at=NOW - timedelta(seconds=42),
                               unanalysed=5, failing_by_kind={"weibo": 1}),
                      BrokerState("redis://r/0", True, {"poll": 7, "analyze": 1}), NOW)
    counted = Counted(polls={"news": {"ok": 4, "error": 1}}, buckets={"news": {0.1: 3, 1.0: 5}},
                      sums={"news": 1.5}, counts={"news": 5})
    families = {f.name: f for f in text_string_to_metric_families(
        exposition(status, counted, NOW).decode())}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in families.values() for s in f.samples}
    assert families["yuqing_polls"].type == "counter"
    assert families["yuqing_fetch_seconds"].type == "histogram"
    assert samples[("yuqing_queue_depth", (("queue", "poll"),))] == 7
    assert samples[("yuqing_analysis_lag_seconds", ())] == 42
    assert samples[("yuqing_sources_failing", (("kind", "weibo"),))] == 1
    assert samples[("yuqing_sources_failing", (("kind", "news"),))] == 0
    assert samples[("yuqing_polls_total", (("kind", "news"), ("outcome", "not_modified")))] == 0
    assert samples[("yuqing_fetch_seconds_bucket", (("kind", "news"), ("le", "+Inf")))] == 5
    assert samples[("yuqing_poll_counters_up", ())] == 1
    down = exposition(status, Counted(error="ConnectionError"), NOW).decode()
    assert "yuqing_poll_counters_up 0.0" in down
