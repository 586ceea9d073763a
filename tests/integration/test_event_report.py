"""The 舆情处置专报 and the referral package (issue 18): `yuqing events report` writes a DOCX
and a PDF that read back (python-docx, pypdf) with every section — timeline with the
office's response and approvals, volume chart, sources and accounts, 回应效果, deadlines
met or not, evidence hashes, blind spots — and `yuqing events export` writes a ZIP whose
snapshots match their manifest's hashes, audit-logged. A missing PDF font is a clear error."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import ConfigError
from monitor.models import CoverageGap, Item, ItemGone, Source
from responders.desk import audit
from responders.event_report import SECTIONS, deadline_state, report_for, to_pdf
from responders.models import Alert, AuditEntry, Output, Publication, Snapshot
from tests.support.evidence import Story, alerted_story
from tests.support.fake_web import FakeWeb
from tests.support.settings import defaults

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, 6, 10, tzinfo=UTC)
REPLY = "关于网传某戒毒所学员死亡一事的情况通报"


def yuqing(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tasks.cli", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture
def cli_env(db_url: str, home: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    e.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url})
    return e


def handled_story(sessions: sessionmaker[Session], web: FakeWeb, home: Path) -> tuple[Story, int]:
    """The story, answered by the office 3 hours in (approved, published), with a blind
    spot of the source while it ran and one post deleted afterwards."""
    story = alerted_story(sessions, web, home, NOW)
    with sessions() as s:
        alert = s.get(Alert, story.alert_id)
        assert alert is not None
        event_id = s.get(Item, alert.item_id).event_id  # type: ignore[union-attr]
        out = Output(alert_id=alert.id, kind="response", title=REPLY, body="经核查……",
                     state="published", created_at=NOW + timedelta(hours=1),
                     updated_at=NOW + timedelta(hours=3))
        s.add(out)
        s.flush()
        audit(s, "user:wang", NOW + timedelta(hours=2), entity="output", entity_id=out.id,
              action="approve", from_state="review", to_state="approved", alert_id=alert.id)
        s.add(Publication(output_id=out.id, channel="官方微博",
                          published_at=NOW + timedelta(hours=3), recorded_by="user:li",
                          recorded_at=NOW + timedelta(hours=3)))
        src = s.scalars(select(Source)).one()
        s.add(CoverageGap(source_id=src.id, kind="failing", started_at=NOW + timedelta(hours=1),
                          ended_at=NOW + timedelta(hours=2), detail="HTTP 503"))
        s.add(ItemGone(item_id=story.item_ids[0], noticed_at=NOW + timedelta(hours=4),
                       reason="HTTP 404"))
        s.commit()
    assert event_id is not None
    return story, event_id


def test_the_report_writes_docx_and_pdf_with_every_section(
        sessions: sessionmaker[Session], fake_web: FakeWeb, home: Path,
        cli_env: dict[str, str], tmp_path: Path) -> None:
    story, event_id = handled_story(sessions, fake_web, home)
    docx_path, pdf_path = tmp_path / "专报.docx", tmp_path / "专报.pdf"
    for path, fmt in ((docx_path, "docx"), (pdf_path, "pdf")):
        r = yuqing(cli_env, "events", "report", str(event_id), "--format", fmt,
                   "--out", str(path))
        assert r.returncode == 0, r.stderr
    doc = Document(str(docx_path))
    text = "\n".join([p.text for p in doc.paragraphs]
                     + [c.text for t in doc.tables for row in t.rows for c in row.cells])
    pdf = "\n".join(page.extract_text() for page in PdfReader(str(pdf_path)).pages)
    with sessions() as s:
        shas = list(s.scalars(select(Snapshot.sha256)))
    assert shas
    for body in (text, pdf):
        compact = body.replace("\n", "").replace(" ", "")
        for heading in SECTIONS:
            assert heading in compact, heading
        assert "首发：豫闻网·社会" in compact
        assert REPLY in compact and "审核通过" in compact          # response and approval
        assert "已按时" in compact                                 # 3 h in: the 5 h release met
        assert "负面占比" in compact                               # 回应效果
        assert "豫闻网·社会12-0115:10至16:10未能采集" in compact              # the blind spot
        assert "已删除" in compact
    for sha in shas:
        assert sha in text                              # the hashes, whole, in the DOCX
        assert sha[:16] in pdf.replace("\n", "")         # (a PDF table cell may wrap them)
    assert len(doc.inline_shapes) == 1                  # the hourly chart


def test_the_referral_package_matches_its_manifest_and_is_audited(
        sessions: sessionmaker[Session], fake_web: FakeWeb, home: Path,
        cli_env: dict[str, str], tmp_path: Path) -> None:
    story, event_id = handled_story(sessions, fake_web, home)
    out = tmp_path / "移送材料.zip"
    r = yuqing(cli_env, "events", "export", str(event_id), "--out", str(out))
    assert r.returncode == 0, r.stderr
    told = json.loads(r.stdout)
    package = out.read_bytes()
    assert told["sha256"] == hashlib.sha256(package).hexdigest()
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert {"manifest.csv", "timeline.csv", "report.html"} <= set(z.namelist())
        assert len(manifest["snapshots"]) == 2 * len(story.item_ids)
        for row in manifest["snapshots"]:
            assert hashlib.sha256(z.read(row["file"])).hexdigest() == row["sha256"]
            assert row["url"] and row["fetched_at"]
        assert any(row["deleted"] for row in manifest["snapshots"])
        assert any(REPLY in t["what"] for t in manifest["timeline"])
    with sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert entry.entity == "event" and entry.entity_id == event_id
    assert entry.detail["sha256"] == told["sha256"] and entry.actor.startswith("cli:")


def test_a_missing_pdf_font_is_a_clear_error(sessions: sessionmaker[Session],
                                             fake_web: FakeWeb, home: Path,
                                             cli_env: dict[str, str], tmp_path: Path) -> None:
    _, event_id = handled_story(sessions, fake_web, home)
    with sessions() as s:
        report = report_for(s, defaults(), event_id, NOW)
    with pytest.raises(ConfigError, match="evidence.pdf_font.*fonts-wqy-microhei"):
        to_pdf(report, font_file=str(tmp_path / "none.ttc"))
    env = {**cli_env, "YUQING_EVIDENCE_PDF_FONT": str(tmp_path / "none.ttc")}
    out = tmp_path / "x.pdf"
    r = yuqing(env, "events", "report", str(event_id), "--format", "pdf", "--out", str(out))
    assert r.returncode == 2 and "evidence.pdf_font" in r.stderr and not out.exists()


@pytest.mark.parametrize(("responded_h", "now_h", "state"), [
    (3, 10, "已按时"), (6, 10, "超时"), (None, 10, "未回应（已超时）"), (None, 2, "未到期")])
def test_deadline_state(responded_h: int | None, now_h: int, state: str) -> None:
    due = NOW + timedelta(hours=5)
    responded = NOW + timedelta(hours=responded_h) if responded_h is not None else None
    assert deadline_state(due, responded, NOW + timedelta(hours=now_h)) == state
