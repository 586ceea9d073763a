"""evaluate.load_labelled and evaluate.evaluate against hand-computed figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from monitor.errors import InputError
from monitor.sentiment.base import Label, Sentiment
from monitor.sentiment.evaluate import evaluate, load_labelled, macro_f1


def _write(tmp_path: Path, lines: Sequence[str]) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_labelled_reads_rows_and_skips_blank_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            json.dumps({"text": "律师很负责，感谢！", "label": "positive"}, ensure_ascii=False),
            "",
            json.dumps({"text": "请问公证要带什么材料？", "label": "neutral"}, ensure_ascii=False),
        ],
    )
    assert load_labelled(path) == [
        ("律师很负责，感谢！", "positive"),
        ("请问公证要带什么材料？", "neutral"),
    ]


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["text", "positive"]', "expected an object"),
        ('{"text": "", "label": "positive"}', '"text" must be a non-empty string'),
        ('{"label": "positive"}', '"text" must be a non-empty string'),
        ('{"text": "很好", "label": "happy"}', '"label" must be one of'),
        ('{"text": "很好"}', '"label" must be one of'),
    ],
)
def test_load_labelled_names_the_bad_line(tmp_path: Path, bad_line: str, message: str) -> None:
    good = json.dumps({"text": "调解成功了", "label": "positive"}, ensure_ascii=False)
    path = _write(tmp_path, [good, good, bad_line, good])
    with pytest.raises(InputError) as info:
        load_labelled(path)
    assert f"{path}:3:" in str(info.value)
    assert message in str(info.value)


def test_load_labelled_rejects_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_labelled(tmp_path / "absent.jsonl")
    with pytest.raises(InputError, match="no labelled rows"):
        load_labelled(_write(tmp_path, ["", "  "]))


@pytest.mark.parametrize(
    ("truth", "pred", "expected"),
    [
        (["a", "b"], ["a", "b"], 1.0),
        (["a", "b"], ["b", "a"], 0.0),
        # a: tp=1 fp=0 fn=1 → 2/3; b: tp=1 fp=1 fn=0 → 2/3
        (["a", "a", "b"], ["a", "b", "b"], 2 / 3),
        # b never predicted nor present: it scores 0 and drags the mean down, on purpose
        (["a"], ["a"], 0.5),
    ],
)
def test_macro_f1_table(truth: list[str], pred: list[str], expected: float) -> None:
    assert macro_f1(truth, pred, ("a", "b")) == pytest.approx(expected)


class _FixedScorer:
    """A scorer whose answer for each text is given in advance (None: unscorable)."""

    name = "fixed"

    def __init__(self, answers: dict[str, tuple[float, Label] | None]) -> None:
        self._answers = answers

    def score(self, text: str | None) -> Sentiment | None:
        answer = self._answers.get(text or "")
        return None if answer is None else Sentiment(score=answer[0], label=answer[1])

    def score_many(self, texts: Sequence[str | None]) -> list[Sentiment | None]:
        return [self.score(t) for t in texts]


def test_evaluate_binary_reads_the_score_and_three_class_reads_the_label() -> None:
    rows = [
        ("n1", "negative"),
        ("n2", "negative"),
        ("p1", "positive"),
        ("p2", "positive"),
        ("u1", "neutral"),
        ("u2", "neutral"),
    ]
    scorer = _FixedScorer(
        {
            "n1": (0.1, "negative"),
            "n2": (0.6, "neutral"),  # binary: wrong (score > 0.5); three-class: wrong
            "p1": (0.9, "positive"),
            "p2": (0.55, "neutral"),  # binary: right by score; three-class: wrong
            "u1": (0.5, "neutral"),
            "u2": (0.2, "negative"),
        }
    )
    result = evaluate(scorer, rows)
    assert result["n"] == 6
    assert result["unscored"] == 0
    assert result["binary_accuracy"] == 0.75
    # negative: tp=1 fp=0 fn=1 → 2/3; positive: tp=2 fp=1 fn=0 → 4/5
    assert result["binary_macro_f1"] == pytest.approx(round((2 / 3 + 4 / 5) / 2, 4))
    # negative: tp=1 fp=1 fn=1 → 1/2; neutral: tp=1 fp=2 fn=1 → 2/5; positive: tp=1 fp=0 fn=1
    assert result["three_class_macro_f1"] == pytest.approx(round((1 / 2 + 2 / 5 + 2 / 3) / 3, 4))
    assert result["texts_per_s"] > 0


def test_evaluate_counts_unscored_texts_as_wrong_and_omits_three_class_without_neutral() -> None:
    rows = [("n1", "negative"), ("p1", "positive"), ("p2", "positive")]
    scorer = _FixedScorer({"n1": (0.2, "negative"), "p1": (0.8, "positive"), "p2": None})
    result = evaluate(scorer, rows)
    assert result["unscored"] == 1
    assert result["binary_accuracy"] == pytest.approx(round(2 / 3, 4))
    assert "three_class_macro_f1" not in result
