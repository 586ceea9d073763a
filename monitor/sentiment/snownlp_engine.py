"""SnowNLP's stock model (trained on shopping reviews), behind the Scorer interface."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from monitor.sentiment.base import Sentiment, Thresholds, prepare


class SnowNLPScorer:
    name = "snownlp"

    def __init__(self, thresholds: Thresholds, max_chars: int = 2000) -> None:
        # Imported here, not at module import: loading SnowNLP takes seconds and a lot of
        # memory, and only worker processes that score need it.
        from snownlp import sentiment as snow_sentiment

        self._classify: Any = snow_sentiment.classify
        self._thresholds = thresholds
        self._max_chars = max_chars

    def score(self, text: str | None) -> Sentiment | None:
        prepared = prepare(text, self._max_chars)
        if prepared is None:
            return None
        try:
            value = float(self._classify(prepared))
        except (ZeroDivisionError, OverflowError, ValueError):
            # SnowNLP divides by a sum of exponentials that can underflow to 0 or overflow on
            # some inputs; such a text is left unscored instead of crashing the batch.
            return None
        if math.isnan(value):
            return None
        value = min(1.0, max(0.0, value))
        return Sentiment(score=value, label=self._thresholds.label(value))

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        return [self.score(t) for t in texts]
