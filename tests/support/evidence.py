"""A demo-like story for the evidence tests: a news feed on a loopback server whose items
link to article pages on the same server, polled, analysed into one alerted event, and
snapshotted the way the task does it (plan → fetch and store → record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.evidence_store import LocalStore
from monitor.fetch import FetchPolicy
from monitor.models import Item, Source
from responders import evidence
from responders.models import Alert
from tests.support.analysis import analyse
from tests.support.fake_web import FakeWeb
from tests.support.polling import poll_once
from tests.support.settings import defaults, poll_settings

STORY = [
    ("a1", "网传省某戒毒所学员死亡，家属要求公开调查",
     "网传河南省某强制隔离戒毒所一名学员在所内死亡，家属称所方推诿，要求公开调查结果，"
     "质疑存在暴力执法，网友愤怒转发，要求司法厅尽快回应。"),
    ("a2", "戒毒所学员死亡传闻发酵，家属要求公开调查结果",
     "网传河南省某强制隔离戒毒所一名学员在所内死亡，家属称所方推诿，要求公开调查结果，"
     "质疑存在暴力执法，网友愤怒转发，要求司法厅尽快作出回应。"),
]

PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{title}</title></head><body><article><h1>{title}</h1>
<p class="time">2026-12-01 14:05 来源：豫闻网</p><p>{text}</p></article></body></html>"""


def feed(web: FakeWeb) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>',
             "<title>豫闻网·社会</title><link>https://yuwen.example/</link>"
             "<description>社会新闻</description>"]
    for n, (guid, title, text) in enumerate(STORY):
        parts.append(f"<item><guid isPermaLink=\"false\">{guid}</guid>"
                     f"<title>{escape(title)}</title><link>{escape(web.url('/a/' + guid))}</link>"
                     f"<description>{escape(text)}</description>"
                     f"<pubDate>Tue, 01 Dec 2026 14:0{n}:00 +0800</pubDate></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def page(guid: str) -> bytes:
    _, title, text = next(s for s in STORY if s[0] == guid)
    return PAGE.format(title=title, text=text).encode("utf-8")


def policy() -> FetchPolicy:
    return FetchPolicy.from_section(defaults().fetch)


@dataclass
class Story:
    source_id: int
    alert_id: int
    item_ids: list[int]
    store: LocalStore


def alerted_story(sessions: sessionmaker[Session], web: FakeWeb, home: Path,
                  now: datetime) -> Story:
    web.add_feed("/feed.xml", feed(web))
    for guid, _, _ in STORY:
        web.add(f"/a/{guid}", body=page(guid),
                headers={"Content-Type": "text/html; charset=utf-8"})
    with sessions() as s:
        src = Source(name="豫闻网·社会", url=web.url("/feed.xml"), kind="news",
                     host="127.0.0.1", interval_s=600, allow_private=True, created_at=now,
                     failure_count=0, items_seen=0)
        s.add(src)
        s.commit()
        source_id = src.id
    report = poll_once(sessions, source_id, policy=policy(), cfg=poll_settings(), now=now,
                       sleep=lambda _s: None)
    assert report is not None and report.ok, report
    with sessions() as s:
        alert_ids = analyse(s, report.new_item_ids, now)
        s.commit()
        assert len(alert_ids) == 1, alert_ids
        alert = s.get(Alert, alert_ids[0])
        assert alert is not None
        event_id = s.get(Item, alert.item_id).event_id  # type: ignore[union-attr]
        item_ids = list(s.scalars(select(Item.id).where(Item.event_id == event_id)))
    store = LocalStore(home / "evidence")
    snapshot(sessions, alert_ids, store, now)
    return Story(source_id, alert_ids[0], sorted(item_ids), store)


def snapshot(sessions: sessionmaker[Session], alert_ids: list[int], store: LocalStore,
             now: datetime) -> int:
    ev = defaults().evidence
    with sessions() as s:
        jobs = evidence.plan_snapshots(s, alert_ids, max_items=ev.max_items,
                                       page_kinds=ev.page_kinds)
    taken = evidence.take_snapshots(jobs, store=store, policy=policy(), now=now)
    with sessions() as s:
        new = evidence.record_snapshots(s, taken)
        s.commit()
    return new


def recheck(sessions: sessionmaker[Session], now: datetime) -> int:
    ev = defaults().evidence
    with sessions() as s:
        checks = evidence.plan_recheck(s, now, days=ev.recheck_days, batch=ev.recheck_batch)
    found = evidence.check_links(checks, policy=policy(), now=now)
    with sessions() as s:
        marked = evidence.record_gone(s, found, now)
        s.commit()
    return marked
