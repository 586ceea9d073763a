"""The notification's text: short, in Chinese, the same facts on every channel (priority,
title, reason, time left on the clock, the alert's link and, for P1/P2, the 确认收到 link).
Pure: the caller passes `now`, the zone and the links."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

PRIORITY_WORDS = {"P1": "P1 紧急", "P2": "P2 重要", "P3": "P3 一般"}


@dataclass(frozen=True)
class Notice:
    alert_id: int
    priority: str
    title: str
    reasons: tuple[str, ...]
    due_at: datetime
    alert_url: str
    ack_url: str = ""
    step: int = 0              # 0: routed; 1…: escalated because nobody acknowledged
    mentions: tuple[str, ...] = field(default=())  # mobiles to @ in a group
    test: bool = False


def time_left(due_at: datetime, now: datetime) -> str:
    """"还剩 3小时20分" / "已超时 15分"."""
    seconds = int((due_at - now).total_seconds())
    late = seconds < 0
    minutes = abs(seconds) // 60
    h, m = divmod(minutes, 60)
    span = (f"{h}小时{m}分" if h else f"{m}分") if minutes else "不到1分"
    return f"已超时 {span}" if late else f"还剩 {span}"


def headline(n: Notice) -> str:
    prefix = "【测试】" if n.test else ("【升级提醒】" if n.step else "【舆情预警】")
    return f"{prefix}{PRIORITY_WORDS.get(n.priority, n.priority)}：{n.title}"


# A message is read on a phone: the first few reasons, each short; the desk has them all.
MAX_REASONS = 3
REASON_CHARS = 24


def reason_text(reasons: tuple[str, ...]) -> str:
    """The first reasons that say why (a merge note is bookkeeping), each cut short."""
    kept = list(dict.fromkeys(r.strip() for r in reasons
                              if r.strip() and not r.strip().startswith("合并：")))
    if not kept:
        return "—"
    shown = [r if len(r) <= REASON_CHARS else r[: REASON_CHARS - 1] + "…"
             for r in kept[:MAX_REASONS]]
    return "；".join(shown) + (f" 等{len(kept)}项" if len(kept) > MAX_REASONS else "")


def lines(n: Notice, now: datetime, tz: str) -> list[str]:
    """The body as lines: reason, clock, links."""
    due_local = n.due_at.astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")
    out = [f"原因：{reason_text(n.reasons)}",
           f"时限：{time_left(n.due_at, now)}（{due_local} 前首次权威发布）"]
    if n.step:
        out.append(f"第{n.step}次升级：此前通知无人确认")
    if n.alert_url:
        out.append(f"详情：{n.alert_url}")
    if n.ack_url:
        out.append(f"确认收到：{n.ack_url}")
    return out


def plain_text(n: Notice, now: datetime, tz: str, *, limit: int = 0) -> str:
    """Text for SMS and plain robots; `limit` cuts the title (SMS segments are short)."""
    body = lines(n, now, tz)
    text = "\n".join([headline(n), *body])
    if limit and len(text) > limit and n.ack_url:
        # The ack link matters more on a phone than the desk's link (one tap away there).
        body = [line for line in body if not line.startswith("详情：")]
        text = "\n".join([headline(n), *body])
    if limit and len(text) > limit:
        over = len(text) - limit
        short = n.title[: max(len(n.title) - over - 1, 8)] + "…"
        text = "\n".join([headline(Notice(**{**n.__dict__, "title": short})), *body])
    return text


def markdown(n: Notice, now: datetime, tz: str) -> str:
    """Markdown as the group robots render it (WeCom, DingTalk): a bold headline, links as
    [text](url)."""
    colour = {"P1": "warning", "P2": "comment"}.get(n.priority, "info")
    body = [f"**{headline(n)}**",
            f"> 级别：<font color=\"{colour}\">{PRIORITY_WORDS.get(n.priority, n.priority)}</font>"]
    for line in lines(n, now, tz):
        label, _, value = line.partition("：")
        if value.startswith("http"):
            body.append(f"> [{label}]({value})")
        else:
            body.append(f"> {line}")
    return "\n".join(body)
