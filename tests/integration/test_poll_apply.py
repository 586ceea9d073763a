"""The apply step of a poll (monitor.polling.apply_poll) against a real database, fed with
hand-made outcomes instead of the network: what it stores, what it records on the source, and
when it schedules the next check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.fetch import FetchResult
from monitor.models import Item, Source
from monitor.polling import (
    Fetched,
    FetchFailed,
    FetchOutcome,
    PollPlan,
    PollReport,
    PollSettings,
    apply_poll,
    parse_result,
    read_plan,
)
from monitor.sources import SourceSpec, upsert_source
from tests.support.feeds import SAMPLE_POSTS, sample_feed
from tests.support.settings import poll_settings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
# Without slots: these tests pin the interval and max-age arithmetic from `now`; the slots
# (poll.slots, shipped on) are tested below and in tests/unit/test_schedule.py.
CFG = poll_settings(min_interval_s=60, max_backoff_s=3600, slots=False)


def result(body: bytes = b"", *, status: int = 200, etag: str | None = '"v1"',
           max_age_s: float | None = None) -> FetchResult:
    return FetchResult(url="https://example.gov.cn/rss", status=status, body=body,
                       not_modified=status == 304, etag=etag, last_modified=None,
                       content_type="application/rss+xml", max_age_s=max_age_s,
                       retry_after_s=None)


@pytest.fixture
def plan(sessions: sessionmaker[Session]) -> PollPlan:
    with sessions() as s:
        src, _ = upsert_source(s, SourceSpec(name="省司法厅", url="https://example.gov.cn/rss",
                                             interval_s=600), NOW)
        s.commit()
        p = read_plan(s, src.id, cfg=CFG, now=NOW)
    assert p is not None
    return p


def apply(sessions: sessionmaker[Session], plan: PollPlan, outcome: FetchOutcome,
          now: datetime = NOW) -> tuple[PollReport | None, Source | None]:
    with sessions() as s:
        report = apply_poll(s, plan, outcome, cfg=CFG, now=now)
        s.commit()
    with sessions() as s:
        return report, s.get(Source, plan.source_id)


def count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Item)) or 0


def test_entries_are_stored_and_the_source_is_healthy(sessions: sessionmaker[Session],
                                                      plan: PollPlan) -> None:
    report, src = apply(sessions, plan, parse_result(plan, result(sample_feed()), CFG))
    assert report is not None and report.ok
    assert report.entries == len(report.new_item_ids) == len(SAMPLE_POSTS)
    assert src is not None and src.etag == '"v1"' and src.last_status == 200
    assert src.failure_count == 0 and src.items_seen == len(SAMPLE_POSTS)
    assert src.next_check_at == NOW + timedelta(seconds=600)
    # The same response again stores nothing twice.
    report, _ = apply(sessions, plan, parse_result(plan, result(sample_feed()), CFG),
                      NOW + timedelta(minutes=10))
    assert report is not None and report.new_item_ids == []
    assert count(sessions) == len(SAMPLE_POSTS)


def test_a_failure_is_recorded_and_backs_off(sessions: sessionmaker[Session],
                                             plan: PollPlan) -> None:
    failed = FetchFailed("HTTP 429 Too Many Requests; retry after 1800 s", 429, 1800.0)
    report, src = apply(sessions, plan, failed)
    assert report is not None and not report.ok and report.error == failed.message
    assert src is not None and src.failure_count == 1 and src.last_status == 429
    assert src.last_error == failed.message
    assert src.next_check_at is not None and src.next_check_at >= NOW + timedelta(seconds=1800)
    _, src = apply(sessions, plan, FetchFailed("timeout"), NOW + timedelta(hours=1))
    assert src is not None and src.failure_count == 2  # counted from the row, not the plan


def test_validators_are_kept_only_with_the_entries(sessions: sessionmaker[Session],
                                                   plan: PollPlan) -> None:
    apply(sessions, plan, parse_result(plan, result(sample_feed(), etag='"v1"'), CFG))
    broken = parse_result(plan, result(b"<html>maintenance</html>", etag='"v2"'), CFG)
    assert isinstance(broken, FetchFailed)
    _, src = apply(sessions, plan, broken, NOW + timedelta(minutes=10))
    # A 304 against "v2" would hide the entries this response failed to give us.
    assert src is not None and src.etag == '"v1"' and src.failure_count == 1


def test_a_304_stores_nothing_and_honours_max_age(sessions: sessionmaker[Session],
                                                  plan: PollPlan) -> None:
    report, src = apply(sessions, plan, Fetched(result(status=304, max_age_s=3600)))
    assert report is not None and report.ok and report.not_modified and report.entries == 0
    assert src is not None and src.last_status == 304
    assert src.next_check_at == NOW + timedelta(seconds=3600)
    assert count(sessions) == 0


def test_a_source_removed_before_the_apply_is_gone(sessions: sessionmaker[Session],
                                                   plan: PollPlan) -> None:
    with sessions() as s:
        s.delete(s.get(Source, plan.source_id))
        s.commit()
    report, src = apply(sessions, plan, parse_result(plan, result(sample_feed()), CFG))
    assert report is None and src is None
    assert count(sessions) == 0


def test_with_slots_a_source_comes_back_at_its_slot(sessions: sessionmaker[Session],
                                                    plan: PollPlan) -> None:
    from monitor.schedule import next_slot, phase_of

    slotted = poll_settings(min_interval_s=60, max_backoff_s=3600, slots=True)
    phase = phase_of(plan.source_id)
    with sessions() as s:
        apply_poll(s, plan, Fetched(result(status=304)), cfg=slotted, now=NOW)
        s.commit()
        first = s.get(Source, plan.source_id).next_check_at
    # Its slot in the interval, at least half an interval on (NOW is the first poll).
    assert first == next_slot(NOW + timedelta(seconds=300), period_s=600, phase=phase)
    # Polled at that slot (a second late): back exactly one interval later.
    with sessions() as s:
        apply_poll(s, plan, Fetched(result(status=304)), cfg=slotted,
                   now=first + timedelta(seconds=1))
        s.commit()
        again = s.get(Source, plan.source_id).next_check_at
    assert again == first + timedelta(seconds=600)
