"""The desk's export buttons (issue 18): on the alert and the event page, the 舆情处置专报 as
DOCX and PDF and the referral package as a ZIP, each served with its Content-Type and a
Chinese file name (RFC 5987), for the desk's roles only; the ZIP is audit-logged like
`yuqing events export`. Read back with python-docx, pypdf and zipfile."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from docx import Document
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import Item
from monitor.settings import Settings
from responders.auth import add_user
from responders.event_report import SECTIONS
from responders.models import AuditEntry, Snapshot, User
from responders.web import create_app
from tests.integration.test_desk_api import login
from tests.support.evidence import alerted_story
from tests.support.fake_web import FakeWeb

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 6, 10, tzinfo=UTC)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _filename(disposition: str) -> str:
    """The UTF-8 name a browser saves the file under (RFC 5987's filename*)."""
    assert disposition.startswith("attachment; filename=\"")
    found = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
    assert found, disposition
    return unquote(found.group(1))


@pytest.fixture
def desk_story(settings: Settings, sessions: sessionmaker[Session], fake_web: FakeWeb,
               home: Path) -> tuple[TestClient, int, int]:
    story = alerted_story(sessions, fake_web, home, NOW)
    with sessions() as s:
        for name, role in (("wang", "officer"), ("li", "approver"), ("zhao", "admin"),
                           ("guest", "officer")):
            add_user(s, name, role, f"{name}-pass-123", NOW)
        event_id = s.scalar(select(Item.event_id).where(Item.id == story.item_ids[0]))
        s.commit()
    app = create_app(settings, lambda name, args: None)
    app.state.desk.clock = lambda: NOW + timedelta(hours=3)
    return TestClient(app, base_url="http://testserver"), story.alert_id, int(event_id or 0)


def test_the_buttons_download_docx_pdf_and_an_audited_zip(
        desk_story: tuple[TestClient, int, int], sessions: sessionmaker[Session]) -> None:
    client, alert_id, event_id = desk_story
    with client:
        login(client, "wang", "wang-pass-123")
        for page in (f"/alerts/{alert_id}", f"/events/{event_id}"):
            text = client.get(page).text
            for href in (f"/events/{event_id}/report?format=docx",
                         f"/events/{event_id}/report?format=pdf",
                         f"/events/{event_id}/export.zip"):
                assert f'href="{href}"' in text, (page, href)
            assert "下载移送材料包（ZIP）" in text and "下载专报（Word）" in text

        docx = client.get(f"/events/{event_id}/report?format=docx")
        assert docx.status_code == 200 and docx.headers["content-type"] == DOCX
        assert _filename(docx.headers["content-disposition"]) == f"舆情处置专报-事件{event_id}.docx"
        doc = Document(io.BytesIO(docx.content))
        text = "\n".join(p.text for p in doc.paragraphs)
        for heading in SECTIONS:
            assert heading in text, heading

        pdf = client.get(f"/events/{event_id}/report?format=pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert _filename(pdf.headers["content-disposition"]) == f"舆情处置专报-事件{event_id}.pdf"
        body = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        compact = body.replace("\n", "").replace(" ", "")
        for heading in SECTIONS:
            assert heading in compact, heading

        got = client.get(f"/events/{event_id}/export.zip")
        assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
        assert _filename(got.headers["content-disposition"]) == f"移送材料包-事件{event_id}.zip"
        package = got.content

    with sessions() as s:
        shas = set(s.scalars(select(Snapshot.sha256).where(Snapshot.sha256.is_not(None))))
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["event_id"] == event_id
        assert {row["sha256"] for row in manifest["snapshots"]} == shas
        for row in manifest["snapshots"]:
            assert hashlib.sha256(z.read(row["file"])).hexdigest() == row["sha256"]
    assert entry.entity == "event" and entry.entity_id == event_id
    assert entry.alert_id == alert_id and entry.actor == "user:wang"
    assert entry.detail["sha256"] == hashlib.sha256(package).hexdigest()


def test_every_desk_role_may_export_and_nobody_else(
        desk_story: tuple[TestClient, int, int], sessions: sessionmaker[Session]) -> None:
    client, _, event_id = desk_story
    zip_url, docx_url = f"/events/{event_id}/export.zip", f"/events/{event_id}/report?format=docx"
    for name in ("li", "zhao"):
        with client:
            login(client, name, f"{name}-pass-123")
            assert client.get(zip_url).status_code == 200
            assert client.get(docx_url).status_code == 200
            client.post("/logout")
    client.cookies.clear()
    with client:  # signed out: to the login page, nothing served, nothing logged
        for url in (zip_url, docx_url):
            r = client.get(url, follow_redirects=False)
            assert r.status_code == 303 and "/login" in r.headers["location"]
    # A role outside the desk's three (a row written by some other tool) is refused by the
    # server, not only by a hidden button.
    with sessions() as s:
        s.execute(update(User).where(User.name == "guest").values(role="reader"))
        s.commit()
    with client:
        login(client, "guest", "guest-pass-123")
        for url in (zip_url, docx_url):
            assert client.get(url).status_code == 403
    with sessions() as s:
        actors = sorted(s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "export")))
    assert actors == ["user:li", "user:zhao"]


def test_an_unknown_event_or_format_is_refused(desk_story: tuple[TestClient, int, int],
                                               sessions: sessionmaker[Session]) -> None:
    client, _, event_id = desk_story
    with client:
        login(client, "wang", "wang-pass-123")
        assert client.get("/events/999999/export.zip").status_code == 404
        assert client.get(f"/events/{event_id}/report?format=exe").status_code == 400
    with sessions() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action == "export")).first() is None
