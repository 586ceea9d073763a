"""The batched `weibo` scoring path gives bit-for-bit the output of the per-text one it replaced.

`score_many` featurizes a whole batch at once (n-grams hashed in one numpy pass, lexicons
scanned without sorting every overlapping match). The reference below is the earlier per-text
path, kept verbatim: labels, scores and the three class probabilities must be *equal* for
every text of a realistic corpus and of the edge cases — not close, equal.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import ahocorasick
import feedparser
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.sentiment.lexicon import (
    WEIGHTED_FEATURES,
    WEIGHTED_LEXICON,
    load_weighted_lexicon,
    negated_at,
)
from monitor.sentiment.normalize import normalize
from monitor.sentiment.weibo import (
    EMOTICON,
    NEGATIVE_TERMS,
    POSITIVE_TERMS,
    Featurizer,
    WeiboModel,
    WeiboScorer,
    hashed_ngrams_many,
    lexicon_counts,
)

ROOT = Path(__file__).parents[2]

# --- the reference: the per-text path as it was ---------------------------------------------
_MASK_PRIME = np.uint64(0x100000001B3)
_MIX = np.uint64(0x9E3779B97F4A7C15)
_SEEDS = tuple(np.uint64(0xCBF29CE484222325 + 0x1000193 * n) for n in range(1, 8))


@cache
def _reference_automaton() -> Any:
    automaton = ahocorasick.Automaton()
    for line in gzip.decompress(WEIGHTED_LEXICON.read_bytes()).decode("utf-8").splitlines():
        word, _, score = line.partition("\t")
        automaton.add_word(word, (len(word), float(score)))
    automaton.make_automaton()
    return automaton


def _reference_matches(text: str) -> list[tuple[int, int, float]]:
    found = sorted((end + 1 - length, -length, end + 1, score)
                   for end, (length, score) in _reference_automaton().iter(text))
    chosen, taken_to = [], 0
    for start, _, end, score in found:
        if start >= taken_to:
            chosen.append((start, end, score))
            taken_to = end
    return chosen


def _reference_weighted(text: str) -> npt.NDArray[np.float32]:
    sums = [0.0, 0.0, 0.0, 0.0]
    for start, _, score in _reference_matches(text):
        sums[(0 if score > 0 else 1) + (2 if negated_at(text, start) else 0)] += abs(score)
    return np.log1p(np.asarray(sums, dtype=np.float32))


def _reference_hits(text: str, terms: Sequence[str]) -> tuple[int, int]:
    plain = negated = 0
    taken: set[int] = set()
    for term in sorted(terms, key=len, reverse=True):
        start = text.find(term)
        while start != -1:
            span = range(start, start + len(term))
            if not taken.intersection(span):
                taken.update(span)
                if negated_at(text, start):
                    negated += 1
                else:
                    plain += 1
            start = text.find(term, start + 1)
    return plain, negated


def _reference_ngrams(text: str, orders: Sequence[int], bits: int) -> npt.NDArray[np.int64]:
    emoticons = EMOTICON.findall(text)
    body = EMOTICON.sub(" ", text) if emoticons else text
    codes = np.frombuffer(("\x02" + body + "\x03").encode("utf-32-le"), dtype=np.uint32)
    codes = codes.astype(np.uint64)
    parts = []
    with np.errstate(over="ignore"):
        for n in orders:
            count = codes.size - n + 1
            if count <= 0:
                break
            h = np.full(count, _SEEDS[n - 1], dtype=np.uint64)
            for k in range(n):
                h = (h ^ codes[k : k + count]) * _MASK_PRIME
            parts.append(h)
        if emoticons:
            parts.append(np.array([np.uint64(zlib.crc32(e.encode("utf-8")) | (0xE << 32))
                                   for e in emoticons], dtype=np.uint64))
        mixed = np.concatenate(parts) * _MIX
    return np.unique((mixed >> np.uint64(64 - bits)).astype(np.int64))


def _reference_sparse(f: Featurizer, text: str
                      ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    norm = normalize(text)
    buckets = _reference_ngrams(norm, f.orders, f.bits)
    values = np.full(buckets.size, 1.0 / np.sqrt(max(buckets.size, 1)), dtype=np.float32)
    weighted = (_reference_weighted(norm) * np.float32(f.weighted_scale) if f.weighted_scale
                else np.zeros(len(WEIGHTED_FEATURES), dtype=np.float32))
    pos, pos_neg = _reference_hits(norm, POSITIVE_TERMS)
    neg, neg_neg = _reference_hits(norm, NEGATIVE_TERMS)
    counts = [pos, neg, pos_neg, neg_neg, norm.count("?"), norm.count("!")]
    own = np.log1p(np.asarray(counts, dtype=np.float32))
    lex = np.concatenate([own * np.float32(f.lexicon_scale), weighted])
    nz = np.flatnonzero(lex)
    return np.concatenate([buckets, f.n_hashed + nz]), np.concatenate([values, lex[nz]])


class _ReferenceModel(WeiboModel):
    def raw(self, texts: Sequence[str]
            ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        out = np.empty((len(texts), self._table.shape[1]), dtype=np.float64)
        for i, text in enumerate(texts):
            indices, values = _reference_sparse(self.featurizer, text)
            out[i] = values @ self._table[indices] + self._table_bias
        return out[:, :3], out[:, 3]


# --- the corpus -----------------------------------------------------------------------------
def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


EDGE_CASES = [
    "", "   ", "[哈哈]", "[泪][泪][怒]", "😀😡👍", "😀[哈哈]好", "好", "不", "!", "？？？",
    "這個部門真是不作為，辦事拖拉，令人非常失望！",  # traditional characters
    "WTF这个app太烂了 lol!!! 666，客服 @someone 不回复 https://t.cn/abc",
    "ＡＢＣ满意！！！！！！", "非常感谢民警的耐心帮助，不是很满意但还行", "没有不满意",
    "\x02开心\x03", "开心\x03\x02难过", "心心心心心心心心", "不开心不开心" * 3,
    "投诉" * 600 + "感谢" * 600,  # longer than max_chars
    "调解员态度很好[赞]" * 150 + "但是结果很失望[怒]" * 150,
]


@cache
def corpus() -> tuple[str, ...]:
    texts: list[str] = []
    for name in ("justice_sentiment.jsonl", "triage/posts.jsonl", "events_corpus.jsonl"):
        for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    demo = ROOT / "config" / "demo"
    for feed in sorted([*demo.glob("*.xml"), *demo.glob("*.rdf")]):
        for entry in feedparser.parse(str(feed)).entries:
            texts.append(f"{entry.get('title', '')} {entry.get('summary', '')}")
    for data in sorted([*demo.glob("*.json"),
                        *(ROOT / "tests" / "fixtures" / "social").glob("*.json")]):
        texts.extend(_strings(json.loads(data.read_text(encoding="utf-8"))))
    return (*texts, *EDGE_CASES)


def test_corpus_is_realistic() -> None:
    assert len(corpus()) > 1500


# --- identity -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model() -> WeiboModel:
    return WeiboModel.load()


def _reference(model: WeiboModel) -> WeiboModel:
    return _ReferenceModel(model.weights, model.bias, model.featurizer, model.calibration,
                           model.decision_bias, model.meta, model.polarity, model.neutral)


@pytest.mark.parametrize("batch", [1, 7, 200])
@pytest.mark.parametrize("max_chars", [2000, 100_000])
def test_score_many_equals_the_per_text_reference(
    model: WeiboModel, batch: int, max_chars: int
) -> None:
    new = WeiboScorer(model, max_chars=max_chars)
    old = WeiboScorer(_reference(model), max_chars=max_chars)
    texts = corpus()
    scored = 0
    for start in range(0, len(texts), batch):
        chunk = texts[start : start + batch]
        got, want = new.score_many(chunk), old.score_many(chunk)
        assert got == want, chunk  # dataclass equality: every float bit-for-bit
        scored += sum(r is not None for r in got)
    assert scored > 1500


@pytest.mark.parametrize("featurizer", [
    None,  # the shipped model's
    Featurizer(bits=16, orders=(1, 2), weighted_scale=0.0),
    Featurizer(lexicon_scale=3.0, weighted_scale=0.3),
])
def test_features_equal_the_reference_text_by_text(
    model: WeiboModel, featurizer: Featurizer | None
) -> None:
    f = featurizer or model.featurizer
    texts = list(corpus())
    for text, (indices, values) in zip(texts, f.sparse_many(texts), strict=True):
        ref_indices, ref_values = _reference_sparse(f, text)
        assert indices.tolist() == ref_indices.tolist(), text
        assert values.tobytes() == ref_values.tobytes(), text


def test_ngrams_of_a_batch_equal_each_text_alone_for_any_orders() -> None:
    texts = [normalize(t) for t in corpus()[:300]] + ["", "a", "ab"]
    for orders in [(1, 2, 3, 4), (1, 2), (2, 4, 1), (1, 5, 3)]:
        for text, got in zip(texts, hashed_ngrams_many(texts, orders, 20), strict=True):
            assert got.tolist() == _reference_ngrams(text, orders, 20).tolist()
    assert hashed_ngrams_many([], (1, 2), 20) == []
    assert Featurizer().sparse_many([]) == []


# Texts made of lexicon words, their fragments, negators and punctuation: the cases where
# leftmost-longest and the longest-first domain terms are most likely to go wrong.
_PIECES = [*POSITIVE_TERMS, *NEGATIVE_TERMS, "不", "没", "非常", "无比", "开心", "不开心", "心",
           "好", "!", "?", ",", "[哈哈]", "a", "非", "常"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=25).map("".join))
def test_lexicons_equal_the_reference_on_dense_text(text: str) -> None:
    norm = normalize(text)
    assert load_weighted_lexicon().matches(norm) == _reference_matches(norm)
    pos, pos_negated = _reference_hits(norm, POSITIVE_TERMS)
    neg, neg_negated = _reference_hits(norm, NEGATIVE_TERMS)
    assert lexicon_counts(norm)[:4] == [pos, neg, pos_negated, neg_negated]


def test_words_never_span_two_texts_of_a_batch() -> None:
    lex = load_weighted_lexicon()
    texts = ["开", "心", "不", "开心", "满", "意", "", "不满意", "😀"]
    alone = [lex.sums_many([t])[0].tolist() for t in texts]
    assert lex.sums_many(texts).tolist() == alone
    assert [end for _, end, _ in lex.matches("开心")] == [2]  # one word within a text
    assert lex.sums_many([]).shape == (0, 4)
