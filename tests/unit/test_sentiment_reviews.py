"""Officers' corrections (issue 19): the pure verdicts — the majority that becomes a label,
and what the desk shows beside the model's label."""

from __future__ import annotations

import pytest

from responders.sentiment_reviews import Verdict, majority, verdict


@pytest.mark.parametrize(("labels", "expected"), [
    ([], None),
    (["positive"], "positive"),
    (["positive", "positive", "neutral"], "positive"),
    (["positive", "neutral"], None),  # one against one: no label
    (["negative", "neutral", "positive"], None),
    (["negative", "negative", "positive", "positive", "neutral"], None),
    (["neutral", "negative", "neutral"], "neutral"),
])
def test_majority(labels: list[str], expected: str | None) -> None:
    assert majority(labels) == expected


@pytest.mark.parametrize(("labels", "model", "expected"), [
    ([], "negative", None),
    (["positive"], "negative", Verdict("corrected", "positive", 1)),
    (["positive", "positive"], None, Verdict("corrected", "positive", 2)),
    (["negative"], "negative", Verdict("confirmed", "negative", 1)),
    (["positive", "neutral"], "negative", Verdict("split", None, 2)),
    (["positive", "neutral", "positive"], "negative", Verdict("split", "positive", 3)),
])
def test_verdict(labels: list[str], model: str | None, expected: Verdict | None) -> None:
    assert verdict(labels, model) == expected
