"""Topic-matching throughput with a large synthetic taxonomy. Prints one JSON line:
{"keywords": n, "texts": n, "texts_per_s": x}.

The shipped taxonomy is padded with synthetic topics up to KEYWORDS terms, and the texts are
the bundled demo feeds' titles and descriptions (real lengths, real hit rates), repeated.
Usage: python bench/topics.py [KEYWORDS] [TEXTS]
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import feedparser

from monitor.topics import GENRES, Rule, Taxonomy, Topic

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"


def demo_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted((CONFIG / "demo").glob("*.xml")):
        for entry in feedparser.parse(path.read_bytes()).entries:
            texts.append(
                re.sub(r"<[^>]+>", " ", f"{entry.get('title', '')} {entry.get('summary', '')}")
            )
    return texts or ["河南省司法厅召开全省律师工作会议，部署律师行业乱收费专项整治。"]


def main() -> None:
    n_keywords = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    n_texts = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    shipped = Taxonomy.from_files(CONFIG / "topics.yaml", CONFIG / "sensitive.yaml")
    have = sum(len(t.keywords) for t in shipped.topics)
    extra = [
        Topic(
            id=f"synthetic_{i}",
            name=f"合成主题{i}",
            keywords=tuple(f"合成词{i}之{j}" for j in range(10)),
            rules=(Rule(all=(f"甲{i}",), any=("乙", "丙")),),
        )
        for i in range(-(-max(0, n_keywords - have) // 10))  # ceil: at least n_keywords
    ]
    taxonomy = Taxonomy(
        shipped.topics + tuple(extra),
        shipped.watch,
        [h.term for h in shipped.sensitive_terms if h.level == "severe"],
        [h.term for h in shipped.sensitive_terms if h.level == "elevated"],
        markers={g: [h.term for h in shipped.markers if h.genre == g] for g in GENRES},
        idioms=shipped.idioms,
    )
    corpus = demo_texts()
    texts = [corpus[i % len(corpus)] for i in range(n_texts)]
    start = time.perf_counter()
    for text in texts:
        taxonomy.match(text)
    elapsed = time.perf_counter() - start
    keywords = sum(len(t.keywords) for t in taxonomy.topics)
    print(
        json.dumps(
            {"keywords": keywords, "texts": n_texts, "texts_per_s": round(n_texts / elapsed, 1)}
        )
    )


if __name__ == "__main__":
    main()
