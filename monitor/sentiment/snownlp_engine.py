"""SnowNLP's stock model (trained on shopping reviews), behind the Scorer interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.sentiment.base import Sentiment, Thresholds, binary_score


class SnowNLPScorer:
    name = "snownlp"

    def __init__(self, thresholds: Thresholds, max_chars: int) -> None:
        # Imported here, not at module import: loading SnowNLP takes seconds and a lot of
        # memory, and only worker processes that score need it.
        from snownlp import sentiment as snow_sentiment

        self._classify: Any = snow_sentiment.classify
        self._thresholds = thresholds
        self._max_chars = max_chars

    def score(self, text: str | None) -> Sentiment | None:
        return binary_score(self._classify, text, self._thresholds, self._max_chars)

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        return [self.score(t) for t in texts]
