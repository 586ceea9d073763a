"""Which posts say something of their own (scored) and which are bare reposts (unscored).

Issue 12: a complaint addressed to an account with no space after the mention
("@某市司法局你们的法律援助热线一直打不通，太失望了") was read as one long @-mention and left
unscored. Decided here, row by row:

- an @-mention followed by the author's words is scored, with or without a space or a colon
  after the name;
- a bare repost stays unscored: "转发微博", "Repost", a "//@name:" chain with nothing added,
  mentions alone ("@甲 @乙");
- words added to a repost ("太过分了//@甲:原文") are the reposter's own, and are scored;
- a short unpunctuated run after "@" that ends the post is a nickname, as Weibo itself links
  it; one punctuation mark or emoji after the words is enough to tell them from a name.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.sentiment import build_scorer
from monitor.sentiment.base import Scorer, prepare, strip_filler
from tests.support.settings import defaults

SCORED = [
    # complaints, praise and questions addressed to an account
    "@某市司法局你们的法律援助热线一直打不通，太失望了",
    "@某市司法局 你们的法律援助热线一直打不通，太失望了",
    "@某市司法局：法律援助热线一直打不通，太失望了",
    "@某市司法局:热线打不通，到底有没有人管？",
    "@河南司法为你们点赞！调解员很耐心",
    "@河南司法 为你们点赞",
    "@河南司法：请问法律援助怎么申请？",
    "@河南司法请问公证处周六上班吗？",
    "@河南司法 @某市司法局 投诉三个月了没人回复",
    "@河南司法为你们点赞👍",
    # no space at all, and longer than any nickname can be: the words are the author's
    "@某市司法局你们的法律援助热线一直打不通太失望了",
    # a mention at the end of the author's own words
    "热线一直打不通@某市司法局",
    # repost chains with the reposter's own words
    "太过分了//@甲:原文",
    "太过分了 //@某网友:转发微博",
    "支持严查！//@河南司法:【通报】某律所违规收费被立案调查",
    # a chain that quotes someone's words carries them
    "//@中原老李:太折腾人了",
]

BARE = [
    "转发微博",
    "轉發微博",
    "Repost",
    "repost",
    "转发微博 //@某网友:",
    "//@甲: //@乙:",
    "//@甲://@乙:转发微博",
    "@甲 @乙",
    "@河南司法",
    "@河南司法：",
    "@河南司法为你们点赞",   # a possible nickname that ends the post: Weibo would link it
    "@甲 @乙 //@丙:转发微博",
    "Repost //@someone:",
]


@pytest.mark.parametrize("text", SCORED)
def test_own_words_are_scored(text: str) -> None:
    assert prepare(text, max_chars=500) == text


@pytest.mark.parametrize("text", BARE)
def test_bare_reposts_stay_unscored(text: str) -> None:
    assert prepare(text, max_chars=500) is None


@pytest.mark.parametrize(
    ("text", "own"),
    [
        ("@某市司法局 热线打不通", "热线打不通"),
        ("@某市司法局：热线打不通", "：热线打不通"),
        ("太过分了//@甲:原文", "太过分了 原文"),
        ("@甲 @乙", ""),
    ],
)
def test_strip_filler_keeps_only_the_authors_words(text: str, own: str) -> None:
    assert strip_filler(text) == own


@pytest.fixture(scope="module")
def weibo_scorer() -> Scorer:
    return build_scorer(replace(defaults().sentiment, engine="weibo"))


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("@某市司法局你们的法律援助热线一直打不通，太失望了", "negative"),  # issue 12's post
        ("@某市司法局 你们的法律援助热线一直打不通，太失望了", "negative"),
        ("@河南司法为你们点赞！调解员很耐心", "positive"),
        ("@甲 @乙", None),
        ("转发微博", None),
    ],
)
def test_shipped_model_scores_addressed_posts(weibo_scorer: Scorer, text: str,
                                              label: str | None) -> None:
    result = weibo_scorer.score(text)
    assert (result.label if result else None) == label
