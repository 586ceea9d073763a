"""舆情处置专报: the after-action report of one event (issue 18).

`load_report` reads one event into a `Report` (plain data): the summary, the timeline of the
story (first post, each further source, the largest repost, the alert, the desk's actions and
approvals from the audit log, the office's own posts and published outputs, deletions
noticed), the hourly volume by sentiment, the sources and the accounts with the most reach,
回应效果 (responders.effect), each deadline and whether it was met, the evidence hashes, and
what was not watched during the event (monitor.coverage). The renderers turn it into HTML
(the desk's /events/{id}/report and `--format html`), DOCX (python-docx: the office edits
and files Word documents) and PDF (reportlab with a CJK TrueType font, `evidence.pdf_font`;
a font that is missing is a ConfigError naming the key, never a PDF of empty boxes).

A deadline is met when the office's first response — a published output or an own post —
came at or before its due time; not met when it came later or not at all once the time has
passed; pending otherwise. The response is the one 回应效果 measures: the first of either."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.coverage import gaps_between, summary_lines
from monitor.errors import ConfigError, InputError, NotFound
from monitor.event_store import seen_at
from monitor.models import Event, Item, ItemGone, Source
from monitor.office import OwnVoice
from monitor.settings import Settings
from responders.alerts import event_alert
from responders.charts_png import COLORS, font_path
from responders.effect import Effect, load_effect
from responders.models import AuditEntry, Output, Publication, Snapshot

TEMPLATES = Path(__file__).resolve().parent / "templates"
HOUR = timedelta(hours=1)
LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}
SECTIONS = ("一、事件概要", "二、事件时间线", "三、声量与情感走势", "四、信息来源与主要传播账号",
            "五、回应效果", "六、处置时限", "七、证据固定", "八、监测盲区")
ACTIONS = {"triage": "研判", "assign": "指派", "escalate": "升级", "close": "办结",
           "submit": "提交审核", "approve": "审核通过", "reject": "退回修改",
           "publish": "发布", "marked_deleted": "发现原帖已删除", "export": "导出移送材料包",
           "own_post": "记录本单位发声"}
MAX_HOURS = 24 * 14  # the chart's span: an event older than two weeks shows its first two


@dataclass(frozen=True)
class Row:
    at: datetime
    what: str


@dataclass(frozen=True)
class Account:
    name: str
    source: str
    reach: int
    note: str
    link: str | None


@dataclass(frozen=True)
class Deadline:
    name: str
    due_at: datetime
    state: str  # 已按时 | 超时 | 未到期 | 未回应（已超时）
    basis: str


@dataclass(frozen=True)
class EvidenceRow:
    item_id: int
    title: str
    kind: str
    url: str | None
    sha256: str | None
    fetched_at: datetime
    http_status: int | None
    deleted: str | None  # "已删除（12-01 16:00 发现，HTTP 404）"
    error: str | None
    media_type: str | None = None


@dataclass
class Report:
    event_id: int
    title: str
    generated_at: datetime
    tz: str
    summary: list[str] = field(default_factory=list)
    timeline: list[Row] = field(default_factory=list)
    hours: list[datetime] = field(default_factory=list)
    by_label: dict[str, list[int]] = field(default_factory=dict)
    sources: list[tuple[str, int, datetime]] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    effect: list[str] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)
    evidence: list[EvidenceRow] = field(default_factory=list)
    coverage: list[str] = field(default_factory=list)

    def local(self, dt: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return dt.astimezone(ZoneInfo(self.tz)).strftime(fmt) if dt is not None else "—"


def _reach(item: Item) -> int:
    return (item.reposts or 0) + (item.comments or 0) + (item.likes or 0)


def _title(item: Item) -> str:
    text = item.title or item.text
    return text if len(text) <= 60 else text[:60] + "…"


def _share(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.0f}%"


def effect_lines(eff: Effect | None, tz: str) -> list[str]:
    if eff is None:
        return ["本单位尚未回应（无已发布的回应或本单位发声），无法评估回应效果。"]
    kind = "发布回应" if eff.response_kind == "output" else "本单位发声"
    at = eff.first_response_at.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")
    b, a = eff.before, eff.after
    return [f"首次回应：{at}（{kind}）。",
            f"回应前 {b.hours} 小时：{b.items} 条，每小时 {b.rate:.1f} 条，负面占比 "
            f"{_share(b.negative_share)}。",
            f"回应后 {a.hours} 小时：{a.items} 条，每小时 {a.rate:.1f} 条，负面占比 "
            f"{_share(a.negative_share)}。"]


def deadline_state(due: datetime, responded: datetime | None, now: datetime) -> str:
    """Pure: whether a deadline was met by the first response (module docstring)."""
    if responded is not None and responded <= due:
        return "已按时"
    if responded is not None:
        return "超时"
    return "未回应（已超时）" if now > due else "未到期"


def _resolve(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    seen: set[int] = set()
    while event is not None and event.kind == "merged" and event.merged_into is not None:
        if event.id in seen:
            break
        seen.add(event.id)
        event = session.get(Event, event.merged_into)
    if event is None:
        raise NotFound(f"no event {event_id}")
    return event


def load_report(session: Session, event_id: int, *, own: OwnVoice, effect_hours: int,
                tz: str, now: datetime, min_gap: timedelta) -> Report:
    event = _resolve(session, event_id)
    items = sorted(session.scalars(select(Item).where(Item.event_id == event.id)
                                   .limit(20_000)).all(), key=lambda i: (seen_at(i), i.id))
    if not items:
        raise NotFound(f"event {event_id} has no items")
    names = {s.id: s.name for s in session.scalars(
        select(Source).where(Source.id.in_({i.source_id for i in items})))}
    first = items[0]
    report = Report(event.id, _title(first), now, tz)
    start, end = seen_at(first), max(seen_at(i) for i in items)
    alert = event_alert(session, event.id)
    negative = sum(1 for i in items if i.sentiment_label == "negative")
    scored = sum(1 for i in items if i.sentiment_label)
    report.summary = [
        f"事件编号 {event.id}：{report.title}",
        f"时间跨度：{report.local(start)} 至 {report.local(end)}；共 {len(items)} 条，"
        f"来自 {len(names)} 个信息源，总传播量（转评赞）{sum(_reach(i) for i in items)}。",
        f"情感：已评分 {scored} 条，其中负面 {negative} 条"
        f"（{_share(negative / scored if scored else None)}）。",
        f"话题：{'、'.join(str(t) for t in event.topics) or '—'}；"
        f"突发：{'是' if event.burst else '否'}"
        + (f"（{event.burst_reason}）" if event.burst and event.burst_reason else "") + "。",
    ]
    if alert is not None:
        report.summary.append(f"预警：#{alert.id}，{alert.priority}，当前状态 {alert.state}，"
                              f"首次发现 {report.local(alert.created_at)}。")

    # Timeline.
    rows = [Row(seen_at(first), f"首发：{names.get(first.source_id, '')}"
                f"{'·' + first.author if first.author else ''}《{_title(first)}》")]
    seen_sources = {first.source_id}
    for item in items[1:]:
        if item.source_id not in seen_sources:
            seen_sources.add(item.source_id)
            rows.append(Row(seen_at(item), f"扩散至 {names.get(item.source_id, '')}："
                            f"《{_title(item)}》"))
    own_ids: set[int] = set()
    for item in items:
        if own.is_own(names.get(item.source_id, ""), item.author):
            own_ids.add(item.id)
            rows.append(Row(seen_at(item), f"本单位发声：{names.get(item.source_id, '')}"
                            f"《{_title(item)}》"))
    top = max(items, key=_reach)
    if _reach(top) > 0 and top.id != first.id:
        rows.append(Row(seen_at(top), f"传播量最大：{top.author or names.get(top.source_id, '')}"
                        f"（转评赞 {_reach(top)}）"))
    responded: list[datetime] = [seen_at(i) for i in items if i.id in own_ids]
    if alert is not None:
        rows.append(Row(alert.created_at, f"系统预警 #{alert.id}（{alert.priority}）"))
        for entry in session.scalars(select(AuditEntry).where(AuditEntry.alert_id == alert.id)
                                     .order_by(AuditEntry.at, AuditEntry.id).limit(500)):
            word = ACTIONS.get(entry.action, entry.action)
            who = entry.actor.split(":", 1)[-1]
            state = f"（{entry.from_state}→{entry.to_state}）" if entry.to_state else ""
            rows.append(Row(entry.at, f"{word}{state}：{who}"))
        pubs = session.execute(
            select(Publication.published_at, Publication.channel, Output.title, Output.kind)
            .join(Output, Output.id == Publication.output_id)
            .where(Output.alert_id == alert.id, Output.own_item_id.is_(None))).all()
        for at, channel, title, kind in pubs:
            rows.append(Row(at, f"发布{'政策解读' if kind == 'interpretation' else '回应'}"
                            f"（{channel}）：《{title}》"))
            responded.append(at)
    gone = {g.item_id: g for g in session.scalars(
        select(ItemGone).where(ItemGone.item_id.in_([i.id for i in items])))}
    for item_id, g in gone.items():
        rows.append(Row(g.noticed_at, f"发现原帖已删除（条目 {item_id}，{g.reason}）"))
    report.timeline = sorted(rows, key=lambda r: r.at)

    # Hourly volume by sentiment.
    zone = ZoneInfo(tz)
    h0 = start.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    n = min(int((end - h0) / HOUR) + 1, MAX_HOURS)
    report.hours = [h0 + k * HOUR for k in range(n)]
    report.by_label = {k: [0] * n for k in LABELS}
    for item in items:
        if item.id in own_ids:
            continue
        k = int((seen_at(item) - h0) / HOUR)
        if 0 <= k < n:
            report.by_label.get(item.sentiment_label or "neutral",
                                report.by_label["neutral"])[k] += 1

    # Sources and accounts.
    counts = Counter(i.source_id for i in items)
    firsts: dict[int, datetime] = {}
    for item in items:
        firsts.setdefault(item.source_id, seen_at(item))
    report.sources = sorted(((names.get(s, str(s)), c, firsts[s]) for s, c in counts.items()),
                            key=lambda r: (-r[1], r[2]))
    accounts = [Account(first.author or names.get(first.source_id, ""),
                        names.get(first.source_id, ""), _reach(first), "首发", first.link)]
    for item in sorted(items, key=lambda i: -_reach(i))[:5]:
        if item.id == first.id or _reach(item) == 0:
            continue
        accounts.append(Account(item.author or names.get(item.source_id, ""),
                                names.get(item.source_id, ""), _reach(item), "转评赞居前",
                                item.link))
    report.accounts = accounts

    report.effect = effect_lines(load_effect(session, event.id, own, hours=effect_hours,
                                             now=now), tz)
    first_response = min(responded) if responded else None
    if alert is not None:
        for m in alert.milestones:
            due = datetime.fromisoformat(str(m["due_at"]))
            report.deadlines.append(Deadline(str(m.get("name", m.get("key", ""))), due,
                                             deadline_state(due, first_response, now),
                                             str(m.get("basis", ""))))

    # Evidence.
    if alert is not None:
        snaps = session.scalars(select(Snapshot).where(Snapshot.alert_id == alert.id)
                                .order_by(Snapshot.item_id, Snapshot.kind)).all()
        by_id = {i.id: i for i in items}
        for s in snaps:
            kept = by_id.get(s.item_id)
            mark = gone.get(s.item_id)
            deleted = (f"已删除（{report.local(mark.noticed_at, '%m-%d %H:%M')} 发现，"
                       f"{mark.reason}）" if mark is not None else None)
            report.evidence.append(EvidenceRow(
                s.item_id, _title(kept) if kept else f"条目 {s.item_id}", s.kind, s.url,
                s.sha256, s.fetched_at, s.http_status, deleted, s.error, s.media_type))

    # What was not watched while the story ran (from its first post to now or its end).
    spans = gaps_between(session, start, max(end, now) if alert else end, now=now,
                         min_gap=min_gap)
    report.coverage = summary_lines(spans, tz)
    return report


def report_for(session: Session, settings: Settings, event_id: int, now: datetime) -> Report:
    """load_report with the settings' own accounts, 回应效果 window, zone and blip size."""
    return load_report(session, event_id, own=OwnVoice.from_section(settings.office_voice),
                       effect_hours=settings.office_voice.effect_hours, tz=settings.timezone,
                       now=now, min_gap=timedelta(
                           minutes=settings.evidence.coverage_min_gap_minutes))


def render(report: Report, fmt: str, settings: Settings) -> bytes:
    """The report as `fmt` (html | docx | pdf)."""
    if fmt == "html":
        return to_html(report).encode("utf-8")
    if fmt == "docx":
        return to_docx(report)
    if fmt == "pdf":
        return to_pdf(report, font_file=settings.evidence.pdf_font)
    raise InputError(f"unknown report format {fmt!r}: html, docx or pdf")


# -- the chart -------------------------------------------------------------------------


def hourly_png(report: Report, width: int = 720, height: int = 260) -> bytes:
    """Items per hour stacked by sentiment: the report's chart, as a PNG for DOCX and PDF."""
    scale = 2
    img = Image.new("RGB", (width * scale, height * scale), "white")
    draw = ImageDraw.Draw(img)
    path = font_path()
    font: Any = (ImageFont.truetype(path, 11 * scale) if path
                 else ImageFont.load_default(11 * scale))
    left, right, top, bottom = 40, 10, 14, 50
    pw, ph = width - left - right, height - top - bottom
    n = max(len(report.hours), 1)
    totals = [sum(report.by_label[k][i] for k in LABELS) for i in range(len(report.hours))]
    peak = max([*totals, 1])
    step = pw / n
    for frac in (0.0, 0.5, 1.0):
        y = top + ph * (1 - frac)
        draw.line([(left * scale, y * scale), ((left + pw) * scale, y * scale)], fill="#dddddd")
        draw.text(((left - 4) * scale, y * scale), str(round(peak * frac)), font=font,
                  fill="#666666", anchor="rm")
    for i, hour in enumerate(report.hours):
        x0, x1 = left + i * step + step * 0.15, left + (i + 1) * step - step * 0.15
        base = float(top + ph)
        for key in ("negative", "neutral", "positive"):
            h = ph * report.by_label[key][i] / peak
            if h > 0:
                draw.rectangle((x0 * scale, (base - h) * scale, x1 * scale, base * scale),
                               fill=COLORS[key])
            base -= h
        if n <= 24 or i % max(n // 12, 1) == 0:
            draw.text(((x0 + x1) / 2 * scale, (top + ph + 4) * scale),
                      report.local(hour, "%H时"), font=font, fill="#666666", anchor="ma")
    lx = float(left)
    for key, word in LABELS.items():
        draw.rectangle((lx * scale, (height - 18) * scale, (lx + 10) * scale,
                        (height - 8) * scale), fill=COLORS[key])
        draw.text(((lx + 14) * scale, (height - 13) * scale), word, font=font, fill="#333333",
                  anchor="lm")
        lx += 60
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


# -- renderers -------------------------------------------------------------------------


def _tables(r: Report) -> dict[str, Any]:
    """Every section as headings, lines and tables: one shape the three renderers share."""
    return {
        "sources": (["信息源", "条数", "首次出现"],
                    [[name, str(c), r.local(at)] for name, c, at in r.sources]),
        "accounts": (["账号", "信息源", "转评赞", "说明"],
                     [[a.name, a.source, str(a.reach), a.note] for a in r.accounts]),
        "deadlines": (["时限", "到期时间", "是否按时", "依据"],
                      [[d.name, r.local(d.due_at), d.state, d.basis] for d in r.deadlines]),
        "evidence": (["条目", "类型", "抓取时间", "HTTP", "SHA-256", "状态"],
                     [[e.title, "原始数据" if e.kind == "raw" else "网页快照",
                       r.local(e.fetched_at), str(e.http_status or "—"),
                       e.sha256 or f"未能抓取：{e.error or ''}", e.deleted or "在线"]
                      for e in r.evidence]),
        "timeline": (["时间", "事项"], [[r.local(t.at), t.what] for t in r.timeline]),
        "volume": (["小时", *LABELS.values()],
                   [[r.local(h, "%m-%d %H时"), *(str(r.by_label[k][i]) for k in LABELS)]
                    for i, h in enumerate(r.hours) if any(r.by_label[k][i] for k in LABELS)]),
    }


def to_html(r: Report, *, standalone: bool = True) -> str:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html"]))
    return env.get_template("event_report.html").render(
        r=r, t=_tables(r), sections=SECTIONS, standalone=standalone)


def to_docx(r: Report) -> bytes:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "宋体"
    style.font.size = Pt(10.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    doc.add_heading(f"舆情处置专报：{r.title}", level=0)
    doc.add_paragraph(f"生成时间：{r.local(r.generated_at)}")
    t = _tables(r)

    def table(key: str) -> None:
        head, rows = t[key]
        if not rows:
            doc.add_paragraph("（无）")
            return
        tab = doc.add_table(rows=1, cols=len(head))
        tab.style = "Table Grid"
        for cell, text in zip(tab.rows[0].cells, head, strict=True):
            cell.text = text
        for row in rows:
            cells = tab.add_row().cells
            for cell, text in zip(cells, row, strict=True):
                cell.text = text

    doc.add_heading(SECTIONS[0], level=1)
    for line in r.summary:
        doc.add_paragraph(line)
    doc.add_heading(SECTIONS[1], level=1)
    table("timeline")
    doc.add_heading(SECTIONS[2], level=1)
    doc.add_picture(io.BytesIO(hourly_png(r)), width=Cm(16))
    table("volume")
    doc.add_heading(SECTIONS[3], level=1)
    table("sources")
    doc.add_paragraph("主要传播账号：")
    table("accounts")
    doc.add_heading(SECTIONS[4], level=1)
    for line in r.effect:
        doc.add_paragraph(line)
    doc.add_heading(SECTIONS[5], level=1)
    table("deadlines")
    doc.add_heading(SECTIONS[6], level=1)
    table("evidence")
    doc.add_heading(SECTIONS[7], level=1)
    for line in r.coverage:
        doc.add_paragraph(line)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _pdf_font(path: str) -> str:
    """Register the CJK font once; a missing or unreadable one is a ConfigError."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    name = "YuqingCJK"
    # The file is checked before the process-wide registration is reused: a font removed or
    # a setting changed after the first PDF is still refused, whatever rendered before.
    if not path or not Path(path).is_file():
        raise ConfigError(
            f"evidence.pdf_font: no font file at {path or '(empty)'}; the PDF 专报 needs a "
            "TrueType font with Chinese glyphs (Debian: apt-get install fonts-wqy-microhei, "
            "then /usr/share/fonts/truetype/wqy/wqy-microhei.ttc)")
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    try:
        font = TTFont(name, path, subfontIndex=0) if path.lower().endswith(".ttc") \
            else TTFont(name, path)
    except (TTFError, OSError) as exc:
        raise ConfigError(f"evidence.pdf_font: {path} cannot be used: {exc}") from exc
    pdfmetrics.registerFont(font)
    return name


def to_pdf(r: Report, *, font_file: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image as PdfImage
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _pdf_font(font_file)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=11)
    h0 = ParagraphStyle("h0", parent=body, fontSize=16, leading=24, spaceAfter=8)
    h1 = ParagraphStyle("h1", parent=body, fontSize=12.5, leading=20, spaceBefore=10,
                        spaceAfter=4)

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    t = _tables(r)
    flow: list[Any] = [Paragraph(esc(f"舆情处置专报：{r.title}"), h0),
                       Paragraph(esc(f"生成时间：{r.local(r.generated_at)}"), body)]

    def table(key: str) -> None:
        head, rows = t[key]
        if not rows:
            flow.append(Paragraph("（无）", body))
            return
        data = [[Paragraph(esc(c), small) for c in row] for row in [head, *rows]]
        tab = Table(data, repeatRows=1)
        tab.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                                 ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        flow.append(tab)

    def lines(items: Sequence[str]) -> None:
        flow.extend(Paragraph(esc(x), body) for x in items)

    flow.append(Paragraph(SECTIONS[0], h1))
    lines(r.summary)
    flow.append(Paragraph(SECTIONS[1], h1))
    table("timeline")
    flow.append(Paragraph(SECTIONS[2], h1))
    png = hourly_png(r)
    w, h = ImageReader(io.BytesIO(png)).getSize()
    flow.append(PdfImage(io.BytesIO(png), width=16 * cm, height=16 * cm * h / w))
    flow.append(Spacer(1, 4))
    table("volume")
    flow.append(Paragraph(SECTIONS[3], h1))
    table("sources")
    flow.append(Paragraph("主要传播账号：", body))
    table("accounts")
    flow.append(Paragraph(SECTIONS[4], h1))
    lines(r.effect)
    flow.append(Paragraph(SECTIONS[5], h1))
    table("deadlines")
    flow.append(Paragraph(SECTIONS[6], h1))
    table("evidence")
    flow.append(Paragraph(SECTIONS[7], h1))
    lines(r.coverage)
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title=f"舆情处置专报：{r.title}",
                      leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm,
                      bottomMargin=2 * cm).build(flow)
    return buf.getvalue()
