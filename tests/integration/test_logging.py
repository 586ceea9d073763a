"""Structured logs (issue 15): a real worker logs one JSON object a line with
`logging.format: json`, and Celery's per-task lines are DEBUG unless asked for."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.settings import Settings
from monitor.sources import SourceSpec, upsert_source
from tasks.supervise import Child
from tests.integration.conftest import wait_until
from tests.support.fake_web import FakeWeb

pytestmark = pytest.mark.integration


def _records(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def _failing_source(fake_web: FakeWeb, sessions: sessionmaker[Session]) -> int:
    fake_web.add("/down.xml", 503)
    with sessions() as s:
        spec = SourceSpec(name="某市司法局门户", url=fake_web.url("/down.xml"),
                          interval_s=600, allow_private=True)
        source, _ = upsert_source(s, spec, datetime.now(UTC))
        s.commit()
        return source.id


@pytest.mark.parametrize("extra_env", [{}, {"YUQING_LOGGING_TASK_LINES": "true"}])
def test_worker_logs_json_and_task_lines_only_when_asked(
        fake_web: FakeWeb, sessions: sessionmaker[Session], env: dict[str, str],
        wsettings: Settings, home: Path, extra_env: dict[str, str],
        start_worker: Callable[..., Child], monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.celery_app import create_app

    source_id = _failing_source(fake_web, sessions)
    env.update({"YUQING_LOGGING_FORMAT": "json", **extra_env})
    start_worker("--queues", "poll")
    log = home / "logs" / "worker-0.log"
    create_app(wsettings).send_task("monitor.poll_source", args=[source_id, None], queue="poll")

    def warned() -> bool:
        return any(r["level"] == "WARNING" and f"source {source_id} failed" in r["message"]
                   for r in _records(log))

    wait_until(warned, 90, "the failed poll's warning in the worker's log")
    records = _records(log)
    assert records and all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    received = [r for r in records if r["logger"] == "celery.worker.strategy"
                and r["message"].startswith("Task monitor.poll_source")]
    if extra_env:
        assert [r["level"] for r in received] == ["INFO"]
    else:
        assert received == []   # at INFO the per-task line is not shown
    # Every line of the worker's own output that is not JSON is the interpreter's (Celery's
    # root-user SecurityWarning on a machine running tests as root), never a log record.
    text = [line for line in log.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("{")]
    assert not any(" INFO " in line or "] received" in line for line in text)
