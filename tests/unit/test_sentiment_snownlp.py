"""The SnowNLP engine behind the scorer interface: odd input never crashes a batch."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.errors import ConfigError
from monitor.sentiment import build_scorer, engine_names
from monitor.sentiment.base import Thresholds, prepare
from tests.support.settings import defaults


@pytest.fixture(scope="module")
def scorer():
    return build_scorer(replace(defaults().sentiment, engine="snownlp", max_chars=500))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("   \n\t ", None),
        ("hello world 12345", None),
        ("😀😀😀!!!", None),
        ("  律师  ", "律师"),
        ("转发微博", None),                  # a bare repost says nothing about its tone
        ("转发微博 //@某网友:", None),
        ("太过分了 //@某网友:转发微博", "太过分了 //@某网友:转发微博"),
        ("法" * 10, "法" * 10),
    ],
)
def test_prepare(text, expected):
    assert prepare(text, max_chars=500) == expected


def test_prepare_truncates_on_purpose():
    assert prepare("好" * 5000, max_chars=300) == "好" * 300


@pytest.mark.parametrize(
    ("score", "label"),
    [(0.0, "negative"), (0.349, "negative"), (0.35, "neutral"), (0.65, "neutral"),
     (0.651, "positive"), (1.0, "positive")],
)
def test_thresholds(score, label):
    assert Thresholds(0.35, 0.65).label(score) == label


def test_scores_are_probabilities_and_ordered(scorer):
    good = scorer.score("法律援助中心的工作人员非常耐心，真心感谢，点赞！")
    bad = scorer.score("律所乱收费，投诉了三个月没人管，太气人了，简直无法无天")
    assert good is not None and bad is not None
    assert 0.0 <= bad.score < good.score <= 1.0
    assert good.label == "positive" and bad.label == "negative"


@pytest.mark.parametrize(
    "text",
    [
        "好" * 200000,                      # absurdly long: truncated, scored
        "，。！？" * 1000 + "律师",         # punctuation soup
        "😡" * 50 + "不作为",               # emoji
        "哈哈哈哈哈哈哈哈哈哈" * 500,       # long repetition (SnowNLP's product overflows)
        "的了是在",                         # only stop words
        "\x00\x01律师\ufffd",               # control characters
    ],
)
def test_odd_text_never_crashes(scorer, text):
    result = scorer.score(text)
    assert result is None or 0.0 <= result.score <= 1.0


def test_score_many_keeps_positions(scorer):
    out = scorer.score_many(["", "很好很满意", "hello", "很差很失望"])
    assert out[0] is None and out[2] is None
    assert out[1] is not None and out[3] is not None and out[1].score > out[3].score


def test_unknown_engine():
    with pytest.raises(ConfigError, match="unknown sentiment engine 'nope'"):
        build_scorer(defaults().sentiment, engine="nope")
    assert "snownlp" in engine_names()
