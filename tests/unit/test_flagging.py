from __future__ import annotations

import pytest

from monitor.flagging import FlagPolicy, decide
from monitor.sentiment.base import Sentiment, Thresholds
from monitor.topics import SensitiveHit, TopicMatch

POLICY = FlagPolicy(strong_negative=0.10)
CUT = Thresholds(negative_below=0.35, positive_above=0.65)


def m(topics=("lawyers",), watch=(), severe=(), elevated=()):
    hits = tuple(SensitiveHit(t, "severe") for t in severe) + tuple(
        SensitiveHit(t, "elevated") for t in elevated
    )
    return TopicMatch(topics=tuple(topics), watch_hits=tuple(watch), sensitive=hits,
                      keywords=tuple(topics))


def s(score, label=None):
    """A binary engine's output: the label cut from the score (or given, as a
    three-class engine decides it)."""
    return None if score is None else Sentiment(score, label or CUT.label(score))


@pytest.mark.parametrize(
    ("match", "score", "expected"),
    [
        # not about our field: never an alert, however negative or sensitive
        (m(topics=()), 0.01, None),
        (m(topics=(), severe=("死亡",)), 0.01, None),
        # praise and notices on a topic are stored, not queued
        (m(), 0.9, None),
        (m(), 0.5, None),
        (m(watch=("省司法厅",)), 0.8, None),
        # negative on a topic
        (m(), 0.2, "P3"),
        (m(), 0.05, "P3"),  # sentiment alone never goes above P3
        # elevated terms
        (m(elevated=("投诉",)), 0.9, "P3"),
        (m(elevated=("投诉",)), 0.2, "P2"),
        (m(elevated=("投诉", "推诿")), 0.9, "P3"),
        (m(elevated=("投诉", "推诿", "不作为")), 0.9, "P2"),  # many complaints, any sentiment
        (m(watch=("省司法厅",)), 0.2, "P2"),
        # severe terms
        (m(severe=("死亡",)), 0.9, "P2"),
        (m(severe=("死亡",)), 0.2, "P1"),
        (m(severe=("死亡",), watch=("省司法厅",)), 0.6, "P1"),
        (m(severe=("死亡", "冤案")), 0.9, "P1"),
        (m(severe=("死亡", "死亡")), 0.9, "P2"),  # the same term twice is one term
        # unscored text (no Chinese, or SnowNLP failed): terms still count
        (m(severe=("脱逃",)), None, "P2"),
        (m(), None, None),
        # the office's own name counts as relevance even without a topic
        (m(topics=(), watch=("河南省司法厅",), elevated=("不作为",)), 0.1, "P2"),
    ],
)
def test_priority_table(match, score, expected):
    decision = decide(match, s(score), POLICY)
    assert (decision.priority if decision else None) == expected


def test_reasons_are_words_a_press_officer_reads():
    d = decide(m(topics=("lawyers", "notary"), watch=("省司法厅",), severe=("死亡",),
                 elevated=("投诉",)), s(0.04), POLICY, {"lawyers": "律师", "notary": "公证"})
    assert d is not None and d.priority == "P1" and d.major
    text = "；".join(d.reasons)
    assert "涉及话题：律师、公证" in text
    assert "提及本单位：省司法厅" in text
    assert "含重大敏感词：死亡" in text
    assert "含敏感词：投诉" in text
    assert "强烈负面" in text and "0.04" in text
    assert d.topics == ("lawyers", "notary")


def test_negativity_is_the_engines_label():
    # a three-class engine may call a low-scoring notice neutral: no alert
    assert decide(m(), s(0.2, "neutral"), POLICY) is None
    assert decide(m(), s(0.4, "negative"), POLICY).priority == "P3"
    # "strongly" needs both the negative label and a very low score
    assert "强烈负面" in "".join(decide(m(), s(0.05, "negative"), POLICY).reasons)
    assert "强烈负面" not in "".join(decide(m(), s(0.3, "negative"), POLICY).reasons)
