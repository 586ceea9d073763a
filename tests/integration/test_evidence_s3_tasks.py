"""End to end with the S3 store (issue 18): a real Celery worker whose settings name an
S3-compatible bucket (YUQING_EVIDENCE_* variables, the README's way) stores an alert's
snapshots there through `responders.snapshot_alerts`, and the desk serves them back from
the bucket, checked against their hashes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.settings import load_settings
from responders.auth import add_user
from responders.models import Snapshot
from responders.web import create_app
from tests.integration.conftest import wait_until
from tests.integration.test_desk_api import login
from tests.support.evidence import alerted_story
from tests.support.fake_web import FakeWeb
from tests.support.s3 import Bucket, bucket, s3_endpoint

pytestmark = pytest.mark.integration


@pytest.fixture
def env(env: dict[str, str], bucket: Bucket) -> dict[str, str]:
    """The worker's environment (tests/integration/conftest.py) with the bucket as store."""
    return {**env, **bucket.env()}


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Snapshot)) or 0)


def test_a_worker_stores_snapshots_in_the_bucket_and_the_desk_serves_them(
        sessions: sessionmaker[Session], fake_web: FakeWeb, home: Path, app: Any,
        start_worker: Any, env: dict[str, str], bucket: Bucket) -> None:
    now = datetime.now(UTC)
    story = alerted_story(sessions, fake_web, home, now)  # snapshots into the local store
    expected = _count(sessions)
    with sessions() as s:  # as if the alert had just been raised: nothing kept yet
        s.execute(delete(Snapshot))
        s.commit()
    assert bucket.keys() == []
    start_worker("--queues", "poll")
    app.send_task("responders.snapshot_alerts", args=[[story.alert_id]], queue="poll")
    wait_until(lambda: _count(sessions) == expected, 60, "the snapshots")
    with sessions() as s:
        snaps = list(s.scalars(select(Snapshot).where(Snapshot.sha256.is_not(None))))
        add_user(s, "wang", "officer", "officer-pass-1", now)
        s.commit()
    shas = sorted({snap.sha256 for snap in snaps if snap.sha256})
    assert shas and bucket.keys() == [f"evidence/{sha[:2]}/{sha}" for sha in shas]
    for sha in shas:
        body = bucket.client.get_object(Bucket=bucket.name,
                                        Key=f"evidence/{sha[:2]}/{sha}")["Body"].read()
        assert hashlib.sha256(body).hexdigest() == sha
        assert body == story.store.get(sha)  # the same bytes the local store kept

    desk = create_app(load_settings(env=env), lambda name, args: None)
    with TestClient(desk, base_url="http://testserver") as client:
        login(client, "wang", "officer-pass-1")
        for snap in snaps:
            got = client.get(f"/evidence/{snap.id}")
            assert got.status_code == 200
            assert hashlib.sha256(got.content).hexdigest() == snap.sha256
        # Altered in the bucket: refused, not served as evidence.
        victim = snaps[0]
        bucket.client.put_object(Bucket=bucket.name, Key=f"evidence/{victim.sha256[:2]}/"
                                 f"{victim.sha256}", Body=b"altered")
        refused = client.get(f"/evidence/{victim.id}")
        assert refused.status_code == 404 and "altered" in refused.text
