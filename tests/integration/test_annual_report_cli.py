"""`yuqing report annual` in the official formats from the demo year's register: a real
process on a real database, HTML and DOCX read back, the checks passing; a broken register
refused with the row named (exit 2) unless --draft."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from responders.register.calendar import load_calendar
from responders.register.demo import load_demo
from responders.register.service import RequestInput, create_request

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def yuqing(env, *args):
    return subprocess.run([sys.executable, "-m", "tasks.cli", *args], capture_output=True,
                          env=env, cwd=ROOT, timeout=120)


@pytest.fixture
def demo_env(db_url, home, sessions):
    with sessions() as s:
        load_demo(s, CONFIG, home, load_calendar(CONFIG), NOW)
        s.commit()
    e = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    e.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url})
    return e


def _docx_tables(path):
    doc = Document(str(path))
    return doc, [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]


def test_demo_year_report_in_html_and_docx_with_checks_passing(demo_env, tmp_path):
    out = tmp_path / "r.docx"
    p = yuqing(demo_env, "report", "annual", "--year", "2025", "--format", "docx",
               "--out", str(out))
    assert p.returncode == 0, p.stderr.decode()
    assert "9/9 checks passed" in p.stdout.decode()
    doc, tables = _docx_tables(out)
    text = "\n".join(par.text for par in doc.paragraphs)
    assert "河南省司法厅2025年政府信息公开工作年度报告" in text and "（草稿）" not in text
    assert "国办公开办函〔2021〕30号" in text
    for heading in ("一、总体情况", "二、主动公开政府信息情况",
                    "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况",
                    "五、存在的主要问题及改进情况", "六、其他需要报告的事项"):
        assert heading in text
    assert "【待填写：存在问题】" in text and "【待填写：改进措施】" in text
    assert "未通过" not in text
    requests = next(t for t in tables if t[0][1] == "自然人")
    rows = {r[0]: r[1:] for r in requests[1:]}
    # Counted by hand from config/demo/register/requests.csv.
    assert rows["一、本年新收政府信息公开申请数量"] == ["20", "3", "1", "1", "3", "1", "29"]
    assert rows["二、上年结转政府信息公开申请数量"] == ["1", "0", "0", "0", "1", "0", "2"]
    assert rows["三、本年度办理结果 · 予以公开"][-1] == "14"
    assert rows["三、本年度办理结果 · （无法提供）本机关不掌握相关政府信息"][-1] == "4"
    assert rows["三、本年度办理结果 · 总计"][-1] == "29"
    assert rows["四、结转下年度继续办理"][-1] == "2"
    cases = next(t for t in tables if t[0][1] == "结果维持")
    assert cases[1] == ["行政复议", "1", "1", "0", "1", "3"]
    assert cases[2] == ["行政诉讼 · 未经复议直接起诉", "1", "0", "0", "0", "1"]
    assert cases[3] == ["行政诉讼 · 复议后起诉", "0", "0", "0", "1", "1"]
    proactive = next(t for t in tables if t[0][0] == "第二十条")
    assert proactive[2][:5] == ["第二十条第（一）项", "行政规范性文件", "4", "2", "37"]

    p = yuqing(demo_env, "report", "annual", "--year", "2025", "--format", "html")
    assert p.returncode == 0, p.stderr.decode()
    page = p.stdout.decode()
    assert page.startswith("<!doctype html>") and "一、本年新收政府信息公开申请数量" in page
    assert '<td class="n">29</td>' in page and "未通过" not in page
    assert page.count("：通过") == 9


def test_json_and_xlsx(demo_env, tmp_path):
    p = yuqing(demo_env, "report", "annual", "--year", "2025", "--format", "json")
    assert p.returncode == 0, p.stderr.decode()
    d = json.loads(p.stdout)
    assert d["year"] == 2025 and all(c["passed"] for c in d["checks"])
    rows = {r["label"]: r for r in d["requests"]["rows"]}
    assert rows["本年新收"]["总计"] + rows["上年结转"]["总计"] == \
        rows["总计"]["总计"] + rows["结转下年度"]["总计"]
    out = tmp_path / "r.xlsx"
    p = yuqing(demo_env, "report", "annual", "--year", "2025", "--format", "xlsx",
               "--out", str(out))
    assert p.returncode == 0
    wb = load_workbook(io.BytesIO(out.read_bytes()))
    assert wb.sheetnames == ["说明", "主动公开", "发布渠道", "依申请公开", "复议诉讼", "数据检查"]
    sheet = [list(r) for r in wb["依申请公开"].iter_rows(values_only=True)]
    assert sheet[2][0] == "一、本年新收政府信息公开申请数量" and sheet[2][-1] == 29
    # The older figures-only layout is still the default format.
    p = yuqing(demo_env, "report", "annual", "--year", "2025")
    assert p.returncode == 0 and "舆情回应与政策解读部分" in p.stdout.decode()


def test_a_broken_register_is_refused_with_the_row_named(demo_env, sessions, tmp_path):
    with sessions() as s:
        create_request(s, "test", RequestInput("2025-030", date(2025, 9, 1), "网络", "自然人",
                                               "2025年全省律师人数"),
                       load_calendar(CONFIG), NOW)
        s.commit()
    p = yuqing(demo_env, "report", "annual", "--year", "2025", "--format", "html")
    assert p.returncode == 2 and p.stdout == b""
    err = p.stderr.decode()
    # 2025-09-28 is a Sunday worked (调休), the 20th working day
    assert "年末无逾期未办结申请" in err and "2025-030" in err and "2025-09-28" in err
    out = tmp_path / "draft.docx"
    p = yuqing(demo_env, "report", "annual", "--year", "2025", "--format", "docx", "--draft",
               "--out", str(out))
    assert p.returncode == 0 and "DRAFT" in p.stdout.decode()
    doc, _ = _docx_tables(out)
    text = "\n".join(par.text for par in doc.paragraphs)
    assert "（草稿）" in text and "年末无逾期未办结申请：未通过" in text


def test_counts_that_do_not_add_up_with_last_years_report(demo_env, home):
    (home / "annual" / "2025.yaml").write_text("carried_over: 5\n", encoding="utf-8")
    p = yuqing(demo_env, "report", "annual", "--year", "2025", "--format", "json")
    assert p.returncode == 2
    assert "二、上年结转政府信息公开申请数量" in p.stderr.decode()
    (home / "annual" / "2025.yaml").write_text("proactive: {规章: {件数: 1}}\n", encoding="utf-8")
    p = yuqing(demo_env, "report", "annual", "--year", "2025", "--format", "json")
    assert p.returncode == 2 and "proactive.规章.件数" in p.stderr.decode()
    p = yuqing(demo_env, "report", "annual", "--year", "2025", "--format", "docx")
    assert p.returncode == 2 and "--out" in p.stderr.decode()
