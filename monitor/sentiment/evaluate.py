"""Measure any sentiment engine on a labelled JSONL file (`yuqing sentiment eval FILE.jsonl`).

Each line is `{"text": "...", "label": "negative" | "neutral" | "positive"}`.

Two figures, because engines differ in what they can say:
- binary: on the negative and positive rows only, the engine's score read as
  P(positive) > 0.5. Every engine has a score, so this compares SnowNLP with the rest.
- three-class: the engine's label against all rows (only when the file has neutral rows).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_args

from monitor.errors import InputError
from monitor.sentiment.base import Label, Scorer

_LABELS: tuple[str, ...] = get_args(Label)


def load_labelled(path: Path) -> list[tuple[str, str]]:
    """(text, label) pairs from a JSONL file; InputError names the first bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    rows: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise InputError(f"{path}:{number}: not valid JSON ({exc})") from exc
        if not isinstance(record, dict):
            raise InputError(f"{path}:{number}: expected an object with text and label")
        text, label = record.get("text"), record.get("label")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{path}:{number}: \"text\" must be a non-empty string")
        if label not in _LABELS:
            raise InputError(
                f"{path}:{number}: \"label\" must be one of {', '.join(_LABELS)}, got {label!r}"
            )
        rows.append((text, str(label)))
    if not rows:
        raise InputError(f"{path}: no labelled rows")
    return rows


def macro_f1(truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean of per-label F1; a label never predicted nor present scores 0."""
    scores = []
    for label in labels:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if t != label == p)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label != p)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def evaluate(scorer: Scorer, rows: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Scores of `scorer` on `rows`. A text the engine cannot score counts as wrong.

    Returns n, binary_accuracy, binary_macro_f1, three_class_macro_f1 (only when neutral
    rows exist), unscored, and texts_per_s (throughput of score_many over all rows).
    """
    texts = [text for text, _ in rows]
    started = time.perf_counter()
    results = scorer.score_many(texts)
    elapsed = time.perf_counter() - started

    binary_truth: list[str] = []
    binary_pred: list[str] = []
    three_pred: list[str] = []
    for (_, label), result in zip(rows, results, strict=True):
        # An unscored text gets a prediction no row has, so it is wrong in every figure.
        three_pred.append(result.label if result is not None else "unscored")
        if label != "neutral":
            binary_truth.append(label)
            if result is None:
                binary_pred.append("unscored")
            else:
                binary_pred.append("positive" if result.score > 0.5 else "negative")

    out: dict[str, Any] = {
        "n": len(rows),
        "unscored": sum(1 for r in results if r is None),
    }
    if binary_truth:
        correct = sum(1 for t, p in zip(binary_truth, binary_pred, strict=True) if t == p)
        out["binary_accuracy"] = round(correct / len(binary_truth), 4)
        out["binary_macro_f1"] = round(
            macro_f1(binary_truth, binary_pred, ("negative", "positive")), 4
        )
    truth = [label for _, label in rows]
    if "neutral" in truth:
        out["three_class_macro_f1"] = round(macro_f1(truth, three_pred, _LABELS), 4)
    out["texts_per_s"] = round(len(rows) / elapsed, 1) if elapsed > 0 else float("inf")
    return out
