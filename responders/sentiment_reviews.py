"""Officers' corrections of an item's sentiment (issue 19): the one owner of the
`sentiment_reviews` table (responders.models.SentimentReview, migration desk_0014).

An officer who finds the model's label wrong marks it on the alert or event page
("情感判断有误 → 负面/中性/正面"). One review per (item, officer): a second replaces the first.
The desk shows the officers' verdict beside the model's label; `yuqing sentiment
export-labels`, `eval --reviews` and `train --reviews` read the majority as labelled data, so
the model is measured on, and can learn from, the office's own stream.

The verdicts are pure functions of the labels; the writes flush, never commit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.db import insert_ignore
from monitor.errors import InputError, NotFound
from monitor.event_store import item_text
from monitor.models import Item
from responders.auth import Principal
from responders.desk import audit
from responders.models import Alert, SentimentReview
from responders.workflow import ANYONE, RoleForbidden

LABELS = ("negative", "neutral", "positive")
LABEL_NAMES = {"negative": "负面", "neutral": "中性", "positive": "正面"}
# The page a review is made from, as the audit entry names it: ("alert", id) or ("event", id).
PAGES = ("alert", "event")


# ---------------------------------------------------------------- pure verdicts

def majority(labels: Iterable[str]) -> str | None:
    """The label most officers gave, or None when two or more labels tie for the most (a
    tie is no evidence either way, so it is not a training or evaluation label)."""
    counts = Counter(labels).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


@dataclass(frozen=True)
class Verdict:
    """What the desk shows beside the model's label.

    kind: "corrected" (every reviewer gave `label`, not the model's), "confirmed" (every
    reviewer gave the model's own label), or "split" (reviewers disagree; `label` is their
    majority, None on a tie)."""

    kind: str
    label: str | None
    reviews: int


def verdict(labels: Sequence[str], model_label: str | None) -> Verdict | None:
    """The officers' verdict on one item from their labels; None when nobody reviewed it."""
    if not labels:
        return None
    if len(set(labels)) > 1:
        return Verdict("split", majority(labels), len(labels))
    label = labels[0]
    return Verdict("confirmed" if label == model_label else "corrected", label, len(labels))


# ---------------------------------------------------------------- writes

def _check_page(session: Session, item: Item, page: tuple[str, int]) -> None:
    """The alert or event page `page` shows `item` (an alert page shows its item and the
    rest of that item's event), else InputError: the audit entry must not name a page the
    review was not made from."""
    kind, page_id = page
    if kind not in PAGES:
        raise InputError(f"a review is made from an alert or an event page, not {kind!r}")
    if kind == "event":
        shown = item.event_id == page_id
    else:
        alert = session.get(Alert, page_id)
        first = session.get(Item, alert.item_id) if alert is not None else None
        shown = first is not None and (first.id == item.id or (
            first.event_id is not None and first.event_id == item.event_id))
    if not shown:
        raise InputError(f"item {item.id} is not on {kind} {page_id}'s page")


def record_review(session: Session, who: Principal, item_id: int, label: str,
                  now: datetime, page: tuple[str, int] | None = None) -> SentimentReview:
    """`who`'s judgement of item `item_id`'s sentiment, replacing their earlier one, with an
    audit entry (entity item, action sentiment_review, old → new label, and `page`, the
    alert or event page it was made from, as `alert_id` / `event_id`). The same label
    again changes and logs nothing. Two requests at once are kept apart by the unique
    (item_id, user_id): the insert that loses becomes an update of the winner's row."""
    if who.role not in ANYONE or who.user_id is None:
        raise RoleForbidden(f"role {who.role!r} may not review sentiment")
    if label not in LABELS:
        raise InputError(f"情感标签须为 {'、'.join(LABEL_NAMES.values())} 之一"
                         f"（{', '.join(LABELS)}），收到 {label!r}")
    item = session.get(Item, item_id)
    if item is None:
        raise NotFound(f"no item {item_id}")
    if page is not None:
        _check_page(session, item, page)
    # the model version that scored it (core_0011), else the engine's name for items scored
    # before versions or by an engine without them
    version = item.sentiment_model or item.sentiment_engine
    new_id = session.execute(
        insert_ignore(session, SentimentReview.__table__).returning(
            SentimentReview.__table__.c.id),
        {"item_id": item.id, "user_id": who.user_id, "label": label,
         "model_version": version, "created_at": now, "updated_at": now},
    ).scalar_one_or_none()
    before: str | None = None
    if new_id is None:  # reviewed before (or by a racing request): replace the label
        row = session.scalars(
            select(SentimentReview).where(SentimentReview.item_id == item.id,
                                          SentimentReview.user_id == who.user_id)
            .with_for_update()).one()
        if row.label == label:
            return row
        before = row.label
        row.label = label
        row.model_version = version
        row.updated_at = now
    else:
        row = session.get_one(SentimentReview, int(new_id))
    detail: dict[str, object] = {"old": before, "new": label,
                                 "model_label": item.sentiment_label, "model_version": version}
    if page is not None:
        detail[f"{page[0]}_id"] = page[1]
    audit(session, who, now, entity="item", entity_id=item.id, action="sentiment_review",
          from_state=before, to_state=label, detail=detail)
    session.flush()
    return row


# ---------------------------------------------------------------- reads

def verdicts(session: Session, items: Sequence[Item]) -> dict[int, Verdict]:
    """The verdicts on `items` (a page's: bounded), in one query; unreviewed items absent."""
    if not items:
        return {}
    labels: dict[int, list[str]] = {}
    for item_id, label in session.execute(
            select(SentimentReview.item_id, SentimentReview.label)
            .where(SentimentReview.item_id.in_([i.id for i in items]))
            .order_by(SentimentReview.item_id, SentimentReview.id)):
        labels.setdefault(int(item_id), []).append(str(label))
    model = {i.id: i.sentiment_label for i in items}
    out: dict[int, Verdict] = {}
    for item_id, given in labels.items():
        v = verdict(given, model.get(item_id))
        if v is not None:
            out[item_id] = v
    return out


def own_labels(session: Session, user_id: int, item_ids: Sequence[int]) -> dict[int, str]:
    """The label `user_id` gave each of `item_ids` (to preselect it in their form)."""
    if not item_ids:
        return {}
    return {int(i): str(lab) for i, lab in session.execute(
        select(SentimentReview.item_id, SentimentReview.label)
        .where(SentimentReview.user_id == user_id,
               SentimentReview.item_id.in_(list(item_ids))))}


@dataclass(frozen=True)
class ReviewedItem:
    """One reviewed item as labelled data: the text the model judged and the majority."""

    item_id: int
    text: str
    label: str
    reviews: int
    model_label: str | None
    model_version: str | None

    def as_record(self) -> dict[str, object]:
        # `text` and `label` are what monitor.sentiment.evaluate.load_labelled reads; the
        # rest says where the row came from and is ignored there.
        return {"text": self.text, "label": self.label, "item_id": self.item_id,
                "reviews": self.reviews, "model_label": self.model_label,
                "model_version": self.model_version}


@dataclass(frozen=True)
class Export:
    rows: list[ReviewedItem]
    ties: int  # items whose reviewers tied: skipped
    empty: int  # items with no text to judge: skipped


def reviewed_items(session: Session, since: datetime | None = None) -> Export:
    """Every reviewed item (reviewed on or after `since`, when given) with the officers'
    majority label, in item order. An item counts when any of its reviews was written
    since; its label is the majority of all its current reviews."""
    reviewed = select(SentimentReview.item_id).group_by(SentimentReview.item_id)
    if since is not None:
        reviewed = reviewed.having(func.max(SentimentReview.updated_at) >= since)
    rows = session.execute(
        select(Item, SentimentReview.label, SentimentReview.model_version)
        .join(SentimentReview, SentimentReview.item_id == Item.id)
        .where(Item.id.in_(reviewed))
        .order_by(Item.id, SentimentReview.updated_at, SentimentReview.id)).all()
    grouped: dict[int, tuple[Item, list[str], str | None]] = {}
    for item, given, version in rows:
        _, labels, _ = grouped.get(item.id, (item, [], None))
        labels.append(str(given))
        grouped[item.id] = (item, labels, version)  # the latest review's model version
    out: list[ReviewedItem] = []
    ties = empty = 0
    for item_id, (item, labels, version) in grouped.items():
        label = majority(labels)
        text = item_text(item)
        if label is None:
            ties += 1
            continue
        if not text.strip():
            empty += 1
            continue
        out.append(ReviewedItem(item_id, text, label, len(labels), item.sentiment_label,
                                version))
    return Export(out, ties, empty)
