"""The pure rules behind issue 14's items 7–10: when the outbox retries and when the weekly
digest is due, how long a dead worker's work waits (sized from the time limit), and when a
source is gone or likely gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.polling import GONE, LIKELY_GONE, gone_state
from monitor.settings import load_settings
from responders.outbox import MAX_ATTEMPTS, digest_due, retry_at
from tasks.runtime import RETRY_BACKOFF_MAX_S, Recovery

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # Monday 08:30 in Asia/Shanghai


def test_retry_waits_grow_and_end() -> None:
    waits = [retry_at(n, NOW) for n in range(1, MAX_ATTEMPTS + 1)]
    assert waits[-1] is None  # the last attempt allowed is not followed by another
    deltas = [w - NOW for w in waits[:-1] if w is not None]
    assert deltas[0] == timedelta(seconds=30)
    assert deltas == sorted(deltas) and len(set(deltas)) == len(deltas)
    assert max(deltas) <= timedelta(hours=1)


SH = "Asia/Shanghai"


@pytest.mark.parametrize(("now", "due"), [
    # Monday 08:00 local is the moment: the week just ended (W47, Monday 2026-11-16) is due.
    (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), "2026-11-16"),
    (datetime(2026, 11, 23, 0, 30, tzinfo=UTC), "2026-11-16"),
    # A day later (grace 24 h): still due, so a broker down at 08:00 only delays it …
    (datetime(2026, 11, 23, 23, 59, tzinfo=UTC), "2026-11-16"),
    # … but not after that: a service first started on Wednesday sends no old digest.
    (datetime(2026, 11, 24, 0, 0, tzinfo=UTC), None),
    (datetime(2026, 11, 25, 3, 0, tzinfo=UTC), None),
    # Before the moment on Monday (07:59 local): nothing yet.
    (datetime(2026, 11, 22, 23, 59, tzinfo=UTC), None),
])
def test_digest_due_from_its_moment_for_a_day(now: datetime, due: str | None) -> None:
    got = digest_due(now, tz=SH, day_of_week=1, hour=8, minute=0)
    assert (got.isoformat() if got else None) == due


def test_a_sunday_evening_digest_is_still_due_on_monday_morning() -> None:
    # Sunday 22:00 local: the grace runs into the next ISO week, still about the week before.
    sunday = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)      # Sun 22:00 local, W48
    monday = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)       # Mon 09:00 local, W49
    assert digest_due(sunday, tz=SH, day_of_week=7, hour=22, minute=0).isoformat() == \
        "2026-11-16"
    assert digest_due(monday, tz=SH, day_of_week=7, hour=22, minute=0).isoformat() == \
        "2026-11-16"


def test_recovery_is_sized_from_the_time_limit() -> None:
    rec = Recovery.from_section(load_settings(env={}).celery)
    # Redis must not hand out a running or retry-waiting task again …
    assert rec.visibility_timeout > rec.time_limit + RETRY_BACKOFF_MAX_S
    # … and the defaults bring a killed worker's tasks back within minutes, not an hour.
    assert rec.worst_case_s == rec.visibility_timeout + rec.restore_scan <= 600
    # A lost poll comes back by redelivery before beat would claim its source again.
    assert rec.poll_lease >= rec.worst_case_s
    longer = Recovery.from_section(load_settings(
        env={"YUQING_CELERY_TASK_TIME_LIMIT": "600"}).celery)
    assert longer.visibility_timeout - rec.visibility_timeout == 600 - rec.time_limit
    given = Recovery.from_section(load_settings(env={
        "YUQING_CELERY_VISIBILITY_TIMEOUT": "30", "YUQING_CELERY_POLL_LEASE": "45"}).celery)
    assert (given.visibility_timeout, given.poll_lease) == (30, 45)


DAY = 86400
CREATED = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.mark.parametrize(("status", "last_ok", "now", "state"), [
    (410, None, CREATED, GONE),
    (410, CREATED + timedelta(days=3), CREATED + timedelta(days=3, hours=1), GONE),
    (404, CREATED, CREATED + timedelta(days=6, hours=23), None),
    (404, CREATED, CREATED + timedelta(days=7), LIKELY_GONE),
    (404, None, CREATED + timedelta(days=8), LIKELY_GONE),     # never worked: since added
    (404, CREATED + timedelta(days=5), CREATED + timedelta(days=8), None),
    (500, None, CREATED + timedelta(days=30), None),           # failing, not gone
    (200, CREATED, CREATED + timedelta(days=30), None),
    (None, None, CREATED + timedelta(days=30), None),
])
def test_gone_state(status: int | None, last_ok: datetime | None, now: datetime,
                    state: str | None) -> None:
    assert gone_state(status, last_ok, CREATED, now, likely_gone_after_s=7 * DAY) == state
