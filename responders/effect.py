"""回应效果: did the response work? For an event with a response — an output about its alert
published (the output log), or the office's own post in the event — the hours before and
after the first response compared: how many items per hour, and what share of the scored
ones read negative.

The window is `office.effect_hours` (24 by default) on each side, shortened to what the
event has: the before side starts no earlier than the event's first item, the after side
ends no later than `now` (an hour still running is counted as far as it has run, so its
bar is not a drop that has not happened). The office's own posts are the response, not the
public's reaction: they are not counted on either side.

`effect` is pure (points and responses in, numbers out); `load_effect` reads one event's
items and its alert's publications.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.event_store import seen_at
from monitor.models import Event, Item, Source
from monitor.office import OwnVoice
from responders.alerts import event_alerts
from responders.models import Alert, Output, Publication

ResponseKind = Literal["output", "own_post"]
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Point:
    """One item of the event: when it was out, and its sentiment label (None: not scored)."""
    at: datetime
    label: str | None


@dataclass(frozen=True)
class Window:
    hours: int
    items: int
    scored: int
    negative: int
    per_hour: tuple[int, ...]  # oldest hour first

    @property
    def negative_share(self) -> float | None:
        """Negative / scored; None when nothing in the window was scored."""
        return self.negative / self.scored if self.scored else None

    @property
    def rate(self) -> float:
        """Items per hour, over the window."""
        return self.items / self.hours

    def as_dict(self) -> dict[str, Any]:
        share = self.negative_share
        return {"hours": self.hours, "items": self.items, "scored": self.scored,
                "negative": self.negative,
                "negative_share": None if share is None else round(share, 3),
                "per_hour_mean": round(self.rate, 2), "per_hour": list(self.per_hour)}


@dataclass(frozen=True)
class Effect:
    first_response_at: datetime
    response_kind: ResponseKind
    before: Window
    after: Window

    def as_dict(self) -> dict[str, Any]:
        return {"first_response_at": self.first_response_at,
                "response_kind": self.response_kind,
                "before": self.before.as_dict(), "after": self.after.as_dict()}


def _window(points: Sequence[Point], start: datetime, hours: int) -> Window:
    per_hour = [0] * hours
    scored = negative = 0
    for p in points:
        if not start <= p.at < start + hours * HOUR:
            continue
        per_hour[int((p.at - start) / HOUR)] += 1
        if p.label is not None:
            scored += 1
            negative += p.label == "negative"
    return Window(hours, sum(per_hour), scored, negative, tuple(per_hour))


def _hours(span: timedelta, most: int) -> int:
    return max(1, min(most, math.ceil(span / HOUR)))


def effect(points: Sequence[Point], responses: Sequence[tuple[datetime, ResponseKind]], *,
           hours: int, now: datetime) -> Effect | None:
    """The first response's before/after comparison; None when there is no response.
    `points`: the event's items other than the office's own posts."""
    if not responses:
        return None
    t0, kind = min(responses, key=lambda r: (r[0], r[1] != "output"))
    first = min((p.at for p in points), default=t0)
    before_h = _hours(t0 - first, hours)
    after_h = _hours(min(now, t0 + hours * HOUR) - t0, hours)
    return Effect(first_response_at=t0, response_kind=kind,
                  before=_window(points, t0 - before_h * HOUR, before_h),
                  after=_window(points, t0, after_h))


def _source_names(session: Session, items: Sequence[Item]) -> dict[int, str]:
    ids = {i.source_id for i in items}
    return {sid: name for sid, name in session.execute(
        select(Source.id, Source.name).where(Source.id.in_(ids)))}


def load_effect(session: Session, event_id: int, own: OwnVoice, *, hours: int,
                now: datetime) -> Effect | None:
    """回应效果 of one event: its items (own posts apart) and its responses — the event's
    own posts and the publications of outputs about its alert."""
    event = session.get(Event, event_id)
    if event is None:
        return None
    items = session.scalars(select(Item).where(Item.event_id == event_id)).all()
    names = _source_names(session, items)
    points: list[Point] = []
    responses: list[tuple[datetime, ResponseKind]] = []
    for item in items:
        if own.is_own(names.get(item.source_id, ""), item.author):
            responses.append((seen_at(item), "own_post"))
        else:
            points.append(Point(seen_at(item), item.sentiment_label))
    alerts = event_alerts([event.id]).with_only_columns(Alert.id)
    published = session.scalars(
        select(Publication.published_at).join(Output, Output.id == Publication.output_id)
        .where(Output.alert_id.in_(alerts),
               # An own post recorded in the log is counted once, as the post.
               Output.own_item_id.is_(None))).all()
    responses.extend((at, "output") for at in published)
    return effect(points, responses, hours=hours, now=now)
