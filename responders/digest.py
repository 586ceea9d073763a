"""The weekly sentiment digest (舆情周报): figures for one ISO week, in Asia/Shanghai.

Three layers, so the figures can be tested without a database or a mail server:

- `load_week` reads plain records (ItemGroup, AlertRec, PubRec) for the week and the one
  before, the items counted by the database;
- `build_digest` (pure: takes the week and the records, never the clock) computes the figures;
- `render_text`, `render_html` and `build_message` turn a Digest into words, charts and mail;
  `send_digest` delivers it at most once per (week, recipient) through responders.mail.

Definitions used in the figures (also in docs/digest.md):

- one clock for items and alerts (issue 16): an item counts on the local day it was first
  seen (fetched), as an alert counts in the week it was raised (first sight of its story), so
  a week's items and its new alerts are the same posts' figures, and a post published long
  before it was seen (a backfill) is counted once, in the week it reached the office;
- opened: alerts raised in the week; closed: alerts that became 已回应 or 无需回应 in the week;
- overdue: alerts still open at the end of the week whose first deadline (due_at) had passed;
  for a week still running, open now and past due now (never a deadline still to come);
- answered within the deadline: of the alerts whose first deadline fell in the week (dismissed
  ones aside), the share with a publication at or before that deadline.
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import String, func, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from monitor.coverage import gaps_between, summary_lines
from monitor.errors import InputError
from monitor.models import Event, Item, Source
from monitor.settings import Settings
from responders.admin_topics import topic_names
from responders.charts_png import compare_bars_png, trend_png
from responders.mail import Delivery, SmtpSettings, deliver_once
from responders.models import Alert, Output, Publication
from responders.queue import day_case
from responders.reports import topics_of_text
from responders.tone import tone_sql
from responders.workflow import OPEN_ALERT_STATES

TEMPLATES = Path(__file__).resolve().parent / "templates"
PRIORITY_RANK = {"P1": 0, "P2": 1, "P3": 2}
PRIORITY_NAMES = {"P1": "P1 重大", "P2": "P2 较大", "P3": "P3 一般"}
KIND_NAMES = {"news": "新闻网站", "government": "政府网站", "weibo": "微博", "wechat": "微信公众号",
              "board": "留言板", "push": "推送导入"}
LABEL_NAMES = {"negative": "负面", "neutral": "中性", "positive": "正面", "mean": "平均情感"}
STATE_NAMES = {"new": "待处理", "assigned": "已分派", "drafting": "起草中", "escalated": "已上报",
               "dismissed": "无需回应", "responded": "已回应"}
CLOSED_STATES = ("responded", "dismissed")
NO_TOPIC = "_none"
# A topic needs this many scored items in the week to be ranked by negative share: one angry
# post is not a "most negative topic".
MIN_TOPIC_ITEMS = 3
_WEEK_RE = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


# ---------------------------------------------------------------- weeks


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def bounds(self, tz: str) -> tuple[datetime, datetime]:
        """[start, end) of the week: local Monday 00:00 to the next Monday 00:00."""
        zone = ZoneInfo(tz)
        m = self.monday
        start = datetime(m.year, m.month, m.day, tzinfo=zone)
        n = m + timedelta(days=7)
        return start, datetime(n.year, n.month, n.day, tzinfo=zone)

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.monday - timedelta(days=7))

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)


def parse_week(text: str) -> IsoWeek:
    """'2026-W47' (or 2026W47, 2026-w47) → IsoWeek; InputError with a sentence otherwise."""
    m = _WEEK_RE.match(text or "")
    hint = "give an ISO week such as 2026-W47 (year, W, week number 1–53)"
    if not m:
        raise InputError(f"malformed week {text!r}: {hint}")
    year, week = int(m.group(1)), int(m.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InputError(f"week {text!r} does not exist: {year} has no week {week}; "
                         f"{hint}") from None
    return IsoWeek(year, week)


def last_complete_week(now: datetime, tz: str) -> IsoWeek:
    """The ISO week before the one `now` falls in, in the office's zone: on Monday 08:00 the
    digest is about Monday–Sunday just ended."""
    today = now.astimezone(ZoneInfo(tz)).date()
    return IsoWeek.of(today - timedelta(days=today.weekday() + 7))


# ---------------------------------------------------------------- records (plain data in)


@dataclass(frozen=True)
class ItemGroup:
    """Items alike in everything the digest counts: first seen on the same local day, from
    the same kind of source, with the same topics and label. `load_week` reads them so,
    counted by the database (a few hundred groups for two weeks' ~40,000 items, where reading
    the items as rows was most of a digest's time); `one` makes the group of a single item."""

    at: datetime                  # the items' first sight, or any moment of their local day
    source_kind: str
    topics: tuple[str, ...]
    label: str | None             # negative | neutral | positive | None (not scored)
    count: int
    score_sum: float = 0.0        # of the items' tones (responders.tone), the scored ones
    scored: int = 0               # how many of the items have a tone

    @classmethod
    def one(cls, at: datetime, source_kind: str, topics: tuple[str, ...], label: str | None,
            score: float | None) -> ItemGroup:
        return cls(at, source_kind, topics, label, 1,
                   0.0 if score is None else score, 0 if score is None else 1)


@dataclass(frozen=True)
class AlertRec:
    id: int
    priority: str
    state: str
    topics: tuple[str, ...]
    title: str
    link: str | None
    source_name: str
    created_at: datetime
    due_at: datetime
    state_changed_at: datetime | None
    reach: int = 0
    items: int = 1
    first_response_at: datetime | None = None   # earliest publication of one of its outputs


@dataclass(frozen=True)
class PubRec:
    published_at: datetime
    channel: str
    kind: str                     # 回应 | 政策解读
    title: str
    alert_id: int | None


@dataclass(frozen=True)
class WeekData:
    items: list[ItemGroup]        # this week and the week before
    alerts: list[AlertRec]
    publications: list[PubRec]    # this week


# ---------------------------------------------------------------- figures (pure)


@dataclass(frozen=True)
class CountRow:
    key: str
    name: str
    count: int
    previous: int

    @property
    def change(self) -> str:
        return change_text(self.count, self.previous)


@dataclass(frozen=True)
class TopicTone:
    key: str
    name: str
    items: int
    negative: int

    @property
    def share(self) -> float:
        return self.negative / self.items if self.items else 0.0


@dataclass(frozen=True)
class TopAlert:
    id: int
    priority: str
    priority_name: str
    title: str
    topics: str
    source_name: str
    reach: int
    items: int
    state_name: str
    url: str
    created_at: datetime


@dataclass(frozen=True)
class Digest:
    week: IsoWeek
    tz: str
    office: str
    desk_url: str
    total: int
    previous_total: int
    by_topic: list[CountRow]
    by_kind: list[CountRow]
    sentiment: dict[str, int]                  # label → count (scored items only)
    days: list[date]
    daily: dict[str, list[int]]                # label → count per day
    daily_mean: list[float | None]
    negative_topics: list[TopicTone]
    top_alerts: list[TopAlert]
    opened: int
    closed: int
    responded: int
    dismissed: int
    overdue: int
    due: int
    on_time: int
    by_channel: list[tuple[str, int, int]]     # channel, 回应, 政策解读
    responses: int
    interpretations: int
    opened_by_priority: dict[str, int] = field(default_factory=dict)
    # 监测盲区 of the week (monitor.coverage), one sentence each (issue 18).
    coverage: list[str] = field(default_factory=list)
    # When the digest was made, for a week still running: its open and overdue figures are
    # as of then, not the week's end; None for a week that has ended.
    as_of: datetime | None = None

    @property
    def change(self) -> str:
        return change_text(self.total, self.previous_total)

    @property
    def empty(self) -> bool:
        return not (self.total or self.opened or self.closed or self.overdue
                    or self.responses or self.interpretations)

    @property
    def scored(self) -> int:
        return sum(self.sentiment.values())

    def share(self, label: str) -> float:
        return self.sentiment.get(label, 0) / self.scored if self.scored else 0.0

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.due if self.due else None

    @property
    def period(self) -> str:
        first, last = self.days[0], self.days[-1]
        return f"{first.year}年{first.month}月{first.day}日至{last.month}月{last.day}日"

    @property
    def subject(self) -> str:
        return f"{self.office}舆情周报（{self.week.year}年第{self.week.week}周，{self.period}）"


def change_text(now: int, before: int) -> str:
    """'+25%', '-40%', '持平', or '新出现' when there was nothing the week before."""
    if before == 0:
        return "新出现" if now else "持平"
    pct = round((now - before) * 100 / before)
    return "持平" if pct == 0 else f"{pct:+d}%"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _in(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def build_digest(data: WeekData, week: IsoWeek, *, tz: str = "Asia/Shanghai",
                 topic_names: dict[str, str] | None = None, office: str = "河南省司法厅",
                 desk_url: str = "http://127.0.0.1:8000", top: int = 8,
                 now: datetime | None = None) -> Digest:
    """Pure: the week's figures from plain records. Records outside the week (and, for
    volumes, the week before) are ignored, so callers may pass a generous superset. `now`
    (when the digest is made) cuts a week still running: what is open or overdue is judged
    then, not at a week's end that has not come."""
    names = {NO_TOPIC: "未归类", **(topic_names or {})}
    zone = ZoneInfo(tz)
    start, end = week.bounds(tz)
    pstart, _ = week.previous().bounds(tz)
    this = [i for i in data.items if _in(i.at, start, end)]
    prev = [i for i in data.items if _in(i.at, pstart, start)]

    def topic_counts(groups: Iterable[ItemGroup]) -> Counter[str]:
        out: Counter[str] = Counter()
        for g in groups:
            for t in g.topics or (NO_TOPIC,):
                out[t] += g.count
        return out

    def kind_counts(groups: Iterable[ItemGroup]) -> Counter[str]:
        out: Counter[str] = Counter()
        for g in groups:
            out[g.source_kind] += g.count
        return out

    def rows(cur: Counter[str], old: Counter[str], label: Callable[[str], str]) -> list[CountRow]:
        keys = sorted(set(cur) | set(old), key=lambda k: (-cur[k], -old[k], k))
        return [CountRow(k, label(k), cur[k], old[k]) for k in keys]

    by_topic = rows(topic_counts(this), topic_counts(prev), lambda k: names.get(k, k))
    # Unclassified items last: they are context, not a topic to act on.
    by_topic = [r for r in by_topic if r.key != NO_TOPIC] + [r for r in by_topic
                                                             if r.key == NO_TOPIC]
    by_kind = rows(kind_counts(this), kind_counts(prev), lambda k: KIND_NAMES.get(k, k))

    sentiment: Counter[str] = Counter()
    days = week.days
    index = {d: n for n, d in enumerate(days)}
    daily = {k: [0] * 7 for k in ("negative", "neutral", "positive")}
    sums, counts = [0.0] * 7, [0] * 7
    for g in this:
        n = index[g.at.astimezone(zone).date()]
        if g.label in daily:
            daily[g.label][n] += g.count
            sentiment[g.label] += g.count
        sums[n] += g.score_sum
        counts[n] += g.scored
    daily_mean = [sums[n] / counts[n] if counts[n] else None for n in range(7)]

    tone: dict[str, list[int]] = {}
    for g in this:
        if g.label is None:
            continue
        for t in g.topics:
            pair = tone.setdefault(t, [0, 0])
            pair[0] += g.count
            pair[1] += g.count if g.label == "negative" else 0
    negative_topics = sorted(
        (TopicTone(t, names.get(t, t), n, neg) for t, (n, neg) in tone.items()
         if n >= MIN_TOPIC_ITEMS and neg),
        key=lambda x: (-x.share, -x.negative, x.key))[:5]

    raised = [a for a in data.alerts if _in(a.created_at, start, end)]
    ranked = sorted(raised, key=lambda a: (PRIORITY_RANK.get(a.priority, 9), -a.reach,
                                           -a.items, a.created_at, a.id))
    base = desk_url.rstrip("/")
    top_alerts = [TopAlert(a.id, a.priority, PRIORITY_NAMES.get(a.priority, a.priority),
                           a.title, "、".join(names.get(t, t) for t in a.topics) or "—",
                           a.source_name, a.reach, a.items, STATE_NAMES.get(a.state, a.state),
                           f"{base}/alerts/{a.id}", a.created_at)
                  for a in ranked[:top]]

    closed = [a for a in data.alerts
              if a.state in CLOSED_STATES and _in(a.state_changed_at, start, end)]

    cutoff = end if now is None else min(end, now)

    def open_at_end(a: AlertRec) -> bool:
        if a.created_at >= cutoff:
            return False
        if a.state in OPEN_ALERT_STATES:
            return True
        # Closed since: it was still open at the end of the week if it closed afterwards.
        return a.state_changed_at is None or a.state_changed_at >= cutoff

    overdue = [a for a in data.alerts if open_at_end(a) and a.due_at < cutoff]
    due = [a for a in data.alerts if _in(a.due_at, start, end) and a.state != "dismissed"]
    on_time = [a for a in due if a.first_response_at is not None
               and a.first_response_at <= a.due_at]

    pubs = [p for p in data.publications if _in(p.published_at, start, end)]
    channels: dict[str, list[int]] = {}
    for p in pubs:
        pair = channels.setdefault(p.channel, [0, 0])
        pair[0 if p.kind != "政策解读" else 1] += 1
    by_channel = sorted(((c, r, i) for c, (r, i) in channels.items()),
                        key=lambda x: (-(x[1] + x[2]), x[0]))

    return Digest(
        week=week, tz=tz, office=office, desk_url=base, total=sum(g.count for g in this),
        previous_total=sum(g.count for g in prev), by_topic=by_topic, by_kind=by_kind,
        sentiment={k: sentiment.get(k, 0) for k in ("negative", "neutral", "positive")},
        days=days, daily=daily, daily_mean=daily_mean, negative_topics=negative_topics,
        top_alerts=top_alerts, opened=len(raised), closed=len(closed),
        responded=sum(a.state == "responded" for a in closed),
        dismissed=sum(a.state == "dismissed" for a in closed), overdue=len(overdue),
        due=len(due), on_time=len(on_time), by_channel=by_channel,
        responses=sum(p.kind != "政策解读" for p in pubs),
        interpretations=sum(p.kind == "政策解读" for p in pubs),
        opened_by_priority=dict(Counter(a.priority for a in raised)),
        as_of=cutoff if cutoff < end else None,
    )


# ---------------------------------------------------------------- reading the database


def load_week(session: Session, week: IsoWeek, tz: str) -> WeekData:
    """Records for `week` and the week before (items), and the alerts and publications that
    can touch the week's figures."""
    start, end = week.bounds(tz)
    pstart, _ = week.previous().bounds(tz)
    # First sight decides the day (the alerts' clock too): one range on ix_items_fetched_at,
    # counted by the database per local day (a CASE over the fourteen days' bounds, the same
    # SQL on SQLite and PostgreSQL, whatever the zone), kind, topics (as stored: the text of
    # the list, decoded once per distinct list) and label.
    zone = ZoneInfo(tz)
    first = pstart.astimezone(zone).date()
    starts = [datetime(d.year, d.month, d.day, tzinfo=zone)
              for d in (first + timedelta(days=n) for n in range(14))]
    day = day_case(Item.fetched_at, starts)
    topics = sql_cast(Item.topics, String)
    item_rows = session.execute(
        select(day.label("day"), Source.kind, topics, Item.sentiment_label, func.count(),
               func.sum(tone_sql()), func.count(tone_sql()))
        .join(Source, Source.id == Item.source_id)
        .where(Item.fetched_at >= pstart, Item.fetched_at < end)
        .group_by(day, Source.kind, topics, Item.sentiment_label)
    ).all()
    items = [ItemGroup(starts[n], kind, topics_of_text(text), label, int(count),
                       float(total or 0.0), int(scored))
             for n, kind, text, label, count, total, scored in item_rows]

    # The alerts that can touch the week's figures, each arm along its own index (an OR of
    # them in one WHERE scans the table): open ones (the partial queue index), and those
    # raised, changed, due or never changed since the week began.
    arms = [Alert.state.in_(OPEN_ALERT_STATES), Alert.created_at >= start,
            Alert.state_changed_at >= start, Alert.state_changed_at.is_(None),
            Alert.due_at >= start]
    ids: set[int] = set()
    for arm in arms:
        ids.update(session.scalars(select(Alert.id).where(Alert.created_at < end, arm)))
    first_pub: dict[int, datetime] = {}
    alerts: list[AlertRec] = []
    ordered = sorted(ids)
    for n in range(0, len(ordered), 900):   # under any database's limit of bound parameters
        chunk = ordered[n:n + 900]
        first_pub.update((alert_id, at) for alert_id, at in session.execute(
            select(Output.alert_id, func.min(Publication.published_at))
            .join(Publication, Publication.output_id == Output.id)
            .where(Output.alert_id.in_(chunk)).group_by(Output.alert_id))
            if alert_id is not None)
        alerts += [AlertRec(i, prio, state, tuple(topics or ()), title or "（无标题）", link,
                            source, created, due, changed, int(reach or 0), int(count or 1),
                            first_pub.get(i))
                   for i, prio, state, topics, created, due, changed, title, link, source,
                   reach, count in session.execute(
                       select(Alert.id, Alert.priority, Alert.state, Alert.topics,
                              Alert.created_at, Alert.due_at, Alert.state_changed_at,
                              # an untitled post (most Weibo posts) by its opening words
                              func.coalesce(func.nullif(Item.title, ""),
                                            func.substr(Item.text, 1, 60)),
                              Item.link, Source.name, Event.reach,
                              Event.item_count)
                       .join(Item, Item.id == Alert.item_id)
                       .join(Source, Source.id == Item.source_id)
                       .outerjoin(Event, Event.id == Item.event_id)
                       .where(Alert.id.in_(chunk)))]

    pub_rows = session.execute(
        select(Publication.published_at, Publication.channel, Output.kind, Output.title,
               Output.alert_id)
        .join(Output, Output.id == Publication.output_id)
        .where(Publication.published_at >= start, Publication.published_at < end)
        .order_by(Publication.published_at)).all()
    pubs = [PubRec(at, channel, kind, title, alert_id)
            for at, channel, kind, title, alert_id in pub_rows]
    return WeekData(items, alerts, pubs)


# ---------------------------------------------------------------- words, charts, mail


@dataclass(frozen=True)
class Chart:
    cid: str          # Content-ID without angle brackets
    filename: str
    alt: str
    png: bytes
    width: int        # displayed width in CSS pixels


def charts(d: Digest) -> list[Chart]:
    """The mail's images. A week with no items has none (the text says so instead)."""
    if d.total == 0:
        return []
    week = d.week.label
    trend = trend_png(d.days, d.daily, d.daily_mean, title="每日信息量与情感倾向",
                      labels=LABEL_NAMES)
    rows = [(r.name, r.count, r.previous) for r in d.by_topic[:8]]
    topics = compare_bars_png(rows, title="话题信息量：本周与上周", current_label="本周",
                              previous_label="上周")
    return [
        Chart(f"trend.{week}@yuqing", "trend.png",
              "每日信息量（按负面、中性、正面堆叠）与平均情感得分", trend, 600),
        Chart(f"topics.{week}@yuqing", "topics.png", "各话题本周与上周信息量对比", topics, 600),
    ]


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["pct"] = pct
    env.globals["LABEL_NAMES"] = LABEL_NAMES
    return env


def _context(d: Digest) -> dict[str, Any]:
    zone = ZoneInfo(d.tz)
    return {"d": d, "local": lambda dt: dt.astimezone(zone).strftime("%m-%d %H:%M")}


def render_text(d: Digest) -> str:
    return _env().get_template("digest.txt").render(**_context(d))


def render_html(d: Digest, images: Sequence[Chart], src: Callable[[Chart], str]) -> str:
    """`src` gives each image's address: "cid:…" in mail, a data: URI for a browser preview."""
    return _env().get_template("digest.html").render(
        images=[{"src": src(c), "alt": c.alt, "width": c.width} for c in images],
        **_context(d))


def preview_html(d: Digest) -> str:
    """The HTML part as a standalone page, images inlined as data: URIs."""
    return render_html(d, charts(d), lambda c: "data:image/png;base64,"
                       + base64.b64encode(c.png).decode())


def build_message(d: Digest, *, sender: str, recipient: str) -> EmailMessage:
    """multipart/alternative: plain text, then HTML in multipart/related with the charts
    attached inline by Content-ID."""
    images = charts(d)
    msg = EmailMessage()
    msg["Subject"] = d.subject
    name, addr = parseaddr(sender)
    msg["From"] = formataddr((name or f"{d.office}舆情监测", addr or sender))
    msg["To"] = recipient
    msg["X-Yuqing-Digest"] = d.week.label
    msg.set_content(render_text(d))
    msg.add_alternative(render_html(d, images, lambda c: f"cid:{c.cid}"), subtype="html")
    html_part = cast(EmailMessage, msg.get_payload()[1])  # type: ignore[index]
    for c in images:
        html_part.add_related(c.png, "image", "png", cid=f"<{c.cid}>", filename=c.filename,
                              disposition="inline")
    return msg


@dataclass
class SendReport:
    week: str
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    outcomes: dict[str, Delivery] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "skipped": self.skipped, "failed": self.failed}


def digest_key(week: IsoWeek) -> str:
    return f"digest:{week.label}"


def send_digest(session: Session, d: Digest, recipients: Sequence[str], smtp: SmtpSettings,
                now: datetime) -> SendReport:
    """Deliver `d` to each recipient at most once (responders.mail.deliver_once commits the
    session around each delivery and holds no transaction while it talks SMTP; `d` is plain
    data, so building a message reads nothing). A recipient already served, or waiting for a
    retry, is counted as skipped; failed counts this run's temporary, permanent and unknown
    outcomes."""
    report = SendReport(d.week.label)
    for rcpt in dict.fromkeys(r.strip() for r in recipients if r.strip()):
        msg = build_message(d, sender=smtp.sender, recipient=rcpt)
        out = deliver_once(session, key=digest_key(d.week), recipient=rcpt, message=msg,
                           smtp=smtp, now=now)
        report.outcomes[rcpt] = out
        if out.skipped:
            report.skipped += 1
        elif out.status == "sent":
            report.sent += 1
        else:
            report.failed += 1
    return report


def digest_for(session: Session, week: IsoWeek, settings: Settings,
               now: datetime | None = None) -> Digest:
    """Read the week and build its digest with the office's settings (the edges' helper);
    `now` as build_digest takes it (a preview of the week still running)."""
    tz = settings.timezone
    digest = build_digest(
        load_week(session, week, tz), week, tz=tz,
        topic_names=topic_names(settings.home, Path(settings.config_dir)),
        office=settings.office,
        desk_url=desk_link(settings), top=settings.digest.top, now=now)
    return replace(digest, coverage=week_coverage(session, week, settings, now))


def week_coverage(session: Session, week: IsoWeek, settings: Settings,
                  now: datetime | None) -> list[str]:
    """What was not watched this week (issue 18): so a quiet week is not read as calm."""
    start, end = week.bounds(settings.timezone)
    spans = gaps_between(session, start, end, now=min(now, end) if now else end,
                         min_gap=timedelta(minutes=settings.evidence.coverage_min_gap_minutes))
    return summary_lines(spans, settings.timezone)


def desk_link(settings: Settings) -> str:
    """Where the mail's links point: digest.desk_url when set, else the desk's public
    address (web.public_url, then web.base_url), else the desk on this machine at the port
    it serves (web.port) — never a port the desk does not use."""
    for url in (settings.digest.desk_url, settings.web.public_url, settings.web.base_url):
        if url.strip():
            return url.strip().rstrip("/")
    return f"http://127.0.0.1:{settings.web.port}"
