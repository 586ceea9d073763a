"""What charts and the digest average as the posts' tone: the balance of the three classes'
probabilities where stored, else the score (monitor.sentiment.base.tone), in SQL and for a
loaded item. A mean of scores is pulled to the extremes by neutral posts (a neutral notice
can score 0.02 or 0.98); the balance puts them near the middle (issue 19)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Float, func, literal

from monitor.models import Item
from monitor.sentiment.base import tone


def tone_sql() -> ColumnElement[float]:
    """The tone of an item as a column expression (NULL for an unscored item)."""
    balance = (literal(1.0, Float) + Item.sentiment_p_positive - Item.sentiment_p_negative) / 2.0
    return func.coalesce(balance, Item.sentiment_score)


def item_tone(item: Item) -> float | None:
    return tone(item.sentiment_score, item.sentiment_p_negative, item.sentiment_p_positive)
