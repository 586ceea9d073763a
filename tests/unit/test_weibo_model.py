"""The `weibo` sentiment engine: featurizer, model file, scorer, trainer, shipped-model floors."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from monitor.errors import ConfigError, InputError
from monitor.sentiment import build_scorer
from monitor.sentiment.evaluate import evaluate, load_labelled
from monitor.sentiment.lexicon import load_weighted_lexicon
from monitor.sentiment.normalize import normalize
from monitor.sentiment.train import (
    Design,
    Options,
    auc,
    fit_platt,
    lbfgs,
    nb_scale,
    stratified_split,
    train_model,
)
from monitor.sentiment.weibo import (
    LABELS,
    LEXICON_FEATURES,
    MODEL_DIR,
    Calibration,
    Featurizer,
    Polarity,
    WeiboModel,
    WeiboScorer,
    decide,
    hashed_ngrams,
    lexicon_features,
    neutral_margin,
    strip_emoticons,
)
from tests.support.sentiment_data import write_fake_sentiment_data as _fake_data
from tests.support.settings import defaults

JUSTICE_SET = Path(__file__).parents[1] / "data" / "justice_sentiment.jsonl"

# --- featurizer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ！？", "abc!?"),  # full-width folded, lower-cased
        ("等了30天，花了1,200元", "等了0天,花了0元"),  # numbers are not opinions
        ("//@河南司法:转发微博", "//@:转发微博"),  # user names are not features
        ("详见 https://sft.henan.gov.cn/x?a=1 谢谢", "详见   谢谢"),
        ("哈哈哈哈哈哈哈！！！！！", "哈哈哈!!!"),  # intensity kept, length capped
    ],
)
def test_normalize_table(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("太好了[哈哈][鼓掌]", "太好了"),
        ("[泪]又没办成", "又没办成"),
        ("[good]", ""),
        ("见[转发理由：必须曝光啊]", "见[转发理由：必须曝光啊]"),  # prose, not an emoticon
    ],
)
def test_strip_emoticons_removes_only_emoticon_tokens(raw: str, expected: str) -> None:
    assert strip_emoticons(raw) == expected


def test_hashing_is_pinned_because_the_shipped_weights_depend_on_it() -> None:
    # If these change, every shipped weight lands in the wrong bucket: retrain, then update.
    assert hashed_ngrams("不", (1,), 20).tolist() == [151608, 362289, 504624]
    assert hashed_ngrams("了", (1,), 20).tolist() == [362289, 504624, 1039571]


def test_an_emoticon_is_one_token_not_its_characters() -> None:
    def grams(text: str) -> set[int]:
        return set(hashed_ngrams(text, (1,), 20).tolist())

    emoticon = grams("[赞]") - grams(" ")  # minus begin/end-of-text and the space left behind
    assert len(emoticon) == 1
    assert emoticon.isdisjoint(grams("赞"))
    assert emoticon <= grams("好[赞]")


@pytest.mark.parametrize(
    ("text", "pos", "neg", "pos_negated", "neg_negated"),
    [
        ("服务很满意，感谢", 2, 0, 0, 0),
        ("对结果不满意", 0, 1, 1, 0),  # 不满 (negative) and a negated 满意
        ("没有推诿，也不敷衍", 0, 0, 0, 2),
        ("基层司法所不作为", 0, 1, 0, 0),  # the 不 inside 不作为 does not flip it
        ("通知：本周六系统维护", 0, 0, 0, 0),
        ("非常感谢", 1, 0, 0, 0),  # 非 in 非常 ("very") negates nothing
        ("没想到这么满意", 1, 0, 0, 0),
    ],
)
def test_lexicon_hits_and_negation(
    text: str, pos: int, neg: int, pos_negated: int, neg_negated: int
) -> None:
    values = lexicon_features(normalize(text))
    counts = np.rint(np.expm1(values)).astype(int).tolist()
    assert counts[: 4] == [pos, neg, pos_negated, neg_negated]


def test_sparse_features_are_normalised_and_lexicon_follows_hashed_block() -> None:
    featurizer = Featurizer(bits=16, orders=(1, 2))
    indices, values = featurizer.sparse("感谢律师！")
    hashed = indices < featurizer.n_hashed
    assert np.sum(values[hashed] ** 2) == pytest.approx(1.0, rel=1e-5)
    lex = [LEXICON_FEATURES[i] for i in indices[~hashed] - featurizer.n_hashed]
    # the hand-written lexicon's block, then the weighted lexicon's (感谢 is a positive word)
    assert lex[:2] == ["lex_pos", "lex_exclaim"]
    assert "wlex_pos" in lex and all(name.startswith("wlex_") for name in lex[2:])
    without = Featurizer(bits=16, orders=(1, 2), weighted_scale=0.0).sparse("感谢律师！")
    assert [LEXICON_FEATURES[i] for i in without[0][without[0] >= 1 << 16] - (1 << 16)] == [
        "lex_pos", "lex_exclaim"
    ]


# --- model file and scorer --------------------------------------------------------------------


def _toy_model() -> WeiboModel:
    """A model that reads only the lexicon: positive terms → positive, negative → negative."""
    featurizer = Featurizer(bits=8, orders=(1,))
    weights = np.zeros((featurizer.n_features, 3), dtype=np.float32)
    base = featurizer.n_hashed
    weights[base + LEXICON_FEATURES.index("lex_pos")] = [-4.0, 0.0, 4.0]
    weights[base + LEXICON_FEATURES.index("lex_neg")] = [4.0, 0.0, -4.0]
    bias = np.array([0.0, 1.0, 0.0], dtype=np.float32)
    return WeiboModel(weights, bias, featurizer, Calibration(slope=0.5, intercept=0.0))


def _toy_model_with_polarity() -> WeiboModel:
    """The toy three-class model plus a polarity head that reads only the '!' count.

    The head disagrees with the three-class side on purpose, so tests can tell which decides.
    """
    base = _toy_model()
    polar = np.zeros(base.featurizer.n_features, dtype=np.float32)
    polar[base.featurizer.n_hashed + LEXICON_FEATURES.index("lex_exclaim")] = 6.0
    return WeiboModel(base.weights, base.bias, base.featurizer, base.calibration,
                      polarity=Polarity(polar, -1.0))


@pytest.mark.parametrize(
    ("logits", "score", "shift", "by_score", "expected"),
    [
        ([2.0, 0.0, 1.0], 0.9, 0.0, True, "positive"),  # polar: the score picks the side
        ([2.0, 0.0, 1.0], 0.9, 0.0, False, "negative"),  # no head: the argmax does
        ([0.0, 1.0, 0.5], 0.99, 0.0, True, "neutral"),  # neutral wins whatever the score
        ([1.0, 0.6, 0.0], 0.2, 0.5, True, "neutral"),  # the shift makes it neutral
        ([1.0, 0.6, 0.0], 0.2, 0.0, True, "negative"),
        ([0.0, -1.0, 0.0], 0.5, 0.0, True, "negative"),  # exactly 0.5 is not positive
    ],
)
def test_decide_table(
    logits: list[float], score: float, shift: float, by_score: bool, expected: str
) -> None:
    bias = np.array([0.0, shift, 0.0], dtype=np.float32)
    assert decide(np.array([logits]), np.array([score]), bias, by_score) == [expected]


def test_polarity_head_gives_score_and_side_and_round_trips(tmp_path: Path) -> None:
    model = _toy_model_with_polarity()
    texts = ["太失望了!!", "非常感谢", "今天发布通知"]
    labels, scores = model.predict(texts)
    # "太失望了!!" is negative to the three-class head but the polarity head (which reads
    # "!") calls it positive: the label follows the score, neutral stays neutral.
    assert scores[0] > 0.5 > scores[1]
    assert labels == ["positive", "negative", "neutral"]
    model.save(tmp_path)
    meta = json.loads((tmp_path / "weibo_sentiment.json").read_text(encoding="utf-8"))
    assert meta["format"] == 2
    loaded = WeiboModel.load(tmp_path)
    assert loaded.polarity is not None
    assert loaded.predict(texts)[0] == labels
    np.testing.assert_allclose(loaded.predict(texts)[1], scores, rtol=1e-3)


def test_load_refuses_a_polarity_model_without_its_head(tmp_path: Path) -> None:
    _toy_model_with_polarity().save(tmp_path)
    meta_path = tmp_path / "weibo_sentiment.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["polarity_bias"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ConfigError, match="polarity head"):
        WeiboModel.load(tmp_path)


def test_nb_scale_grows_with_how_well_a_feature_separates_the_classes() -> None:
    # rows 0–1 positive, 2–3 negative; column 0 in every row, 1 only in positive rows,
    # 2 in one row of each class, 3 only in negative rows.
    rows = [[0, 1], [0, 1, 2], [0, 2, 3], [0, 3]]
    indices = np.array([c for r in rows for c in r], dtype=np.int64)
    indptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.int64)
    row_of = np.repeat(np.arange(4), [len(r) for r in rows]).astype(np.int64)
    x = Design(indptr, indices, np.ones(indices.size), row_of, 4)
    y = np.array([1.0, 1.0, 0.0, 0.0])
    full = nb_scale(x, y, alpha=1.0, mix=1.0)
    assert full[0] == pytest.approx(0.0, abs=1e-12) == full[2]  # uninformative columns
    assert full[1] == pytest.approx(full[3]) == pytest.approx(np.log(3.0))
    half = nb_scale(x, y, alpha=1.0, mix=0.5)
    np.testing.assert_allclose(half, 0.5 * full + 0.5)


def test_model_round_trips_through_its_files(tmp_path: Path) -> None:
    model = _toy_model()
    npz, js = model.save(tmp_path)
    assert npz.exists() and js.exists()
    loaded = WeiboModel.load(tmp_path)
    texts = ["非常感谢", "太失望了", "今天发布通知"]
    labels, scores = model.predict(texts)
    assert loaded.predict(texts)[0] == labels == ["positive", "negative", "neutral"]
    np.testing.assert_allclose(loaded.predict(texts)[1], scores, rtol=1e-3)


def test_load_refuses_missing_or_incompatible_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read sentiment model"):
        WeiboModel.load(tmp_path)
    _toy_model().save(tmp_path)
    meta_path = tmp_path / "weibo_sentiment.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["lexicon_features"] = ["lex_pos"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ConfigError, match="incompatible"):
        WeiboModel.load(tmp_path)


def test_a_model_without_the_weighted_lexicon_neither_records_nor_checks_it(
    tmp_path: Path,
) -> None:
    # The documented way out if the lexicon cannot be shipped: weighted_scale 0, retrain.
    base = _toy_model()
    off = Featurizer(bits=base.featurizer.bits, orders=base.featurizer.orders,
                     weighted_scale=0.0)
    indices, _ = off.sparse("谢谢，太满意了")
    assert all(LEXICON_FEATURES[i - off.n_hashed].startswith("lex_")
               for i in indices[indices >= off.n_hashed])
    WeiboModel(base.weights, base.bias, off, base.calibration).save(tmp_path)
    meta = json.loads((tmp_path / "weibo_sentiment.json").read_text(encoding="utf-8"))
    assert meta["weighted_lexicon_sha256"] is None and meta["weighted_scale"] == 0.0
    assert WeiboModel.load(tmp_path).predict(["谢谢，太满意了"])[0] == ["positive"]


def test_load_refuses_a_model_trained_with_another_weighted_lexicon(tmp_path: Path) -> None:
    _toy_model().save(tmp_path)
    meta_path = tmp_path / "weibo_sentiment.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["weighted_lexicon_sha256"] == load_weighted_lexicon().sha256
    meta["weighted_lexicon_sha256"] = "0" * 64
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ConfigError, match="another weighted lexicon"):
        WeiboModel.load(tmp_path)


def test_scorer_keeps_order_and_leaves_unjudgeable_texts_unscored() -> None:
    scorer = WeiboScorer(_toy_model(), max_chars=defaults().sentiment.max_chars)
    results = scorer.score_many(["非常感谢", None, "hello world", "  ", "太失望了"])
    assert results[1] is None and results[2] is None and results[3] is None
    first, last = results[0], results[4]
    assert first is not None and first.label == "positive" and first.score > 0.5
    assert last is not None and last.label == "negative" and last.score < 0.5
    assert scorer.score("非常感谢") == first


def test_calibrated_score_is_monotone_in_the_margin() -> None:
    cal = Calibration(slope=1.3, intercept=-0.2)
    p = cal.apply(np.array([-50.0, -1.0, 0.0, 1.0, 50.0]))
    assert np.all(np.diff(p) > 0) and p[0] >= 0.0 and p[-1] <= 1.0


# --- training pieces --------------------------------------------------------------------------


def test_lbfgs_finds_the_minimum_of_a_quadratic() -> None:
    a = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])

    def fg(x: np.ndarray) -> tuple[float, np.ndarray]:
        return float(0.5 * x @ a @ x - b @ x), a @ x - b

    x = lbfgs(fg, np.zeros(2), max_iter=100, tol=1e-14)
    np.testing.assert_allclose(x, np.linalg.solve(a, b), atol=1e-5)


@pytest.mark.parametrize(
    ("score", "outcome", "expected"),
    [
        ([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], 0.75),
        ([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], 0.5),  # ties count half
        ([1.0, 2.0, 3.0], [0, 0, 1], 1.0),
        ([3.0, 2.0, 1.0], [0, 0, 1], 0.0),
        ([0.2, 0.2, 0.9], [0, 1, 1], 0.75),
    ],
)
def test_auc_table(score: list[float], outcome: list[int], expected: float) -> None:
    assert auc(np.array(score), np.array(outcome, dtype=float)) == pytest.approx(expected)


def test_platt_recovers_a_known_slope_and_intercept() -> None:
    rng = np.random.default_rng(0)
    margin = rng.normal(0.0, 3.0, 20000)
    outcome = (rng.random(20000) < 1 / (1 + np.exp(-(0.5 * margin - 1.0)))).astype(float)
    cal = fit_platt(margin, outcome)
    assert cal.slope == pytest.approx(0.5, abs=0.05)
    assert cal.intercept == pytest.approx(-1.0, abs=0.1)


def test_stratified_split_is_seeded_disjoint_and_keeps_label_shares() -> None:
    rows = [(f"正{i}", "positive") for i in range(40)] + [(f"负{i}", "negative") for i in range(20)]
    train, calib, test = stratified_split(rows, (0.5, 0.25), seed=3)  # type: ignore[arg-type]
    assert sorted(train + calib + test) == sorted(rows)
    assert [sum(1 for _, lab in part if lab == "negative") for part in (train, calib, test)] == [
        10, 5, 5,
    ]
    assert stratified_split(rows, (0.5, 0.25), seed=3) == (train, calib, test)  # type: ignore[arg-type]
    assert stratified_split(rows, (0.5, 0.25), seed=4) != (train, calib, test)  # type: ignore[arg-type]


def test_training_is_deterministic_and_learns_the_toy_data(tmp_path: Path) -> None:
    _fake_data(tmp_path / "data")
    first = train_model(tmp_path / "data", tmp_path / "a", seed=0)
    second = train_model(tmp_path / "data", tmp_path / "b", seed=0)
    a, b = np.load(tmp_path / "a" / "weibo_sentiment.npz"), np.load(
        tmp_path / "b" / "weibo_sentiment.npz"
    )
    for key in ("rows", "weights", "bias"):
        np.testing.assert_array_equal(a[key], b[key])
    first.pop("train_seconds")
    second.pop("train_seconds")
    assert first == second
    # surprise rows are dropped; every other SMP row and the senti rows reach training
    assert "surprise" not in json.dumps(first["train_label_counts"])
    model = WeiboModel.load(tmp_path / "a")
    assert model.polarity is not None  # the default options train the binary head
    assert model.neutral is not None  # and calibrate P(neutral) on the SMP calib rows
    report = first["three_class_smp_usual_eval_test"]
    assert set(report["ece"]) == set(LABELS) and 0 <= report["brier"] <= 2
    labels, scores = model.predict(["律师很负责谢谢", "推诿扯皮不作为", "召开会议部署工作"])
    assert labels == ["positive", "negative", "neutral"]
    assert scores[0] > 0.5 > scores[1]


def test_score_is_calibrated_on_the_named_sources_only(tmp_path: Path) -> None:
    _fake_data(tmp_path / "data")
    both: list[str] = []
    train_model(tmp_path / "data", tmp_path / "both", seed=0, progress=both.append)
    meta = json.loads((tmp_path / "both" / "weibo_sentiment.json").read_text(encoding="utf-8"))
    assert meta["options"]["calibrate_on"] == ["smp_usual_eval", "smp_virus_eval"]
    one: list[str] = []
    train_model(tmp_path / "data", tmp_path / "one", seed=0, progress=one.append,
                options=Options(calibrate_on=("smp_usual_eval",)))
    # the toy usual and virus files hold 40 polar rows each, 15% of them calib: 3 + 3 a side
    assert "calibrating on 12 rows of smp_usual_eval, smp_virus_eval" in both
    assert "calibrating on 6 rows of smp_usual_eval" in one
    with pytest.raises(InputError, match="no calib rows"):
        train_model(tmp_path / "data", tmp_path / "none", seed=0,
                    options=Options(calibrate_on=("no_such_source",)))
    assert not (tmp_path / "none").exists()  # nothing written when training cannot finish


# --- the shipped model ------------------------------------------------------------------------

shipped = pytest.mark.skipif(
    not (MODEL_DIR / "weibo_sentiment.npz").exists(), reason="no shipped model file"
)


@pytest.fixture(scope="module")
def shipped_scorer() -> WeiboScorer:
    scorer = build_scorer(replace(defaults().sentiment, engine="weibo", max_chars=2000))
    assert isinstance(scorer, WeiboScorer)
    return scorer


@shipped
def test_shipped_model_is_small_and_labels_in_order() -> None:
    # "a few MB at most": the weights, their metadata and the weighted lexicon together
    size = sum(p.stat().st_size for p in MODEL_DIR.glob("weibo_sentiment.*"))
    size += (MODEL_DIR / "weighted_lexicon.tsv.gz").stat().st_size
    assert size < 6 * 1024 * 1024
    meta = json.loads((MODEL_DIR / "weibo_sentiment.json").read_text(encoding="utf-8"))
    assert meta["labels"] == list(LABELS)


@shipped
@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("感谢法律援助中心的律师，帮我讨回了工资，太暖心了！", "positive"),
        ("打了一上午电话都没人接，推诿扯皮，太让人失望了。", "negative"),
        ("省司法厅召开全省公证工作会议，部署下半年重点任务。", "neutral"),
    ],
)
def test_shipped_model_on_plain_cases(shipped_scorer: WeiboScorer, text: str, label: str) -> None:
    result = shipped_scorer.score(text)
    assert result is not None and result.label == label
    assert 0.0 <= result.score <= 1.0


@shipped
def test_shipped_labels_agree_with_the_score_on_the_justice_set(
    shipped_scorer: WeiboScorer,
) -> None:
    # The polarity head decides the side of every non-neutral text, so a positive label
    # never comes with a score under 0.5 (with the old margin-only model it could).
    assert WeiboModel.load().polarity is not None
    results = shipped_scorer.score_many([text for text, _ in load_labelled(JUSTICE_SET)])
    labels = {r.label for r in results if r is not None}
    assert labels == {"negative", "neutral", "positive"}
    for r in results:
        assert r is not None
        if r.label == "positive":
            assert r.score > 0.5
        elif r.label == "negative":
            assert r.score <= 0.5


@shipped
def test_shipped_model_stays_above_its_floor_on_the_justice_set(
    shipped_scorer: WeiboScorer,
) -> None:
    # Floors set just below what the shipped model scored (three-class 0.7434, binary 0.8283;
    # see MODEL_CARD.md; the set played no part in choosing the model): a retrained model
    # that falls under them is worse on the press office's own kind of text.
    result = evaluate(shipped_scorer, load_labelled(JUSTICE_SET))
    assert result["unscored"] == 0
    assert result["three_class_macro_f1"] >= THREE_CLASS_FLOOR
    assert result["binary_macro_f1"] >= BINARY_FLOOR


THREE_CLASS_FLOOR = 0.73
BINARY_FLOOR = 0.81


def test_three_class_probabilities_sum_to_one_and_follow_their_calibration(
        tmp_path: Path) -> None:
    """P(neutral) comes from its own calibration of the neutral margin, the polar rest is
    split by the score; the three sum to 1 and survive a save and load."""
    model = _toy_model()
    texts = ["非常感谢", "太失望了", "今天发布通知"]
    labels, scores, probs = model.classes(texts)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(probs[:, 2] / (probs[:, 0] + probs[:, 2]), scores)
    assert labels == ["positive", "negative", "neutral"]
    assert probs[2, 1] == probs[:, 1].max()  # the notice is the most neutral
    sharp = WeiboModel(model.weights, model.bias, model.featurizer, model.calibration,
                       neutral=Calibration(slope=3.0, intercept=-2.0))
    _, _, sharp_probs = sharp.classes(texts)
    margin = neutral_margin(model.logits(texts), model.decision_bias)
    np.testing.assert_allclose(sharp_probs[:, 1], 1 / (1 + np.exp(-(3.0 * margin - 2.0))))
    sharp.save(tmp_path)
    loaded = WeiboModel.load(tmp_path)
    assert loaded.neutral == Calibration(slope=3.0, intercept=-2.0)
    np.testing.assert_allclose(loaded.classes(texts)[2], sharp_probs, rtol=1e-3)


def test_the_scorer_reports_the_three_probabilities_and_their_balance() -> None:
    scorer = WeiboScorer(_toy_model(), max_chars=500)
    thanks, notice = scorer.score_many(["非常感谢", "今天发布通知"])
    assert thanks is not None and notice is not None
    for s in (thanks, notice):
        assert s.p_negative is not None and s.p_neutral is not None and s.p_positive is not None
        assert abs(s.p_negative + s.p_neutral + s.p_positive - 1.0) < 1e-9
    assert thanks.balance is not None and notice.balance is not None
    assert thanks.balance > 0.3 and abs(notice.balance) < abs(thanks.balance)
