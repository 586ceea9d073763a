"""Taxonomy.match equals a straightforward reference (every list walked, every term normalised
per text — the matcher as it was before its forms were precomputed) on the repo's corpora and
on texts built from the configured terms themselves, so that excludes, rules, idioms, watch
excludes and terms listed twice are all exercised."""

from __future__ import annotations

import random

import pytest

from monitor.topics import Rule, SensitiveHit, Taxonomy, Topic, TopicMatch, normalize
from tests.unit.test_topics import CONFIG
from tests.unit.test_weibo_batch import corpus


def _only_inside(term: str, phrases: tuple[str, ...], text: str, found: set[str]) -> bool:
    carriers = [form for form in dict.fromkeys(normalize(p) for p in phrases)
                if term in form and form != term and form in found]
    if not carriers:
        return False
    body = normalize(text)
    return body.count(term) <= sum(body.count(form) * form.count(term) for form in carriers)


def _reference(tx: Taxonomy, text: str) -> TopicMatch:
    found = tx.found_terms(text)
    matched: list[str] = []
    reasons: list[str] = []
    for topic in tx.topics:
        if any(normalize(t) in found for t in topic.exclude):
            continue
        why = [k for k in topic.keywords if normalize(k) in found]
        for rule in topic.rules:
            if (all(normalize(t) in found for t in rule.all)
                    and (not rule.any or any(normalize(t) in found for t in rule.any))
                    and not any(normalize(t) in found for t in rule.none)):
                why += list(rule.all) + [t for t in rule.any if normalize(t) in found]
        if why:
            matched.append(topic.id)
            reasons += why
    watch = tuple(w for w in tx.watch if normalize(w) in found
                  and not _only_inside(normalize(w), tx.watch_exclude, text, found))
    severe = {normalize(h.term) for h in tx.sensitive_terms if h.level == "severe"}
    sensitive = tuple(
        h for h in tx.sensitive_terms if normalize(h.term) in found
        and (h.level == "severe" or normalize(h.term) not in severe)
        and not _only_inside(normalize(h.term), tx.idioms, text, found))
    markers = tuple(m for m in tx.markers if normalize(m.term) in found)
    return TopicMatch(tuple(matched), watch, sensitive,
                      tuple(dict.fromkeys(reasons + list(watch))), markers)


@pytest.fixture(scope="module")
def shipped() -> Taxonomy:
    return Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")


def _config_terms(tx: Taxonomy) -> list[str]:
    terms = [t for topic in tx.topics for t in (*topic.keywords, *topic.exclude)]
    terms += [t for topic in tx.topics for r in topic.rules for t in (*r.all, *r.any, *r.none)]
    terms += [*tx.watch, *tx.watch_exclude, *tx.idioms]
    return terms + [h.term for h in tx.sensitive_terms] + [m.term for m in tx.markers]


def test_match_equals_the_reference_on_the_corpora(shipped: Taxonomy) -> None:
    texts = corpus()
    assert len(texts) > 1500
    relevant = 0
    for text in texts:
        got = shipped.match(text)
        assert got == _reference(shipped, text), text
        relevant += got.relevant
    assert relevant > 300  # the corpora do exercise the rules, not only empty matches


def test_match_equals_the_reference_on_texts_of_configured_terms(shipped: Taxonomy) -> None:
    terms = _config_terms(shipped)
    rng = random.Random(12)
    for _ in range(3000):
        words = rng.sample(terms, rng.randint(1, 8))
        text = "，".join(w.upper() if rng.random() < 0.2 else w for w in words)
        assert shipped.match(text) == _reference(shipped, text), text


def test_a_term_listed_under_both_levels_and_twice_reports_as_configured() -> None:
    tx = Taxonomy([Topic("t", "T", ("律师",), (Rule(all=("律所",), any=("收费", "退费")),),
                         ("律师节",))],
                  watch=("司法厅", "省司法厅", "司法厅"), severe=("死亡", "打死"),
                  elevated=("死亡", "投诉", "投诉"), idioms=("打死我也不信",),
                  watch_exclude=("江苏省司法厅",))
    for text in ["律所收费退费，律师投诉，死亡", "打死我也不信，江苏省司法厅", "律师节，省司法厅",
                 "打死我也不信，打死人了，江苏省司法厅与省司法厅", "ＬＶ律所退费"]:
        got = tx.match(text)
        assert got == _reference(tx, text), text
    assert tx.match("死亡 投诉").sensitive == (
        SensitiveHit("死亡", "severe"), SensitiveHit("投诉", "elevated"),
        SensitiveHit("投诉", "elevated"))
