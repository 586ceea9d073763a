"""The fast paths of story vectors, sketches and candidate judging (monitor.stories,
monitor.events) against straightforward references on the repo's realistic corpora: the
triage posts, the events corpus, the justice sentiment set and the demo feeds. Equal output,
float for float — a speed-up that changed a single verdict would fail here."""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor import events, stories
from monitor.analyze import story_vocabulary
from monitor.event_store import EventSettings, _CandidateIndex
from monitor.events import (
    SKETCH_SIZE,
    matching_text,
    shingles,
    signature,
    similarity,
    similarity_of_sets,
)
from monitor.feeds import parse_feed
from monitor.stories import (
    MATTER_MARK,
    StoryPolicy,
    StoryPost,
    anchor_level,
    best_story,
    followup_anchor,
    load_background,
    story_hit,
    story_text,
    story_vector,
    tokens,
)
from monitor.text import normalize_text
from monitor.topics import Taxonomy
from tests.support.settings import defaults

ROOT = Path(__file__).resolve().parents[2]
POLICY = EventSettings.from_section(defaults().events).stories


def _corpus() -> list[str]:
    texts: list[str] = []
    for name in ("triage/posts.jsonl", "events_corpus.jsonl", "justice_sentiment.jsonl"):
        for line in (ROOT / "tests" / "data" / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(str(json.loads(line).get("text") or ""))
    for feed in sorted((ROOT / "config" / "demo").glob("*.xml")):
        texts += [f"{e.title}\n{e.text}" for e in parse_feed(feed.read_bytes()).entries]
    return texts


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    texts = _corpus()
    assert len(texts) > 1500
    return texts


@pytest.fixture(scope="module")
def vocabulary() -> frozenset[str]:
    return story_vocabulary(Taxonomy.from_files(ROOT / "config" / "topics.yaml",
                                                ROOT / "config" / "sensitive.yaml"))


# ---- references: the plain versions the fast paths replaced ----

def _reference_tokens(text: str, extra: frozenset[str]) -> list[tuple[str, bool]]:
    """Forward maximum matching trying every length from _MAX_WORD down to 2."""
    words = stories._dictionary()
    out: list[tuple[str, bool]] = [(m.group(), True) for m in stories._PERSON.finditer(text)]
    text = stories._PERSON.sub(" ", text)
    for run in stories._HAN_RUN.findall(text):
        i, n, unknown = 0, len(run), ""
        while i < n:
            for size in range(min(stories._MAX_WORD, n - i), 1, -1):
                piece = run[i : i + size]
                if piece in words or piece in extra:
                    break
            else:
                unknown += run[i]
                i += 1
                continue
            stories._keep_unknown(unknown, piece[0], out)
            unknown = ""
            after = run[i + size] if i + size < n else ""
            out.append((stories._stem(piece),
                        piece[-1] in stories._NAME_SUFFIX or after in stories._NAME_SUFFIX))
            i += size
        stories._keep_unknown(unknown, "", out)
    return out


def _reference_incidents(text: str) -> list[str]:
    places = {kind for word, kind in stories._CUSTODY.items() if word in text}
    what = {kind for word, kind in stories._INCIDENT.items() if word in text}
    out = {f"{stories.NAME_MARK}{p}·{w}" for p in places for w in what}
    if any(word in text for word in stories._OUTAGES):
        out.update(f"{stories.NAME_MARK}{kind}·故障" for word, kind in stories._SERVICES.items()
                   if word in text)
    return sorted(out)


def _reference_names(text: str) -> list[str]:
    """names() with every pattern run on every text and a substring test per word."""
    out = [stories.TAG_MARK + m for m in stories._TAG.findall(text)]
    out += [stories.NAME_MARK + m for m in stories._BOOK.findall(text)]
    out += [stories.NAME_MARK + m for m in stories._TITLED.findall(text) if len(m) >= 2]
    for m in stories._INSTITUTION.finditer(text):
        prefix, kind = m.group(1), stories._INSTITUTION_KINDS[m.group(2)]
        if not (set(prefix) & stories._NOT_A_NAME) and prefix not in stories._GENERIC_PREFIX:
            out.append(f"{stories.NAME_MARK}{prefix}{kind}")
    out.extend(stories.NAME_MARK + n for n in stories._NUMBER.findall(text))
    matters = [MATTER_MARK + key for key, services, problems in stories._MATTERS
               if any(s in text for s in services) and any(p in text for p in problems)]
    return out + _reference_incidents(text) + matters


def _reference_vector(text: str, background: stories.BackgroundIdf, damped: frozenset[str],
                      k: int = stories.TERMS_PER_POST) -> dict[str, float]:
    """story_vector on the reference tokens, the idf formula evaluated per term and the
    reference incidents."""
    plain = story_text(text)
    found = _reference_tokens(plain, damped)
    counts = Counter(t for t, _ in found)
    if not counts:
        return {}
    named = {t for t, is_name in found if is_name}
    weights: dict[str, float] = {}
    for term, tf in counts.items():
        idf = math.log((background.docs + 1) / (background.df.get(term, 0) + 1))
        w = (1.0 + math.log(tf)) * idf
        if term in damped:
            w *= POLICY.damp
        elif term in named:
            w *= 1.5
        weights[term] = w
    for term in named:
        if term not in stories._dictionary() and term not in damped and term in weights:
            weights[stories.NAME_MARK + term] = weights[term] * 0.5
    top_weight = max(weights.values())
    keys = stories.names(plain)
    assert stories.incidents(plain) == _reference_incidents(plain)
    assert keys == _reference_names(plain)
    for key in keys:
        weights.setdefault(key, top_weight)
    top = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
    return {term: round(w / norm, 4) for term, w in top}


def _reference_similarity(a: Sequence[int], b: Sequence[int], k: int = SKETCH_SIZE) -> float:
    if not a or not b:
        return 0.0
    sa, sb = set(a), set(b)
    union_bottom = sorted(sa | sb)[:k]
    return sum(1 for h in union_bottom if h in sa and h in sb) / len(union_bottom)


def _reference_shingles(text: str, size: int = 3) -> set[int]:
    """crc32 of each n-gram encoded on its own."""
    if len(text) < size:
        return {zlib.crc32(text.encode("utf-8"))} if text else set()
    return {zlib.crc32(text[i : i + size].encode("utf-8")) for i in range(len(text) - size + 1)}


def _reference_cosine(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[float, int]:
    if len(a) > len(b):
        a, b = b, a
    shared = [t for t in a if t in b]
    return sum(a[t] * b[t] for t in shared), len(shared)


def _reference_hit(vector: Mapping[str, float], profile: Mapping[str, float],
                   policy: StoryPolicy, *, current: bool, near: bool) -> float | None:
    """story_hit as it read before its fast paths: every predicate on every term."""
    places = stories.named_places(vector)
    signed = {t for t in vector if t.startswith(MATTER_MARK)}
    outages = {t for t in vector if stories._outage(t)}
    common = frozenset(vector).intersection(profile)
    recent_incident = current and sum(stories._incident(t) for t in common) >= 2
    same_matter = near and bool(signed & common)
    labels_matter = same_matter and places <= stories.named_places(profile)
    same_outage = current and bool(outages & common)
    need = (policy.min_shared - 1 if recent_incident or same_matter or same_outage
            else policy.min_shared)
    if len(common) < need:
        return None
    score, shared = _reference_cosine(vector, profile)
    down = [t for t in outages if t in profile]
    if down and not current:
        score -= sum(vector[t] * profile[t] for t in down)
        shared -= len(down)
        down = []
    kinds = [t for t in signed if t in profile]
    if kinds and not labels_matter:
        score -= sum(vector[t] * profile[t] for t in kinds)
        if not same_matter:
            shared -= len(kinds)
    placed = bool(places & stories.named_places(profile)) and any(
        stories._incident(t) and t in profile for t in vector)
    labelled = (bool(down) or placed or recent_incident or labels_matter
                or any(stories._matter_tag(t) and t in profile for t in vector))
    bar = policy.tagged if labelled else policy.threshold
    if score < min(bar, policy.threshold) or shared < need:
        return None
    other = stories.named_places(profile)
    if places and other and not places & other:
        return None
    if score < policy.unanchored:
        level = max((anchor_level(t) for t in vector if t in profile
                     and (same_matter or not t.startswith(MATTER_MARK))), default=0)
        if level == 0 or (level == 1 and score < policy.city_anchored):
            return None
    return score


# ---- the comparisons ----

def test_tokens_equal_the_plain_forward_maximum_matching(corpus: list[str],
                                                        vocabulary: frozenset[str]) -> None:
    stories._segmented.cache_clear()
    for _pass in ("runs segmented afresh", "runs remembered"):
        for text in corpus:
            plain = story_text(text)
            assert tokens(plain, vocabulary) == _reference_tokens(plain, vocabulary), text
            assert tokens(plain) == _reference_tokens(plain, frozenset()), text


def test_story_vectors_equal_the_reference(corpus: list[str],
                                          vocabulary: frozenset[str]) -> None:
    background = load_background()
    for text in corpus:
        got = story_vector(text, background, vocabulary, POLICY)
        want = _reference_vector(text, background, vocabulary)
        assert got == want, text
        assert list(got) == list(want)  # the same order too (index_terms reads it)


def test_profiles_and_index_terms_equal_the_reference(corpus: list[str],
                                                      vocabulary: frozenset[str]) -> None:
    """merge_profiles and index_terms: top k by (-weight, term), as a key function sorts."""
    def top(weights: Mapping[str, float], k: int) -> list[tuple[str, float]]:
        return sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:k]

    profile: dict[str, float] = {}
    for vector in _vectors(corpus, vocabulary):
        summed = dict(profile)
        for term, w in vector.items():
            summed[term] = summed.get(term, 0.0) + w
        best = top(summed, stories.TERMS_PER_PROFILE)
        norm = math.sqrt(sum(w * w for _, w in best)) or 1.0
        want = {term: round(w / norm, 4) for term, w in best}
        got = stories.merge_profiles(profile, vector)
        assert got == want and list(got) == list(want)
        assert stories.index_terms(got) == [t for t, _ in top(got, stories.INDEX_TERMS)]
        profile = got if len(profile) < 200 else {}


def test_similarity_equals_the_plain_bottom_k_estimate(corpus: list[str]) -> None:
    sketches = [s for s in (signature(t) for t in corpus[::3]) if s]
    pairs = 0
    for i, a in enumerate(sketches):
        for b in sketches[i : i + 40]:
            want = _reference_similarity(a, b)
            assert similarity(a, b) == want
            assert similarity(a, b, 8) == _reference_similarity(a, b, 8)
            floored = similarity_of_sets(set(a), set(b), floor=0.5)
            assert floored == (want if want >= 0.5 else None)
            pairs += 1
    assert pairs > 10_000
    # Long rewrites (sketches of k values from unions of more): a cut, an insertion.
    rewritten = 0
    for text in corpus:
        if len(text) < 120:
            continue
        a = signature(text)
        for other in (text[len(text) // 5 :], text[:60] + "据知情人士透露" + text[60:],
                      text[: len(text) // 2]):
            b = signature(other)
            want = _reference_similarity(a, b)
            assert similarity(a, b) == want
            for floor in (0.3, 0.5, 0.7):
                floored = similarity_of_sets(set(a), set(b), floor=floor)
                assert floored == (want if want >= floor else None)
            rewritten += 0.3 < want < 1.0
    assert rewritten > 200


def test_shingles_equal_the_n_grams_hashed_one_by_one(corpus: list[str]) -> None:
    """The bytes sliced from one encoding (ASCII or all-Chinese texts) against each n-gram
    encoded: the matching texts of the corpus, their raw texts, and texts of every width
    mixed (2-byte Latin and Cyrillic, 4-byte emoji and CJK extension B, and sums of mixed
    widths that equal 3 bytes a character)."""
    mixed = ["abc", "ab", "a", "", "洛阳", "洛阳市", "洛阳abc涧西", "ééé", "é😀", "é😀é😀",
             "😀😀😀", "𠀀𠀀𠀀洛阳", "привет мир", "a😀洛", "洛阳\u0800\uffff", "12348热线打不通"]
    texts = [*map(matching_text, corpus), *corpus, *mixed]
    for text in texts:
        for size in (3, 2, 1):
            assert shingles(text, size) == _reference_shingles(text, size), text


def _reference_story_text(text: str) -> str:
    plain = normalize_text(text, to_simplified=True)
    for pattern in (stories._URL, stories._CHAIN, stories._MENTION, stories._EMOTICON,
                    stories._OUTLET, stories._FILLER):
        plain = pattern.sub(" ", plain)
    return plain


def _reference_matching_text(text: str) -> str:
    plain = events._URL.sub(" ", normalize_text(text, to_simplified=True))
    pieces: list[str] = []
    for seg in events._CHAIN.split(plain):
        pieces.extend(events._QUOTE_LEAD.split(events._REPOST_WORDS.sub(" ", seg)))
    body = max(pieces, key=lambda p: len(events._ANY_PUNCT.sub("", p)), default="")
    for pattern in (events._HASHTAG, events._OUTLET, events._MENTION):
        body = pattern.sub(" ", body)
    return events._ANY_PUNCT.sub("", body).lower()


def test_story_and_matching_texts_equal_every_pattern_applied(corpus: list[str]) -> None:
    """The link pattern skipped on texts without "://" or ".", one piece not weighed."""
    links = ["看这里https://t.cn/A6abc 洛阳涧西", "WWW.henan.gov.cn 通报", "HTTPS://X.cn/1 回应",
             "httpſ://x.cn 全文", "转发 @某某：原文 http://t.cn/x //@乙: 评论", "网址www.例子", ""]
    for text in [*corpus, *links]:
        assert story_text(text) == _reference_story_text(text), text
        assert matching_text(text) == _reference_matching_text(text), text


def _vectors(corpus: list[str], vocabulary: frozenset[str]) -> list[dict[str, float]]:
    background = load_background()
    return [v for v in (story_vector(t, background, vocabulary, POLICY) for t in corpus) if v]


def test_story_verdicts_equal_the_plain_story_hit(corpus: list[str],
                                                 vocabulary: frozenset[str]) -> None:
    """Every post against profiles of its neighbours in the corpus (stories told in runs),
    merged profiles too, in all four time cases: the same score or the same refusal."""
    vectors = _vectors(corpus, vocabulary)
    profiles = [stories.merge_profiles(a, b) for a, b in zip(vectors, vectors[1:], strict=False)]
    joined = 0
    for i, vector in enumerate(vectors):
        post = StoryPost.of(vector)
        for profile in [*vectors[max(0, i - 30) : i], *profiles[max(0, i - 30) : i]]:
            assert stories.cosine(vector, profile) == _reference_cosine(vector, profile)
            for current in (True, False):
                for near in (True, False):
                    got = story_hit(post, profile, POLICY, current=current, near=near)
                    assert got == _reference_hit(vector, profile, POLICY, current=current,
                                                 near=near)
                    joined += got is not None
    assert joined > 500  # the corpus has many stories told in several posts


def test_cached_term_kinds_equal_the_predicates(corpus: list[str],
                                               vocabulary: frozenset[str]) -> None:
    for vector in _vectors(corpus, vocabulary):
        for term in vector:
            kinds = stories._kinds(term)
            assert kinds.place == (term in stories._CITIES or term in stories._COUNTIES)
            assert kinds.level == anchor_level(term)
            assert followup_anchor(term) is followup_anchor.__wrapped__(term)


def test_candidate_judging_equals_best_match_then_best_story(corpus: list[str],
                                                             vocabulary: frozenset[str]) -> None:
    """_CandidateIndex.judge (cached sketch sets, early exits) against its definition: the
    best near-duplicate (events.best_match over the reference similarity's verdicts), then
    every story match (stories.best_story), over the corpus's posts as candidates seen at
    staggered times around each post's own."""
    cfg = EventSettings.from_section(defaults().events)
    background = load_background()
    posts = [(signature(t), story_vector(t, background, vocabulary, POLICY)) for t in corpus]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    when = [start + timedelta(hours=7 * i) for i in range(len(posts))]
    index = _CandidateIndex(terms={}, sketches={i: s for i, (s, _v) in enumerate(posts)},
                            profiles={i: v for i, (_s, v) in enumerate(posts)}, by_external={},
                            kinds={}, seen={i: w + timedelta(hours=30) for i, w in enumerate(when)},
                            first=dict(enumerate(when)))
    floor = min(cfg.cluster.min_shingles, SKETCH_SIZE)
    joined = duplicates = 0
    for i, (sketch, vector) in enumerate(posts):
        at = when[i] + timedelta(hours=40)
        near = {e for e in range(max(0, i - 25), min(len(posts), i + 25)) if e != i}
        dups = [(_reference_similarity(sketch, posts[e][0]), e) for e in sorted(near)
                if len(sketch) >= floor and len(posts[e][0]) >= floor]
        best = max((d for d in dups if d[0] >= cfg.cluster.threshold),
                   key=lambda d: (d[0], -d[1]), default=None)
        since = at - timedelta(hours=cfg.stories.outage_hours)
        span = timedelta(hours=cfg.stories.matter_hours)
        hits = best_story(vector, [(e, posts[e][1]) for e in sorted(near)], cfg.stories,
                          current={e for e in near if index.seen[e] >= since},
                          near={e for e in near if index.seen[e] >= at - span
                                and index.first[e] <= at + span})
        want = [best[1]] if best else []
        want += [e for _score, e in hits if e not in want]
        assert index.judge(near, sketch, vector, cfg, at=at) == want, corpus[i]
        joined += bool(want)
        duplicates += best is not None
    assert joined > 300
    assert duplicates > 100
