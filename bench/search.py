"""Search at size: build N items from the repo's Chinese posts (each a mix of two of them, so
texts differ), then time the desk's search (responders.search) for long and short terms.
Prints JSON: build seconds, p50/p95 per query kind in ms, and the database.

    python bench/search.py --items 300000 [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.db import make_engine, make_sessionmaker  # noqa: E402
from responders.schema import migrate  # noqa: E402
from responders.search import search  # noqa: E402

QUERIES = {
    "long (≥3 characters)": ["社区矫正", "法律援助", "调解员", "公证处", "戒毒所", "律师事务所"],
    "two long words": ["司法局 普法", "调解员 纠纷", "监狱 会见"],
    "rare (few hits)": ["最多跑一次", "一百个赞", "安排了轮椅"],
    "short only, common (1–2 characters)": ["律师", "公证", "赞"],
    "short only, rare (scans the newest SHORT_SCAN)": ["轮椅"],
}


def build(url: str, n: int, seed: int = 7) -> float:
    posts = [json.loads(line)["text"] for line in
             (ROOT / "tests/data/justice_sentiment.jsonl").read_text().splitlines() if line]
    rnd = random.Random(seed)
    engine = make_engine(url)
    migrate(engine)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sources (name, url, kind, host, interval_s, allow_private, "
            "failure_count, items_seen, created_at, config) VALUES ('bench', "
            "'https://bench.example/rss', 'news', 'bench.example', 600, false, 0, 0, :now, "
            "'{}')"), {"now": now})
        sid = conn.execute(text("SELECT id FROM sources")).scalar()
    batch = []
    for i in range(n):
        a, b = rnd.choice(posts), rnd.choice(posts)
        batch.append({"sid": sid, "e": f"b{i}", "h": f"{i:064x}", "t": a[:18], "x": a + b,
                      "now": now})
        if len(batch) == 5000 or i == n - 1:
            with engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO items (source_id, entry_id, content_hash, title, text, "
                    "fetched_at, topics, keywords, analysis_runs, extra) VALUES (:sid, :e, :h, "
                    ":t, :x, :now, '[]', '[]', 0, '{}')"), batch)
            batch = []
    built = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE items"))
    engine.dispose()
    return built


def measure(url: str, rounds: int) -> dict[str, dict[str, float]]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    out = {}
    for kind, queries in QUERIES.items():
        times = []
        for _ in range(rounds):
            for q in queries:
                with sessions() as s:
                    t0 = time.perf_counter()
                    search(s, q)
                    times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        out[kind] = {"p50_ms": round(statistics.median(times), 1),
                     "p95_ms": round(times[int(len(times) * 0.95) - 1], 1), "runs": len(times)}
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--keep", action="store_true", help="build only, into --database-url")
    args = ap.parse_args()
    if args.keep:
        print(json.dumps({"build_seconds": round(build(args.database_url, args.items), 1)}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/search.db"
        built = build(url, args.items)
        result = {"database": url.split(":")[0], "items": args.items,
                  "build_seconds": round(built, 1), "queries": measure(url, args.rounds)}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
