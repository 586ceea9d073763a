"""SnowNLP's sentiment, reproduced exactly and fast, without importing snownlp.

`SnowNLP(text).sentiments` is `seg.seg` (a character-based trigram tagger over the tags
b/m/e/s, decoded with a Viterbi search) → `normal.filter_stop` → a naive-Bayes classifier.
Almost all of SnowNLP's time goes to the tagger: it rebuilds tuples, looks them up in dicts of
tuples and copies every partial path at every character. The stock seg model alone is ~400 MB
of Python tuples once unmarshalled.

This module reads SnowNLP's own data files (the seg model, the stop words, any sentiment model
made by SnowNLP's trainer; snownlp itself is never imported) and keeps:

* every log-prob the tagger can need, precomputed at load time with the very same float
  operations as SnowNLP's `log_prob` (same order of `+`, `*`, `/`, and `math.log` — never
  numpy's SIMD log, which differs from libm's in the last bit on AVX-512 machines): one per
  trigram and one per bigram of the model, in flat `array`s under sorted bit-packed keys
  (bisect), plus the unigram-only value per char — ~25 MB instead of ~400 MB;
* bounded memos of what posts share: per char pair the 16 log-probs of a step no trigram
  matches, per first two chars of a run its 16 starting scores, per Chinese run its words;
* an unrolled Viterbi over the 16 (previous tag, tag) states with back-pointers instead of
  copied paths, which keeps SnowNLP's tie-breaking: for each new state the first best
  predecessor in SnowNLP's iteration order wins (strictly greater replaces), an unknown char
  keeps the *last* predecessor's score unchanged, and the final state is the first maximum in
  SnowNLP's order.

Loading costs what SnowNLP's does (the marshal file must be read whole: ~500 MB for a few
seconds, given back to the OS afterwards); scoring is 20-30x faster in ~1/5 of the memory.

Exceptions: with the stock model SnowNLP returns a value for every text. With a model from its
trainer where a class saw no words (every training text of that class was stop words), its
`log(0)` raises ValueError on every text; `classify` raises the same here and the scorer
returns None, like `SnowNLPScorer`. OverflowError inside the Bayes normalisation is caught by
SnowNLP itself (that class' probability becomes 0), and is caught the same way here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import gzip
import importlib.util
import marshal
import math
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from monitor.errors import ConfigError
from monitor.sentiment.base import Sentiment, Thresholds, binary_score

__all__ = [
    "FastSnowNLP",
    "FastSnowNLPScorer",
    "SegModel",
    "BayesModel",
    "snownlp_data_dir",
    "default_sentiment_model",
    "load_seg_model",
    "load_bayes_model",
    "load_stopwords",
]

# SnowNLP's split of a text into Chinese runs (tagged) and the rest (split on whitespace).
_RE_ZH = re.compile("([\u4e00-\u9fa5]+)")

_TAGS = "bmes"  # SnowNLP's `status` order, which is also its iteration (tie-break) order
_BOS = 4  # tag index of the ('', 'BOS') padding token
_TAG_INDEX = {"b": 0, "m": 1, "e": 2, "s": 3, "BOS": _BOS}
_NEG_INF = float("-inf")


# --------------------------------------------------------------------------- model files


def snownlp_data_dir() -> Path:
    """The installed snownlp package folder, found without importing it (import costs ~2 s)."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the snownlp package is not installed; its model files are needed")
    return Path(next(iter(spec.submodule_search_locations)))


def default_sentiment_model() -> Path:
    return snownlp_data_dir() / "sentiment" / "sentiment.marshal.3"


def _resolve(path: str | Path) -> Path:
    """SnowNLP's `save(fname)` writes `fname + '.3'` on Python 3; accept either spelling."""
    p = Path(path)
    if p.is_file():
        return p
    suffixed = Path(str(p) + ".3")
    if suffixed.is_file():
        return suffixed
    raise ConfigError(f"SnowNLP model file not found: {p} (nor {suffixed.name})")


def _read_marshal(path: Path) -> Any:
    # SnowNLP's loaders try gzip first and fall back to a plain marshal file.
    raw = path.read_bytes()
    try:
        raw = gzip.decompress(raw)
    except OSError:
        pass
    try:
        return marshal.loads(raw)
    except (EOFError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a SnowNLP marshal model: {exc}") from exc


# --------------------------------------------------------------------------- seg model


@dataclass(frozen=True)
class SegModel:
    """SnowNLP's CharacterBasedGenerativeModel, reduced to the log-probs its tagger can use.

    SnowNLP's log_prob(s1, s2, s3) is log(uni + bi + tri) where
        uni = l1 * count(s3) / total,  bi = l2 * count(s2, s3) / count(s2),
        tri = l3 * count(s1, s2, s3) / count(s1, s2)   (a zero denominator gives 0).
    bi is non-zero only for a bigram of the model, tri only for a trigram, so the value for
    every (s1, s2, s3) is one of three things, each precomputed here with SnowNLP's own float
    operations in its order:
        a trigram of the model          → tri_lp[its index]
        else a bigram (s2, s3)          → bi_lp[its index]           (log(uni + bi + 0))
        else                            → uni_lp[char of s3][tag]    (log(uni + 0 + 0))
    where log(0) is -inf, as SnowNLP returns.

    Char id 0 is the BOS padding char '', ids 1..n-2 the model's chars, n-1 every unknown char
    (all its counts are zero, as SnowNLP's dict lookups see it). A bigram key is
    ((c1*n + c2)*25 + t1*5 + t2), a trigram key (((c1*n + c2)*n + c3)*125 + t1*25 + t2*5 + t3)
    with tags b m e s BOS = 0..4, so all tags of one char pair/triple are one contiguous run
    of the sorted keys, and all trigrams that start with one char pair too.
    """

    char_ids: dict[str, int]
    n_chars: int
    known: list[bool]  # per char id: some tag of it was seen (else SnowNLP's not_found branch)
    uni_lp: list[tuple[float, float, float, float]]  # per char id, per tag b m e s
    bi_keys: array[int]
    bi_lp: array[float]
    tri_keys: array[int]
    tri_lp: array[float]
    # Every char pair c1*n + c2 that starts a bigram or a trigram, sorted, with the ranges of
    # bi_keys and tri_keys that start with it; pair_start[c] is where pairs of char c begin.
    pair_keys: array[int]
    pair_bi: array[int]  # bi range j is pair_bi[2j]:pair_bi[2j + 1]
    pair_tri: array[int]  # likewise for tri_keys
    pair_start: array[int]

    @property
    def unknown_id(self) -> int:
        return self.n_chars - 1


def _log(x: float) -> float:
    return math.log(x) if x != 0 else _NEG_INF


def _pair_index(
    bi_keys: array[int], tri_keys: array[int], n: int
) -> tuple[array[int], array[int], array[int], array[int]]:
    ranges: dict[int, list[int]] = {}
    for keys, width, slot in ((bi_keys, 25, 0), (tri_keys, n * 125, 2)):
        for i, key in enumerate(keys):
            r = ranges.setdefault(key // width, [0, 0, 0, 0])
            if r[slot + 1] == 0:
                r[slot] = i
            r[slot + 1] = i + 1
    pairs = sorted(ranges)
    pair_keys = array("q", pairs)
    pair_bi = array("i", [x for p in pairs for x in ranges[p][0:2]])
    pair_tri = array("i", [x for p in pairs for x in ranges[p][2:4]])
    starts = array("i", [bisect_left(pair_keys, c * n) for c in range(n + 1)])
    return pair_keys, pair_bi, pair_tri, starts


def _pack(entries: Iterable[tuple[int, float]]) -> tuple[array[int], array[float]]:
    pairs = sorted(entries)
    return array("q", [k for k, _ in pairs]), array("d", [v for _, v in pairs])


class _Counts:
    """The unmarshalled model, with SnowNLP's arithmetic for the log_prob terms."""

    def __init__(self, d: dict[str, Any]) -> None:
        self.l1, self.l2, self.l3 = d["l1"], d["l2"], d["l3"]
        self.uni: dict[Any, int] = d["uni"]["d"]
        self.uni_total: float = d["uni"]["total"]
        self.bi: dict[Any, int] = d["bi"]["d"]
        self.tri: dict[Any, int] = d["tri"]["d"]

    def uni_term(self, s3: Any) -> float:
        return float(self.l1 * (self.uni.get(s3, 0) / self.uni_total))

    def uni_bi(self, s2: Any, s3: Any) -> float:
        u2 = self.uni.get(s2, 0)
        bi = (self.l2 * self.bi.get((s2, s3), 0)) / u2 if u2 != 0 else 0
        return self.uni_term(s3) + bi

    def uni_bi_tri(self, s1: Any, s2: Any, s3: Any, count: int) -> float:
        b12 = self.bi.get((s1, s2), 0)
        tri = (self.l3 * count) / b12 if b12 != 0 else 0
        return self.uni_bi(s2, s3) + tri


def load_seg_model(path: str | Path | None = None) -> SegModel:
    """Read SnowNLP's seg model (default: the installed seg/seg.marshal.3) into flat arrays."""
    p = _resolve(path) if path is not None else snownlp_data_dir() / "seg" / "seg.marshal.3"
    d = _read_marshal(p)
    try:
        cm = _Counts(d)
        # Fresh copies: a surviving str from the unmarshalled graph would pin its memory.
        chars = sorted({c.encode().decode() for c, _ in cm.uni} - {""})
        char_ids = {"": 0}
        for i, c in enumerate(chars, start=1):
            char_ids[c] = i
        n = len(chars) + 2
        names = ["", *chars, "\0unknown"]
        uni_lp = [
            (_log(cm.uni_term((c, "b"))), _log(cm.uni_term((c, "m"))),
             _log(cm.uni_term((c, "e"))), _log(cm.uni_term((c, "s"))))
            for c in names
        ]
        known = [any(cm.uni.get((c, t), 0) for t in _TAGS) for c in names]
        known[0] = False
        tag = _TAG_INDEX
        bi_keys, bi_lp = _pack(
            (
                (char_ids[s2[0]] * n + char_ids[s3[0]]) * 25 + tag[s2[1]] * 5 + tag[s3[1]],
                _log(cm.uni_bi(s2, s3)),
            )
            for s2, s3 in cm.bi
        )
        tri_keys, tri_lp = _pack(
            (
                ((char_ids[s1[0]] * n + char_ids[s2[0]]) * n + char_ids[s3[0]]) * 125
                + tag[s1[1]] * 25 + tag[s2[1]] * 5 + tag[s3[1]],
                _log(cm.uni_bi_tri(s1, s2, s3, count)),
            )
            for (s1, s2, s3), count in cm.tri.items()
        )
        pair_keys, pair_bi, pair_tri, pair_start = _pair_index(bi_keys, tri_keys, n)
        model = SegModel(
            char_ids=char_ids,
            n_chars=n,
            known=known,
            uni_lp=uni_lp,
            bi_keys=bi_keys,
            bi_lp=bi_lp,
            tri_keys=tri_keys,
            tri_lp=tri_lp,
            pair_keys=pair_keys,
            pair_bi=pair_bi,
            pair_tri=pair_tri,
            pair_start=pair_start,
        )
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
        raise ConfigError(f"{p} is not a SnowNLP seg model: {exc!r}") from exc
    del d, cm
    _release_memory()
    return model


def _release_memory() -> None:
    """Give the ~400 MB of the unmarshalled seg model back to the OS.

    CPython frees the objects (and its arenas, as long as no survivor pins them: hence the
    fresh copies of the chars), but glibc keeps some freed heap unless asked to trim it:
    measured, ~50 MB resident after loading with the trim and ~90 MB without.
    """
    gc.collect()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the memory is reused by this process, just not returned


# --------------------------------------------------------------------------- Bayes model


@dataclass(frozen=True)
class BayesModel:
    """SnowNLP's Bayes classifier state: per class (in the file's order) counts and totals."""

    total: float
    classes: tuple[str, ...]
    counts: tuple[dict[str, int], ...]
    class_totals: tuple[float, ...]
    nones: tuple[int, ...]


def load_bayes_model(path: str | Path | None = None) -> BayesModel:
    """Read a model saved by SnowNLP's `Sentiment().save` (default: the stock model)."""
    p = _resolve(path) if path is not None else default_sentiment_model()
    d = _read_marshal(p)
    try:
        classes = tuple(d["d"])
        return BayesModel(
            total=d["total"],
            classes=classes,
            counts=tuple(d["d"][k]["d"] for k in classes),
            class_totals=tuple(d["d"][k]["total"] for k in classes),
            nones=tuple(d["d"][k]["none"] for k in classes),
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{p} is not a SnowNLP sentiment model: {exc!r}") from exc


def load_stopwords(path: str | Path | None = None) -> frozenset[str]:
    p = Path(path) if path is not None else snownlp_data_dir() / "normal" / "stopwords.txt"
    # codecs.open(...) iteration, as SnowNLP reads it, splits on every str.splitlines boundary.
    return frozenset(line.strip() for line in p.read_text(encoding="utf-8").splitlines())


# --------------------------------------------------------------------------- Viterbi


def _gen_viterbi() -> Callable[[Sequence[float], Sequence[Any]], Any]:
    """Build the unrolled Viterbi loop (16 states x 4 predecessors, all in local variables).

    State k = p*4 + c (previous tag p, tag c). The new state (c, n) takes the first p in
    b, m, e, s order with the largest v[p, c] + lp(p, c, n) (SnowNLP replaces only on a
    strictly greater score). Each step's table is one of:

    * None: a char unknown to the model. SnowNLP then overwrites each new state with its
      *last* predecessor (p = s) and leaves its score as it is.
    * 16 log-probs lp[c*4 + n], the same for every p (no trigram of the model matched). The
      winner comes from the first maximum a of v[., c]: float addition is monotone, so no p
      can beat it, but an earlier p whose sum *rounds* to the same value wins in SnowNLP's
      order, so those few sums are computed and compared exactly.
    * (those 16, patches): trigrams matched for the columns in patches, each (k, c, lp4)
      with the log-prob per p; those columns are redone with all four sums.
    """
    vs = ", ".join(f"v{k}" for k in range(16))
    ns = ", ".join(f"n{k}" for k in range(16))
    bs = ", ".join(f"b{k}" for k in range(16))
    ind = "            "

    def uniform() -> list[str]:
        out = [ind + ", ".join(f"l{k}" for k in range(16)) + " = lp"]
        for c in range(4):
            out.append(f"{ind}m = v{c}; a = 0")
            for p in range(1, 4):
                out.append(f"{ind}if v{p * 4 + c} > m: m = v{p * 4 + c}; a = {p}")
            for n in range(4):
                k = c * 4 + n
                out += [
                    f"{ind}x = m + l{k}; b = a",
                    f"{ind}if a:",
                    f"{ind}    if v{c} + l{k} == x: b = 0",
                    f"{ind}    elif a > 1:",
                    f"{ind}        if v{4 + c} + l{k} == x: b = 1",
                    f"{ind}        elif a > 2 and v{8 + c} + l{k} == x: b = 2",
                    f"{ind}n{k} = x; b{k} = b",
                ]
        return out

    lines = [
        "def viterbi(v, tables):",
        f"    {vs} = v",
        "    bps = []",
        "    append = bps.append",
        "    for lp in tables:",
        "        if lp is None:",
        "            " + ", ".join(f"v{c * 4 + n}" for c in range(4) for n in range(4))
        + " = " + ", ".join(f"v{12 + c}" for c in range(4) for n in range(4)),
        "            append(_UNKNOWN_BP)",
        "            continue",
        "        if len(lp) == 16:",
        *uniform(),
        "        else:",
        "            lp, patches = lp",
        *uniform(),
        f"            vv = ({vs})",
        f"            nn = [{ns}]",
        f"            bb = [{bs}]",
        "            for k, c, q in patches:",
        "                x = vv[c] + q[0]; b = 0",
        "                y = vv[c + 4] + q[1]",
        "                if y > x: x = y; b = 1",
        "                y = vv[c + 8] + q[2]",
        "                if y > x: x = y; b = 2",
        "                y = vv[c + 12] + q[3]",
        "                if y > x: x = y; b = 3",
        "                nn[k] = x; bb[k] = b",
        f"            {ns} = nn",
        f"            {bs} = bb",
        f"        append(({bs}))",
        f"        {vs} = {ns}",
        f"    return ({vs}), bps",
    ]
    namespace: dict[str, Any] = {"_UNKNOWN_BP": (3,) * 16}
    exec("\n".join(lines), namespace)  # source built above from constants only
    fn: Callable[[Sequence[float], Sequence[Any]], Any] = namespace["viterbi"]
    return fn


_viterbi = _gen_viterbi()

# SnowNLP's final `max(now)` walks the states in insertion order: tag-major, previous-minor.
_FINAL_ORDER = tuple(p * 4 + c for c in range(4) for p in range(4))


def _words_from_tags(run: str, tags: Sequence[int]) -> list[str]:
    """SnowNLP's Seg.seg: e closes a word, b/s open one, m continues it."""
    words: list[str] = []
    tmp = ""
    for ch, t in zip(run, tags, strict=True):
        if t == 2:
            words.append(tmp + ch)
            tmp = ""
        elif t == 0 or t == 3:
            if tmp:
                words.append(tmp)
            tmp = ch
        else:
            tmp += ch
    if tmp:
        words.append(tmp)
    return words


@dataclass(frozen=True, slots=True)
class _Row:
    """What one char pair (c2, c3) gives SnowNLP's log_prob, computed once per pair."""

    logs: tuple[float, ...]  # lp when no trigram matches, index t2*4 + t3 (any t1; t2 bmes)
    bos: tuple[float, ...]  # the same for t2 = BOS (c2 is the padding char), index t3
    tri_lo: int  # tri_keys[tri_lo:tri_hi] are the trigrams that start with chars (c2, c3)
    tri_hi: int


class FastSnowNLP:
    """Exact, fast `snownlp.sentiment.classify`. Build once per process (load takes seconds).

    `cache_size` bounds the memo of char-pair rows (a quarter of it the memo of segmented
    Chinese runs). Each memo keeps two generations: when the young one is full the old one is
    dropped, so memory stays bounded (~60 MB at the default) and entries in use survive.
    """

    def __init__(
        self,
        seg: SegModel,
        bayes: BayesModel,
        stopwords: frozenset[str],
        cache_size: int = 50_000,
    ) -> None:
        self._m = seg
        self._bayes = bayes
        self._stop = stopwords
        self._cache_size = cache_size
        self._rows: dict[int, _Row] = {}  # keyed c2 * n + c3
        self._old_rows: dict[int, _Row] = {}
        self._runs: dict[str, list[str]] = {}
        self._old_runs: dict[str, list[str]] = {}
        self._uni16 = [u * 4 for u in seg.uni_lp]
        self._starts: dict[int, tuple[float, ...]] = {}

    @classmethod
    def load(
        cls,
        sentiment_model: str | Path | None = None,
        seg_model: str | Path | None = None,
        stopwords: str | Path | None = None,
        cache_size: int = 50_000,
    ) -> FastSnowNLP:
        """Load SnowNLP's data files (defaults: the installed stock ones)."""
        return cls(
            load_seg_model(seg_model),
            load_bayes_model(sentiment_model),
            load_stopwords(stopwords),
            cache_size,
        )

    # ---- tagger tables

    def _row(self, c2: int, c3: int) -> _Row:
        key = c2 * self._m.n_chars + c3
        row = self._rows.get(key)
        return row if row is not None else self._row_miss(c2, c3)

    def _row_miss(self, c2: int, c3: int) -> _Row:
        key = c2 * self._m.n_chars + c3
        row = self._old_rows.get(key)
        if row is None:
            row = self._compute_row(c2, c3)
        if len(self._rows) >= self._cache_size:
            self._old_rows = self._rows
            self._rows = {}
        self._rows[key] = row
        return row

    def _compute_row(self, c2: int, c3: int) -> _Row:
        m = self._m
        pair = c2 * m.n_chars + c3
        uni, uni16 = m.uni_lp[c3], self._uni16[c3]
        end = m.pair_start[c2 + 1]
        j = bisect_left(m.pair_keys, pair, m.pair_start[c2], end)
        if j == end or m.pair_keys[j] != pair:
            return _Row(uni16, uni, 0, 0)  # bi = tri = 0 for every tag
        keys, bi_lp = m.bi_keys, m.bi_lp
        logs: list[float] | None = None
        bos: list[float] | None = None
        for i in range(m.pair_bi[2 * j], m.pair_bi[2 * j + 1]):
            t2, t3 = divmod(keys[i] - pair * 25, 5)
            if t3 == _BOS:
                continue  # (BOS, BOS) itself: nothing follows it as t3
            if t2 == _BOS:
                bos = bos or list(uni)
                bos[t3] = bi_lp[i]
            else:
                logs = logs or list(uni16)
                logs[t2 * 4 + t3] = bi_lp[i]
        return _Row(
            uni16 if logs is None else tuple(logs),  # unchanged rows share the char's tuple
            uni if bos is None else tuple(bos),
            m.pair_tri[2 * j],
            m.pair_tri[2 * j + 1],
        )

    def _table(self, row12: _Row, row23: _Row, c1: int, c2: int, c3: int) -> Any:
        """Log-probs of (c1,t1),(c2,t2) → (c3,t3), c3 a known char, in `_viterbi`'s forms:
        lp[t2*4 + t3] when they do not depend on t1 (no trigram of these chars matched), else
        that and the patched columns.

        c1 = c2 = 0 is the first char of a run (t1 = t2 = BOS: lp[t3] only) and c1 = 0 the
        second (t1 = BOS: lp[t2*4 + t3] only).
        """
        m = self._m
        keys = m.tri_keys
        base = ((c1 * m.n_chars + c2) * m.n_chars + c3) * 125
        hi = row12.tri_hi
        i = bisect_left(keys, base, row12.tri_lo, hi)
        if i == hi or keys[i] >= base + 125:
            # no trigram of these chars: log(uni + bi) for every tag
            return row23.bos if c1 == 0 and c2 == 0 else row23.logs
        tri_lp = m.tri_lp
        if c1 != 0:
            logs = row23.logs
            columns: dict[int, list[float]] = {}
            while i < hi and keys[i] < base + 125:
                t1, t23 = divmod(keys[i] - base, 25)
                k = t23 // 5 * 4 + t23 % 5  # t2*4 + t3
                column = columns.get(k)
                if column is None:
                    column = columns[k] = [logs[k]] * 4
                column[t1] = tri_lp[i]
                i += 1
            return logs, tuple((k, k // 4, tuple(q)) for k, q in columns.items())
        out = list(row23.bos if c2 == 0 else row23.logs)
        while i < hi and keys[i] < base + 125:
            t23 = (keys[i] - base) % 25
            out[t23 // 5 * 4 + t23 % 5 if c2 != 0 else t23 % 5] = tri_lp[i]
            i += 1
        return tuple(out)

    # ---- tagger

    def _first(self, c0: int) -> tuple[float, ...]:
        """Scores of the 4 tags of a run's first char (SnowNLP's step from BOS, BOS)."""
        if not self._m.known[c0]:
            return (0.0,) * 4  # not_found: the scores stay 0.0
        return cast(tuple[float, ...], self._table(self._row(0, 0), self._row(0, c0), 0, 0, c0))

    def _start(self, c0: int, c1: int) -> tuple[float, ...]:
        """Scores of the 16 states p*4 + c after a run's first two chars; they depend on
        nothing else, so they are memoised per char pair."""
        key = c0 * self._m.n_chars + c1
        v = self._starts.get(key)
        if v is None:
            v0 = self._first(c0)
            t1: tuple[float, ...] | None = None
            if self._m.known[c1]:
                t1 = self._table(self._row(0, c0), self._row(c0, c1), 0, c0, c1)
            # one predecessor (BOS) each, so no comparison: plain sums, or unchanged scores
            v = tuple(
                v0[p] if t1 is None else v0[p] + t1[p * 4 + c] for p in range(4) for c in range(4)
            )
            if len(self._starts) >= self._cache_size // 4:
                self._starts.clear()
            self._starts[key] = v
        return v

    def _tag_run(self, ids: Sequence[int]) -> list[int]:
        """SnowNLP's CharacterBasedGenerativeModel.tag on one run of Chinese chars."""
        known = self._m.known
        if len(ids) == 1:
            v0 = self._first(ids[0])
            return [max(range(4), key=v0.__getitem__)]  # first maximum, as SnowNLP's max()
        v = self._start(ids[0], ids[1])
        row12 = self._row(ids[0], ids[1])
        tables: list[Any] = []
        append = tables.append
        m = self._m
        n = m.n_chars
        keys = m.tri_keys
        rows = self._rows
        c1, c2 = ids[0], ids[1]
        for i in range(2, len(ids)):
            # inlined _row and _table: this loop runs once per char of every text
            c3 = ids[i]
            row23 = rows.get(c2 * n + c3) or self._row_miss(c2, c3)
            if not known[c3]:
                append(None)
            elif row12.tri_lo == row12.tri_hi:
                append(row23.logs)  # no trigram starts with (c1, c2) at all
            else:
                base = ((c1 * n + c2) * n + c3) * 125
                j = bisect_left(keys, base, row12.tri_lo, row12.tri_hi)
                if j == row12.tri_hi or keys[j] >= base + 125:
                    append(row23.logs)
                else:
                    append(self._table(row12, row23, c1, c2, c3))
            c1, c2, row12 = c2, c3, row23
        final, bps = _viterbi(v, tables)
        state = max(_FINAL_ORDER, key=final.__getitem__)
        tags = [0] * len(ids)
        prev, cur = divmod(state, 4)
        tags[-1], tags[-2] = cur, prev
        for i in range(len(ids) - 1, 1, -1):
            pp = bps[i - 2][prev * 4 + cur]
            cur, prev = prev, pp
            tags[i - 2] = prev
        return tags

    def _seg_run(self, run: str) -> list[str]:
        words = self._runs.get(run)
        if words is None:
            words = self._old_runs.get(run)
            if words is None:
                get = self._m.char_ids.get
                unk = self._m.unknown_id
                words = _words_from_tags(run, self._tag_run([get(ch, unk) for ch in run]))
            if len(self._runs) >= self._cache_size // 4:
                self._old_runs = self._runs
                self._runs = {}
            self._runs[run] = words
        return words

    def seg(self, text: str) -> list[str]:
        """`snownlp.seg.seg(text)`."""
        words: list[str] = []
        # With its capturing group, re.split alternates: other text, a Chinese run, other
        # text, ... SnowNLP strips each part and tests it with re.match; a run has no spaces
        # and the other parts no Chinese, so the position alone tells them apart.
        for i, part in enumerate(_RE_ZH.split(text)):
            if i & 1:
                words += self._seg_run(part)
            else:
                words += part.split()  # SnowNLP: strip, skip if empty, split on whitespace
        return words

    def words(self, text: str) -> list[str]:
        """`Sentiment.handle(text)`: segmented, stop words removed."""
        stop = self._stop
        return [w for w in self.seg(text) if w not in stop]

    # ---- Bayes

    def classify(self, text: str) -> float:
        """`snownlp.sentiment.classify(text)`: P(positive). Raises where SnowNLP raises."""
        b = self._bayes
        x = self.words(text)
        log = math.log
        tmp: list[float] = []
        for counts, none, total in zip(b.counts, b.nones, b.class_totals, strict=True):
            # log(0) here raises ValueError for a class that saw no words, as in SnowNLP
            acc = log(total) - log(b.total)
            for word in x:  # left to right, exactly as SnowNLP accumulates
                acc += log(counts.get(word, none) / total)
            tmp.append(acc)
        ret: str | int = 0
        prob: float = 0
        for k, cls in enumerate(b.classes):
            now: float = 0
            try:
                for other in range(len(tmp)):
                    now += math.exp(tmp[other] - tmp[k])
                now = 1 / now
            except OverflowError:
                now = 0
            if now > prob:
                ret, prob = cls, now
        return prob if ret == "pos" else 1 - prob


class FastSnowNLPScorer:
    """The Scorer for `snownlp-fast`: same scores and Nones as `SnowNLPScorer`, much faster."""

    name = "snownlp-fast"

    def __init__(
        self,
        thresholds: Thresholds,
        max_chars: int,
        model_path: str | Path | None = None,
        engine: FastSnowNLP | None = None,
    ) -> None:
        """`model_path`: a sentiment model saved by SnowNLP's trainer (default: stock).
        `engine`: an already loaded engine to share instead (then `model_path` is unused)."""
        self._engine = engine if engine is not None else FastSnowNLP.load(model_path)
        self._thresholds = thresholds
        self._max_chars = max_chars

    @property
    def engine(self) -> FastSnowNLP:
        return self._engine

    def score(self, text: str | None) -> Sentiment | None:
        return binary_score(self._engine.classify, text, self._thresholds, self._max_chars)

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        return [self.score(t) for t in texts]
