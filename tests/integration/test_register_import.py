"""The register's writes on a real database: a spreadsheet imported all or nothing with each
bad row named, an XLSX through a column mapping, re-imports that change nothing, and the
service's steps (补正, extension, consultation, reply, reopen) with their roles and audit."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from monitor.errors import InputError
from responders.auth import Principal
from responders.models import AuditEntry
from responders.register import service
from responders.register.calendar import load_calendar
from responders.register.importing import (
    CASE_COLUMNS,
    REQUEST_COLUMNS,
    import_cases,
    import_requests,
    read_mapping,
    read_sheet,
)
from responders.register.models import DisclosureCase, DisclosureRequest
from responders.workflow import RoleForbidden, StateConflict

ROOT = Path(__file__).resolve().parents[2]
CAL = load_calendar(ROOT / "config")
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
HEAD = "登记号,收到日期,申请方式,申请人类型,申请人,申请内容,办理结果,答复日期,征求意见期间\n"
GOOD = ("2026-001,2026-03-02,网络,自然人,王**,2025年全省法律援助案件数量,予以公开,2026-03-16,\n"
        "2026-002,2026年3月4日,信函,法律服务机构,某律所,律所年度考核结果,,,"
        "2026-03-09~2026-03-13\n")
BAD = ("2026-003,2026-02-30,网络,自然人,李**,某事项,,,\n"
       "2026-004,2026-03-05,微信,个人,赵**,某事项,,,\n"
       ",,,,,,,,\n"
       "2026-001,2026-03-06,网络,自然人,孙**,某事项,已答复,2026-03-10,\n")
OFFICER = Principal("user", 2, "wang", "officer", 2)
APPROVER = Principal("user", 3, "li", "approver", 3)
NOBODY = Principal("token", 9, "ci", "officer", None)


def _rows(tmp_path, text, name="r.csv", encoding="utf-8-sig"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return read_sheet(path)


def _count(s, model):
    return s.scalar(select(func.count()).select_from(model))


def test_a_file_with_bad_rows_stores_nothing_and_names_each_row(sessions, tmp_path):
    rows = _rows(tmp_path, HEAD + GOOD + BAD)
    with sessions() as s:
        report = import_requests(s, "test", rows, REQUEST_COLUMNS, CAL, NOW)
        s.commit()
        assert not report.stored and _count(s, DisclosureRequest) == 0
        assert _count(s, AuditEntry) == 0
    by_row: dict[int, list[str]] = {}
    for n, err in report.errors:
        by_row.setdefault(n, []).append(err)
    assert sorted(by_row) == [4, 5, 7]          # row 6 is blank; the heading is row 1
    assert "not a day of the calendar" in by_row[4][0]
    assert any("微信" in e for e in by_row[5]) and any("个人" in e for e in by_row[5])
    assert any("also on row 2" in e for e in by_row[7])
    assert any("已答复" in e and "official" in e for e in by_row[7])


def test_good_file_is_stored_with_deadlines_and_reimport_changes_nothing(sessions, tmp_path):
    rows = _rows(tmp_path, HEAD + GOOD, encoding="gb18030")   # an Excel-saved CSV
    with sessions() as s:
        report = import_requests(s, "test", rows, REQUEST_COLUMNS, CAL, NOW)
        s.commit()
        assert (report.stored, report.created) == (True, 2)
        a = s.scalar(select(DisclosureRequest).where(DisclosureRequest.number == "2026-001"))
        b = s.scalar(select(DisclosureRequest).where(DisclosureRequest.number == "2026-002"))
        assert (a.state, a.outcome, a.due_on) == ("answered", "予以公开", date(2026, 3, 30))
        # the consultation week 3/9–3/13 does not count
        assert (b.state, b.received_on, b.due_on) == ("open", date(2026, 3, 4), date(2026, 4, 9))
        audits = _count(s, AuditEntry)
    with sessions() as s:
        again = import_requests(s, "test", rows, REQUEST_COLUMNS, CAL, NOW)
        s.commit()
        assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
        assert _count(s, AuditEntry) == audits


def test_xlsx_through_a_mapping_and_cases_linked_by_number(sessions, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["编号", "日期", "方式", "类别", "内容", "结果", "答复"])
    ws.append(["2026-010", datetime(2026, 4, 1), "当面", "商业企业", "政府采购合同",
               "属于国家秘密", datetime(2026, 4, 20)])     # the ground alone is unique
    buf = io.BytesIO()
    wb.save(buf)
    path = tmp_path / "台账.xlsx"
    path.write_bytes(buf.getvalue())
    mapping = read_mapping({"columns": {"number": "编号", "received_on": "日期", "channel": "方式",
                                        "applicant_type": "类别", "subject": "内容",
                                        "outcome": "结果", "answered_on": "答复"}},
                           REQUEST_COLUMNS, "map.yaml")
    with sessions() as s:
        report = import_requests(s, "test", read_sheet(path), mapping, CAL, NOW)
        assert report.stored and report.created == 1
        row = s.scalar(select(DisclosureRequest))
        assert row.outcome == "不予公开/属于国家秘密"
        cases_csv = ("案号,申请登记号,类型,起诉方式,立案日期,复议机关或法院,结果,审结日期\n"
                     "豫政复〔2026〕1号,2026-010,复议,,2026-05-06,河南省人民政府,维持,2026-06-20\n"
                     "（2026）豫8601行初1号,2026-999,诉讼,直接起诉,2026-05-07,郑州铁路运输法院,,\n")
        bad = import_cases(s, "test", _rows(tmp_path, cases_csv, "c.csv"), CASE_COLUMNS, NOW)
        assert not bad.stored and [n for n, _ in bad.errors] == [3, 3]
        assert any("2026-999" in e for _, e in bad.errors)
        assert any("未经复议直接起诉" in e for _, e in bad.errors)
        assert _count(s, DisclosureCase) == 0
        good = import_cases(s, "test", _rows(tmp_path, cases_csv.rsplit("\n", 2)[0] + "\n",
                                             "c2.csv"), CASE_COLUMNS, NOW)
        assert good.stored and good.created == 1
        s.commit()
    with pytest.raises(InputError, match="no field 'numbr'"):
        read_mapping({"columns": {"numbr": "编号"}}, REQUEST_COLUMNS, "map.yaml")


def test_steps_move_the_deadline_with_roles_and_audit(sessions):
    with sessions() as s:
        r = service.create_request(s, OFFICER, service.RequestInput(
            "2026-020", date(2026, 3, 2), "网络", "自然人", "某监狱会见制度"), CAL, NOW)
        assert r.due_on == date(2026, 3, 30)
        service.record_step(s, OFFICER, r.id, "correction_requested", CAL, NOW,
                            on=date(2026, 3, 4))
        service.record_step(s, OFFICER, r.id, "corrected", CAL, NOW, on=date(2026, 3, 16))
        assert r.due_on == date(2026, 4, 14)
        service.record_step(s, OFFICER, r.id, "extend", CAL, NOW, on=date(2026, 4, 1), days=5)
        assert r.due_on == date(2026, 4, 21)
        with pytest.raises(StateConflict, match="once"):
            service.record_step(s, OFFICER, r.id, "extend", CAL, NOW, on=date(2026, 4, 2),
                                days=5)
        with pytest.raises(RoleForbidden):
            service.record_outcome(s, NOBODY, r.id, "予以公开", date(2026, 4, 10), NOW)
        with pytest.raises(InputError, match="official"):
            service.record_outcome(s, OFFICER, r.id, "已办", date(2026, 4, 10), NOW)
        service.record_outcome(s, OFFICER, r.id, "无法提供/本机关不掌握相关政府信息",
                               date(2026, 4, 10), NOW)
        with pytest.raises(StateConflict):
            service.record_outcome(s, OFFICER, r.id, "予以公开", date(2026, 4, 10), NOW)
        with pytest.raises(RoleForbidden):
            service.reopen_request(s, OFFICER, r.id, "答复有误", NOW)
        service.reopen_request(s, APPROVER, r.id, "答复有误", NOW)
        assert (r.state, r.outcome) == ("open", None)
        doc = service.attach_document(s, OFFICER, r.id, "答复书.pdf", b"%PDF-1.4 demo", NOW,
                                      kind="答复书")
        assert service.attach_document(s, OFFICER, r.id, "again.pdf", b"%PDF-1.4 demo",
                                       NOW).id == doc.id
        s.commit()
        actions = s.scalars(select(AuditEntry.action).where(
            AuditEntry.entity == "request", AuditEntry.entity_id == r.id)
            .order_by(AuditEntry.id)).all()
        assert actions == ["create", "correction_requested", "corrected", "extend", "answer",
                           "reopen", "attach"]


def test_cli_import_exit_codes(db_url, home, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url})
    bad = tmp_path / "bad.csv"
    bad.write_text(HEAD + GOOD + BAD, encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "tasks.cli", "register", "import", str(bad)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert p.returncode == 2
    assert "bad.csv row 4:" in p.stderr and "refused, nothing stored" in p.stderr
    good = tmp_path / "good.csv"
    good.write_text(HEAD + GOOD, encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "tasks.cli", "register", "import", str(good)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert p.returncode == 0 and "2 created" in p.stdout, p.stderr


def test_cli_list_and_demo(db_url, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url})

    def run(*args):
        return subprocess.run([sys.executable, "-m", "tasks.cli", *args], capture_output=True,
                              text=True, env=env, cwd=ROOT, timeout=120)

    p = run("register", "demo")
    assert p.returncode == 0 and '"created": 31' in p.stdout, p.stderr
    assert '"unchanged": 31' in run("register", "demo").stdout      # idempotent
    assert (home / "annual" / "2025.yaml").is_file()
    p = run("register", "list", "--year", "2024", "--json")
    rows = json.loads(p.stdout)
    assert [r["number"] for r in rows] == ["2024-031", "2024-032"]
    assert rows[0]["answered_on"].startswith("2025-01")
    assert run("register", "list", "--year", "20x").returncode == 2
