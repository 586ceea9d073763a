"""Evidence for alerts (issue 18): snapshots that survive deletion, and the deletion check.

When an item becomes part of an alert its raw body (`item_raw`, kept at ingest) and, for
sources of the kinds in `evidence.page_kinds`, the page at its link are stored
content-addressed (monitor.evidence_store) and listed in `snapshots`. Three steps, as a
poll is (DESIGN principle 11): `plan_snapshots` reads what is missing in one short read,
`take_snapshots` fetches and stores with no session open (the same safe fetcher as polls:
size cap, no private addresses unless the item's source allows them), `record_snapshots`
writes the rows in one short transaction (insert-or-ignore on (item, kind): a redelivered
task writes nothing twice, and a row is never updated).

What counts as deleted (已删除). A feed or a search that no longer lists a post is *not* a
deletion: feeds keep a window of recent entries and searches rank. An item is marked deleted
only by a re-check of an alerted item's own link (`plan_recheck` → `check_links` →
`record_gone`): HTTP 404 or 410, or a page that says so in the platform's words
(该内容已被发布者删除, 该微博已被删除, …). Network errors, 5xx and refusals mark nothing. The
mark is `item_gone` (when noticed, what said so), with an audit entry; the snapshots stay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.db import insert_ignore
from monitor.errors import FetchError, NotFound
from monitor.evidence_store import EvidenceStore
from monitor.fetch import FetchPolicy, fetch
from monitor.models import Item, ItemGone, ItemRaw, Source
from responders.desk import audit
from responders.models import Alert, Snapshot
from responders.workflow import OPEN_ALERT_STATES

RAW = "raw"
PAGE = "page"
SYSTEM = "system:evidence"
GONE_STATUSES = frozenset({404, 410})
# What platforms show in place of a deleted post (a 200 page): Weibo, WeChat, boards.
DELETED_MARKERS = ("该内容已被发布者删除", "该微博已被删除", "此微博已被作者删除",
                   "该文章已被发布者删除", "此内容因违规无法查看", "该帖子已被删除",
                   "内容已删除")


@dataclass(frozen=True)
class Job:
    alert_id: int
    item_id: int
    kind: str
    url: str | None
    allow_private: bool = False
    body: str | None = None       # raw: the stored body
    media_type: str | None = None


@dataclass(frozen=True)
class Taken:
    job: Job
    fetched_at: datetime
    sha256: str | None
    size: int
    http_status: int | None
    media_type: str | None
    error: str | None = None


def _reach(item: Item) -> int:
    return (item.reposts or 0) + (item.comments or 0) + (item.likes or 0)


def alert_items(session: Session, alert: Alert, limit: int) -> list[Item]:
    """The items an alert's evidence covers: the lead, then its event's items by reach
    (largest reposts first), then by time; at most `limit`."""
    lead = session.get(Item, alert.item_id)
    if lead is None:
        return []
    if lead.event_id is None:
        return [lead]
    rows = session.scalars(select(Item).where(Item.event_id == lead.event_id)
                           .order_by(Item.id).limit(5000)).all()
    others = sorted((i for i in rows if i.id != lead.id),
                    key=lambda i: (-_reach(i), i.published_at or i.fetched_at, i.id))
    return [lead, *others][:limit]


def plan_snapshots(session: Session, alert_ids: Sequence[int], *, max_items: int,
                   page_kinds: Sequence[str]) -> list[Job]:
    """What is missing for these alerts: a raw job per item with a kept body, a page job
    per item with a link from a source of `page_kinds`. Read only."""
    jobs: list[Job] = []
    for alert_id in alert_ids:
        alert = session.get(Alert, alert_id)
        if alert is None:
            continue
        items = alert_items(session, alert, max_items)
        ids = [i.id for i in items]
        done = {(r.item_id, r.kind) for r in session.execute(
            select(Snapshot.item_id, Snapshot.kind).where(Snapshot.item_id.in_(ids)))}
        raws = {r.item_id: r for r in session.scalars(
            select(ItemRaw).where(ItemRaw.item_id.in_(ids)))}
        sources = {s.id: s for s in session.scalars(
            select(Source).where(Source.id.in_({i.source_id for i in items})))}
        for item in items:
            source = sources.get(item.source_id)
            raw = raws.get(item.id)
            if raw is not None and (item.id, RAW) not in done:
                jobs.append(Job(alert_id, item.id, RAW, item.link, body=raw.body,
                                media_type=raw.media_type))
            if (item.link and source is not None and source.kind in page_kinds
                    and (item.id, PAGE) not in done):
                jobs.append(Job(alert_id, item.id, PAGE, item.link,
                                allow_private=source.allow_private))
    return jobs


def take_snapshots(jobs: Sequence[Job], *, store: EvidenceStore, policy: FetchPolicy,
                   now: datetime, client: httpx.Client | None = None) -> list[Taken]:
    """Fetch and store, with no session open. A page that cannot be fetched is a Taken
    with its error (and status, if the server answered), kept as such."""
    taken: list[Taken] = []
    for job in jobs:
        if job.kind == RAW:
            body = (job.body or "").encode("utf-8")
            taken.append(Taken(job, now, store.put(body), len(body), None, job.media_type))
            continue
        try:
            result = fetch(job.url or "", policy=policy, now=now, allow_private=job.allow_private,
                           client=client)
        except FetchError as exc:
            taken.append(Taken(job, now, None, 0, exc.status, None, exc.message[:1000]))
            continue
        taken.append(Taken(job, now, store.put(result.body), len(result.body), result.status,
                           result.content_type))
    return taken


def record_snapshots(session: Session, taken: Sequence[Taken]) -> int:
    """Insert-or-ignore the rows (one per (item, kind), never updated). Flushes; returns
    how many rows were new."""
    if not taken:
        return 0
    rows: list[dict[str, Any]] = [{
        "alert_id": t.job.alert_id, "item_id": t.job.item_id, "kind": t.job.kind,
        "url": (t.job.url or None) and (t.job.url or "")[:2000], "media_type": t.media_type,
        "size": t.size, "sha256": t.sha256, "http_status": t.http_status,
        "fetched_at": t.fetched_at, "error": t.error} for t in taken]
    stmt = insert_ignore(session, Snapshot.__table__).values(rows).returning(
        Snapshot.__table__.c.id)
    new = len(session.execute(stmt).all())
    session.flush()
    return new


# -- deletion --------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    alert_id: int
    item_id: int
    url: str
    allow_private: bool


def deletion_reason(status: int | None, body: bytes) -> str | None:
    """Pure: why a re-checked link shows its post deleted, or None when it does not."""
    if status in GONE_STATUSES:
        return f"HTTP {status}"
    if status is not None and 200 <= status < 300 and body:
        text = body[:400_000].decode("utf-8", errors="replace")
        for marker in DELETED_MARKERS:
            if marker in text:
                return f"页面显示“{marker}”"
    return None


def recent_open_alerts(session: Session, now: datetime, *, days: int, limit: int) -> list[int]:
    """Open alerts raised within `days`, newest first: the hourly tick re-plans their
    snapshots, so items that joined an alert's event after it was raised (without
    escalating it) get theirs too. Read only; indexed on alerts.state."""
    return list(session.scalars(
        select(Alert.id).where(Alert.state.in_(OPEN_ALERT_STATES),
                               Alert.created_at >= now - timedelta(days=days))
        .order_by(Alert.created_at.desc()).limit(limit)))


def fetches_per_task(time_limit_s: float, fetch_total_s: float) -> int:
    """Pure: how many fetches one task may make and still finish within the task time limit
    (each fetch is bounded by fetch.total_timeout), keeping a quarter of it spare."""
    return max(1, int(time_limit_s * 0.75 // fetch_total_s))


def split_jobs(jobs: Sequence[Job], pages: int) -> tuple[list[Job], bool]:
    """Pure: every raw job (no network) and at most `pages` page jobs; and whether page
    jobs were left for another task."""
    raw = [j for j in jobs if j.kind == RAW]
    page = [j for j in jobs if j.kind == PAGE]
    return raw + page[:pages], len(page) > pages


def plan_recheck(session: Session, now: datetime, *, days: int, batch: int,
                 offset: int = 0) -> list[Check]:
    """Alerted items with a page snapshot whose alert is younger than `days` and that are
    not yet marked deleted, newest alerts first. Read only."""
    gone = select(ItemGone.item_id)
    rows = session.execute(
        select(Snapshot.alert_id, Snapshot.item_id, Snapshot.url, Source.allow_private)
        .join(Alert, Alert.id == Snapshot.alert_id)
        .join(Item, Item.id == Snapshot.item_id)
        .join(Source, Source.id == Item.source_id)
        .where(Snapshot.kind == PAGE, Snapshot.url.is_not(None),
               Alert.created_at >= now - timedelta(days=days),
               Snapshot.item_id.not_in(gone))
        .order_by(Alert.created_at.desc(), Snapshot.item_id)
        .offset(offset).limit(batch)).all()
    return [Check(r.alert_id, r.item_id, r.url, bool(r.allow_private)) for r in rows]


def check_links(checks: Sequence[Check], *, policy: FetchPolicy, now: datetime,
                client: httpx.Client | None = None) -> list[tuple[Check, str]]:
    """Re-fetch each link with no session open; the ones that show their post deleted."""
    found: list[tuple[Check, str]] = []
    for check in checks:
        try:
            result = fetch(check.url, policy=policy, now=now, allow_private=check.allow_private,
                           client=client)
            reason = deletion_reason(result.status, result.body)
        except FetchError as exc:
            reason = deletion_reason(exc.status, b"")
        if reason is not None:
            found.append((check, reason))
    return found


def record_gone(session: Session, found: Sequence[tuple[Check, str]], now: datetime) -> int:
    """Mark the items 已删除 (insert-or-ignore: noticed once) with an audit entry each."""
    marked = 0
    for check, reason in found:
        stmt = insert_ignore(session, ItemGone.__table__).values(
            item_id=check.item_id, noticed_at=now, reason=reason[:300]
        ).returning(ItemGone.__table__.c.item_id)
        if session.execute(stmt).first() is None:
            continue
        marked += 1
        audit(session, SYSTEM, now, entity="item", entity_id=check.item_id,
              action="marked_deleted", alert_id=check.alert_id,
              detail={"url": check.url, "reason": reason})
    session.flush()
    return marked


# -- reading ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    snapshot: Snapshot
    item: Item | None
    gone: ItemGone | None


def alert_evidence(session: Session, alert_id: int) -> list[Evidence]:
    """The snapshots of an alert, with each item and its deletion mark."""
    snaps = session.scalars(select(Snapshot).where(Snapshot.alert_id == alert_id)
                            .order_by(Snapshot.item_id, Snapshot.kind)).all()
    ids = list({s.item_id for s in snaps})
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(ids)))}
    gone = {g.item_id: g for g in session.scalars(select(ItemGone)
                                                   .where(ItemGone.item_id.in_(ids)))}
    return [Evidence(s, items.get(s.item_id), gone.get(s.item_id)) for s in snaps]


def get_snapshot(session: Session, snapshot_id: int) -> Snapshot:
    snap = session.get(Snapshot, snapshot_id)
    if snap is None or snap.sha256 is None:
        raise NotFound(f"no stored snapshot {snapshot_id}")
    return snap
