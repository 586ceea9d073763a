"""回应效果 (responders.effect.effect): the hours before and after the first response,
counted by hand for small stories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from responders.effect import Point, effect

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Zhengzhou: the clarification
H = timedelta(hours=1)


def _p(hours: float, label: str | None) -> Point:
    return Point(T0 + hours * H, label)


def test_no_response_no_effect() -> None:
    assert effect([_p(-1, "negative")], [], hours=24, now=T0) is None


def test_before_and_after_a_clarification() -> None:
    # The rumour runs for 3 hours (2+3+4 posts, mostly negative); after the office's
    # clarification, two hours of fewer and calmer posts; the story is 2.5 hours past it.
    points = ([_p(-2.9, "negative"), _p(-2.1, "negative")]
              + [_p(-1.5, "negative")] * 3
              + [_p(-0.5, "negative")] * 3 + [_p(-0.2, "neutral")]
              + [_p(0, "neutral"), _p(0.5, "negative"), _p(1.2, "positive"), _p(1.9, None),
                 _p(2.2, "neutral")])
    got = effect(points, [(T0, "own_post"), (T0 + 3 * H, "output")], hours=24,
                 now=T0 + 2.5 * H)
    assert got is not None
    assert (got.first_response_at, got.response_kind) == (T0, "own_post")
    # Before: the event's 3 hours, not 24 (it is younger than that).
    assert got.before.hours == 3 and got.before.per_hour == (2, 3, 4)
    assert (got.before.negative, got.before.scored) == (8, 9)
    assert got.before.negative_share == pytest.approx(8 / 9)
    # After: up to now — 3 hours, the last one still running.
    assert got.after.hours == 3 and got.after.per_hour == (2, 2, 1)
    assert (got.after.items, got.after.scored, got.after.negative) == (5, 4, 1)
    assert got.after.negative_share == pytest.approx(0.25)
    assert got.before.rate == 3.0 and got.after.rate == pytest.approx(5 / 3)


def test_window_is_capped_and_old_items_fall_outside() -> None:
    points = [_p(-30, "negative"), _p(-23.5, "negative"), _p(23.9, "neutral"), _p(24, "neutral")]
    got = effect(points, [(T0, "output")], hours=24, now=T0 + 100 * H)
    assert got is not None and got.response_kind == "output"
    assert (got.before.hours, got.after.hours) == (24, 24)
    assert (got.before.items, got.after.items) == (1, 1)  # -30 h and +24 h are outside
    assert got.before.per_hour[0] == 1 and got.after.per_hour[-1] == 1


def test_an_output_and_an_own_post_at_once_name_the_output() -> None:
    got = effect([], [(T0, "own_post"), (T0, "output")], hours=6, now=T0)
    assert got is not None and got.response_kind == "output"
    # Nothing to compare yet: one (empty) hour each side, and no share to show.
    assert (got.before.hours, got.after.hours) == (1, 1)
    assert got.before.negative_share is None and got.as_dict()["after"]["negative_share"] is None
