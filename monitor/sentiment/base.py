"""The scorer interface every sentiment engine implements, and the input guard they share."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Label = Literal["negative", "neutral", "positive"]

# CJK Unified Ideographs (+ Extension A and compatibility block): a text without any of these is
# not something a Chinese sentiment model can judge, so it stays unscored rather than guessed.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Weibo fills an empty repost with this phrase and a chain of "//@name:" mentions: neither
# says anything about the post's tone (the trained model reads the phrase as mildly
# negative), so a bare repost stays unscored. Words added to a repost ("太过分了//@甲:…")
# are the reposter's own, and the words a chain quotes were someone's own: both are scored.
_REPOST_FILLER = re.compile(r"转发微博|轉發微博|(?i:repost)|//@[^:：\s]+[:：]")
# A plain "@name" (tagging people, "@甲 @乙") is filler too, but only where the name visibly
# ends: at a space, a colon, the next mention or the end of the text. A Weibo nickname is
# made of letters, digits, "_" and "-" (CJK included), so punctuation ends it as well — and
# then words follow the mention: "@某市司法局你们的热线一直打不通，太失望了" is a complaint
# addressed to an account, not a repost. The earlier pattern ran the name to the next space
# and swallowed such posts whole.
_MENTION = re.compile(r"@([\w-]+)(?=[\s:：@/]|$)")
# Weibo caps a nickname at 30 display columns, a CJK character taking two: a longer run after
# "@" is not a name, so it is someone's words written without a space after the mention. A
# shorter run that ends the post unpunctuated ("@河南司法为你们点赞") cannot be told from a
# name — Weibo itself would link it as one — and stays filler.
_NICKNAME_COLUMNS = 30


def _columns(name: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in name)


def _drop_mention(m: re.Match[str]) -> str:
    return "" if _columns(m.group(1)) <= _NICKNAME_COLUMNS else m.group(0)


def strip_filler(text: str) -> str:
    """`text` without repost filler and bare @-mentions: what the author said themselves
    (empty for a bare repost)."""
    return _MENTION.sub(_drop_mention, _REPOST_FILLER.sub(" ", text)).strip()


@dataclass(frozen=True)
class Sentiment:
    score: float  # probability that the text is positive, 0..1
    label: Label
    # The three classes' probabilities (calibrated, summing to 1) where the engine has a
    # neutral class (`weibo`); None for the binary engines, whose score alone cannot tell a
    # neutral notice from a text torn between two sides.
    p_negative: float | None = None
    p_neutral: float | None = None
    p_positive: float | None = None

    @property
    def balance(self) -> float | None:
        """P(positive) − P(negative), −1..1: what a mean over many posts should average (a
        neutral post counts near 0, wherever its score leans), None without three classes."""
        if self.p_positive is None or self.p_negative is None:
            return None
        return self.p_positive - self.p_negative


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


def tone(score: float | None, p_negative: float | None,
         p_positive: float | None) -> float | None:
    """A post's tone on the score's 0..1 scale, for means over many posts: (1 + P(positive)
    − P(negative)) / 2 where the engine gave the three classes — a neutral post counts near
    0.5 wherever its score leans — else the score (a binary engine, or an item analysed
    before the probabilities were stored)."""
    if p_negative is not None and p_positive is not None:
        return (1.0 + p_positive - p_negative) / 2.0
    return score


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
    if not text or not _HAN.search(strip_filler(text)):
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


def model_version(scorer: object) -> str | None:
    """The version of the model `scorer` scores with (a `weibo` registry name such as
    "shipped"), None for an engine without versions (SnowNLP's, a test's fake)."""
    version = getattr(scorer, "version", None)
    return version if isinstance(version, str) else None


class Scorer(Protocol):
    """A sentiment engine. Built once per process (model loading is expensive)."""

    name: str

    def score(self, text: str | None) -> Sentiment | None:
        """Sentiment of one text, or None when the text cannot be scored (see `prepare`)."""
        ...

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        ...
