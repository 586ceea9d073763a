"""Evidence in the desk (issue 18): the alert page lists its snapshots with their hashes and
the 已删除 mark, a snapshot downloads as the stored bytes (an attachment, never rendered in
the desk's origin), and /events/{id}/report shows the 专报 and gives it as DOCX."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item, ItemGone
from monitor.settings import Settings
from responders.auth import add_user
from responders.event_report import SECTIONS
from responders.models import Snapshot
from responders.web import create_app
from tests.integration.test_desk_api import login
from tests.support.evidence import alerted_story
from tests.support.fake_web import FakeWeb

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 6, 10, tzinfo=UTC)


def test_alert_page_lists_snapshots_and_they_download(
        settings: Settings, sessions: sessionmaker[Session], fake_web: FakeWeb,
        home: Path) -> None:
    story = alerted_story(sessions, fake_web, home, NOW)
    with sessions() as s:
        add_user(s, "wang", "officer", "officer-pass-1", NOW)
        s.add(ItemGone(item_id=story.item_ids[0], noticed_at=NOW + timedelta(hours=2),
                       reason="HTTP 404"))
        snaps = list(s.scalars(select(Snapshot).order_by(Snapshot.id)))
        event_id = s.scalar(select(Item.event_id).where(Item.id == story.item_ids[0]))
        s.commit()
    app = create_app(settings, lambda name, args: None)
    app.state.desk.clock = lambda: NOW + timedelta(hours=3)
    with TestClient(app, base_url="http://testserver") as client:
        login(client, "wang", "officer-pass-1")
        page = client.get(f"/alerts/{story.alert_id}")
        assert page.status_code == 200
        assert "证据快照" in page.text and "已删除" in page.text
        for snap in snaps:
            assert snap.sha256 and snap.sha256 in page.text
            got = client.get(f"/evidence/{snap.id}")
            assert got.status_code == 200
            assert hashlib.sha256(got.content).hexdigest() == snap.sha256
            assert got.headers["content-type"] == "application/octet-stream"
            assert got.headers["content-disposition"].startswith("attachment")
        assert client.get("/evidence/999999").status_code == 404
        report = client.get(f"/events/{event_id}/report")
        assert report.status_code == 200
        for heading in SECTIONS:
            assert heading in report.text
        docx = client.get(f"/events/{event_id}/report?format=docx")
        assert docx.status_code == 200
        text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
        assert SECTIONS[0] in text and SECTIONS[-1] in text
        assert client.get(f"/events/{event_id}/report?format=exe").status_code == 400
    # Signed out, nothing is served.
    with TestClient(app, base_url="http://testserver") as anon:
        r = anon.get(f"/evidence/{snaps[0].id}", follow_redirects=False)
        assert r.status_code == 303
