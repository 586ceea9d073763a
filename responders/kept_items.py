"""What keeps an old item from retention's prune (monitor.retention): the desk's references
to items. One function, so a new table that refers to items (an evidence snapshot, say) is
one more line here and nowhere else."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from responders.models import Alert, Output


def referenced(item_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """True for an item an alert is raised on, or that is an output's own post (the office's
    post recorded in the output log). Each is an EXISTS along a unique index."""
    return or_(
        select(Alert.id).where(Alert.item_id == item_id).exists(),
        select(Output.id).where(Output.own_item_id == item_id).exists(),
    )
