"""What the desk shows beside an item's sentiment label (responders.tone.label_figure)."""

from __future__ import annotations

from types import SimpleNamespace

from responders.tone import label_figure, label_title


def item(label, score, p=None):
    neg, neu, pos = p if p is not None else (None, None, None)
    return SimpleNamespace(sentiment_label=label, sentiment_score=score,
                           sentiment_p_negative=neg, sentiment_p_neutral=neu,
                           sentiment_p_positive=pos)


def test_three_classes_show_the_labels_own_probability_not_the_score():
    # The worried board question: score 0.08, P(negative) 0.75 — the reasons say 0.75 too.
    assert label_figure(item("negative", 0.08, (0.75, 0.19, 0.06))) == "0.75"
    assert label_figure(item("neutral", 0.17, (0.30, 0.62, 0.08))) == "0.62"
    assert label_figure(item("positive", 0.93, (0.02, 0.10, 0.88))) == "0.88"


def test_a_binary_engine_shows_its_score_and_unscored_shows_nothing():
    assert label_figure(item("negative", 0.071)) == "0.07"
    assert label_figure(item(None, None)) == ""
    assert label_title(item("negative", 0.071)) == ""


def test_the_tooltip_names_all_three_in_the_pages_language():
    names = {"negative": "负面", "neutral": "中性", "positive": "正面"}
    got = label_title(item("negative", 0.08, (0.75, 0.19, 0.06)), names.__getitem__)
    assert got == "负面 0.75 · 中性 0.19 · 正面 0.06 · score 0.08"
