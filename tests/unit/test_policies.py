"""Policy library: file parsing, bigram tokens, BM25 ranking."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.errors import InputError
from responders.policies import BM25, parse_policy, policy_tokens, read_policies, tokens

POLICY_DIR = Path(__file__).resolve().parents[2] / "config" / "policies"

GOOD = """---
title: 河南省司法厅关于规范律师服务收费行为的通知
doc_number: 豫司通〔2023〕7号
issuer: 河南省司法厅
date: 2023-05-15
topics: [lawyers]
---
一、明码标价。律师事务所应当公示收费标准。
"""


@pytest.mark.parametrize(("text", "expected"), [
    ("法律援助", ["法律", "律援", "援助"]),
    ("戒", ["戒"]),
    ("12348热线", ["热线", "12348"]),
    ("", []),
    ("律师、收费", ["律师", "收费"]),  # punctuation splits runs: no "师收" bigram
])
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_parse_policy() -> None:
    doc = parse_policy(GOOD, "a.md")
    assert doc.doc_number == "豫司通〔2023〕7号"
    assert doc.issued_on == date(2023, 5, 15)
    assert doc.topics == ("lawyers",)
    assert doc.text.startswith("一、明码标价")


@pytest.mark.parametrize(("raw", "message"), [
    ("no header", "YAML header"),
    ("---\ntitle: x\n", "not closed"),
    ("---\ntitle: x\nissuer: y\n---\nbody", "doc_number"),
    ("---\ntitle: x\ndoc_number: 1\nissuer: y\ndate: 2023-13-01\n---\nbody", "date"),
    ("---\n[1, 2]\n---\nbody", "mapping"),
])
def test_parse_policy_refuses_malformed(raw: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_policy(raw, "bad.md")


def test_bundled_policies_parse_with_unique_numbers() -> None:
    docs = read_policies(POLICY_DIR)
    assert len(docs) >= 6
    assert len({d.doc_number for d in docs}) == len(docs)
    assert all(d.text and d.issuer for d in docs)


def test_bm25_prefers_the_document_about_the_query() -> None:
    docs = read_policies(POLICY_DIR)
    index = BM25([policy_tokens(d.title, d.text) for d in docs])
    ranked = index.rank(tokens("戒毒所学员死亡，家属不让探视，要求公开真相"), limit=3)
    assert docs[ranked[0][0]].doc_number == "豫戒〔2019〕27号"
    ranked = index.rank(tokens("申请法律援助被拒绝，多久答复？"), limit=3)
    assert docs[ranked[0][0]].doc_number == "豫司〔2021〕58号"


def test_bm25_no_match_is_empty_and_rarer_terms_weigh_more() -> None:
    index = BM25([tokens("律师收费律师"), tokens("律师会见"), tokens("公证收费")])
    assert index.rank(tokens("天气预报"), limit=5) == []
    # "会见" appears in one document, "律师" in two: the rare term decides.
    assert index.rank(tokens("律师会见"), limit=1)[0][0] == 1
