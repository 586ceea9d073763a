"""Near-duplicate detection: which posts tell the same story. Pure: no I/O, no clock.

One story told by fifty outlets, or one post reposted two thousand times, is one event for a
press officer. Two things put items together:

1. **Reposts** name their original (`repost_of`, from Weibo's `retweeted_status`): they join
   the original's event whatever their own words ("转发微博" says nothing).
2. **Near-duplicate text**: a bottom-k MinHash sketch of character 3-grams of the
   *matching text*, compared by estimated Jaccard similarity. Character n-grams because
   Chinese has no spaces and a light edit (a word swapped, an outlet's prefix) changes only
   the few n-grams around it.

The matching text drops what differs between copies of one story but says nothing about
it: the repost chain ("//@name: comment"), "转发微博", #hashtags#, @mentions, links,
outlet brackets (【大河报】), punctuation and spaces. In a quote chain the longest segment is
the story; the short comments in front of it are the reposters'.

Why bottom-k rather than k independent permutations: one stable hash per 3-gram and the k
smallest values make a sketch in one sort (fast in pure Python), short texts — most posts —
get their exact 3-gram set, and the estimate of Jaccard from two sketches is unbiased
(Broder 1997; Cohen & Kaplan 2007).
"""

from __future__ import annotations

import re
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from monitor.settings_schema import EventsSection
from monitor.text import normalize_text

__all__ = [
    "ClusterPolicy",
    "Post",
    "cluster",
    "matching_text",
    "shingles",
    "signature",
    "similarity",
]

SKETCH_SIZE = 64
SHINGLE = 3


@dataclass(frozen=True)
class ClusterPolicy:
    # No defaults here: config/defaults.yaml (events.similarity, events.min_shingles) holds
    # them, with the reasons for their values.
    # Estimated Jaccard of 3-gram sets at or above which two texts are one story. Rewrites by
    # other outlets of one story score 0.5–0.9; different stories on one topic stay < 0.2.
    threshold: float
    # Below this many 3-grams a text is too short to judge by its words ("转发微博", "顶").
    min_shingles: int

    @classmethod
    def from_section(cls, events: EventsSection) -> ClusterPolicy:
        return cls(threshold=events.similarity, min_shingles=events.min_shingles)


@dataclass(frozen=True)
class Post:
    key: str                    # unique within one call (item id, external id …)
    text: str
    external_id: str | None = None
    repost_of: str | None = None


# "//@某某:" or "//@某某：" starts a reposter's comment in a chain.
_CHAIN = re.compile(r"//\s*@[^:：\s]{1,30}\s*[:：]")
_REPOST_WORDS = re.compile(r"转发微博|轉發微博|repost", re.IGNORECASE)
# "转发 @原作者：" / "回复@某某:" in front of a quoted original (RSS bridges write it so).
_QUOTE_LEAD = re.compile(r"(?:转发|回复)?\s*@[^:：\s]{1,30}\s*[:：]")
_HASHTAG = re.compile(r"#[^#\n]{1,40}#")
_MENTION = re.compile(r"@[\w\u4e00-\u9fff-]{1,30}")
_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_OUTLET = re.compile(r"【[^】]{1,20}】|\[[^\]]{1,20}\]|（记者[^）]{0,20}）|\(记者[^)]{0,20}\)")
_ANY_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


def matching_text(text: str) -> str:
    """The part of a post that carries its story, folded for comparison."""
    plain = normalize_text(text, to_simplified=True)
    if "://" in plain or "." in plain:  # in every link; the case-blind scan is the slowest
        plain = _URL.sub(" ", plain)
    segments = [s for s in _CHAIN.split(plain)]
    pieces: list[str] = []
    for seg in segments:
        seg = _REPOST_WORDS.sub(" ", seg)
        pieces.extend(_QUOTE_LEAD.split(seg))
    # most posts are one piece: no chain, no quote, so nothing to weigh
    body = pieces[0] if len(pieces) == 1 else max(
        pieces, key=lambda p: len(_ANY_PUNCT.sub("", p)), default="")
    body = _HASHTAG.sub(" ", body)
    body = _OUTLET.sub(" ", body)
    body = _MENTION.sub(" ", body)
    return _ANY_PUNCT.sub("", body).lower()


def shingles(text: str, size: int = SHINGLE) -> set[int]:
    """Stable 32-bit hashes (crc32: the same in every process, unlike hash()) of n-grams."""
    if len(text) < size:
        return {zlib.crc32(text.encode("utf-8"))} if text else set()
    # A text whose characters all take one width in UTF-8 — ASCII, or (most matching texts)
    # Chinese alone, 3 bytes each — is encoded once and its n-grams sliced from the bytes:
    # the same bytes, so the same hashes, as encoding each n-gram.
    if text.isascii():
        width = 1
    elif _THREE_BYTES.fullmatch(text):
        width = 3
    else:
        grams = [text[i : i + size] for i in range(len(text) - size + 1)]
        return set(map(zlib.crc32, map(str.encode, grams)))
    data, step = text.encode("utf-8"), width * size
    return set(map(zlib.crc32, [data[i : i + step]
                                for i in range(0, len(data) - step + 1, width)]))


# Characters of three bytes in UTF-8 (U+0800..U+FFFF; a surrogate fails to encode anyway).
_THREE_BYTES = re.compile("[\u0800-\uffff]+")


def signature(text: str, k: int = SKETCH_SIZE) -> list[int]:
    """Bottom-k sketch of a post's matching text: its k smallest 3-gram hashes, sorted."""
    return sorted(shingles(matching_text(text)))[:k]


def similarity(a: Sequence[int], b: Sequence[int], k: int = SKETCH_SIZE) -> float:
    """Estimated Jaccard similarity of the two 3-gram sets from their bottom-k sketches
    (exact when both sets have fewer than k members)."""
    if not a or not b:
        return 0.0
    score = similarity_of_sets(set(a), set(b), k)
    return 0.0 if score is None else score  # never None: no floor


def similarity_of_sets(sa: AbstractSet[int], sb: AbstractSet[int], k: int = SKETCH_SIZE,
                       floor: float = 0.0) -> float | None:
    """`similarity` of two non-empty sketches given as sets (a caller comparing one sketch
    with many makes its set once), or None when it is below `floor`. Equal to `similarity`,
    float for float: the bottom k of the union are its values up to the k-th smallest, so
    the shared values among them are the shared values up to that one — counted over the
    shared values (few, for most pairs), not over the k. With more than k values in the
    union the estimate is at most shared/k: a pair below the floor by that bound is not
    sorted at all."""
    both = sa & sb
    union = len(sa) + len(sb) - len(both)
    if union <= k:
        score = len(both) / union
    elif len(both) / k < floor:
        return None
    else:
        cut = sorted(sa | sb)[k - 1]
        score = sum(1 for h in both if h <= cut) / k
    return score if score >= floor else None


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _union(parent: list[int], i: int, j: int) -> None:
    ri, rj = _find(parent, i), _find(parent, j)
    if ri != rj:
        parent[max(ri, rj)] = min(ri, rj)


def candidate_pairs(sketches: Sequence[Sequence[int]], max_bucket: int = 200
                    ) -> set[tuple[int, int]]:
    """Pairs sharing at least one sketch value (LSH on bottom-k sketches): two texts with
    Jaccard J share each of the smallest union values with probability J, so near-duplicates
    almost surely meet. Very common values (boilerplate 3-grams) are skipped: a bucket of
    hundreds proves nothing and would make the comparison quadratic."""
    buckets: dict[int, list[int]] = defaultdict(list)
    for idx, sketch in enumerate(sketches):
        for h in sketch:
            buckets[h].append(idx)
    pairs: set[tuple[int, int]] = set()
    for members in buckets.values():
        if len(members) < 2 or len(members) > max_bucket:
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.add((members[x], members[y]))
    return pairs


def cluster(posts: Sequence[Post], policy: ClusterPolicy) -> list[int]:
    """Group posts into events. Returns, for each post, the index of its event's first post
    (so equal labels = one event). Reposts join the post they name when it is in the batch."""
    n = len(posts)
    parent = list(range(n))
    texts = [matching_text(p.text) for p in posts]
    sets = [shingles(t) for t in texts]
    sketches = [sorted(s)[:SKETCH_SIZE] for s in sets]
    by_external: dict[str, int] = {}
    for i, post in enumerate(posts):
        if post.external_id and post.external_id not in by_external:
            by_external[post.external_id] = i
    for i, post in enumerate(posts):
        if post.repost_of and post.repost_of in by_external:
            _union(parent, i, by_external[post.repost_of])
    for i, j in candidate_pairs(sketches):
        if len(sets[i]) < policy.min_shingles or len(sets[j]) < policy.min_shingles:
            continue
        if similarity(sketches[i], sketches[j]) >= policy.threshold:
            _union(parent, i, j)
    return [_find(parent, i) for i in range(n)]


def best_match(sketch: Sequence[int], candidates: Iterable[tuple[int, Sequence[int]]],
               policy: ClusterPolicy) -> int | None:
    """The key of the most similar candidate at or above the threshold, else None. Used to
    attach a new item to a stored event (candidates: event id and its sketch)."""
    if len(sketch) < min(policy.min_shingles, SKETCH_SIZE):
        return None
    best: tuple[float, int] | None = None
    for key, other in candidates:
        if len(other) < min(policy.min_shingles, SKETCH_SIZE):
            continue
        score = similarity(sketch, other)
        if score >= policy.threshold and (best is None or score > best[0]):
            best = (score, key)
    return None if best is None else best[1]


def pairwise_scores(labels: Sequence[int], truth: Sequence[object]) -> tuple[float, float]:
    """Pairwise precision and recall of a clustering against true groups (for tests and
    benchmarks): a pair is positive when both posts share a label."""
    def pairs(groups: Sequence[object]) -> set[tuple[int, int]]:
        members: dict[object, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            members[g].append(i)
        out: set[tuple[int, int]] = set()
        for m in members.values():
            out.update((m[x], m[y]) for x in range(len(m)) for y in range(x + 1, len(m)))
        return out

    predicted, actual = pairs(labels), pairs(truth)
    hit = len(predicted & actual)
    precision = hit / len(predicted) if predicted else 1.0
    recall = hit / len(actual) if actual else 1.0
    return precision, recall
