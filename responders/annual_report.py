"""The annual government-information-disclosure report (政府信息公开工作年度报告) in the official
format of 国务院办公厅政府信息与政务公开办公室《关于印发〈中华人民共和国政府信息公开工作
年度报告格式〉的通知》(国办公开办函〔2021〕30号):

  一、总体情况                          narrative skeleton (工作进展), for the office to complete
  二、主动公开政府信息情况               第二十条 items (from the office's yearly input file) and
                                        the channels (from the output log: responders.reports)
  三、收到和处理政府信息公开申请情况     from the request register, by applicant type
  四、政府信息公开行政复议、行政诉讼情况 from the case register
  五、存在的主要问题及改进情况           narrative skeleton (存在问题, 改进措施)
  六、其他需要报告的事项                 fees (信息处理费), late replies

`load_register` reads plain records; `build_annual` (pure) fills the tables; `run_checks`
(pure) runs the table's checks — 一 + 二 = 三 + 四 in every column, each 总计 the sum of its
parts, 上年结转 equal to last year's published 结转下年度, and no request past its deadline
without an outcome at the year's end — each naming the row that fails. `as_json`, `to_html`,
`to_docx`, `to_xlsx` render.
"""

from __future__ import annotations

import html
import io
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from monitor.errors import InputError
from responders.register.models import DisclosureCase, DisclosureRequest
from responders.register.outcomes import (
    APPLICANT_TYPES,
    CASE_HEADINGS,
    CASE_OUTCOMES,
    COLUMNS,
    LITIGATION_ROUTES,
    ORG_TYPES,
    OUTCOME_GROUPS,
)
from responders.reports import PubRow, Report

DOCUMENT = "国办公开办函〔2021〕30号"

# 二、主动公开政府信息情况: the 第二十条 rows and their columns, as in the document.
PROACTIVE_ITEMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("第二十条第（一）项", "规章", ("本年制发件数", "本年废止件数", "现行有效件数")),
    ("第二十条第（一）项", "行政规范性文件", ("本年制发件数", "本年废止件数", "现行有效件数")),
    ("第二十条第（五）项", "行政许可", ("本年处理决定数量",)),
    ("第二十条第（六）项", "行政处罚", ("本年处理决定数量",)),
    ("第二十条第（六）项", "行政强制", ("本年处理决定数量",)),
    ("第二十条第（八）项", "行政事业性收费", ("本年收费金额（单位：万元）",)),
)
NEW, CARRIED, TOTAL, CARRY_NEXT = "本年新收", "上年结转", "总计", "结转下年度"
SECTION_LABELS = {
    NEW: "一、本年新收政府信息公开申请数量",
    CARRIED: "二、上年结转政府信息公开申请数量",
    CARRY_NEXT: "四、结转下年度继续办理",
}
NARRATIVE = ("工作进展", "存在问题", "改进措施")
TODO = "【待填写：{}】"


class ReportChecksFailed(InputError):
    """The tables do not add up (or the register is incomplete): no report without --draft."""


@dataclass(frozen=True)
class RequestRow:
    number: str
    received_on: date
    applicant_type: str
    due_on: date
    outcome: str | None
    answered_on: date | None
    fee_yuan: int


@dataclass(frozen=True)
class CaseRow:
    number: str
    request_number: str
    kind: str
    route: str | None
    filed_on: date
    outcome: str
    decided_on: date | None


@dataclass(frozen=True)
class AnnualInput:
    """What only the office knows, from its yearly file ($YUQING_HOME/annual/<year>.yaml)."""

    proactive: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    carried_over_declared: int | None = None      # last year's published 结转下年度 总计
    narrative: Mapping[str, str] = field(default_factory=dict)
    office: str | None = None


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class Annual:
    year: int
    office: str
    as_of: date
    proactive_items: list[dict[str, Any]]
    channels: list[dict[str, Any]]
    interpretations: int
    # label → group ("" for a row of its own) and counts by column (COLUMNS)
    rows: list[tuple[str, str, dict[str, int]]]
    reconsideration: dict[str, int]
    litigation: dict[str, dict[str, int]]
    fees: dict[str, int]
    late_replies: list[str]
    overdue_open: list[RequestRow]
    unlabelled: list[RequestRow]
    carried_over_declared: int | None
    narrative: dict[str, str]
    checks: list[Check] = field(default_factory=list)

    def row(self, label: str) -> dict[str, int]:
        for lab, _, counts in self.rows:
            if lab == label:
                return counts
        raise KeyError(label)


def result_rows() -> list[tuple[str, str]]:
    """三、本年度办理结果 as (label, group): 予以公开, 部分公开, then each ground, then 总计."""
    out: list[tuple[str, str]] = []
    for group, grounds in OUTCOME_GROUPS:
        out += [(group, "")] if not grounds else [(g, group) for g in grounds]
    return out


def _counts(rows: Sequence[RequestRow]) -> dict[str, int]:
    c = Counter(r.applicant_type for r in rows)
    out = {t: c.get(t, 0) for t in APPLICANT_TYPES}
    out[TOTAL] = sum(out.values())
    return out


def _label_of(outcome: str) -> str:
    return outcome.split("/", 1)[1] if "/" in outcome else outcome


def _case_counts(cases: Sequence[CaseRow], year_end: date) -> dict[str, int]:
    """By outcome as of the year's end: a case decided later is 尚未审结 in this report."""
    c = Counter(x.outcome if x.decided_on is not None and x.decided_on <= year_end
                else "尚未审结" for x in cases)
    out = {CASE_HEADINGS[o]: c.get(o, 0) for o in CASE_OUTCOMES}
    out[TOTAL] = sum(out.values())
    return out


def build_annual(year: int, *, requests: Sequence[RequestRow], cases: Sequence[CaseRow],
                 output: Report | None, pubs: Sequence[PubRow] = (), tz: str = "Asia/Shanghai",
                 extra: AnnualInput | None = None, today: date | None = None,
                 office: str = "河南省司法厅") -> Annual:
    """Pure. Requests: 本年新收 are those received in the year; 上年结转 those received before
    it and not answered before it; a request counts in 三 in the year its reply is dated, and
    in 四 when it is still unanswered at the year's end. Cases count in the year they were
    filed, with their outcome as of the year's end."""
    extra = extra or AnnualInput()
    first, last = date(year, 1, 1), date(year, 12, 31)
    as_of = min(today or last, last)
    new = [r for r in requests if first <= r.received_on <= last]
    carried = [r for r in requests if r.received_on < first
               and (r.answered_on is None or r.answered_on >= first)]
    handled = new + carried
    answered = [r for r in handled if r.answered_on is not None and r.answered_on <= last]
    pending = [r for r in handled if r.answered_on is None or r.answered_on > last]
    rows: list[tuple[str, str, dict[str, int]]] = [(NEW, "", _counts(new)),
                                                    (CARRIED, "", _counts(carried))]
    by_label: dict[str, list[RequestRow]] = {}
    unlabelled = []
    known = {lab for lab, _ in result_rows()}
    for r in answered:
        label = _label_of(r.outcome) if r.outcome else ""
        if label not in known:
            unlabelled.append(r)
            continue
        by_label.setdefault(label, []).append(r)
    for label, group in result_rows():
        rows.append((label, group, _counts(by_label.get(label, []))))
    rows.append((TOTAL, "", _counts([r for rs in by_label.values() for r in rs])))
    rows.append((CARRY_NEXT, "", _counts(pending)))

    in_year = [c for c in cases if first <= c.filed_on <= last]
    recon = _case_counts([c for c in in_year if c.kind == "复议"], last)
    lit = {route: _case_counts([c for c in in_year if c.kind == "诉讼" and c.route == route],
                               last) for route in LITIGATION_ROUTES}

    channels: list[dict[str, Any]] = []
    interpretations = 0
    if output is not None:
        wechat_days = {p.published_at.astimezone(_zone(tz)).date() for p in pubs
                       if p.channel == "微信公众号"}
        for channel, responses, interp in output.by_channel:
            entry: dict[str, Any] = {"channel": channel, "条": responses + interp,
                                     "回应": responses, "政策解读": interp}
            if channel == "微信公众号":
                entry["期"] = len(wechat_days)
            channels.append(entry)
        interpretations = output.interpretations
    items = []
    for article, name, cols in PROACTIVE_ITEMS:
        given = extra.proactive.get(name, {})
        items.append({"item": article, "信息内容": name,
                      **{c: given.get(c, 0) for c in cols}})
    return Annual(
        year=year, office=extra.office or office, as_of=as_of, proactive_items=items,
        channels=channels, interpretations=interpretations, rows=rows,
        reconsideration=recon, litigation=lit,
        fees={"收费件数": sum(r.fee_yuan > 0 for r in answered),
              "收费金额（元）": sum(r.fee_yuan for r in answered)},
        late_replies=[r.number for r in answered
                      if r.answered_on is not None and r.answered_on > r.due_on],
        overdue_open=[r for r in pending if r.due_on < as_of],
        unlabelled=unlabelled, carried_over_declared=extra.carried_over_declared,
        narrative={k: extra.narrative.get(k, "") for k in NARRATIVE})


def _zone(tz: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


def run_checks(a: Annual) -> list[Check]:
    """Pure. Each check names the first row and column that fails."""
    checks: list[Check] = []
    results = [lab for lab, _ in result_rows()]

    def bad_columns(f: Any) -> list[str]:
        return [c for c in COLUMNS if not f(c)]

    # 一 + 二 = 三 + 四, per column.
    cols = bad_columns(lambda c: a.row(NEW)[c] + a.row(CARRIED)[c]
                       == a.row(TOTAL)[c] + a.row(CARRY_NEXT)[c])
    checks.append(Check("一 + 二 = 三 + 四", not cols, "每一列均相等" if not cols else
                        "、".join(f"{c}列：{a.row(NEW)[c]} + {a.row(CARRIED)[c]} ≠ "
                                 f"{a.row(TOTAL)[c]} + {a.row(CARRY_NEXT)[c]}" for c in cols)))
    # 总计 column = the applicant columns.
    wrong = [lab for lab, _, counts in a.rows
             if counts[TOTAL] != sum(counts[t] for t in APPLICANT_TYPES)]
    checks.append(Check("总计列等于各类申请人之和", not wrong,
                        "各行均相等" if not wrong else f"行「{wrong[0]}」：总计 "
                        f"{a.row(wrong[0])[TOTAL]} ≠ "
                        f"{sum(a.row(wrong[0])[t] for t in APPLICANT_TYPES)}"))
    # 三（七）总计 = the outcome rows.
    cols = bad_columns(lambda c: a.row(TOTAL)[c] == sum(a.row(r)[c] for r in results))
    checks.append(Check("办理结果总计等于各项之和", not cols,
                        "每一列均相等" if not cols else "、".join(
                            f"行「总计」{c}列：{a.row(TOTAL)[c]} ≠ "
                            f"{sum(a.row(r)[c] for r in results)}" for c in cols)))
    # 上年结转 = last year's published 结转下年度.
    if a.carried_over_declared is not None:
        got = a.row(CARRIED)[TOTAL]
        ok = got == a.carried_over_declared
        checks.append(Check("上年结转与上年度报告一致", ok,
                            f"{got} 件" if ok else f"行「{SECTION_LABELS[CARRIED]}」：登记簿 {got} "
                            f"件，上年度报告结转下年度 {a.carried_over_declared} 件"))
    # Every reply has an official outcome; nothing past its deadline without one.
    checks.append(Check("办理结果均为规定类别", not a.unlabelled,
                        "全部符合" if not a.unlabelled else "申请 " + "、".join(
                            f"{r.number}（{r.outcome or '无办理结果'}）" for r in a.unlabelled)))
    checks.append(Check("年末无逾期未办结申请", not a.overdue_open,
                        f"截至{a.as_of.isoformat()}无逾期" if not a.overdue_open else "申请 "
                        + "、".join(f"{r.number}（期限 {r.due_on.isoformat()}，无办理结果）"
                                   for r in a.overdue_open)))
    for name, counts in [("行政复议", a.reconsideration),
                         *((f"行政诉讼（{k}）", v) for k, v in a.litigation.items())]:
        parts = sum(v for k, v in counts.items() if k != TOTAL)
        checks.append(Check(f"{name}总计等于各项之和", counts[TOTAL] == parts,
                            "相等" if counts[TOTAL] == parts else
                            f"行「{name}」：总计 {counts[TOTAL]} ≠ {parts}"))
    a.checks = checks
    return checks


def refuse_unless_passed(a: Annual) -> None:
    failed = [c for c in a.checks if not c.passed]
    if failed:
        raise ReportChecksFailed(
            f"the {a.year} report does not pass its checks ({DOCUMENT}): "
            + "; ".join(f"{c.name} — {c.detail}" for c in failed)
            + ". Fix the register, or give --draft for a draft marked as such")


# ---------------------------------------------------------------- loading

def load_register(session: Session, year: int) -> tuple[list[RequestRow], list[CaseRow]]:
    """The requests that can count in `year` (received in it, or before it and not answered
    before it) and the cases filed in it. Bounded by the year, not by what is stored."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    reqs = session.scalars(select(DisclosureRequest).where(
        DisclosureRequest.received_on <= last,
        or_(DisclosureRequest.received_on >= first, DisclosureRequest.answered_on.is_(None),
            DisclosureRequest.answered_on >= first))).all()
    requests = [RequestRow(r.number, r.received_on, r.applicant_type, r.due_on, r.outcome,
                           r.answered_on, r.fee_yuan) for r in reqs]
    rows = session.execute(
        select(DisclosureCase, DisclosureRequest.number)
        .join(DisclosureRequest, DisclosureRequest.id == DisclosureCase.request_id)
        .where(DisclosureCase.filed_on >= first, DisclosureCase.filed_on <= last)).all()
    cases = [CaseRow(c.number, number, c.kind, c.route, c.filed_on, c.outcome, c.decided_on)
             for c, number in rows]
    return requests, cases


def parse_input(doc: Any, where: str) -> AnnualInput:
    if doc is None:
        return AnnualInput()
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected a mapping (proactive, carried_over, narrative)")
    unknown = set(doc) - {"proactive", "carried_over", "narrative", "office"}
    if unknown:
        raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    names = {name: cols for _, name, cols in PROACTIVE_ITEMS}
    proactive: dict[str, dict[str, float]] = {}
    for name, values in (doc.get("proactive") or {}).items():
        if name not in names or not isinstance(values, dict):
            raise InputError(f"{where}: proactive.{name} is not a 第二十条 row "
                             f"({'、'.join(names)})")
        for col, v in values.items():
            if col not in names[name] or not isinstance(v, int | float) or v < 0:
                raise InputError(f"{where}: proactive.{name}.{col} must be one of "
                                 f"{'、'.join(names[name])} with a number ≥ 0")
        proactive[name] = dict(values)
    carried = doc.get("carried_over")
    if carried is not None and (not isinstance(carried, int) or carried < 0):
        raise InputError(f"{where}: carried_over must be a whole number ≥ 0")
    narrative = doc.get("narrative") or {}
    if not isinstance(narrative, dict) or set(narrative) - set(NARRATIVE):
        raise InputError(f"{where}: narrative takes {'、'.join(NARRATIVE)}")
    return AnnualInput(proactive, carried, {k: str(v) for k, v in narrative.items()},
                       doc.get("office"))


# ---------------------------------------------------------------- rendering

def as_json(a: Annual) -> dict[str, Any]:
    return {
        "year": a.year,
        "office": a.office,
        "document": DOCUMENT,
        "proactive": {"第二十条": a.proactive_items, "channels": a.channels,
                      "政策解读": a.interpretations},
        "requests": {
            "columns": list(COLUMNS),
            "rows": [{"label": lab, **({"group": g} if g else {}), **counts}
                     for lab, g, counts in a.rows],
            "fees": a.fees,
            "late_replies": a.late_replies,
        },
        "reconsideration": a.reconsideration,
        "litigation": a.litigation,
        "narrative": {k: a.narrative[k] or TODO.format(k) for k in NARRATIVE},
        "checks": [{"name": c.name, "passed": c.passed, "detail": c.detail} for c in a.checks],
    }


def _overview(a: Annual) -> str:
    new, carried, total = a.row(NEW)[TOTAL], a.row(CARRIED)[TOTAL], a.row(TOTAL)[TOTAL]
    pubs = sum(c["条"] for c in a.channels)
    return (f"{a.year}年，本机关通过门户网站、政务新媒体等渠道发布回应和政策解读共{pubs}条次，"
            f"其中政策解读{a.interpretations}篇；新收政府信息公开申请{new}件，上年结转{carried}件，"
            f"办结{total}件，结转下年度{a.row(CARRY_NEXT)[TOTAL]}件。")


def _sections(a: Annual) -> list[tuple[str, list[str]]]:
    """The prose parts: (heading, paragraphs); 【待填写】 where the office writes."""
    n = a.narrative
    fee = a.fees
    other = [f"本年度收取信息处理费{fee['收费件数']}件，共{fee['收费金额（元）']}元。"
             if fee["收费件数"] else "本年度未收取信息处理费。"]
    if a.late_replies:
        other.append(f"超过法定期限答复{len(a.late_replies)}件（{'、'.join(a.late_replies)}）。")
    return [
        ("一、总体情况", [_overview(a), n["工作进展"] or TODO.format(
            "工作进展：主动公开、依申请公开、政府信息管理、平台建设、监督保障等情况")]),
        ("五、存在的主要问题及改进情况", [
            "（一）存在问题：" + (n["存在问题"] or TODO.format("存在问题")),
            "（二）改进措施：" + (n["改进措施"] or TODO.format("改进措施"))]),
        ("六、其他需要报告的事项", other),
    ]


def _title(a: Annual, draft: bool) -> str:
    return f"{a.office}{a.year}年政府信息公开工作年度报告" + ("（草稿）" if draft else "")


def _tables(a: Annual) -> list[tuple[str, list[str], list[list[Any]]]]:
    """Every official table as (caption, header, body rows), shared by HTML, DOCX and XLSX."""
    pro_header = ["第二十条", "信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]
    pro_body = []
    for item in a.proactive_items:
        cols = [c for c in item if c not in ("item", "信息内容")]
        if len(cols) == 3:
            pro_body.append([item["item"], item["信息内容"], *(item[c] for c in cols)])
        else:
            pro_body.append([item["item"], item["信息内容"], f"{cols[0]}：{item[cols[0]]}",
                             "", ""])
    chan_body = [[c["channel"], c.get("期", ""), c["条"], c["回应"], c["政策解读"]]
                 for c in a.channels] or [["（本年无发布记录）", "", 0, 0, 0]]
    req_header = ["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
                  "自然人", *ORG_TYPES, "总计"]
    req_body = []
    for lab, group, counts in a.rows:
        shown = SECTION_LABELS.get(lab, lab)
        if group:
            shown = f"三、本年度办理结果 · （{group}）{lab}"
        elif lab in ("予以公开", "部分公开"):
            shown = f"三、本年度办理结果 · {lab}"
        elif lab == TOTAL:
            shown = "三、本年度办理结果 · 总计"
        req_body.append([shown, *(counts[c] for c in COLUMNS)])
    case_header = ["", *CASE_HEADINGS.values(), "总计"]
    case_body = [["行政复议", *a.reconsideration.values()]]
    case_body += [[f"行政诉讼 · {route}", *counts.values()]
                  for route, counts in a.litigation.items()]
    return [
        ("二、主动公开政府信息情况", pro_header, pro_body),
        ("二、主动公开政府信息情况 · 发布渠道（输出日志）",
         ["渠道", "期", "条", "其中回应", "其中政策解读"], chan_body),
        ("三、收到和处理政府信息公开申请情况", req_header, req_body),
        ("四、政府信息公开行政复议、行政诉讼情况", case_header, case_body),
    ]


def to_html(a: Annual, *, draft: bool = False) -> str:
    e = html.escape
    secs = _sections(a)
    out = ["<!doctype html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           f"<title>{e(_title(a, draft))}</title>",
           "<style>body{font-family:serif;max-width:60em;margin:2em auto}"
           "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #444;"
           "padding:.2em .5em}td.n{text-align:right}.todo{background:#ffe}"
           ".fail{color:#a00}</style></head><body>",
           f"<h1>{e(_title(a, draft))}</h1>",
           f"<p>本报告依据《中华人民共和国政府信息公开条例》和《中华人民共和国政府信息公开工作年度"
           f"报告格式》（{DOCUMENT}）编制，统计期限自{a.year}年1月1日起至{a.year}年12月31日止。</p>"]

    def prose(paras: list[str]) -> None:
        for p in paras:
            cls = ' class="todo"' if "【待填写" in p else ""
            out.append(f"<p{cls}>{e(p)}</p>")

    def table(caption: str, header: list[str], body: list[list[Any]]) -> None:
        out.append(f"<h2>{e(caption)}</h2><table><tr>"
                   + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr>")
        for row in body:
            out.append("<tr>" + "".join(
                f'<td class="n">{v}</td>' if isinstance(v, int | float) else f"<td>{e(str(v))}</td>"
                for v in row) + "</tr>")
        out.append("</table>")

    out.append(f"<h2>{e(secs[0][0])}</h2>")
    prose(secs[0][1])
    for caption, header, body in _tables(a):
        table(caption, header, body)
    for heading, paras in secs[1:]:
        out.append(f"<h2>{e(heading)}</h2>")
        prose(paras)
    out.append("<h2>数据检查</h2><ul>")
    for c in a.checks:
        mark = "通过" if c.passed else "未通过"
        cls = "" if c.passed else ' class="fail"'
        out.append(f"<li{cls}>{e(c.name)}：{mark}（{e(c.detail)}）</li>")
    out.append(f"</ul><p>{e(a.office)}</p></body></html>")
    return "\n".join(out) + "\n"


def to_docx(a: Annual, *, draft: bool = False) -> bytes:
    from docx import Document

    doc = Document()
    doc.add_heading(_title(a, draft), level=0)
    doc.add_paragraph(f"本报告依据《中华人民共和国政府信息公开条例》和《中华人民共和国政府信息"
                      f"公开工作年度报告格式》（{DOCUMENT}）编制，统计期限自{a.year}年1月1日起"
                      f"至{a.year}年12月31日止。")
    secs = _sections(a)
    doc.add_heading(secs[0][0], level=1)
    for p in secs[0][1]:
        doc.add_paragraph(p)
    for caption, header, body in _tables(a):
        doc.add_heading(caption, level=1)
        t = doc.add_table(rows=1, cols=len(header))
        t.style = "Table Grid"
        for cell, h in zip(t.rows[0].cells, header, strict=True):
            cell.text = str(h)
        for row in body:
            cells = t.add_row().cells
            for cell, v in zip(cells, row, strict=True):
                cell.text = str(v)
    for heading, paras in secs[1:]:
        doc.add_heading(heading, level=1)
        for p in paras:
            doc.add_paragraph(p)
    doc.add_heading("数据检查", level=1)
    for c in a.checks:
        doc.add_paragraph(f"{c.name}：{'通过' if c.passed else '未通过'}（{c.detail}）")
    doc.add_paragraph(a.office)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def to_xlsx(a: Annual, *, draft: bool = False) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active or wb.create_sheet()
    ws.title = "说明"
    ws.append([_title(a, draft)])
    ws.append([f"格式依据：{DOCUMENT}"])
    for heading, paras in _sections(a):
        ws.append([heading])
        for p in paras:
            ws.append([p])
    names = ["主动公开", "发布渠道", "依申请公开", "复议诉讼"]
    for name, (caption, header, body) in zip(names, _tables(a), strict=True):
        sheet = wb.create_sheet(name)
        sheet.append([caption])
        sheet.append(header)
        for row in body:
            sheet.append(row)
    checks = wb.create_sheet("数据检查")
    checks.append(["检查", "结果", "说明"])
    for c in a.checks:
        checks.append([c.name, "通过" if c.passed else "未通过", c.detail])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
