"""The operator's view (issue 15): /metrics, /readyz, /healthz and `yuqing status`, against a
real migrated database and a real broker (the embedded Redis, or YUQING_TEST_BROKER_URL),
with the workers' poll counters in that Redis."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item, Source
from monitor.settings import Settings, load_settings
from monitor.sources import SourceSpec, upsert_source
from responders.models import Alert, OutboxMessage
from responders.ops_counters import counters_url, read_counters, record_poll, record_polls
from responders.status import BrokerInfo
from responders.web import create_app
from tasks.celery_app import QUEUES
from tasks.supervise import Child
from tests.integration.conftest import wait_until
from tests.support.fake_web import FakeWeb
from tests.support.feeds import sample_feed

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def seed(session: Session, now: datetime = NOW) -> None:
    """A healthy news site, a failing Weibo search, a silent WeChat bridge; three analysed
    items and one waiting for ten minutes; an overdue P1, a P2 in time, a dismissed P3 past
    its deadline (closed: not overdue); one notification waiting in the outbox."""
    NOW = now  # noqa: N806 (the module constant, shadowed: `yuqing status` reads the real clock)
    ok = Source(name="河南法治网", url="https://www.hnfzw.example/rss", kind="news",
                host="www.hnfzw.example", interval_s=600, created_at=NOW)
    failing = Source(name="微博搜索·司法厅", url="https://m.weibo.cn/api/x", kind="weibo",
                     host="m.weibo.cn", interval_s=300, created_at=NOW, failure_count=3,
                     last_error="HTTP 502 from m.weibo.cn")
    silent = Source(name="河南司法行政在线（公众号）", url="https://bridge.example/wx",
                    kind="wechat", host="bridge.example", interval_s=600, created_at=NOW,
                    silent_since=NOW - timedelta(hours=5), items_seen=40)
    session.add_all([ok, failing, silent])
    session.flush()
    texts = ["某县法律援助中心拒绝受理农民工讨薪申请", "网传某戒毒所学员被打，家属要求说法",
             "律师事务所收费不透明引发投诉"]
    items = []
    for i, body in enumerate(texts):
        item = Item(source_id=ok.id, entry_id=f"e{i}", content_hash=f"h{i}", title=body,
                    text=body, fetched_at=NOW - timedelta(hours=3), analyzed_at=NOW -
                    timedelta(hours=3), topics=[])
        session.add(item)
        items.append(item)
    session.add(Item(source_id=ok.id, entry_id="new", content_hash="hnew",
                     title="司法局回应社区矫正人员管理问题", text="尚未分析",
                     fetched_at=NOW - timedelta(minutes=10), topics=[]))
    session.flush()
    for item, prio, state, due in ((items[0], "P1", "new", NOW - timedelta(hours=1)),
                                   (items[1], "P2", "assigned", NOW + timedelta(hours=40)),
                                   (items[2], "P3", "dismissed", NOW - timedelta(hours=9))):
        session.add(Alert(item_id=item.id, priority=prio, state=state, reasons=["测试"],
                          topics=[], sla_rule="r", milestones=[], created_at=NOW -
                          timedelta(hours=6), due_at=due))
    session.add(OutboxMessage(key="alert:1:P1", kind="alert", ref="1", created_at=NOW))
    session.commit()


@dataclass
class Ops:
    client: TestClient
    settings: Settings
    broker_url: str


def _client(settings: Settings, broker: str, address: str = "127.0.0.1") -> TestClient:
    app = create_app(settings, lambda name, args: None)
    app.state.desk.clock = lambda: NOW
    app.state.broker = BrokerInfo(broker, QUEUES)
    return TestClient(app, client=(address, 40000))


@pytest.fixture
def ops(wsettings: Settings, sessions: sessionmaker[Session], broker_url: str
        ) -> Iterator[Ops]:
    with sessions() as session:
        seed(session)
    with _client(wsettings, broker_url) as client:
        yield Ops(client, wsettings, broker_url)


def scrape(client: TestClient, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]],
                                                       float]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_show_the_database_the_broker_and_the_workers_counts(ops: Ops) -> None:
    from tasks.celery_app import create_app as celery_app

    app = celery_app(ops.settings)
    for source_id in (1, 2):  # two polls waiting: no worker runs in this test
        app.send_task("monitor.poll_source", args=[source_id, None], queue="poll")
    # What a worker's poll_source and poll_batch add after their commit (tasks.jobs
    # ._count_polls): one poll, and a batch of two counted in one round trip.
    url = counters_url("", ops.broker_url)
    assert record_poll(url, "weibo", "error", 0.3)
    assert record_polls(url, [("news", "not_modified", 0.02), ("news", "ok", 1.7)])

    m = scrape(ops.client)
    assert m[("yuqing_queue_depth", (("queue", "poll"),))] == 2
    assert m[("yuqing_queue_depth", (("queue", "analyze"),))] == 0
    assert m[("yuqing_broker_up", ())] == 1
    assert m[("yuqing_items_stored", ())] == 4
    assert m[("yuqing_items_unanalysed", ())] == 1
    assert m[("yuqing_analysis_lag_seconds", ())] == 600
    assert m[("yuqing_alerts_open", (("priority", "P1"),))] == 1
    assert m[("yuqing_alerts_open", (("priority", "P3"),))] == 0      # dismissed
    assert m[("yuqing_alerts_overdue", (("priority", "P1"),))] == 1
    assert m[("yuqing_alerts_overdue", (("priority", "P3"),))] == 0   # closed, not overdue
    assert m[("yuqing_notifications_pending", ())] == 1
    assert m[("yuqing_sources_failing", (("kind", "weibo"),))] == 1
    assert m[("yuqing_sources_failing", (("kind", "news"),))] == 0
    assert m[("yuqing_sources_silent", (("kind", "wechat"),))] == 1
    assert m[("yuqing_polls_total", (("kind", "news"), ("outcome", "not_modified")))] == 1
    assert m[("yuqing_polls_total", (("kind", "news"), ("outcome", "ok")))] == 1
    assert m[("yuqing_poll_errors_total", (("kind", "weibo"),))] == 1
    assert m[("yuqing_poll_errors_total", (("kind", "news"),))] == 0
    assert m[("yuqing_fetch_seconds_count", (("kind", "news"),))] == 2
    assert m[("yuqing_fetch_seconds_bucket", (("kind", "news"), ("le", "0.05")))] == 1
    assert m[("yuqing_fetch_seconds_bucket", (("kind", "news"), ("le", "2.5")))] == 2
    assert m[("yuqing_fetch_seconds_sum", (("kind", "news"),))] == pytest.approx(1.72)

    # Counters only grow: a second scrape sees the next poll.
    record_poll(url, "weibo", "error", 0.3)
    assert scrape(ops.client)[("yuqing_poll_errors_total", (("kind", "weibo"),))] == 2


def test_metrics_are_closed_to_others_than_loopback_without_a_token(
        wsettings: Settings, broker_url: str) -> None:
    with _client(wsettings, broker_url, address="10.20.30.40") as far:
        r = far.get("/metrics")
        assert r.status_code == 403 and "metrics.token" in r.json()["error"]
    tokened = load_settings(env={"YUQING_HOME": str(wsettings.home),
                                 "YUQING_DATABASE_URL": wsettings.database_url,
                                 "YUQING_METRICS_TOKEN": "scrape-secret-1"})
    with _client(tokened, broker_url, address="10.20.30.40") as far:
        assert far.get("/metrics").status_code == 401
        assert far.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert scrape(far, Authorization="Bearer scrape-secret-1")[("yuqing_broker_up", ())] == 1
    with _client(tokened, broker_url) as near:  # with a token set, loopback needs it too
        assert near.get("/metrics").status_code == 401


def test_readyz_says_what_is_not_ready(ops: Ops, wsettings: Settings,
                                       sessions: sessionmaker[Session]) -> None:
    r = ops.client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"ready": True, "checks": {"database": "ok", "migrations": "ok",
                                                  "broker": "ok"}}
    assert ops.client.get("/healthz").json() == {"ok": True}

    with _client(wsettings, "redis://127.0.0.1:1/0") as no_broker:  # nothing listens there
        r = no_broker.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["broker"] == "unreachable"
        assert "the broker is unreachable" in r.json()["reason"]
        assert no_broker.get("/healthz").status_code == 200  # the process is still up

    with sessions() as session:  # as if the core's newest migration were not applied yet
        core_head = session.execute(text("SELECT version_num FROM alembic_version "
                                         "WHERE version_num LIKE 'core_%'")).scalar_one()
        # the revision before the head, from its migration file (the reason names at most
        # five missing revisions, so stepping further back would hide the head)
        head_file = next((ROOT / "monitor" / "migrations" / "versions").glob(f"{core_head}_*.py"))
        before = re.search(r'down_revision = "(core_\d+)"', head_file.read_text()).group(1)
        session.execute(text("UPDATE alembic_version SET version_num = :before "
                             "WHERE version_num = :head"), {"head": core_head, "before": before})
        session.commit()
    r = ops.client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["migrations"] == "behind"
    assert core_head in r.json()["reason"] and "yuqing init" in r.json()["reason"]

    with sessions() as session:  # a newer yuqing's database
        session.execute(text("UPDATE alembic_version SET version_num = 'core_0099' "
                             "WHERE version_num = :before"), {"before": before})
        session.commit()
    r = ops.client.get("/readyz")
    assert r.status_code == 503 and "unknown to this version" in r.json()["reason"]


def _status(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tasks.cli", "status", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_status_at_a_glance(env: dict[str, str], sessions: sessionmaker[Session]) -> None:
    r = _status(env)
    assert r.returncode == 0, r.stderr        # an empty, healthy service
    assert "all is well" in r.stdout
    with sessions() as session:
        seed(session, datetime.now(UTC))
    r = _status(env, "--json")
    assert r.returncode == 1, r.stderr        # something needs looking at
    status = json.loads(r.stdout)
    assert status["sources"]["failing_list"][0]["name"] == "微博搜索·司法厅"
    assert [s["name"] for s in status["sources"]["silent_list"]] == ["河南司法行政在线（公众号）"]
    assert status["alerts"]["open_by_priority"] == {"P1": 1, "P2": 1, "P3": 0}
    assert status["alerts"]["overdue"] == 1
    assert status["items"]["unanalysed"] == 1 and status["items"]["analysis_lag_s"] > 600
    assert status["broker"]["reachable"] is True
    assert set(status["broker"]["queues"]) == set(QUEUES)
    assert "1 source(s) failing" in status["attention"]
    text_out = _status(env).stdout
    assert "FAILING ×3" in text_out and "微博搜索·司法厅" in text_out
    assert "SILENT" in text_out and "1 overdue" in text_out


def test_status_without_a_database_is_one_sentence(env: dict[str, str], tmp_path: Path
                                                   ) -> None:
    broken = {**env, "YUQING_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    r = _status(broken)
    assert r.returncode == 1
    assert r.stderr.startswith("yuqing: cannot read the database")
    assert "Traceback" not in r.stderr


def test_polls_done_by_a_worker_reach_the_desks_metrics(
        fake_web: FakeWeb, sessions: sessionmaker[Session], wsettings: Settings,
        broker_url: str, start_worker: Callable[..., Child]) -> None:
    """Across processes: a real worker polls two loopback feeds (one broken); the desk's
    /metrics, another process's registry, counts both."""
    fake_web.add_feed("/rss.xml", sample_feed())
    fake_web.add("/broken.xml", 500)
    now = datetime.now(UTC)
    with sessions() as s:
        ids = [upsert_source(s, SourceSpec(name=name, url=fake_web.url(path), interval_s=600,
                                           kind=kind, allow_private=True), now)[0].id
               for name, path, kind in (("河南日报·法治", "/rss.xml", "news"),
                                        ("某县政务网", "/broken.xml", "government"))]
        s.commit()
    from tasks.celery_app import create_app as celery_app

    worker = start_worker("--queues", "poll")
    app = celery_app(wsettings)
    for source_id in ids:
        app.send_task("monitor.poll_source", args=[source_id, None], queue="poll")
    url = counters_url("", broker_url)
    wait_until(lambda: sum(sum(v.values()) for v in read_counters(url).polls.values()) >= 2,
               120, "two polls counted")
    assert worker.alive()
    with _client(wsettings, broker_url) as client:
        m = scrape(client)
    assert m[("yuqing_polls_total", (("kind", "news"), ("outcome", "ok")))] == 1
    assert m[("yuqing_poll_errors_total", (("kind", "government"),))] == 1
    assert m[("yuqing_fetch_seconds_count", (("kind", "news"),))] == 1
    assert m[("yuqing_sources_failing", (("kind", "government"),))] == 1
