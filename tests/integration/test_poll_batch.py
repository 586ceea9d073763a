"""A batch of polls (monitor.poll_batch) against the loopback fake web and a real database:
each source's outcome is its own, conditional GET works through the shared keep-alive
clients, and a refused address is refused before any packet is sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.fetch import FetchPolicy, FetchResult
from monitor.models import CoverageGap, Item, Source
from monitor.poll_batch import BatchLimits, apply_many, fetch_many, read_plans
from monitor.polling import Fetched, FetchFailed, apply_poll
from monitor.sources import SourceSpec, upsert_source
from tests.support.fake_web import FakeWeb, fake_web  # noqa: F401 (fixture)
from tests.support.feeds import many_items_feed
from tests.support.settings import defaults, poll_settings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
CFG = poll_settings()
POLICY = FetchPolicy.from_section(defaults().fetch)
LIMITS = BatchLimits(threads=4, host_connections=2, budget_s=60)


def _add(sessions: sessionmaker[Session], name: str, url: str, *, allow_private: bool = True
         ) -> int:
    with sessions() as s:
        src, _ = upsert_source(s, SourceSpec(name=name, url=url, interval_s=600,
                                             allow_private=allow_private), NOW)
        s.commit()
        return src.id


def _poll(sessions: sessionmaker[Session], ids: list[int], now: datetime) -> list:
    with sessions() as s:
        plans = read_plans(s, ids, cfg=CFG, now=now)
    outcomes = fetch_many(plans, policy=POLICY, cfg=CFG, now=now, limits=LIMITS)
    with sessions() as s:
        reports = apply_many(s, plans, outcomes, cfg=CFG, now=now, jitter=lambda: 0.0)
        s.commit()
    return reports


def test_a_batch_polls_each_source_once_with_its_own_outcome(
        fake_web: FakeWeb, sessions: sessionmaker[Session]) -> None:  # noqa: F811
    for k in range(6):
        fake_web.add_feed(f"/f{k}.xml", many_items_feed(3, prefix=f"f{k}"), etag=f'"e{k}"')
    fake_web.add("/broken.xml", 500, b"oops", {"Content-Type": "text/plain"})
    good = [_add(sessions, f"批量{k}", fake_web.url(f"/f{k}.xml")) for k in range(6)]
    broken = _add(sessions, "坏源", fake_web.url("/broken.xml"))
    # The fake web's own address, but this source may not reach private addresses: refused
    # by the address check, so the server never sees the request.
    refused = _add(sessions, "内网源", fake_web.url("/f0.xml").replace("f0", "private"),
                   allow_private=False)
    ids = [*good, broken, refused]

    reports = {r.source_id: r for r in _poll(sessions, ids, NOW)}
    assert set(reports) == set(ids)
    assert all(reports[i].ok and len(reports[i].new_item_ids) == 3 for i in good)
    assert not reports[broken].ok and "500" in (reports[broken].error or "")
    assert not reports[refused].ok and "refused" in (reports[refused].error or "")
    assert fake_web.hits("/private.xml") == 0
    assert all(fake_web.hits(f"/f{k}.xml") == 1 for k in range(6))
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 18
        assert s.get(Source, broken).failure_count == 1

    # The second round sends the validators: every good feed answers 304, nothing is stored.
    later = NOW + timedelta(minutes=10)
    again = {r.source_id: r for r in _poll(sessions, good, later)}
    assert all(again[i].ok and again[i].not_modified for i in good)
    assert all(fake_web.hits(f"/f{k}.xml") == 2 for k in range(6))
    assert all(r.headers.get("if-none-match") == f'"e{k}"'
               for k in range(6) for r in fake_web.requests_to(f"/f{k}.xml")[1:])
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Item)) == 18
        assert all(s.get(Source, i).last_checked_at == later for i in good)


def test_the_outcomes_keep_the_order_of_the_plans(
        fake_web: FakeWeb, sessions: sessionmaker[Session]) -> None:  # noqa: F811
    fake_web.add("/missing.xml", 404, b"", {"Content-Type": "text/plain"})
    fake_web.add_feed("/ok.xml", many_items_feed(1, prefix="ok"))
    ids = [_add(sessions, "缺失", fake_web.url("/missing.xml")),
           _add(sessions, "正常", fake_web.url("/ok.xml"))]
    with sessions() as s:
        plans = read_plans(s, list(reversed(ids)), cfg=CFG, now=NOW)
    outcomes = fetch_many(plans, policy=POLICY, cfg=CFG, now=NOW, limits=LIMITS)
    assert [p.source_id for p in plans] == list(reversed(ids))
    assert not isinstance(outcomes[0], FetchFailed)
    assert isinstance(outcomes[1], FetchFailed) and outcomes[1].status == 404


def test_sources_not_reached_within_the_budget_are_due_again_untouched(
        fake_web: FakeWeb, sessions: sessionmaker[Session]) -> None:  # noqa: F811
    for k in range(4):
        fake_web.add_feed(f"/b{k}.xml", many_items_feed(1, prefix=f"b{k}"))
    ids = [_add(sessions, f"预算{k}", fake_web.url(f"/b{k}.xml")) for k in range(4)]
    ticks = iter([0.0, 0.0, 0.0, 5.0, 5.0])  # the budget runs out after two requests start

    with sessions() as s:
        plans = read_plans(s, ids, cfg=CFG, now=NOW)
    outcomes = fetch_many(plans, policy=POLICY, cfg=CFG, now=NOW,
                          limits=BatchLimits(threads=1, host_connections=1, budget_s=1),
                          clock=lambda: next(ticks))
    assert [o is None for o in outcomes] == [False, False, True, True]
    assert [fake_web.hits(f"/b{k}.xml") for k in range(4)] == [1, 1, 0, 0]
    with sessions() as s:
        reports = apply_many(s, plans, outcomes, cfg=CFG, now=NOW, jitter=lambda: 0.0)
        s.commit()
    assert [r.source_id for r in reports] == ids[:2]
    with sessions() as s:
        left = [s.get(Source, i) for i in ids[2:]]
        assert all(x.next_check_at == NOW and x.last_checked_at is None
                   and x.failure_count == 0 for x in left)


_ROW = ("etag", "last_modified", "last_checked_at", "last_success_at", "last_status",
        "failure_count", "last_error", "last_warning", "next_check_at", "silent_since",
        "items_seen")


def _row(s: Session, source_id: int) -> tuple[object, ...]:
    src = s.get(Source, source_id)
    open_gaps = s.scalars(select(CoverageGap.kind).where(
        CoverageGap.source_id == source_id, CoverageGap.ended_at.is_(None))).all()
    return (*(getattr(src, c) for c in _ROW), sorted(open_gaps))


def _both_ways(sessions: sessionmaker[Session], source_id: int, outcome: Fetched,
               now: datetime) -> tuple[tuple[object, ...], tuple[object, ...], list]:
    """The row after polling.apply_poll (rolled back), and after apply_many (committed)."""
    with sessions() as s:
        plan = read_plans(s, [source_id], cfg=CFG, now=now)[0]
    with sessions() as s:
        apply_poll(s, plan, outcome, cfg=CFG, now=now, jitter=0.3)
        one = _row(s, source_id)
        s.rollback()
    with sessions() as s:
        reports = apply_many(s, [plan], [outcome], cfg=CFG, now=now, jitter=lambda: 0.3)
        s.commit()
    with sessions() as s:
        return one, _row(s, source_id), reports


def _not_modified(etag: str) -> Fetched:
    return Fetched(FetchResult(url="http://x/", status=304, body=b"", not_modified=True,
                               etag=etag, last_modified="Wed, 02 Dec 2026 07:00:00 GMT",
                               content_type=None, max_age_s=None, retry_after_s=None))


def test_a_304_of_a_failing_source_writes_what_one_poll_writes_and_ends_its_gap(
        sessions: sessionmaker[Session]) -> None:
    # The batch's 304s are written by one Core UPDATE, not by apply_poll: the same row must
    # come out, and the failing span (监测盲区) must end as note_poll ends it.
    sid = _add(sessions, "曾失败", "http://127.0.0.1:9/feed.xml")
    with sessions() as s:
        src = s.get(Source, sid)
        src.failure_count, src.last_error, src.last_status = 3, "HTTP 500", 500
        src.last_warning = "old warning"
        s.add(CoverageGap(source_id=sid, kind="failing", started_at=NOW - timedelta(hours=1)))
        s.commit()
    later = NOW + timedelta(minutes=10)
    one, many, reports = _both_ways(sessions, sid, _not_modified('"v2"'), later)
    assert many == one
    assert many[:8] == ('"v2"', "Wed, 02 Dec 2026 07:00:00 GMT", later, later, 304, 0, None,
                        None)
    assert many[-1] == []  # the failing span ended
    assert [(r.source_id, r.ok, r.not_modified) for r in reports] == [(sid, True, True)]


def test_a_304_that_makes_a_source_silent_takes_the_full_path(
        fake_web: FakeWeb, sessions: sessionmaker[Session]) -> None:  # noqa: F811
    fake_web.add_feed("/quiet.xml", many_items_feed(2, prefix="q"), etag='"q1"')
    sid = _add(sessions, "沉默", fake_web.url("/quiet.xml"))
    _poll(sessions, [sid], NOW)
    # Its items are old: a 304 now finds nothing new for more than silent_after intervals.
    much_later = NOW + timedelta(seconds=600 * (CFG.silent_after + 1))
    one, many, reports = _both_ways(sessions, sid, _not_modified('"q1"'), much_later)
    assert many == one
    assert many[_ROW.index("silent_since")] == much_later
    assert "源可能已失效" in str(many[_ROW.index("last_warning")])
    assert many[-1] == ["silent"]
    assert reports[0].went_silent


def test_a_batch_of_304s_keeps_one_connection_alive(
        fake_web: FakeWeb, sessions: sessionmaker[Session]) -> None:  # noqa: F811
    # A 304 read to its (empty) end goes back to the keep-alive pool; closed unread, each
    # conditional GET opened a TCP connection of its own.
    for k in range(5):
        fake_web.add_feed(f"/k{k}.xml", many_items_feed(1, prefix=f"k{k}"), etag=f'"k{k}"')
    ids = [_add(sessions, f"长连{k}", fake_web.url(f"/k{k}.xml")) for k in range(5)]
    one = BatchLimits(threads=1, host_connections=1, budget_s=60)
    for at in (NOW, NOW + timedelta(minutes=10)):
        with sessions() as s:
            plans = read_plans(s, ids, cfg=CFG, now=at)
        outcomes = fetch_many(plans, policy=POLICY, cfg=CFG, now=at, limits=one)
        with sessions() as s:
            apply_many(s, plans, outcomes, cfg=CFG, now=at, jitter=lambda: 0.0)
            s.commit()
    assert all(isinstance(o, Fetched) and o.result.not_modified for o in outcomes)
    second = fake_web.requests[5:]
    assert len(second) == 5 and len({r.peer for r in second}) == 1
