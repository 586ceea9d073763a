"""The annual report's tables from plain records (pure): which year a request and a case count
in, and each check failing with its row named."""

from __future__ import annotations

from datetime import date

import pytest

from responders.annual_report import (
    CARRIED,
    CARRY_NEXT,
    NEW,
    TOTAL,
    AnnualInput,
    CaseRow,
    ReportChecksFailed,
    RequestRow,
    as_json,
    build_annual,
    refuse_unless_passed,
    run_checks,
)

D = date


def req(number, received, kind="自然人", outcome=None, answered=None, due=None, fee=0):
    return RequestRow(number, received, kind, due or D(received.year + (received.month == 12),
                                                      received.month % 12 + 1, 1),
                      outcome, answered, fee)


REQUESTS = [
    req("2024-09", D(2024, 12, 20), "法律服务机构", "予以公开", D(2025, 1, 10), D(2025, 1, 17)),
    req("2024-08", D(2024, 11, 4), outcome="予以公开", answered=D(2024, 11, 20)),  # not 2025's
    req("2025-01", D(2025, 2, 3), outcome="部分公开", answered=D(2025, 2, 20)),
    req("2025-02", D(2025, 3, 3), "商业企业", "不予公开/属于国家秘密", D(2025, 3, 20)),
    req("2025-03", D(2025, 5, 6), outcome="无法提供/本机关不掌握相关政府信息",
        answered=D(2025, 6, 10), due=D(2025, 6, 3), fee=50),                         # late
    req("2025-04", D(2025, 12, 22), "科研机构", "予以公开", D(2026, 1, 8), D(2026, 1, 20)),
    req("2025-05", D(2025, 12, 29), "其他", due=D(2026, 1, 27)),                    # open
]
CASES = [
    CaseRow("复1", "2025-02", "复议", None, D(2025, 4, 1), "维持", D(2025, 5, 20)),
    CaseRow("复2", "2025-03", "复议", None, D(2025, 7, 1), "纠正", D(2026, 1, 5)),  # decided later
    CaseRow("诉1", "2025-02", "诉讼", "复议后起诉", D(2025, 6, 1), "其他", D(2025, 9, 1)),
    CaseRow("诉0", "2024-08", "诉讼", "未经复议直接起诉", D(2024, 12, 1), "维持",
            D(2025, 2, 1)),                                                         # 2024's
]


def annual(**kw):
    a = build_annual(2025, requests=REQUESTS, cases=CASES, output=None,
                     today=D(2026, 3, 1), **kw)
    run_checks(a)
    return a


def test_rows_count_by_receipt_and_reply_year():
    a = annual()
    assert a.row(NEW)[TOTAL] == 5 and a.row(CARRIED)[TOTAL] == 1
    assert a.row(CARRIED)["法律服务机构"] == 1
    assert a.row("予以公开")[TOTAL] == 1            # 2024-09 only: 2025-04 replied in 2026
    assert a.row("部分公开")["自然人"] == 1
    assert a.row("属于国家秘密")["商业企业"] == 1
    assert a.row("本机关不掌握相关政府信息")[TOTAL] == 1
    assert a.row(TOTAL)[TOTAL] == 4
    assert a.row(CARRY_NEXT) == {"自然人": 0, "商业企业": 0, "科研机构": 1, "社会公益组织": 0,
                                 "法律服务机构": 0, "其他": 1, "总计": 2}
    assert a.late_replies == ["2025-03"]
    assert a.fees == {"收费件数": 1, "收费金额（元）": 50}
    assert all(c.passed for c in a.checks), a.checks


def test_cases_count_in_their_filing_year_with_the_outcome_at_year_end():
    a = annual()
    assert a.reconsideration == {"结果维持": 1, "结果纠正": 0, "其他结果": 0, "尚未审结": 1,
                                 "总计": 2}
    assert a.litigation["复议后起诉"]["其他结果"] == 1
    assert a.litigation["未经复议直接起诉"]["总计"] == 0


def test_an_overdue_request_without_outcome_fails_with_its_number():
    late = [*REQUESTS, req("2025-06", D(2025, 10, 9), due=D(2025, 11, 6))]
    a = build_annual(2025, requests=late, cases=CASES, output=None, today=D(2026, 3, 1))
    failed = [c for c in run_checks(a) if not c.passed]
    assert [c.name for c in failed] == ["年末无逾期未办结申请"]
    assert "2025-06" in failed[0].detail and "2025-11-06" in failed[0].detail
    with pytest.raises(ReportChecksFailed, match="2025-06"):
        refuse_unless_passed(a)


def test_a_request_still_in_time_at_year_end_is_carried_over_not_refused():
    a = annual()
    assert "2025-05" not in str([c.detail for c in a.checks])
    # Run before the deadline of a request of the same year: not overdue yet.
    early = build_annual(2025, requests=[req("2025-07", D(2025, 11, 3), due=D(2025, 12, 1))],
                         cases=[], output=None, today=D(2025, 11, 20))
    assert all(c.passed for c in run_checks(early))


def test_declared_carry_over_that_differs_names_the_row():
    a = annual(extra=AnnualInput(carried_over_declared=3))
    bad = [c for c in a.checks if not c.passed]
    assert len(bad) == 1 and "二、上年结转政府信息公开申请数量" in bad[0].detail
    assert "登记簿 1" in bad[0].detail and "3 件" in bad[0].detail


def test_checks_catch_tables_that_do_not_add_up():
    a = annual()
    a.row(TOTAL)["自然人"] += 1          # a hand-edited total
    a.row("部分公开")["总计"] += 1        # a row whose total is not its columns' sum
    a.reconsideration["总计"] = 5
    failed = {c.name: c.detail for c in run_checks(a) if not c.passed}
    assert "自然人列" in failed["一 + 二 = 三 + 四"]
    assert "行「部分公开」" in failed["总计列等于各类申请人之和"]
    assert "行「总计」自然人列" in failed["办理结果总计等于各项之和"]
    assert "行「行政复议」" in failed["行政复议总计等于各项之和"]


def test_an_outcome_that_is_no_official_category_is_named():
    odd = [*REQUESTS, req("2025-08", D(2025, 4, 1), outcome="已答复", answered=D(2025, 4, 9))]
    a = build_annual(2025, requests=odd, cases=[], output=None, today=D(2026, 3, 1))
    failed = {c.name: c.detail for c in run_checks(a) if not c.passed}
    assert "2025-08（已答复）" in failed["办理结果均为规定类别"]


def test_json_shape_and_official_labels():
    d = as_json(annual())
    assert {"year", "proactive", "requests", "reconsideration", "litigation",
            "checks"} <= set(d)
    assert d["year"] == 2025
    labels = [r["label"] for r in d["requests"]["rows"]]
    assert labels[:3] == ["本年新收", "上年结转", "予以公开"]
    assert labels[-2:] == ["总计", "结转下年度"]
    assert len(labels) == 2 + 2 + 8 + 3 + 5 + 3 + 2
    assert {r["group"] for r in d["requests"]["rows"] if "group" in r} == {
        "不予公开", "无法提供", "不予处理", "其他处理"}
    assert set(d["checks"][0]) == {"name", "passed", "detail"}
    assert d["narrative"]["存在问题"] == "【待填写：存在问题】"
    assert [x["信息内容"] for x in d["proactive"]["第二十条"]] == [
        "规章", "行政规范性文件", "行政许可", "行政处罚", "行政强制", "行政事业性收费"]
