"""The scorer interface every sentiment engine implements, and the input guard they share."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Label = Literal["negative", "neutral", "positive"]

# CJK Unified Ideographs (+ Extension A and compatibility block): a text without any of these is
# not something a Chinese sentiment model can judge, so it stays unscored rather than guessed.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Weibo fills an empty repost with this phrase and a chain of "//@name:" mentions: neither
# says anything about the post's tone (the trained model reads the phrase as mildly
# negative), so a bare repost stays unscored.
_REPOST_FILLER = re.compile(r"转发微博|轉發微博|Repost|//@[^:：\s]+[:：]|@[^\s:：]+")


@dataclass(frozen=True)
class Sentiment:
    score: float  # probability that the text is positive, 0..1
    label: Label


class SentimentConfig(Protocol):
    """What the engines read of the settings: `settings.sentiment` (SentimentSection in
    monitor.settings_schema) has these. A protocol rather than that class, because the
    schema imports this package for the engines' names: importing it back, even only for
    type checking, would make the two an import circle."""

    @property
    def engine(self) -> str: ...
    @property
    def max_chars(self) -> int: ...
    @property
    def snownlp_model(self) -> str: ...
    @property
    def negative_below(self) -> float: ...
    @property
    def positive_above(self) -> float: ...


@dataclass(frozen=True)
class Thresholds:
    """Binary engines give only P(positive); these cut it into three labels. No defaults
    here: config/defaults.yaml (sentiment.negative_below, positive_above) holds them."""

    negative_below: float
    positive_above: float

    @classmethod
    def from_section(cls, sentiment: SentimentConfig) -> Thresholds:
        return cls(negative_below=sentiment.negative_below,
                   positive_above=sentiment.positive_above)

    def label(self, score: float) -> Label:
        if score < self.negative_below:
            return "negative"
        if score > self.positive_above:
            return "positive"
        return "neutral"


def prepare(text: str | None, max_chars: int) -> str | None:
    """Text fit for a model, or None when there is nothing Chinese to judge.

    Absurdly long texts are cut to `max_chars` on purpose: sentiment of a news article is
    carried by its opening, and SnowNLP's product of probabilities overflows on long input.
    """
    if not text:
        return None
    text = text.strip()
    if not text or not _HAN.search(_REPOST_FILLER.sub("", text)):
        return None
    return text[:max_chars]


def binary_score(
    classify: Callable[[str], float], text: str | None, thresholds: Thresholds, max_chars: int
) -> Sentiment | None:
    """Score `text` with a binary classifier returning P(positive) — SnowNLP's contract.

    SnowNLP divides by a sum of exponentials that can underflow to 0 or overflow, and raises
    ValueError for some trainer-made models: such a text is left unscored instead of
    crashing the batch.
    """
    prepared = prepare(text, max_chars)
    if prepared is None:
        return None
    try:
        value = float(classify(prepared))
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    if math.isnan(value):
        return None
    value = min(1.0, max(0.0, value))
    return Sentiment(score=value, label=thresholds.label(value))


class Scorer(Protocol):
    """A sentiment engine. Built once per process (model loading is expensive)."""

    name: str

    def score(self, text: str | None) -> Sentiment | None:
        """Sentiment of one text, or None when the text cannot be scored (see `prepare`)."""
        ...

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        ...
