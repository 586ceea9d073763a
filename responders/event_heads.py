"""Which post heads an event in a list: its alert's post when it has one — the story's
strongest, never the office's own (responders.alerts) — else its first item. The first item is
only the one analysed first: with several workers often the office's own 情况通报, which
answers the story rather than tells it. One query for a page of events."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Event, Item
from responders.models import Alert


def event_heads(session: Session, events: Sequence[Event]) -> dict[int, Item]:
    """Event id → the item to head it with, for every event given that has an item."""
    ids = [e.id for e in events]
    heads = {e.id: e.first_item for e in events if e.first_item is not None}
    if not ids:
        return heads
    rows = session.execute(
        select(Item.event_id, Item).join(Alert, Alert.item_id == Item.id)
        .where(Item.event_id.in_(ids)).order_by(Alert.id))
    alerted: dict[int, Item] = {}
    for event_id, item in rows:
        if event_id is not None:
            alerted.setdefault(int(event_id), item)  # the oldest alert, if merges left two
    return {**heads, **alerted}
