"""Periodic reports from the output log: the figures of the yearly government-information-
disclosure report (政府信息公开工作年度报告) that concern responses and interpretations, and a
monthly variant for the office's own use.

The sections follow the office's published report (e.g. its 2017 report): 主动公开 (what was
published, per channel), 政策解读, 回应社会关切, 留言办理 (message-board replies and whether
they met the time limit). Only figures yuqing records are produced; the prose around them stays
the office's.

`load_period` reads plain records; `build_report` (pure) counts; `to_markdown` / `as_json`
render.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, cast, func, select
from sqlalchemy.orm import Session

from monitor.errors import InputError
from monitor.models import Event, Item, Source
from responders.models import CHANNELS, Alert, Output, Publication

PRIORITIES = ("P1", "P2", "P3")


@dataclass(frozen=True)
class Period:
    start: date          # first day
    end: date            # the day after the last
    label: str           # 2026年 | 2026年11月
    kind: str            # annual | monthly

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        zone = ZoneInfo(tz)
        return (datetime(self.start.year, self.start.month, self.start.day, tzinfo=zone),
                datetime(self.end.year, self.end.month, self.end.day, tzinfo=zone))

    @property
    def last_day(self) -> date:
        return date.fromordinal(self.end.toordinal() - 1)


def year_period(year: int) -> Period:
    if not 2000 <= year <= 2999:
        raise InputError(f"year {year} is out of range: give a year such as 2026")
    return Period(date(year, 1, 1), date(year + 1, 1, 1), f"{year}年", "annual")


def month_period(text: str) -> Period:
    """'2026-11' → that month; InputError with a sentence otherwise."""
    m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InputError(f"malformed month {text!r}: give a month such as 2026-11")
    year, month = int(m.group(1)), int(m.group(2))
    year_period(year)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return Period(date(year, month, 1), end, f"{year}年{month}月", "monthly")


@dataclass(frozen=True)
class PubRow:
    output_id: int
    kind: str            # 回应 | 政策解读
    channel: str
    published_at: datetime


@dataclass(frozen=True)
class AlertRow:
    id: int
    priority: str
    state: str
    topics: tuple[str, ...]
    created_at: datetime
    due_at: datetime
    board: bool                          # a citizen's message on a message board
    first_response_at: datetime | None   # earliest publication of one of its outputs


@dataclass(frozen=True)
class AlertGroup:
    """Alerts of a period alike in everything the report counts, and how many they are: a
    year's 150,000 alerts come out of the database as a few hundred of these."""
    priority: str
    state: str
    topics: tuple[str, ...]
    board: bool
    answered: bool       # one of its outputs was published
    on_time: bool        # … first by its deadline
    n: int


def group_rows(alerts: Iterable[AlertRow]) -> list[AlertGroup]:
    """One group per row: the same counting for rows read one by one as for groups counted
    in SQL."""
    return [AlertGroup(a.priority, a.state, a.topics, a.board, a.first_response_at is not None,
                       a.first_response_at is not None and a.first_response_at <= a.due_at, 1)
            for a in alerts]


@dataclass(frozen=True)
class Report:
    period: Period
    office: str
    by_channel: list[tuple[str, int, int]]   # channel, 回应 rows, 政策解读 rows
    responses: int                           # distinct 回应 outputs published
    interpretations: int                     # distinct 政策解读 outputs published
    alerts: int
    alerts_responded: int
    alerts_dismissed: int
    alerts_on_time: int
    alerts_due: int
    by_topic: list[tuple[str, dict[str, int]]]  # topic name → priority → count
    messages: int
    messages_replied: int
    messages_on_time: int
    messages_late: int
    messages_pending: int

    @property
    def publications(self) -> int:
        return sum(r + i for _, r, i in self.by_channel)


def _channel_order(name: str) -> tuple[int, str]:
    return (CHANNELS.index(name) if name in CHANNELS else len(CHANNELS), name)


def build_report(period: Period, pubs: list[PubRow],
                 alerts: list[AlertRow] | list[AlertGroup], *,
                 tz: str = "Asia/Shanghai", topic_names: dict[str, str] | None = None,
                 office: str = "河南省司法厅") -> Report:
    """Pure. Publications count in the period they were published; alerts in the period they
    were raised (a December alert answered in January is December's alert, answered). Alerts
    come as rows (filtered here by the period) or as groups already cut to it in SQL."""
    names = topic_names or {}
    start, end = period.bounds(tz)
    pubs = [p for p in pubs if start <= p.published_at < end]
    groups = group_rows(a for a in alerts if isinstance(a, AlertRow)
                        and start <= a.created_at < end)
    groups += [g for g in alerts if isinstance(g, AlertGroup)]
    table: dict[str, list[int]] = {}
    for p in pubs:
        table.setdefault(p.channel, [0, 0])[p.kind == "政策解读"] += 1
    by_channel = [(c, r, i) for c, (r, i) in sorted(table.items(),
                                                     key=lambda x: _channel_order(x[0]))]
    kinds = {p.output_id: p.kind for p in pubs}
    topics: dict[str, Counter[str]] = {}
    for g in groups:
        for t in g.topics or ("_none",):
            topics.setdefault(names.get(t, "未归类" if t == "_none" else t),
                              Counter())[g.priority] += g.n
    by_topic = sorted(((t, {p: c.get(p, 0) for p in PRIORITIES}) for t, c in topics.items()),
                      key=lambda x: (-sum(x[1].values()), x[0]))

    answerable = [g for g in groups if g.state != "dismissed"]
    messages = [g for g in groups if g.board]
    replied = sum(g.n for g in messages if g.answered)
    on_time = sum(g.n for g in messages if g.answered and g.on_time)
    return Report(
        period=period, office=office, by_channel=by_channel,
        responses=sum(k != "政策解读" for k in kinds.values()),
        interpretations=sum(k == "政策解读" for k in kinds.values()),
        alerts=sum(g.n for g in groups),
        alerts_responded=sum(g.n for g in groups if g.state == "responded"),
        alerts_dismissed=sum(g.n for g in groups if g.state == "dismissed"),
        alerts_on_time=sum(g.n for g in answerable if g.answered and g.on_time),
        alerts_due=sum(g.n for g in answerable), by_topic=by_topic,
        messages=sum(g.n for g in messages),
        messages_replied=replied, messages_on_time=on_time,
        messages_late=replied - on_time,
        messages_pending=sum(g.n for g in messages if not g.answered and g.state != "dismissed"),
    )


def load_period(session: Session, period: Period, tz: str) -> tuple[list[PubRow],
                                                                     list[AlertGroup]]:
    start, end = period.bounds(tz)
    pubs = [PubRow(oid, kind, channel, at) for oid, kind, channel, at in session.execute(
        select(Output.id, Output.kind, Publication.channel, Publication.published_at)
        .join(Publication, Publication.output_id == Output.id)
        .where(Publication.published_at >= start, Publication.published_at < end)).all()]
    # The alerts are counted in SQL along ix_alerts_created_at, each alert's first publication
    # joined in: reading a year's alerts as rows (150,000, their topics JSON decoded one by
    # one) took seconds; the groups alike in everything the report counts are a few hundred.
    first_pub = (select(Output.alert_id.label("alert_id"),
                        func.min(Publication.published_at).label("at"))
                 .join(Publication, Publication.output_id == Output.id)
                 .where(Output.alert_id.is_not(None)).group_by(Output.alert_id).subquery())
    board = case((Source.kind == "board", True), (Event.kind == "message", True), else_=False)
    answered = case((first_pub.c.at.is_not(None), True), else_=False)
    on_time = case((and_(first_pub.c.at.is_not(None), first_pub.c.at <= Alert.due_at), True),
                   else_=False)
    topics = cast(Alert.topics, String)
    rows = session.execute(
        select(Alert.priority, Alert.state, topics, board, answered, on_time, func.count())
        .join(Item, Item.id == Alert.item_id).join(Source, Source.id == Item.source_id)
        .outerjoin(Event, Event.id == Item.event_id)
        .outerjoin(first_pub, first_pub.c.alert_id == Alert.id)
        .where(Alert.created_at >= start, Alert.created_at < end)
        .group_by(Alert.priority, Alert.state, topics, board, answered, on_time)).all()
    return pubs, [AlertGroup(priority, state, topics_of_text(text), bool(is_board),
                             bool(is_answered), bool(is_on_time), n)
                  for priority, state, text, is_board, is_answered, is_on_time, n in rows]


@lru_cache(maxsize=4096)
def topics_of_text(text: str | None) -> tuple[str, ...]:
    """Topics from their JSON text ('["legal_aid"]'); NULL or garbage as none. Read as text
    and decoded once per distinct value: a fortnight's 40,000 items carry a few hundred
    distinct topic lists, and decoding each row's JSON was a third of the digest's time."""
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return ()
    return tuple(str(t) for t in value) if isinstance(value, list) else ()


def _share(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}%" if whole else "—"


def as_json(r: Report) -> dict[str, Any]:
    return {
        "period": {"kind": r.period.kind, "label": r.period.label,
                   "first_day": r.period.start.isoformat(),
                   "last_day": r.period.last_day.isoformat()},
        "office": r.office,
        "publications": {"total": r.publications, "by_channel": [
            {"channel": c, "回应": n, "政策解读": i} for c, n, i in r.by_channel]},
        "responses": r.responses,
        "interpretations": r.interpretations,
        "alerts": {"total": r.alerts, "responded": r.alerts_responded,
                   "dismissed": r.alerts_dismissed, "answerable": r.alerts_due,
                   "answered_within_deadline": r.alerts_on_time,
                   "by_topic": [{"topic": t, **p} for t, p in r.by_topic]},
        "messages": {"received": r.messages, "replied": r.messages_replied,
                     "within_time_limit": r.messages_on_time, "late": r.messages_late,
                     "pending": r.messages_pending},
    }


def to_markdown(r: Report) -> str:
    p = r.period
    title = ("政府信息公开工作年度报告" if p.kind == "annual" else "舆情回应工作月报")
    first, last = p.start, p.last_day
    out = [
        f"# {r.office}{p.label}{title}（舆情回应与政策解读部分）",
        "",
        f"统计期限自{first.year}年{first.month}月{first.day}日起至{last.year}年{last.month}月"
        f"{last.day}日止。数据取自 yuqing 舆情回应工作台的发布记录（输出日志）与预警记录。",
        "",
        "## 一、主动公开政府信息情况（回应与政策解读的发布）",
        "",
        f"{p.label}，通过各渠道发布回应和政策解读共 {r.publications} 条次"
        f"（回应 {r.responses} 篇，政策解读 {r.interpretations} 篇，"
        "一篇在多个渠道发布时每个渠道各计一次）。",
        "",
        "| 渠道 | 回应 | 政策解读 | 合计 |",
        "|---|---:|---:|---:|",
    ]
    out += [f"| {c} | {n} | {i} | {n + i} |" for c, n, i in r.by_channel]
    total_r = sum(n for _, n, _ in r.by_channel)
    total_i = sum(i for _, _, i in r.by_channel)
    out += [f"| 合计 | {total_r} | {total_i} | {total_r + total_i} |", ""]
    interp = [(c, i) for c, _, i in r.by_channel if i]
    out += ["## 二、政策解读", ""]
    if interp:
        out.append(f"{p.label}，发布政策解读 {r.interpretations} 篇，其中"
                   + "，".join(f"通过{c}解读 {i} 次" for c, i in interp) + "。")
    else:
        out.append(f"{p.label}，未发布政策解读。")
    out += ["", "## 三、回应社会关切", "",
            f"{p.label}，舆情监测共产生预警 {r.alerts} 条，已回应 {r.alerts_responded} 条，"
            f"经研判无需回应 {r.alerts_dismissed} 条；需回应的 {r.alerts_due} 条中，"
            f"在回应时限内回应 {r.alerts_on_time} 条（{_share(r.alerts_on_time, r.alerts_due)}）。"
            f"发布回应 {r.responses} 篇。", "",
            "| 话题 | P1 重大 | P2 较大 | P3 一般 | 合计 |", "|---|---:|---:|---:|---:|"]
    for t, counts in r.by_topic:
        out.append(f"| {t} | {counts['P1']} | {counts['P2']} | {counts['P3']} | "
                   f"{sum(counts.values())} |")
    if not r.by_topic:
        out.append("| （无） | 0 | 0 | 0 | 0 |")
    out += ["", "## 四、留言办理", "",
            f"{p.label}，收到留言板网友留言 {r.messages} 条，已回复 {r.messages_replied} 条，"
            f"其中在规定时限内回复 {r.messages_on_time} 条，超过时限回复 {r.messages_late} 条，"
            f"尚未回复 {r.messages_pending} 条。", ""]
    return "\n".join(out)
