"""A model version's card: the headline figures out of train's metrics, the fingerprint of
the held-out splits they were measured on, and the MODEL_CARD.md written beside the model.
Pure: dicts and rows in, dicts and text out (monitor.sentiment.registry writes the files).

Why a fingerprint of the splits: figures of two versions compare only when they were
measured on the same test rows. Train cuts them by a seeded stratified split of each source
(monitor.sentiment.train), so the same data, shares and seed give the same rows; the card
records, per source, how many test rows there were and a hash of them, and two cards with
the same hashes were measured on the same held-out data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from monitor.sentiment.base import Label

# (figure, path into train_model's metrics). General Weibo first: it is the office's case.
HEADLINE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("general_binary_f1", ("smp_usual_eval", "binary_macro_f1")),
    ("general_three_class_f1", ("smp_usual_eval", "three_class_macro_f1")),
    ("general_auc", ("auc_smp_usual_eval_test",)),
    ("general_ece", ("calibration_smp_usual_eval_test", "ece")),
    ("covid_binary_f1", ("smp_virus_eval", "binary_macro_f1")),
    ("covid_three_class_f1", ("smp_virus_eval", "three_class_macro_f1")),
    ("weibo_senti_binary_f1", ("weibo_senti", "binary_macro_f1")),
)
FIGURE_WORDS: dict[str, str] = {
    "general_binary_f1": "general Weibo (SMP usual), binary macro-F1",
    "general_three_class_f1": "general Weibo (SMP usual), three-class macro-F1",
    "general_auc": "general Weibo (SMP usual), AUC of the score",
    "general_ece": "general Weibo (SMP usual), calibration error (ECE)",
    "covid_binary_f1": "COVID Weibo (SMP virus), binary macro-F1",
    "covid_three_class_f1": "COVID Weibo (SMP virus), three-class macro-F1",
    "weibo_senti_binary_f1": "weibo_senti_100k, binary macro-F1",
}


def headline(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The headline figures present in `metrics` (a missing one is left out, not guessed)."""
    out: dict[str, float] = {}
    for figure, path in HEADLINE:
        value: Any = metrics
        for key in path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[figure] = float(value)
    return out


def split_fingerprint(tests: Mapping[str, Sequence[tuple[str, Label]]]) -> dict[str, Any]:
    """Per source: the number of held-out rows and a hash of them (text and label, in the
    split's order, which the seed fixes)."""
    out: dict[str, Any] = {}
    for name in sorted(tests):
        h = hashlib.sha256()
        for text, label in tests[name]:
            h.update(f"{label}\t{text}\n".encode())
        out[name] = {"rows": len(tests[name]), "sha256": h.hexdigest()}
    return out


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def card_markdown(card: Mapping[str, Any], shipped: Mapping[str, float]) -> str:
    """MODEL_CARD.md of one version: what was measured, on which rows, from which files."""
    figures: Mapping[str, float] = card.get("figures", {})
    lines = [
        f"# Model card: `weibo` sentiment model, version {card['version']}",
        "",
        f"Registered {card.get('created_at', '?')} by `yuqing sentiment train`"
        + (f", from `{card['data']}`" if card.get("data") else "")
        + f", seed {card.get('seed', '?')}.",
        "Method, data sources and their licences are those of the shipped model's card "
        "(`monitor/sentiment/models/MODEL_CARD.md`); this card gives what is this "
        "version's own: the figures on held-out data, the rows they were measured on, and "
        "the files.",
        "",
        "## Held-out figures",
        "",
        "Measured by train on the test part of each source, which nothing was fitted on.",
        "",
        "| figure | this version | shipped |",
        "|---|---|---|",
    ]
    for figure, _path in HEADLINE:
        if figure in figures or figure in shipped:
            lines.append(f"| {FIGURE_WORDS[figure]} | {_fmt(figures.get(figure))} | "
                         f"{_fmt(shipped.get(figure))} |")
    held_out: Mapping[str, Any] = card.get("held_out", {})
    lines += ["", "## Held-out splits", ""]
    if held_out:
        lines += ["Two versions whose hashes agree were measured on the same rows.", "",
                  "| source | test rows | sha256 of the rows |", "|---|---|---|"]
        lines += [f"| {name} | {part['rows']} | `{part['sha256'][:16]}` |"
                  for name, part in held_out.items()]
    else:
        lines.append("Not recorded (the training data was not at hand when registering).")
    lines += ["", "## Files", "", "| file | sha256 |", "|---|---|"]
    lines += [f"| {name} | `{digest}` |" for name, digest in sorted(card["files"].items())]
    lines += ["", "A file whose hash no longer matches is refused: the version is not "
              "loaded, and a worker keeps the model it has.", ""]
    return "\n".join(lines)
