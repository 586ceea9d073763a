"""Real broker (Redis from YUQING_TEST_BROKER_URL, else the embedded Redis) and real worker
processes started by the tests — no eager mode."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis as redis_lib

from monitor.settings import Settings, load_settings
from monitor.topics import Taxonomy
from responders.sla import SLA
from tasks.embedded import EmbeddedBroker
from tasks.supervise import Child, yuqing_argv
from tests.conftest import BROKER_URL
from tests.support.analysis import shipped_sla, shipped_taxonomy

pytestmark = pytest.mark.integration


@pytest.fixture
def taxonomy() -> Taxonomy:
    """The shipped taxonomy (config/topics.yaml, config/sensitive.yaml)."""
    return shipped_taxonomy()


@pytest.fixture
def sla() -> SLA:
    """The shipped deadlines (config/sla.yaml)."""
    return shipped_sla()


def wait_until(predicate: Callable[[], bool], timeout: float, what: str,
               every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _purge(url: str) -> None:
    if url.startswith("redis"):
        redis_lib.Redis.from_url(url).flushdb()
        return
    # RabbitMQ (amqp://): empty our queues, if they exist yet.
    from kombu import Connection

    from tasks.celery_app import QUEUES

    with Connection(url) as conn:
        channel = conn.channel()
        for name in QUEUES:
            try:
                channel.queue_purge(name)
            except Exception:  # noqa: BLE001 - a queue not declared yet has nothing to purge
                channel = conn.channel()


@pytest.fixture
def broker_url(home: Path) -> Iterator[str]:
    if BROKER_URL:
        # A shared server: start from empty queues so no earlier test's task leaks in.
        _purge(BROKER_URL)
        yield BROKER_URL
        _purge(BROKER_URL)
        return
    broker = EmbeddedBroker(home)
    broker.start()
    yield broker.url
    broker.stop()


@pytest.fixture
def env(db_url: str, home: Path, broker_url: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    e.update({
        "YUQING_HOME": str(home),
        "YUQING_DATABASE_URL": db_url,
        "YUQING_BROKER_URL": broker_url,
        # A killed worker's unacknowledged task comes back after this many seconds (longer
        # than a worker child takes to load its models, or a reserved task would be
        # handed out twice while the child starts).
        "YUQING_CELERY_VISIBILITY_TIMEOUT": "30",
        "YUQING_CELERY_RESTORE_INTERVAL": "2",
        "YUQING_CELERY_RESTORE_THROTTLE": "1",
        "YUQING_FETCH_READ_TIMEOUT": "2",
        "YUQING_FETCH_TOTAL_TIMEOUT": "4",
        "YUQING_FETCH_CONNECT_TIMEOUT": "2",
        "YUQING_SENTIMENT_ENGINE": os.environ.get("YUQING_SENTIMENT_ENGINE", "snownlp"),
        "PYTHONUNBUFFERED": "1",
    })
    return e


@pytest.fixture
def wsettings(env: dict[str, str]) -> Settings:
    """The settings the worker sees, for publishing tasks from the test."""
    return load_settings(env=env)


@pytest.fixture
def start_worker(env: dict[str, str], home: Path) -> Iterator[Callable[..., Child]]:
    children: list[Child] = []

    def start(*extra: str, name: str = "worker") -> Child:
        child = Child(name, yuqing_argv("worker", "--loglevel", "INFO", *extra), env,
                      log_to=home / "logs" / f"{name}-{len(children)}.log")
        children.append(child)
        return child

    yield start
    for child in children:
        child.stop(timeout=20)


@pytest.fixture
def app(wsettings: Settings):
    from tasks.celery_app import create_app

    return create_app(wsettings)
