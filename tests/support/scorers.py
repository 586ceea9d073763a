"""Stand-in sentiment scorers for tests about what happens after scoring."""

from __future__ import annotations

from collections.abc import Sequence

from monitor.sentiment.base import Sentiment


class AlwaysNegative:
    """Every text reads as negative: for tests about grouping and queuing, not sentiment."""

    name = "stub"

    def score(self, text: str | None) -> Sentiment | None:
        return Sentiment(0.2, "negative")

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        return [self.score(t) for t in texts]
