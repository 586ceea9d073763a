"""What keeps an old item from retention's prune (monitor.retention): the desk's references
to items. One function, so a new table that refers to items (an evidence snapshot, say) is
one more line here and nowhere else."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import InstrumentedAttribute

from responders.models import Alert, Output, SentimentReview, Snapshot


def referenced(item_id: InstrumentedAttribute[int]) -> ColumnElement[bool]:
    """True for an item an alert is raised on, that is an output's own post (the office's
    post recorded in the output log), that has evidence kept (a snapshot: evidence
    outlives what it describes only if the item stays), or that an officer reviewed (its
    text is the label's: `yuqing sentiment export-labels` needs it). Each is an EXISTS
    along an index."""
    return or_(
        select(Alert.id).where(Alert.item_id == item_id).exists(),
        select(Output.id).where(Output.own_item_id == item_id).exists(),
        select(Snapshot.id).where(Snapshot.item_id == item_id).exists(),
        select(SentimentReview.id).where(SentimentReview.item_id == item_id).exists(),
    )
