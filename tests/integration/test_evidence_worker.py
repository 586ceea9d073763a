"""The evidence tasks run by a real Celery worker (issue 18): `responders.snapshot_alerts`
stores an alert's snapshots, and `responders.recheck_deleted` marks a post whose link now
answers 404 as 已删除 — each committed once, with no transaction held over the fetch."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import ItemGone
from responders.models import Snapshot
from tests.integration.conftest import wait_until
from tests.support.evidence import alerted_story
from tests.support.fake_web import FakeWeb

pytestmark = pytest.mark.integration


def _count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_worker_snapshots_an_alert_and_marks_a_deletion(
        sessions: sessionmaker[Session], fake_web: FakeWeb, home: Path, app: Any,
        start_worker: Any) -> None:
    now = datetime.now(UTC)  # the worker's clock: the re-check looks at recent alerts
    story = alerted_story(sessions, fake_web, home, now)
    expected = _count(sessions, Snapshot)
    with sessions() as s:  # as if the alert had just been raised: nothing kept yet
        s.execute(delete(Snapshot))
        s.commit()
    start_worker("--queues", "poll")
    app.send_task("responders.snapshot_alerts", args=[[story.alert_id]], queue="poll")
    wait_until(lambda: _count(sessions, Snapshot) == expected, 60, "the snapshots")
    fake_web.add("/a/a2", status=404, body=b"gone")
    app.send_task("responders.recheck_deleted", queue="poll")
    wait_until(lambda: _count(sessions, ItemGone) == 1, 60, "the deletion mark")
    with sessions() as s:
        gone = s.scalars(select(ItemGone)).one()
        page = s.scalars(select(Snapshot).where(Snapshot.item_id == gone.item_id,
                                                Snapshot.kind == "page")).one()
    assert gone.reason == "HTTP 404" and page.sha256 is not None
    assert b"<article>" in story.store.get(page.sha256)
