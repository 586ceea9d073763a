"""What the fault tests share (test_faults.py, test_faults_postgres.py): the test's own Redis
as the broker, settings that make recovery quick, a beat process starter, and the one check
every fault test ends with — items stored exactly once, every item analysed, every urgent
alert notified exactly once at the loopback webhook, no feed fetched twice."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item
from responders.models import Alert, OutboxMessage
from tasks.supervise import Child, yuqing_argv
from tests.integration.conftest import wait_until
from tests.support.fake_web import FakeWeb
from tests.support.servers import RedisServer

# Recovery made quick for a test; the behaviour is the production one, with smaller numbers:
# a killed worker's messages come back after 15 s (not the derived 210 s), beat ticks every
# second, items stored but never handed to analysis are swept after 5 s, the outbox is drained
# every 2 s. The poll interval stays 600 s: any second fetch of a feed within a test is a
# source polled twice in one interval.
FAST = {
    "YUQING_CELERY_VISIBILITY_TIMEOUT": "15",
    "YUQING_CELERY_RESTORE_INTERVAL": "2",
    "YUQING_CELERY_RESTORE_THROTTLE": "1",
    "YUQING_CELERY_SWEEP_AFTER": "5",
    "YUQING_POLL_TICK_SECONDS": "1",
    "YUQING_POLL_PER_HOST": "10",
    "YUQING_NOTIFY_OUTBOX_TICK_SECONDS": "2",
    "YUQING_NOTIFY_REMIND_EMAIL": "false",
    "YUQING_NOTIFY_TIMEOUT": "5",
    "YUQING_ANALYZE_BATCH_SIZE": "25",
}


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    why = RedisServer.unavailable()
    if why:
        pytest.skip(why)
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def fenv(env: dict[str, str], fake_web: FakeWeb) -> dict[str, str]:
    """The workers' environment (the same dict start_worker uses) with FAST and a webhook."""
    fake_web.add("/hook", 204)
    env.update(FAST)
    env["YUQING_NOTIFY_WEBHOOK_URL"] = fake_web.url("/hook")
    return env


@pytest.fixture
def start_beat(fenv: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """Beat processes; each has a home of its own (its schedule file and pid file), as two
    beats on two machines would."""
    children: list[Child] = []

    def start(name: str = "beat") -> Child:
        home = tmp_path / name
        home.mkdir()
        child = Child(name, yuqing_argv("beat", "--loglevel", "INFO"),
                      {**fenv, "YUQING_HOME": str(home)}, log_to=home / "beat.log")
        children.append(child)
        return child

    yield start
    for child in children:
        child.stop(timeout=15)


def count(sessions: sessionmaker[Session], model: type = Item, *where: object) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def analysed(sessions: sessionmaker[Session]) -> int:
    return count(sessions, Item, Item.analyzed_at.is_not(None))


def alert_posts(fake_web: FakeWeb) -> Counter[tuple[int, str]]:
    """Alert notifications received by the webhook, by (alert id, priority): an alert
    escalated (its event grew, P2 → P1) is news again, once per priority reached."""
    bodies = [json.loads(r.body) for r in fake_web.requests_to("/hook")]
    return Counter((b["alert_id"], b["priority"]) for b in bodies if "type" not in b)


def urgent_alerts(sessions: sessionmaker[Session]) -> set[int]:
    with sessions() as s:
        return set(s.scalars(select(Alert.id).where(Alert.priority.in_(("P1", "P2")))))


def settled(sessions: sessionmaker[Session], fake_web: FakeWeb, n_items: int) -> bool:
    """Everything the items cause has happened: all stored and analysed, the outbox empty
    of work, and the webhook has heard of as many urgent alerts as there are."""
    if count(sessions) < n_items or analysed(sessions) < n_items:
        return False
    if count(sessions, OutboxMessage, OutboxMessage.state.in_(("pending", "sending"))):
        return False
    return {a for a, _ in alert_posts(fake_web)} >= urgent_alerts(sessions)


def wait_settled(sessions: sessionmaker[Session], fake_web: FakeWeb, n_items: int,
                 timeout: float, what: str) -> None:
    try:
        wait_until(lambda: settled(sessions, fake_web, n_items), timeout, what, every=0.5)
    except AssertionError as exc:
        # Which part never settled: a timeout alone (one in a CI run under load) said nothing.
        pending = count(sessions, OutboxMessage, OutboxMessage.state.in_(("pending", "sending")))
        missing = urgent_alerts(sessions) - {a for a, _ in alert_posts(fake_web)}
        raise AssertionError(
            f"{exc}: stored {count(sessions)}/{n_items}, analysed {analysed(sessions)}, "
            f"outbox pending/sending {pending}, urgent alerts never posted {sorted(missing)}"
        ) from None


def assert_exactly_once(sessions: sessionmaker[Session], fake_web: FakeWeb, n_items: int,
                        feeds: dict[str, int] | None = None) -> None:
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == n_items
        assert s.scalar(select(func.count(func.distinct(Item.entry_id)))) == n_items
        assert s.scalar(select(func.count()).select_from(Item).where(
            Item.analyzed_at.is_(None))) == 0
        assert set(s.scalars(select(Item.analysis_runs))) == {1}
        alerts = s.scalar(select(func.count()).select_from(Alert))
        assert alerts == s.scalar(select(func.count(func.distinct(Alert.item_id))))
        sent = set(s.scalars(select(OutboxMessage.state)))
    urgent = urgent_alerts(sessions)
    assert urgent, "the test's posts raised no P1/P2 alert: nothing was checked"
    posts = alert_posts(fake_web)
    twice = [key for key, times in posts.items() if times > 1]
    assert twice == [], f"notified twice: {twice}"
    assert {a for a, _ in posts} == urgent, f"never notified: {urgent - {a for a, _ in posts}}"
    with sessions() as s:
        rows = s.execute(select(Alert.id, Alert.priority).where(
            Alert.priority.in_(("P1", "P2"))))
        now_urgent = {(a.id, a.priority) for a in rows}
    assert now_urgent <= set(posts), f"not told of the priority reached: {now_urgent - set(posts)}"
    # Every message went out: none failed, none is in doubt.
    assert sent == {"sent"}, sent
    for path, polls in (feeds or {}).items():
        assert fake_web.hits(path) == polls, f"{path} fetched {fake_web.hits(path)} times"
