"""The in-memory login throttle: limits per key, the window, and bounded memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from responders.auth import LoginThrottle

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_blocks_after_the_limit_until_the_window_passes() -> None:
    throttle = LoginThrottle(limit=3, window=timedelta(minutes=15))
    keys = ["name:wang", "addr:10.0.0.7"]
    for n in range(3):
        assert not throttle.blocked(keys, T0 + timedelta(minutes=n))
        throttle.failed(keys, T0 + timedelta(minutes=n))
    assert throttle.blocked(keys, T0 + timedelta(minutes=3))
    assert throttle.blocked(["addr:10.0.0.7"], T0 + timedelta(minutes=10))  # either key blocks
    assert not throttle.blocked(["name:li"], T0 + timedelta(minutes=10))
    # the first failure leaves the window at 09:15, so two remain: allowed again
    assert not throttle.blocked(keys, T0 + timedelta(minutes=15, seconds=1))


def test_success_clears_the_name_but_not_the_address() -> None:
    throttle = LoginThrottle(limit=2)
    throttle.failed(["name:wang", "addr:a"], T0)
    throttle.failed(["name:wang", "addr:a"], T0)
    throttle.succeeded(["name:wang"])
    assert not throttle.blocked(["name:wang"], T0)
    assert throttle.blocked(["addr:a"], T0)


def test_checking_stores_nothing_and_expired_keys_are_dropped() -> None:
    throttle = LoginThrottle(limit=5, window=timedelta(minutes=15))
    for n in range(1000):  # a scan of made-up user names
        assert not throttle.blocked([f"name:user{n}"], T0)
    assert throttle.tracked() == 0
    for n in range(1000):
        throttle.failed([f"name:user{n}", "addr:attacker"], T0 + timedelta(seconds=n))
    assert throttle.tracked() == 1001
    # an hour later, one more failure sweeps out every key whose failures have all expired
    later = T0 + timedelta(hours=1)
    throttle.failed(["name:wang", "addr:b"], later)
    assert throttle.tracked() == 2
    assert throttle.blocked(["addr:b"], later) is False
