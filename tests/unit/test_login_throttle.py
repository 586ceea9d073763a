"""The login throttle: growing delays per account, a much higher threshold per address, no
lock-out of the right password, and its state in the database (shared by web processes).

`delay_after` is pure and tested as a table; LoginThrottle is tested on a real, migrated
database (SQLite, or PostgreSQL with YUQING_TEST_DATABASE_URL), two sessionmakers on two
engines standing for two web processes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.db import make_engine, make_sessionmaker
from responders.auth import LoginThrottle, ThrottlePolicy, delay_after
from tests.support.settings import defaults

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
POLICY = ThrottlePolicy(free=5, address_free=100, window=timedelta(minutes=15),
                        max_delay=timedelta(seconds=60))


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (1, 0), (4, 0), (5, 1), (6, 2), (7, 4), (10, 32), (11, 60), (12, 60),
     (10_000, 60)],
)  # fmt: skip
def test_delay_grows_then_stops_at_the_cap(failures: int, seconds: int) -> None:
    assert delay_after(failures, 5, timedelta(seconds=60)) == timedelta(seconds=seconds)


def test_shipped_defaults_throttle_an_address_far_later_than_a_name() -> None:
    web = defaults().web
    assert web.login_address_attempts >= 10 * web.login_attempts
    assert web.login_max_delay_seconds <= 300  # a wait, not the old 15-minute lock
    assert web.trusted_proxies == ("127.0.0.1", "::1")


def _fail(sessions: sessionmaker[Session], throttle: LoginThrottle, name: str, addr: str,
          now: datetime) -> None:
    with sessions() as s:
        throttle.failed(s, name, addr, now)
        s.commit()


def _wait(sessions: sessionmaker[Session], throttle: LoginThrottle, name: str, addr: str,
          now: datetime) -> timedelta:
    with sessions() as s:
        return throttle.wait(s, name, addr, now)


def test_one_name_waits_a_colleague_at_the_same_address_does_not(
    sessions: sessionmaker[Session],
) -> None:
    throttle = LoginThrottle(POLICY)
    for n in range(5):
        assert not _wait(sessions, throttle, "wang", "10.0.0.7", T0)
        _fail(sessions, throttle, "wang", "10.0.0.7", T0 + timedelta(seconds=n))
    late = T0 + timedelta(seconds=4)
    assert _wait(sessions, throttle, "wang", "10.0.0.7", late) == timedelta(seconds=1)
    assert _wait(sessions, throttle, "WANG ", "10.9.9.9", late)  # the account, from anywhere
    assert not _wait(sessions, throttle, "li", "10.0.0.7", late)  # the office's address is fine
    assert not _wait(sessions, throttle, "wang", "10.0.0.7", late + timedelta(seconds=1))


def test_success_clears_the_name_but_not_the_address(sessions: sessionmaker[Session]) -> None:
    throttle = LoginThrottle(ThrottlePolicy(free=2, address_free=2,
                                            window=timedelta(minutes=15),
                                            max_delay=timedelta(seconds=60)))
    _fail(sessions, throttle, "wang", "a", T0)
    _fail(sessions, throttle, "wang", "a", T0)
    with sessions() as s:
        throttle.succeeded(s, "wang")
        s.commit()
    assert _wait(sessions, throttle, "wang", "b", T0) == timedelta(0)
    assert _wait(sessions, throttle, "zhao", "a", T0) == timedelta(seconds=1)


def test_failures_are_forgotten_after_the_window(sessions: sessionmaker[Session]) -> None:
    throttle = LoginThrottle(POLICY)
    for _ in range(7):
        _fail(sessions, throttle, "wang", "a", T0)
    assert _wait(sessions, throttle, "wang", "a", T0) == timedelta(seconds=4)
    later = T0 + timedelta(minutes=16)
    _fail(sessions, throttle, "wang", "a", later)  # counts as the first again
    assert _wait(sessions, throttle, "wang", "a", later) == timedelta(0)


def test_the_count_is_shared_by_two_web_processes(db_url: str) -> None:
    """Two engines (two processes' pools) see one count: four failures through one and one
    through the other make the fifth, which imposes the wait on both."""
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        first, second = (make_sessionmaker(e) for e in engines)
        throttle = LoginThrottle(POLICY)
        for n in range(4):
            _fail(first, throttle, "admin", "a", T0 + timedelta(seconds=n))
        assert not _wait(second, throttle, "admin", "b", T0 + timedelta(seconds=4))
        _fail(second, throttle, "admin", "b", T0 + timedelta(seconds=4))
        assert _wait(first, throttle, "admin", "c", T0 + timedelta(seconds=4))
    finally:
        for e in engines:
            e.dispose()


def test_checking_stores_nothing_and_expired_keys_are_dropped(
    sessions: sessionmaker[Session],
) -> None:
    throttle = LoginThrottle(POLICY)
    for n in range(200):  # a scan of made-up user names
        assert not _wait(sessions, throttle, f"user{n}", "attacker", T0)
    with sessions() as s:
        assert throttle.tracked(s) == 0
    for n in range(200):
        _fail(sessions, throttle, f"user{n}", "attacker", T0 + timedelta(seconds=n))
    with sessions() as s:
        assert throttle.tracked(s) == 201
    # The address passed its 100 free failures: it waits, whatever name it tries.
    assert _wait(sessions, throttle, "someone", "attacker", T0 + timedelta(seconds=199))
    # An hour later, one more failure sweeps out every key whose failures have all expired.
    later = T0 + timedelta(hours=1)
    _fail(sessions, throttle, "wang", "b", later)
    with sessions() as s:
        assert throttle.tracked(s) == 2
    assert _wait(sessions, throttle, "someone", "attacker", later) == timedelta(0)
