"""A three-class sentiment model for Weibo and public-affairs text; numpy + pyahocorasick.

Two linear heads share one featurizer (hashed character 1–4-grams, whole Weibo emoticon tokens
([哈哈], [怒] …), a handful of domain-lexicon features with negation, see `lexicon_features`,
and four from the 100,000-word weighted lexicon, see `monitor.sentiment.lexicon`):
a three-class multinomial logistic regression that decides neutral-or-not, and a binary
negative-vs-positive logistic regression over NB-scaled features (`polarity`) that gives the
score and the side a polar text takes. It is trained by `monitor.sentiment.train`; this module
only featurizes and scores, so the same featurizer serves training and inference and they
cannot drift apart.

Why hashing rather than a vocabulary: the shipped file is then just a weight table (no string
vocabulary to store or look up), featurizing is a few numpy operations per text, and an n-gram
never seen in training simply lands in a bucket with (near) zero weight.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ahocorasick
import numpy as np
import numpy.typing as npt

from monitor.errors import ConfigError
from monitor.sentiment.base import Label, Sentiment, prepare
from monitor.sentiment.lexicon import WEIGHTED_FEATURES, load_weighted_lexicon, negated_at
from monitor.sentiment.normalize import normalize

LABELS: tuple[Label, Label, Label] = ("negative", "neutral", "positive")
MODEL_DIR = Path(__file__).parent / "models"
MODEL_NAME = "weibo_sentiment"

# Weibo emoticons are bracketed names: [哈哈] [泪] [good] [中国赞]. Eight characters covers the
# long ones ([挖鼻屎], [草泥马]) without swallowing bracketed prose such as [转发理由：…].
EMOTICON = re.compile(r"\[[^\[\]\s]{1,8}\]")

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_PRIME = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime
_MIX = np.uint64(0x9E3779B97F4A7C15)  # golden-ratio multiplier: spreads bits before the shift
_ORDER_SEEDS = tuple(np.uint64(0xCBF29CE484222325 + 0x1000193 * n) for n in range(1, 8))
_BOS, _EOS = "\x02", "\x03"


def strip_emoticons(text: str) -> str:
    """The text without Weibo emoticon tokens, for evaluating what the words alone carry."""
    return EMOTICON.sub("", text)


# --- domain lexicon -------------------------------------------------------------------------
# A short hand-written lexicon, aimed at what general Weibo training data rarely contains:
# complaints about and praise of public services. Each hit adds to one of a few shared features,
# so the weight learned from common words ("失望", "感谢") carries over to rare domain words
# ("推诿", "踢皮球") that the training data never shows. Negation flips a hit's polarity.
POSITIVE_TERMS: tuple[str, ...] = (
    "感谢", "谢谢", "点赞", "赞", "好评", "满意", "称赞", "表扬", "支持", "辛苦了", "致敬",
    "暖心", "温暖", "贴心", "耐心", "细心", "热心", "热情", "专业", "高效", "及时", "公正",
    "公平", "便民", "为民", "给力", "靠谱", "负责", "尽职", "认真", "锦旗", "感动", "感激",
    "开心", "高兴", "幸福", "快乐", "喜欢", "优秀", "棒", "加油", "希望", "顺利", "放心",
    "安心", "省心", "规范", "透明", "好样的", "厉害", "解决了", "圆满", "化解", "帮助",
)
NEGATIVE_TERMS: tuple[str, ...] = (
    "不作为", "乱作为", "推诿", "扯皮", "踢皮球", "敷衍", "拖延", "拖拉", "刁难", "冷漠",
    "态度差", "差评", "投诉", "举报", "不满", "失望", "愤怒", "气愤", "生气", "恶心", "垃圾",
    "黑幕", "腐败", "贪污", "受贿", "索贿", "违法", "违规", "违纪", "乱收费", "冤", "欺负",
    "骗", "坑", "无语", "呵呵", "寒心", "心寒", "难过", "伤心", "害怕", "担心", "恐慌",
    "可怕", "糟糕", "烂", "差劲", "离谱", "荒唐", "可笑", "讽刺", "官僚", "形式主义", "霸道",
    "威胁", "打人", "死亡", "去世", "悲剧", "痛心", "哭", "怒", "烦", "讨厌", "无奈",
    "石沉大海", "没人管", "没人理", "不回复", "推脱", "办不了", "跑断腿",
)
# Features appended after the hashed buckets; the order is part of the model file's format.
LEXICON_FEATURES: tuple[str, ...] = (
    "lex_pos", "lex_neg", "lex_pos_negated", "lex_neg_negated", "lex_question", "lex_exclaim",
    *WEIGHTED_FEATURES,
)


def _ranked(terms: Sequence[str]) -> list[str]:
    """Terms in the longest-first order `_claim` gives them their spans in (equal lengths keep
    their order)."""
    return sorted(dict.fromkeys(terms), key=len, reverse=True)


def _domain_automaton() -> Any:
    """One automaton over both domain lists, so a text is scanned once for the two: a term's
    value is ((list, rank, length), ...), one entry per list (0 positive, 1 negative) it is in."""
    places: dict[str, list[tuple[int, int, int]]] = {}
    for which, terms in enumerate((POSITIVE_TERMS, NEGATIVE_TERMS)):
        for rank, term in enumerate(_ranked(terms)):
            places.setdefault(term, []).append((which, rank, len(term)))
    automaton = ahocorasick.Automaton()
    for term, entries in places.items():
        automaton.add_word(term, tuple(entries))
    automaton.make_automaton()
    return automaton


_DOMAIN = _domain_automaton()


def _claim(text: str, found: list[tuple[int, int, int]]) -> tuple[int, int]:
    """(plain hits, negated hits) of one list's occurrences (rank, start, length) in `text`; a
    term inside a longer one counts once.

    Longer terms claim their spans first, each term's occurrences from the left: one scan
    finds every occurrence, sorted into that order, instead of one `find` loop per term.
    """
    plain = negated = 0
    taken: set[int] = set()
    for _rank, start, length in sorted(found):
        span = range(start, start + length)
        if not taken.intersection(span):
            taken.update(span)
            if negated_at(text, start):
                negated += 1
            else:
                plain += 1
    return plain, negated


def lexicon_features(text: str) -> npt.NDArray[np.float32]:
    """The hand-written lexicon's dense features of a normalized text (the first six of
    `LEXICON_FEATURES`; the weighted lexicon's follow, see `Featurizer.sparse`).

    Counts are squashed by log1p: the first hit says most, the fifth says little more.
    """
    return np.log1p(np.asarray(lexicon_counts(text), dtype=np.float32))


def lexicon_counts(text: str) -> list[int]:
    """The counts behind `lexicon_features`, for featurizing a batch with one log1p."""
    found: tuple[list[tuple[int, int, int]], ...] = ([], [])
    for end, places in _DOMAIN.iter(text):
        for which, rank, length in places:
            found[which].append((rank, end + 1 - length, length))
    pos, pos_negated = _claim(text, found[0])
    neg, neg_negated = _claim(text, found[1])
    return [pos, neg, pos_negated, neg_negated, text.count("?"), text.count("!")]


def _emoticon_hash(token: str) -> np.uint64:
    return np.uint64(zlib.crc32(token.encode("utf-8")) | (0xE << 32))


def hashed_ngrams(text: str, orders: Sequence[int], bits: int) -> npt.NDArray[np.int64]:
    """Sorted unique bucket ids of the char n-grams and emoticon tokens of a normalized text.

    Hashing is FNV-style over code points in uint64 (wrapping on purpose), so a bucket is the
    same on every machine and Python run — unlike `hash()`, which is salted per process.
    """
    return hashed_ngrams_many([text], orders, bits)[0]


def hashed_ngrams_many(texts: Sequence[str], orders: Sequence[int], bits: int
                       ) -> list[npt.NDArray[np.int64]]:
    """`hashed_ngrams` of each text, hashed together: one numpy pass over the whole batch,
    since a few numpy calls per text cost more than the hashing itself."""
    if not texts:
        return []
    bodies: list[str] = []
    emoticon_hashes: list[np.uint64] = []
    emoticon_owners: list[int] = []
    for number, text in enumerate(texts):
        emoticons = EMOTICON.findall(text)
        bodies.append(EMOTICON.sub(" ", text) if emoticons else text)
        emoticon_hashes.extend(_emoticon_hash(e) for e in emoticons)
        emoticon_owners.extend([number] * len(emoticons))
    # Each text framed by BOS/EOS, all in one code array; `owner` says whose each code is, so
    # an n-gram spanning two texts (first and last code of different owners) is dropped.
    codes = np.frombuffer("".join(_BOS + b + _EOS for b in bodies).encode("utf-32-le"),
                          dtype=np.uint32).astype(np.uint64)
    sizes = np.fromiter((len(b) + 2 for b in bodies), dtype=np.int64, count=len(bodies))
    owner = np.repeat(np.arange(len(bodies), dtype=np.int64), sizes)
    hashes: list[npt.NDArray[np.uint64]] = []
    owners: list[npt.NDArray[np.int64]] = []
    longest = 0
    with np.errstate(over="ignore"):
        for n in orders:
            count = codes.size - n + 1
            if count <= 0:
                break
            # A text stops at its first order longer than itself (and skips the later ones).
            longest = max(longest, n)
            h = np.full(count, _ORDER_SEEDS[n - 1], dtype=np.uint64)
            for k in range(n):
                h = (h ^ codes[k : k + count]) * _PRIME
            first = owner[:count]
            keep = (first == owner[n - 1 :]) & (sizes[first] >= longest)
            hashes.append(h[keep])
            owners.append(first[keep])
        hashes.append(np.array(emoticon_hashes, dtype=np.uint64))
        owners.append(np.array(emoticon_owners, dtype=np.int64))
        mixed = np.concatenate(hashes) * _MIX
    buckets = (mixed >> np.uint64(64 - bits)).astype(np.int64)
    # Owner in the high bits: one sort gives every text's sorted unique buckets, side by side.
    # (A sort and a neighbour test: np.unique hashes first, four times slower on these keys.)
    # int32 keys sort twice as fast, and a batch of 200 at 20 bits fits them.
    key_type = np.dtype(np.int32 if len(texts) << bits <= np.iinfo(np.int32).max else np.int64)
    keys: npt.NDArray[np.signedinteger[Any]] = np.sort(
        ((np.concatenate(owners) << bits) | buckets).astype(key_type))
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    starts = (np.arange(len(texts) + 1) << bits).astype(key_type)
    bounds = np.searchsorted(keys, starts)
    low = (keys & ((1 << bits) - 1)).astype(np.int64)
    return [low[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@dataclass(frozen=True)
class Featurizer:
    """Text → (bucket ids, their value, dense lexicon features). Shared by train and score."""

    bits: int = 20
    orders: tuple[int, ...] = (1, 2, 3, 4)
    # Lexicon features are scaled up so that, under one L2 penalty, they can outweigh the many
    # small n-gram weights a topic word ("戒毒", "监狱") picked up from the training data.
    lexicon_scale: float = 1.0
    # Scale of the weighted lexicon's features (monitor.sentiment.lexicon); the shipped model
    # uses 0.3 (train.Options), and 0 turns them off.
    weighted_scale: float = 1.0

    @property
    def n_hashed(self) -> int:
        return 1 << self.bits

    @property
    def n_features(self) -> int:
        return self.n_hashed + len(LEXICON_FEATURES)

    def sparse(self, text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Feature indices and values: hashed buckets L2-normalized, then lexicon features."""
        return self.sparse_many([text])[0]

    def sparse_many(self, texts: Sequence[str]
                    ) -> list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]]:
        """`sparse` of each text, built for the whole batch at once: per-text numpy calls
        cost more than the arithmetic they do. The values are the per-text ones bit for bit
        (elementwise float32 log1p and products, the same float64 1/√n rounded once)."""
        if not texts:
            return []
        norms = [normalize(t) for t in texts]
        rows = len(norms)
        lex = np.log1p(np.array([lexicon_counts(n) for n in norms], dtype=np.float32)
                       .reshape(rows, -1)) * np.float32(self.lexicon_scale)
        if self.weighted_scale:
            lexicon = load_weighted_lexicon()
            sums = lexicon.sums_many(norms).astype(np.float32)
            weighted = np.log1p(sums) * np.float32(self.weighted_scale)
        else:  # off: the lexicon file is not needed
            weighted = np.zeros((rows, len(WEIGHTED_FEATURES)), dtype=np.float32)
        dense = np.concatenate([lex, weighted], axis=1)
        dense_rows, dense_cols = np.nonzero(dense)  # row-major: each row's columns ascending
        buckets = hashed_ngrams_many(norms, self.orders, self.bits)
        sizes = np.fromiter((b.size for b in buckets), dtype=np.int64, count=rows)
        scale = (1.0 / np.sqrt(np.maximum(sizes, 1))).astype(np.float32)
        # One array for the batch, each text's buckets then its lexicon features: a stable
        # sort by text interleaves the two blocks without a concatenate per text.
        owner = np.concatenate([np.repeat(np.arange(rows), sizes), dense_rows])
        order = np.argsort(owner, kind="stable")
        indices = np.concatenate([*buckets, self.n_hashed + dense_cols])[order]
        values = np.concatenate([np.repeat(scale, sizes), dense[dense_rows, dense_cols]])[order]
        bounds = np.concatenate(([0], np.cumsum(np.bincount(owner, minlength=rows))))
        return [(indices[a:b], values[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


@dataclass(frozen=True)
class Calibration:
    """Platt scaling of the positive-class logit margin, fitted on held-out data."""

    slope: float = 1.0
    intercept: float = 0.0

    def apply(self, margin: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        z = self.slope * margin + self.intercept
        out: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))
        return out


@dataclass(frozen=True)
class Polarity:
    """The binary negative-vs-positive head: margin = features · weights + bias.

    Trained on polar rows only, over features scaled by their naive-Bayes log-count ratio
    (NB-LR, Wang & Manning 2012); the scaling is folded into `weights`, so inference is the
    same dot product as for the three-class head.
    """

    weights: npt.NDArray[np.float32]
    bias: float


def decide(
    logits: npt.NDArray[np.float64],
    score: npt.NDArray[np.float64],
    decision_bias: npt.NDArray[np.float32],
    split_by_score: bool,
) -> list[Label]:
    """Three-class labels: neutral where the shifted three-class argmax says so.

    With a polarity head (`split_by_score`), a polar text takes the side its calibrated score
    says (> 0.5 positive), so label and score never disagree and the better-ranking binary
    head decides the side; without one, the three-class argmax decides everything.
    """
    decided = np.argmax(logits + decision_bias, axis=1)
    if split_by_score:
        side = np.where(score > 0.5, 2, 0)
        decided = np.where(decided == 1, 1, side)
    return [LABELS[int(k)] for k in decided]


class WeiboModel:
    """Weights + featurizer + calibration; `probabilities` is the whole of inference."""

    def __init__(
        self,
        weights: npt.NDArray[np.float32],
        bias: npt.NDArray[np.float32],
        featurizer: Featurizer,
        calibration: Calibration,
        decision_bias: npt.NDArray[np.float32] | None = None,
        meta: dict[str, Any] | None = None,
        polarity: Polarity | None = None,
        neutral: Calibration | None = None,
    ) -> None:
        if weights.shape != (featurizer.n_features, len(LABELS)):
            raise ConfigError(
                f"sentiment model weights have shape {weights.shape}, "
                f"expected {(featurizer.n_features, len(LABELS))}"
            )
        if polarity is not None and polarity.weights.shape != (featurizer.n_features,):
            raise ConfigError(
                f"sentiment polarity weights have shape {polarity.weights.shape}, "
                f"expected {(featurizer.n_features,)}"
            )
        self.weights = weights
        self.polarity = polarity
        # One gather per text serves both heads: the polarity weights ride as a fourth column.
        self._table = (
            weights if polarity is None else np.column_stack([weights, polarity.weights])
        )
        self._table_bias = (
            bias if polarity is None else np.append(bias, np.float32(polarity.bias))
        )
        self.bias = bias
        self.featurizer = featurizer
        self.calibration = calibration
        # Added to the logits only for the label decision: training data is short of neutral
        # text, and this shift (tuned on held-out data) restores the balance between classes.
        self.decision_bias = (
            decision_bias if decision_bias is not None else np.zeros(len(LABELS), np.float32)
        )
        self.meta = meta or {}
        # Platt scaling of the neutral-vs-polar margin (`neutral_margin`), fitted on held-out
        # three-class rows: P(neutral). None in a model trained before it; `classes` then
        # falls back to the uncalibrated softmax.
        self.neutral = neutral

    def raw(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(three-class logits, uncalibrated positive-vs-negative margin) of each text.

        Without a polarity head the margin is the three-class one (`positive_margin`).
        """
        rows = self.featurizer.sparse_many(texts)
        # The dot products stay one per text, in the featurizer's order: float32 sums are
        # rounded as they go, so only the same products in the same order give the same bits.
        dots = np.empty((len(rows), self._table.shape[1]),
                        dtype=np.result_type(np.float32, self._table))
        for i, (indices, values) in enumerate(rows):
            dots[i] = values @ self._table[indices]
        out = (dots + self._table_bias).astype(np.float64)
        logits = out[:, : len(LABELS)]
        margin = out[:, len(LABELS)] if self.polarity is not None else positive_margin(logits)
        return logits, margin

    def logits(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        return self.raw(texts)[0]

    def probabilities(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Uncalibrated three-class softmax probabilities, columns in `LABELS` order."""
        return softmax(self.logits(texts))

    def predict(self, texts: Sequence[str]) -> tuple[list[Label], npt.NDArray[np.float64]]:
        """Three-class labels and calibrated P(positive | not neutral) for each text."""
        logits, margin = self.raw(texts)
        score = self.calibration.apply(margin)
        return decide(logits, score, self.decision_bias, self.polarity is not None), score

    def classes(self, texts: Sequence[str]
                ) -> tuple[list[Label], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Labels, P(positive | not neutral), and the three classes' probabilities (rows sum
        to 1, columns in `LABELS` order): P(neutral) from its own calibration, the rest split
        by the calibrated score — so the shares of a period's posts and the mean of
        P(positive) − P(negative) are read off probabilities that match observed rates."""
        logits, margin = self.raw(texts)
        score = self.calibration.apply(margin)
        labels = decide(logits, score, self.decision_bias, self.polarity is not None)
        if self.neutral is not None:
            p_neutral = self.neutral.apply(neutral_margin(logits, self.decision_bias))
        else:
            p_neutral = softmax(logits + self.decision_bias)[:, 1]
        polar = 1.0 - p_neutral
        probs = np.column_stack([polar * (1.0 - score), p_neutral, polar * score])
        return labels, score, probs

    def save(self, out_dir: Path, name: str = MODEL_NAME) -> tuple[Path, Path]:
        """Write `<name>.npz` (non-zero weight rows as float16) and `<name>.json` (metadata)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        rows = np.flatnonzero(np.any(self._table != 0, axis=1)).astype(np.uint32)
        npz = out_dir / f"{name}.npz"
        arrays = {"rows": rows, "weights": self.weights[rows].astype(np.float16),
                  "bias": self.bias}
        if self.polarity is not None:
            arrays["polarity_weights"] = self.polarity.weights[rows].astype(np.float16)
        np.savez_compressed(npz, **arrays)  # type: ignore[arg-type]
        meta = {
            **self.meta,
            "format": 2 if self.polarity is not None else 1,
            "labels": list(LABELS),
            "bits": self.featurizer.bits,
            "orders": list(self.featurizer.orders),
            "lexicon_scale": self.featurizer.lexicon_scale,
            "weighted_scale": self.featurizer.weighted_scale,
            "weighted_lexicon_sha256": (
                load_weighted_lexicon().sha256 if self.featurizer.weighted_scale else None
            ),
            "lexicon_features": list(LEXICON_FEATURES),
            "calibration": {
                "slope": self.calibration.slope,
                "intercept": self.calibration.intercept,
            },
            "decision_bias": [float(x) for x in self.decision_bias],
        }
        if self.polarity is not None:
            meta["polarity_bias"] = self.polarity.bias
        if self.neutral is not None:
            meta["neutral_calibration"] = {"slope": self.neutral.slope,
                                           "intercept": self.neutral.intercept}
        js = out_dir / f"{name}.json"
        js.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return npz, js

    @classmethod
    def load(cls, model_dir: Path = MODEL_DIR, name: str = MODEL_NAME) -> WeiboModel:
        npz, js = model_dir / f"{name}.npz", model_dir / f"{name}.json"
        try:
            meta = json.loads(js.read_text(encoding="utf-8"))
            arrays = np.load(npz)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read sentiment model {npz} / {js}: {exc}") from exc
        if meta.get("format") not in (1, 2) or list(meta.get("lexicon_features", [])) != list(
            LEXICON_FEATURES
        ):
            raise ConfigError(f"sentiment model {js} was written by an incompatible version")
        featurizer = Featurizer(
            bits=int(meta["bits"]),
            orders=tuple(int(n) for n in meta["orders"]),
            lexicon_scale=float(meta.get("lexicon_scale", 1.0)),
            weighted_scale=float(meta.get("weighted_scale", 1.0)),
        )
        # The weights were fitted to one version of the weighted lexicon; another would
        # shift its features silently, so a mismatch is an error, not a quiet degradation.
        if featurizer.weighted_scale and (
            meta.get("weighted_lexicon_sha256") != load_weighted_lexicon().sha256
        ):
            raise ConfigError(
                f"sentiment model {js} was trained with another weighted lexicon than "
                f"monitor/sentiment/models/weighted_lexicon.tsv.gz; retrain it "
                f"(yuqing sentiment train)"
            )
        rows = arrays["rows"].astype(np.int64)
        weights = np.zeros((featurizer.n_features, len(LABELS)), dtype=np.float32)
        weights[rows] = arrays["weights"].astype(np.float32)
        polarity = None
        if meta["format"] == 2:
            if "polarity_weights" not in arrays.files or "polarity_bias" not in meta:
                raise ConfigError(f"sentiment model {npz} lacks its polarity head")
            polar = np.zeros(featurizer.n_features, dtype=np.float32)
            polar[rows] = arrays["polarity_weights"].astype(np.float32)
            polarity = Polarity(polar, float(meta["polarity_bias"]))
        cal = meta["calibration"]
        neu = meta.get("neutral_calibration")
        return cls(
            weights,
            arrays["bias"].astype(np.float32),
            featurizer,
            Calibration(float(cal["slope"]), float(cal["intercept"])),
            np.asarray(meta["decision_bias"], dtype=np.float32),
            meta,
            polarity,
            Calibration(float(neu["slope"]), float(neu["intercept"])) if neu else None,
        )


def softmax(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    out: npt.NDArray[np.float64] = e / e.sum(axis=1, keepdims=True)
    return out


def neutral_margin(logits: npt.NDArray[np.float64],
                   decision_bias: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """log P(neutral) − log P(polar) of the shifted three-class head: what the neutral
    calibration scales (the shift is the one the label decision uses)."""
    z = logits + decision_bias
    out: npt.NDArray[np.float64] = z[:, 1] - np.logaddexp(z[:, 0], z[:, 2])
    return out


def positive_margin(logits: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """log P(positive) − log P(negative): the quantity Platt scaling recalibrates.

    Neutral is left out on purpose: the score answers "if this text takes a side, how likely
    is it the positive one", as SnowNLP's score does, so a neutral notice lands near the
    middle instead of near 0 (where flagging would read it as negative).
    """
    out: npt.NDArray[np.float64] = logits[:, 2] - logits[:, 0]
    return out


class WeiboScorer:
    """The `weibo` engine: label from the model's three-class decision, score = P(positive).

    The score is the calibrated probability that the text is positive rather than negative
    (see `positive_margin`); the label is the three-class decision, so a text can be
    `neutral` with a score well away from 0.5 when it leans one way without taking a side.
    """

    name = "weibo"

    def __init__(self, model: WeiboModel | None = None, *, max_chars: int,
                 version: str | None = None) -> None:
        # `version`: the registry's name of the model (monitor.sentiment.registry), stored
        # on the items this scorer scores; the package's own model is "shipped".
        self.version = version if model is not None else (version or "shipped")
        self._model = model if model is not None else WeiboModel.load()
        self._max_chars = max_chars

    def score(self, text: str | None) -> Sentiment | None:
        return self.score_many([text])[0]

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        prepared = [prepare(t, self._max_chars) for t in texts]
        todo = [p for p in prepared if p is not None]
        if not todo:
            return [None] * len(prepared)
        labels, scores, probs = self._model.classes(todo)
        results = iter(zip(labels, scores, probs, strict=True))
        out: list[Sentiment | None] = []
        for p in prepared:
            if p is None:
                out.append(None)
            else:
                label, score, (neg, neu, pos) = next(results)
                out.append(Sentiment(score=float(score), label=label, p_negative=float(neg),
                                     p_neutral=float(neu), p_positive=float(pos)))
        return out
