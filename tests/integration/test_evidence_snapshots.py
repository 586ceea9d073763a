"""Snapshots (issue 18): an alert in a demo-like setup gets its items' raw bodies and pages,
hashed and stored content-addressed; a post deleted at its link (404, or the platform's
已被发布者删除 page) is marked 已删除 with the time noticed, and its snapshot still opens."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.models import ItemGone
from responders.evidence import alert_evidence, deletion_reason
from responders.models import AuditEntry, Snapshot
from tests.support.evidence import STORY, alerted_story, page, recheck, snapshot
from tests.support.fake_web import FakeWeb

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 6, 10, tzinfo=UTC)


def test_an_alert_gets_raw_and_page_snapshots_with_hashes(
        sessions: sessionmaker[Session], fake_web: FakeWeb, home: Path) -> None:
    story = alerted_story(sessions, fake_web, home, NOW)
    assert len(story.item_ids) == len(STORY)
    with sessions() as s:
        found = alert_evidence(s, story.alert_id)
    kinds = sorted((e.snapshot.item_id, e.snapshot.kind) for e in found)
    assert kinds == sorted((i, k) for i in story.item_ids for k in ("page", "raw"))
    for e in found:
        snap = e.snapshot
        assert snap.sha256 is not None and snap.error is None and snap.fetched_at == NOW
        body = story.store.get(snap.sha256)
        assert hashlib.sha256(body).hexdigest() == snap.sha256 and len(body) == snap.size
        assert story.store.path(snap.sha256).stat().st_mode & 0o222 == 0  # read-only
        assert e.item is not None
        if snap.kind == "page":
            assert snap.http_status == 200 and body.decode().count("<article>") == 1
            assert e.item.title in body.decode()
        else:
            assert body.decode().startswith("<item>") and e.item.title in body.decode()
    # A redelivered task fetches nothing more and writes nothing twice.
    hits = fake_web.hits("/a/a1")
    assert snapshot(sessions, [story.alert_id], story.store, NOW) == 0
    assert fake_web.hits("/a/a1") == hits


@pytest.mark.parametrize(("status", "body"), [
    (404, b"not found"),
    (200, "<html><body><p>抱歉，该内容已被发布者删除</p></body></html>".encode()),
])
def test_a_deleted_post_is_marked_and_its_snapshot_still_opens(
        sessions: sessionmaker[Session], fake_web: FakeWeb, home: Path, status: int,
        body: bytes) -> None:
    story = alerted_story(sessions, fake_web, home, NOW)
    # Nothing is deleted yet: a re-check marks nothing.
    assert recheck(sessions, NOW + timedelta(minutes=30)) == 0
    fake_web.add("/a/a1", status=status, body=body,
                 headers={"Content-Type": "text/html; charset=utf-8"})
    # A feed dropping the entry off its window is no deletion; only the link says so.
    fake_web.add_feed("/feed.xml", b'<?xml version="1.0"?><rss version="2.0"><channel>'
                      b"<title>x</title></channel></rss>", etag='"v2"')
    noticed = NOW + timedelta(hours=2)
    assert recheck(sessions, noticed) == 1
    assert recheck(sessions, noticed + timedelta(hours=1)) == 0  # noticed once
    with sessions() as s:
        gone = s.scalars(select(ItemGone)).one()
        page_snap = s.scalars(select(Snapshot).where(Snapshot.item_id == gone.item_id,
                                                     Snapshot.kind == "page")).one()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "marked_deleted")).one()
    assert gone.noticed_at == noticed and entry.entity_id == gone.item_id
    assert (str(status) in gone.reason) if status == 404 else ("已被发布者删除" in gone.reason)
    assert page_snap.sha256 is not None
    assert story.store.get(page_snap.sha256) == page("a1")  # the page as it was


@pytest.mark.parametrize(("status", "body", "expected"), [
    (404, b"", "HTTP 404"), (410, b"", "HTTP 410"), (503, b"", None), (None, b"", None),
    (200, "该微博已被删除".encode(), "页面显示“该微博已被删除”"),
    (200, "<p>司法厅回应戒毒所传闻</p>".encode(), None),
])
def test_deletion_reason(status: int | None, body: bytes, expected: str | None) -> None:
    assert deletion_reason(status, body) == expected


def test_page_fetches_are_split_to_fit_the_task_time_limit() -> None:
    from responders.evidence import Job, fetches_per_task, split_jobs

    assert fetches_per_task(120, 30.0) == 3 and fetches_per_task(10, 30.0) == 1
    jobs = [Job(1, i, kind, None) for i in range(5) for kind in ("raw", "page")]
    chosen, more = split_jobs(jobs, 3)
    assert [j.kind for j in chosen].count("raw") == 5
    assert [j.kind for j in chosen].count("page") == 3 and more
    assert split_jobs(jobs, 5)[1] is False


def test_an_item_joining_the_event_later_is_snapshotted_by_the_tick(
        sessions: sessionmaker[Session], fake_web: FakeWeb, home: Path) -> None:
    from responders.evidence import recent_open_alerts

    story = alerted_story(sessions, fake_web, home, NOW)
    with sessions() as s:
        assert recent_open_alerts(s, NOW + timedelta(hours=1), days=14, limit=100) == [
            story.alert_id]
        assert recent_open_alerts(s, NOW + timedelta(days=15), days=14, limit=100) == []
        alert_item = s.scalars(select(Snapshot.item_id)).first()
        from monitor.models import Item
        lead = s.get(Item, alert_item)
        assert lead is not None
        late = Item(source_id=lead.source_id, entry_id="late", content_hash="late",
                    title="戒毒所学员死亡传闻：家属再发声", text="家属再次要求公开调查。",
                    link=fake_web.url("/a/a1"), fetched_at=NOW, event_id=lead.event_id)
        s.add(late)
        s.commit()
        late_id = late.id
    assert snapshot(sessions, [story.alert_id], story.store, NOW + timedelta(hours=1)) == 1
    with sessions() as s:
        assert s.scalars(select(Snapshot.kind).where(Snapshot.item_id == late_id)).all() == [
            "page"]
