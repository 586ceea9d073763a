"""SnowNLP's sentiment, reproduced exactly and fast, without importing snownlp.

`SnowNLP(text).sentiments` is `seg.seg` (a character-based trigram tagger over the tags
b/m/e/s, decoded with a Viterbi search) → `normal.filter_stop` → a naive-Bayes classifier.
Almost all of SnowNLP's time goes to the tagger: it rebuilds tuples, looks them up in dicts of
tuples and copies every partial path at every character. The stock seg model alone is ~400 MB
of Python tuples once unmarshalled.

This module reads SnowNLP's own data files (the seg model, the stop words, any sentiment model
made by SnowNLP's trainer) and keeps:

* the seg model's counts as sorted `array('q')` keys (bit-packed char ids and tags) with counts
  beside them, looked up with `bisect` — about 20 MB instead of 400 MB;
* per character-trigram tables of the 64 tag log-probabilities, computed with the very same
  float operations as SnowNLP's `log_prob` (same order of `+`, `*`, `/`, and `math.log`, never
  numpy's SIMD log, which differs from libm's in the last bit on AVX-512 machines), memoised in
  bounded caches because posts share most of their character contexts;
* an unrolled Viterbi over the 16 (previous tag, tag) states with back-pointers instead of
  copied paths, which keeps SnowNLP's tie-breaking: for each new state the first best
  predecessor in SnowNLP's iteration order wins, an unknown character keeps the *last*
  predecessor's score unchanged, and the final state is the first maximum in SnowNLP's order.

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
from typing import Any

from monitor.errors import ConfigError
from monitor.sentiment.base import Sentiment, Thresholds, prepare

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
    """The counts of SnowNLP's CharacterBasedGenerativeModel, packed.

    Char id 0 is the BOS padding char '', ids 1..n-2 the model's chars, n-1 every unknown char
    (all its counts are zero, which is exactly how SnowNLP's dict lookups treat it).
    A bigram key is ((c1*n + c2)*25 + t1*5 + t2), a trigram key
    (((c1*n + c2)*n + c3)*125 + t1*25 + t2*5 + t3), so all tag combinations of one char
    bigram/trigram are one contiguous run of the sorted key arrays.
    """

    l1: float
    l2: float
    l3: float
    char_ids: dict[str, int]
    n_chars: int
    uni: list[tuple[int, int, int, int, int]]  # per char id: counts for b, m, e, s, BOS
    uni_total: float
    bi_keys: array[int]
    bi_counts: array[int]
    tri_keys: array[int]
    tri_counts: array[int]

    @property
    def unknown_id(self) -> int:
        return self.n_chars - 1


def _pack(entries: Iterable[tuple[int, int]]) -> tuple[array[int], array[int]]:
    pairs = sorted(entries)
    return array("q", [k for k, _ in pairs]), array("q", [c for _, c in pairs])


def _bigram_entries(
    counts: dict[Any, int], char_ids: dict[str, int], n: int
) -> Iterable[tuple[int, int]]:
    for ((c1, t1), (c2, t2)), cnt in counts.items():
        base = char_ids[c1] * n + char_ids[c2]
        yield base * 25 + _TAG_INDEX[t1] * 5 + _TAG_INDEX[t2], cnt


def _trigram_entries(
    counts: dict[Any, int], char_ids: dict[str, int], n: int
) -> Iterable[tuple[int, int]]:
    for ((c1, t1), (c2, t2), (c3, t3)), cnt in counts.items():
        base = (char_ids[c1] * n + char_ids[c2]) * n + char_ids[c3]
        yield base * 125 + _TAG_INDEX[t1] * 25 + _TAG_INDEX[t2] * 5 + _TAG_INDEX[t3], cnt


def load_seg_model(path: str | Path | None = None) -> SegModel:
    """Read SnowNLP's seg model (default: the installed seg/seg.marshal.3) into packed arrays."""
    p = _resolve(path) if path is not None else snownlp_data_dir() / "seg" / "seg.marshal.3"
    d = _read_marshal(p)
    try:
        uni_d: dict[tuple[str, str], int] = d["uni"]["d"]
        # Fresh copies: a surviving str from the unmarshalled graph would pin its memory.
        chars = sorted({c.encode().decode() for c, _ in uni_d} - {""})
        char_ids = {"": 0}
        for i, c in enumerate(chars, start=1):
            char_ids[c] = i
        n = len(chars) + 2
        uni_rows = [[0, 0, 0, 0, 0] for _ in range(n)]
        for (c, t), cnt in uni_d.items():
            uni_rows[char_ids[c]][_TAG_INDEX[t]] = cnt

        bi_keys, bi_counts = _pack(_bigram_entries(d["bi"]["d"], char_ids, n))
        tri_keys, tri_counts = _pack(_trigram_entries(d["tri"]["d"], char_ids, n))
        model = SegModel(
            l1=float(d["l1"]),
            l2=float(d["l2"]),
            l3=float(d["l3"]),
            char_ids=char_ids,
            n_chars=n,
            uni=[(r[0], r[1], r[2], r[3], r[4]) for r in uni_rows],
            uni_total=d["uni"]["total"],
            bi_keys=bi_keys,
            bi_counts=bi_counts,
            tri_keys=tri_keys,
            tri_counts=tri_counts,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{p} is not a SnowNLP seg model: {exc!r}") from exc
    del d, uni_d
    _release_memory()
    return model


def _release_memory() -> None:
    """Give the ~400 MB of the unmarshalled seg model back to the OS.

    CPython frees the objects, but glibc keeps freed heap pages unless asked to trim them;
    without this a worker would stay at SnowNLP's size after loading.
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


def _gen_viterbi() -> Callable[[Sequence[float], Sequence[Sequence[float] | None]], Any]:
    """Build the unrolled Viterbi step loop (16 states x 4 predecessors, all in locals).

    State k = p*4 + c (previous tag p, tag c). The new state (c, n) takes the first p in
    b, m, e, s order with the largest v[p, c] + lp[p*16 + c*4 + n] (SnowNLP replaces only on a
    strictly greater score). A `None` table marks a char unknown to the model: SnowNLP then
    overwrites each new state with its *last* predecessor (p = s) and leaves its score as is.
    """
    vs = ", ".join(f"v{k}" for k in range(16))
    ls = ", ".join(f"l{k}" for k in range(64))
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
        f"        {ls} = lp",
    ]
    for c in range(4):
        for n in range(4):
            k = c * 4 + n
            lines.append(f"        x = v{c} + l{c * 4 + n}")
            lines.append("        b = 0")
            for p in range(1, 4):
                lines.append(f"        y = v{p * 4 + c} + l{p * 16 + c * 4 + n}")
                lines.append(f"        if y > x: x = y; b = {p}")
            lines.append(f"        n{k} = x; b{k} = b")
    lines.append("        append((" + ", ".join(f"b{k}" for k in range(16)) + "))")
    lines.append("        " + vs + " = " + ", ".join(f"n{k}" for k in range(16)))
    lines.append(f"    return ({vs}), bps")
    namespace: dict[str, Any] = {"_UNKNOWN_BP": (3,) * 16}
    exec("\n".join(lines), namespace)  # source built above from constants only
    fn: Callable[[Sequence[float], Sequence[Sequence[float] | None]], Any] = namespace["viterbi"]
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


class FastSnowNLP:
    """Exact, fast `snownlp.sentiment.classify`. Build once per process (load takes seconds).

    `cache_size` bounds each memo (char-trigram tables, char-bigram sums, segmented runs);
    a full memo is simply cleared, which keeps memory bounded and costs only recomputation.
    """

    def __init__(
        self,
        seg: SegModel,
        bayes: BayesModel,
        stopwords: frozenset[str],
        cache_size: int = 16_000,
    ) -> None:
        self._m = seg
        self._bayes = bayes
        self._stop = stopwords
        self._cache_size = cache_size
        Row = tuple[tuple[float, ...], tuple[float, ...]]
        self._rows: dict[tuple[int, int], Row] = {}
        self._old_rows: dict[tuple[int, int], Row] = {}
        self._runs: dict[str, list[str]] = {}
        self._uni_rows = [self._uni_row(c) for c in range(seg.n_chars)]

    @classmethod
    def load(
        cls,
        sentiment_model: str | Path | None = None,
        seg_model: str | Path | None = None,
        stopwords: str | Path | None = None,
        cache_size: int = 16_000,
    ) -> FastSnowNLP:
        """Load SnowNLP's data files (defaults: the installed stock ones)."""
        return cls(
            load_seg_model(seg_model),
            load_bayes_model(sentiment_model),
            load_stopwords(stopwords),
            cache_size,
        )

    # ---- tagger tables

    def _bigram_counts(self, c1: int, c2: int) -> dict[int, int]:
        """bi counts of char pair (c1, c2), keyed t1*5 + t2."""
        m = self._m
        base = (c1 * m.n_chars + c2) * 25
        keys = m.bi_keys
        i = bisect_left(keys, base)
        end = len(keys)
        out: dict[int, int] = {}
        while i < end and keys[i] < base + 25:
            out[keys[i] - base] = m.bi_counts[i]
            i += 1
        return out

    def _uni_row(self, c3: int) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
        """SnowNLP's uni term l1 * freq((c3, t3)) and, for a char pair never seen together
        (bi = 0), the `uni + bi` row over (t2, t3) and its logs over (t1, t2, t3)."""
        m = self._m
        uni = tuple(m.l1 * (m.uni[c3][t3] / m.uni_total) for t3 in range(4))
        logs = tuple(math.log(x) if x != 0 else _NEG_INF for x in uni)
        return uni, uni * 5, logs * 16

    def _bigram_row(self, c2: int, c3: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """For (c2, t2) → (c3, t3): SnowNLP's `uni + bi` (t2 in b m e s BOS, index t2*4 + t3)
        and, for t2 in b m e s, its log repeated for the four t1 (index t1*16 + t2*4 + t3):
        the log-probs of every trigram whose tags were never seen together."""
        key = (c2, c3)
        row = self._rows.get(key)
        if row is None:
            row = self._old_rows.get(key)
            if row is None:
                row = self._compute_bigram_row(c2, c3)
            if len(self._rows) >= self._cache_size:
                # two generations: entries used since the last swap survive it
                self._old_rows = self._rows
                self._rows = {}
            self._rows[key] = row
        return row

    def _compute_bigram_row(
        self, c2: int, c3: int
    ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        uni, sums, logs = self._uni_rows[c3]
        bc = self._bigram_counts(c2, c3)
        if not bc:
            return sums, logs  # bi = 0 for every tag pair: uni + 0 == uni
        m = self._m
        l2 = m.l2
        u2 = m.uni[c2]
        new_sums = list(sums)
        new_logs = list(logs[:16])
        for key, cnt in bc.items():
            t2, t3 = divmod(key, 5)
            if u2[t2] != 0:  # SnowNLP's div(): 0 when the denominator is 0
                x = uni[t3] + (l2 * cnt) / u2[t2]
                new_sums[t2 * 4 + t3] = x
                if t2 != _BOS:
                    new_logs[t2 * 4 + t3] = math.log(x) if x != 0 else _NEG_INF
        return tuple(new_sums), tuple(new_logs) * 4

    def _table(self, c1: int, c2: int, c3: int) -> tuple[float, ...] | None:
        """Log-probs lp[t1*16 + t2*4 + t3] of (c1,t1),(c2,t2) → (c3,t3); None if c3 unknown.

        c1 = c2 = 0 is the first char of a run (t1 = t2 = BOS: only lp[t3] is given) and
        c1 = 0 the second (t1 = BOS: only lp[t2*4 + t3] is given).
        """
        m = self._m
        u3 = m.uni[c3]
        if not (u3[0] or u3[1] or u3[2] or u3[3]):
            return None  # SnowNLP's not_found branch: no tag of this char was ever seen
        sums, logs = self._bigram_row(c2, c3)
        n = m.n_chars
        base = ((c1 * n + c2) * n + c3) * 125
        keys = m.tri_keys
        i = bisect_left(keys, base)
        end = len(keys)
        if c1 != 0 and (i == end or keys[i] >= base + 125):
            return logs  # no trigram of these chars was seen: uni + bi + 0 for every tag
        # SnowNLP's tri term, (l3 * count) / bi-count(s1, s2), where a count is non-zero.
        tri: dict[int, int] = {}
        while i < end and keys[i] < base + 125:
            tri[keys[i] - base] = m.tri_counts[i]
            i += 1
        b12 = self._bigram_counts(c1, c2) if tri else {}
        l3 = m.l3
        log = math.log
        if c1 == 0:  # first or second char of a run: t1 (and maybe t2) is BOS
            t2s: Sequence[int] = (_BOS,) if c2 == 0 else range(4)
            out: list[float] = []
            for t2 in t2s:
                for t3 in range(4):
                    x = sums[t2 * 4 + t3]
                    cnt = tri.get(_BOS * 25 + t2 * 5 + t3, 0)
                    if cnt:
                        den = b12.get(_BOS * 5 + t2, 0)
                        x = x + ((l3 * cnt) / den if den != 0 else 0)
                    out.append(log(x) if x != 0 else _NEG_INF)
            return tuple(out)
        out = list(logs)
        for tags, cnt in tri.items():
            t1, t23 = divmod(tags, 25)
            t2, t3 = divmod(t23, 5)
            den = b12.get(t1 * 5 + t2, 0)
            x = sums[t2 * 4 + t3] + ((l3 * cnt) / den if den != 0 else 0)
            out[t1 * 16 + t2 * 4 + t3] = log(x) if x != 0 else _NEG_INF
        return tuple(out)

    # ---- tagger

    def _tag_run(self, ids: Sequence[int]) -> list[int]:
        """SnowNLP's CharacterBasedGenerativeModel.tag on one run of Chinese chars."""
        t0 = self._table(0, 0, ids[0])
        v0: list[float] = [0.0] * 4 if t0 is None else list(t0[:4])
        if len(ids) == 1:
            best = max(range(4), key=v0.__getitem__)  # first maximum, as SnowNLP's max()
            return [best]
        t1 = self._table(0, ids[0], ids[1])
        # After two chars: state p*4 + c with p the first char's tag; one predecessor each.
        v: list[float] = [_NEG_INF] * 16
        for p in range(4):
            for c in range(4):
                v[p * 4 + c] = v0[p] if t1 is None else v0[p] + t1[p * 4 + c]
        tables = [self._table(ids[i - 2], ids[i - 1], ids[i]) for i in range(2, len(ids))]
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
            get = self._m.char_ids.get
            unk = self._m.unknown_id
            words = _words_from_tags(run, self._tag_run([get(ch, unk) for ch in run]))
            if len(self._runs) >= self._cache_size:
                self._runs.clear()
            self._runs[run] = words
        return words

    def seg(self, text: str) -> list[str]:
        """`snownlp.seg.seg(text)`."""
        words: list[str] = []
        for s in _RE_ZH.split(text):
            s = s.strip()
            if not s:
                continue
            if _RE_ZH.match(s):
                words += self._seg_run(s)
            else:
                words.extend(s.split())
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
        max_chars: int = 2000,
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
        prepared = prepare(text, self._max_chars)
        if prepared is None:
            return None
        try:
            value = float(self._engine.classify(prepared))
        except (ZeroDivisionError, OverflowError, ValueError):
            return None
        if math.isnan(value):
            return None
        value = min(1.0, max(0.0, value))
        return Sentiment(score=value, label=self._thresholds.label(value))

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        return [self.score(t) for t in texts]
