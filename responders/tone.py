"""What charts and the digest average as the posts' tone: the balance of the three classes'
probabilities where stored, else the score (monitor.sentiment.base.tone), in SQL and for a
loaded item. A mean of scores is pulled to the extremes by neutral posts (a neutral notice
can score 0.02 or 0.98); the balance puts them near the middle (issue 19)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, Float, func, literal

from monitor.models import Item
from monitor.sentiment.base import tone


def tone_sql() -> ColumnElement[float]:
    """The tone of an item as a column expression (NULL for an unscored item)."""
    balance = (literal(1.0, Float) + Item.sentiment_p_positive - Item.sentiment_p_negative) / 2.0
    return func.coalesce(balance, Item.sentiment_score)


def item_tone(item: Item) -> float | None:
    return tone(item.sentiment_score, item.sentiment_p_negative, item.sentiment_p_positive)


def label_figure(item: object) -> str:
    """The figure the desk shows beside an item's label: how likely that label is, where
    the engine gave three classes ("负面 0.75" — the same figure the alert's reasons give),
    else the score. The three-class score is not a probability of anything a reader
    knows: a worried question scores 0.08 with P(negative) 0.75. Takes any object with
    Item's sentiment attributes (an ORM item or a row of the queue's query); "" unscored."""
    label = getattr(item, "sentiment_label", None)
    p = {"negative": getattr(item, "sentiment_p_negative", None),
         "neutral": getattr(item, "sentiment_p_neutral", None),
         "positive": getattr(item, "sentiment_p_positive", None)}.get(label or "")
    if p is not None:
        return f"{p:.2f}"
    score = getattr(item, "sentiment_score", None)
    return "" if score is None else f"{score:.2f}"


def label_title(item: object, t: Callable[[str], str] | None = None) -> str:
    """All three probabilities and the score, for a tooltip, the class names through `t`
    (the page's translate); "" for a binary engine."""
    keys = ("negative", "neutral", "positive")
    ps = [getattr(item, f"sentiment_p_{k}", None) for k in keys]
    if any(p is None for p in ps):
        return ""
    name = t or (lambda k: k)
    parts = [f"{name(k)} {p:.2f}" for k, p in zip(keys, ps, strict=True)]
    score = getattr(item, "sentiment_score", None)
    return " · ".join(parts + ([f"score {score:.2f}"] if score is not None else []))
