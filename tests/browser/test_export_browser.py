"""In a real browser (Debian's chromium): on an alert page with snapshots, an officer clicks
下载移送材料包（ZIP） and then 下载专报（Word）, and the browser saves both under their Chinese
names; the files open (zipfile, python-docx)."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from sqlalchemy.orm import Session, sessionmaker

from responders.auth import add_user
from tests.browser.test_desk_walk import log_in
from tests.support.desk import served_desk
from tests.support.evidence import alerted_story
from tests.support.fake_web import FakeWeb

pytestmark = pytest.mark.browser


@pytest.fixture
def story_desk(db_url: str, home: Path, sessions: sessionmaker[Session],
               fake_web: FakeWeb) -> Iterator[tuple[str, int]]:
    now = datetime.now(UTC)
    story = alerted_story(sessions, fake_web, home, now)
    with sessions() as s:
        add_user(s, "wang", "officer", "officer-pass-1", now)
        s.commit()
    with served_desk(db_url, home) as url:
        yield url, story.alert_id


def test_an_officer_downloads_the_package_and_the_report(
        story_desk: tuple[str, int], browser: Any) -> None:
    url, alert_id = story_desk
    page = browser.new_context(locale="zh-CN", accept_downloads=True).new_page()
    log_in(page, url, "wang")
    page.goto(f"{url}/alerts/{alert_id}")
    with page.expect_download() as got:
        page.click("#export-zip")
    download = got.value
    assert download.suggested_filename.startswith("移送材料包-事件")
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as z:
        assert json.loads(z.read("manifest.json"))["snapshots"]
    with page.expect_download() as got:
        page.click("#export-docx")
    assert got.value.suggested_filename.startswith("舆情处置专报-事件")
    doc = Document(str(got.value.path()))
    assert any("舆情处置专报" in p.text for p in doc.paragraphs)
