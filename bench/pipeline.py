"""Items per second from fetched bytes to stored alerts, through real Celery worker processes.

    python bench/pipeline.py --json [--database-url URL] [--broker-url URL] [--items N]
                             [--preload N] [--workers K]

A loopback HTTP server serves the items as RSS feeds (the bundled demo feeds' stories,
repeated with distinct ids up to --items); a temporary set of sources points at it; K worker
processes (`yuqing worker -c 1`, as `yuqing run` starts them) poll, store, analyse and open
alerts — the real poll → store → analyse → alert chain on the real broker and database. The
clock runs from the first poll sent to the last item analysed (its alerts are committed with
its analysis).

Each run uses a database of its own: a fresh SQLite file, or a fresh PostgreSQL database
created on the server of --database-url and dropped afterwards. With --preload N a second
run does the same on a database that already holds N analysed items, their events, the
candidate index and the burst counters (written with COPY on PostgreSQL, executemany on
SQLite), spread over the past year.

In the same invocation a naive loop (feedparser + stock SnowNLP + one INSERT per row) runs on
the same feed bytes (the first --naive-items of them), and the same items go through the
domain functions in one process, stage by stage, for `stage_share`. Prints JSON:
items, items_per_s, preload, preload_items_per_s, naive_items_per_s, ratio_vs_naive,
stage_share (and a few more figures).

    python bench/pipeline.py --in-process --json [--items N]

is the old in-process measurement alone (SQLite, no broker), handy with a profiler.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from monitor.db import make_engine, make_sessionmaker  # noqa: E402
from monitor.feeds import parse_feed  # noqa: E402
from monitor.models import Item  # noqa: E402
from monitor.settings import load_settings  # noqa: E402
from monitor.sources import SourceSpec, upsert_source  # noqa: E402
from responders.models import Alert  # noqa: E402
from responders.schema import migrate  # noqa: E402
from tasks.supervise import Child, yuqing_argv  # noqa: E402

PER_FEED = 100  # items per served feed (one source each)
WARMUP = 20     # items polled and analysed before the clock starts (models loaded, caches)


# --- the items and the feeds that serve them -------------------------------------------------

@dataclass(frozen=True)
class Post:
    guid: str
    title: str
    text: str
    link: str


def demo_posts() -> list[tuple[str, str]]:
    """(title, text) of every entry of the bundled demo feeds."""
    config = Path(load_settings().config_dir)
    out: list[tuple[str, str]] = []
    for path in sorted((config / "demo").glob("*.xml")):
        for entry in parse_feed(path.read_bytes()).entries:
            if entry.text or entry.title:
                out.append((entry.title, entry.text))
    return out


def make_posts(n: int, tag: str, base: Sequence[tuple[str, str]]) -> list[Post]:
    """n posts: the demo stories in turn, each round marked so every post is new (a later
    round's copy is a near-duplicate of the earlier one and joins its event)."""
    posts: list[Post] = []
    for i in range(n):
        title, body = base[i % len(base)]
        round_no = i // len(base)
        posts.append(Post(guid=f"{tag}-{i}", title=title, text=f"{body}（{tag}{round_no}）",
                          link=f"https://bench.example/{tag}/{i}"))
    return posts


def rss(posts: Sequence[Post], now: datetime) -> bytes:
    items = "".join(
        f"<item><title>{escape(p.title)}</title><link>{escape(p.link)}</link>"
        f"<guid isPermaLink=\"false\">{escape(p.guid)}</guid>"
        f"<pubDate>{format_datetime(now)}</pubDate>"
        f"<description>{escape(p.text)}</description></item>" for p in posts)
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
            f"<title>bench</title><link>https://bench.example/</link>{items}</channel></rss>"
            ).encode()


class FeedServer:
    """Serves path → bytes on a loopback port, in a thread."""

    def __init__(self) -> None:
        self.feeds: dict[str, bytes] = {}
        feeds = self.feeds

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = feeds.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *_: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- databases -------------------------------------------------------------------------------

@contextmanager
def fresh_database(url: str | None, name: str, tmp: Path) -> Iterator[str]:
    """A new empty database for one run: a SQLite file under tmp, or a PostgreSQL database
    created on the server of `url` (and dropped afterwards)."""
    if not url or url.startswith("sqlite"):
        yield f"sqlite:///{tmp}/{name}.db"
        return
    dbname = f"yuqing_bench_{os.getpid()}_{name}"
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}"'))
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    try:
        yield make_url(url).set(database=dbname).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()


def preload(engine: Engine, n: int, now: datetime, vocabulary: Sequence[str]) -> float:
    """n analysed items spread over the past year, 4 to an event, each event filed in the
    candidate index under 12 terms (two from the bench stories' own words, so lookups find
    stored events too) and counted in the burst counters. Returns seconds taken."""
    t0 = time.perf_counter()
    rng = random.Random(12)
    n_events = (n + 3) // 4
    year = 365 * 24 * 3600
    with make_sessionmaker(engine)() as s:
        src, _ = upsert_source(s, SourceSpec(name="bench-preload", url="https://preload.example/",
                                             interval_s=3600, allow_private=True), now)
        s.commit()
        source_id = src.id
    seen = [now - timedelta(seconds=rng.randrange(3600, year)) for _ in range(n_events)]
    topics = ["notary", "lawyers", "legal_aid", "prison", "drug_rehab", "community_correction"]
    events: list[tuple[Any, ...]] = []
    terms: list[tuple[Any, ...]] = []
    # n // 4 events of 4 items each (the last may have fewer).
    counts: dict[tuple[str, str, datetime], int] = {}
    for e in range(n_events):
        eid = e + 1
        words = [f"存量{rng.randrange(200_000)}" for _ in range(10)] + rng.sample(
            list(vocabulary), 2)
        words = list(dict.fromkeys(words))
        w = round(1 / len(words) ** 0.5, 4)
        topic = topics[e % len(topics)]
        events.append((eid, 4, "[]", 0, 0, 4, 0.0, json.dumps([topic]), "[]", seen[e],
                       seen[e], False, "event", json.dumps({t: w for t in words},
                                                          ensure_ascii=False)))
        terms.extend((t, eid, seen[e]) for t in words)
        hour = seen[e].replace(minute=0, second=0, microsecond=0)
        counts[("event", str(eid), hour)] = 4
        counts[("topic", topic, hour)] = counts.get(("topic", topic, hour), 0) + 4
    items = ((i + 1, source_id, f"p{i}", f"{i:064x}", "", f"存量条目 {i}", seen[i // 4],
              seen[i // 4], seen[i // 4], 1, 0.5, "neutral", "bench", "[]", "[]",
              i // 4 + 1, "{}") for i in range(n))
    event_cols = ("id, item_count, source_ids, reach, negative_count, scored_count, "
                  "negative_share, topics, signature, first_seen_at, last_seen_at, burst, kind, "
                  "story_terms")
    item_cols = ("id, source_id, entry_id, content_hash, title, text, fetched_at, published_at, "
                 "analyzed_at, analysis_runs, sentiment_score, sentiment_label, "
                 "sentiment_engine, topics, keywords, event_id, extra")
    count_rows = [(s_, k, h, c) for (s_, k, h), c in counts.items()]
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for table, cols, rows in (("events", event_cols, events),
                                      ("items", item_cols, items),
                                      ("event_terms", "term, event_id, last_seen_at", terms),
                                      ("burst_counts", "scope, key, hour, count", count_rows)):
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
            for table in ("events", "items"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))")
            cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
    else:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()

            def iso(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
                # SQLAlchemy's SQLite DateTime storage: naive UTC text.
                for row in rows:
                    yield tuple(v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                                if isinstance(v, datetime) else v for v in row)

            for table, cols, rows in (("events", event_cols, events),
                                      ("items", item_cols, items),
                                      ("event_terms", "term, event_id, last_seen_at", terms),
                                      ("burst_counts", "scope, key, hour, count", count_rows)):
                marks = ", ".join("?" for _ in cols.split(","))
                cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", iso(rows))
            cur.execute("ANALYZE")
            raw.commit()
        finally:
            raw.close()
    return time.perf_counter() - t0


# --- one run through real workers ------------------------------------------------------------

def _purge(broker: str) -> None:
    from kombu import Connection

    from tasks.celery_app import QUEUES

    with Connection(broker) as conn:
        channel = conn.channel()
        for name in QUEUES:
            try:
                channel.queue_purge(name)
            except Exception:  # noqa: BLE001 - a queue not declared yet has nothing to purge
                channel = conn.channel()


def _waiting(engine: Engine) -> int:
    """Items stored and not analysed yet (any source): the cheap half of _counts."""
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Item).where(
            Item.analyzed_at.is_(None))) or 0)


def _counts(engine: Engine, source_ids: Sequence[int]) -> tuple[int, int, int]:
    """(stored, waiting for analysis, alerts) of the bench's sources — index look-ups, not
    scans, so watching does not slow a preloaded database."""
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Item).where(
            Item.source_id.in_(source_ids))) or 0
        waiting = conn.scalar(select(func.count()).select_from(Item).where(
            Item.analyzed_at.is_(None))) or 0
        alerts = conn.scalar(select(func.count()).select_from(Alert).join(
            Item, Alert.item_id == Item.id).where(Item.source_id.in_(source_ids))) or 0
    return int(stored), int(waiting), int(alerts)


def run_workers(db_url: str, broker: str, posts: Sequence[Post], warmup: Sequence[Post], *,
                workers: int, home: Path, preload_n: int, vocabulary: Sequence[str],
                timeout: float) -> dict[str, Any]:
    from tasks.celery_app import create_app

    now = datetime.now(UTC)
    engine = make_engine(db_url)
    migrate(engine)
    preload_s = preload(engine, preload_n, now, vocabulary) if preload_n else 0.0
    with FeedServer() as server:
        server.feeds["/warmup.xml"] = rss(warmup, now)
        paths = []
        for k in range(0, len(posts), PER_FEED):
            path = f"/feed/{k // PER_FEED}.xml"
            server.feeds[path] = rss(posts[k : k + PER_FEED], now)
            paths.append(path)
        with make_sessionmaker(engine)() as s:
            def add(name: str, path: str) -> int:
                src, _ = upsert_source(s, SourceSpec(name=name, url=server.base + path,
                                                     interval_s=3600, allow_private=True), now)
                return int(src.id)

            warm_id = add("bench-warmup", "/warmup.xml")
            ids = [add(f"bench-{n}", p) for n, p in enumerate(paths)]
            s.commit()
        env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
        env.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": db_url,
                    "YUQING_BROKER_URL": broker, "PYTHONUNBUFFERED": "1"})
        for key in ("YUQING_ANALYZE_BATCH_SIZE", "YUQING_SENTIMENT_ENGINE"):
            if os.environ.get(key):
                env[key] = os.environ[key]
        _purge(broker)
        settings = load_settings(env=env)
        app = create_app(settings)
        children = [Child(f"worker{k}", yuqing_argv("worker", "--loglevel", "WARNING",
                                                    "--concurrency", "1"), env,
                          log_to=home / "logs" / f"bench-worker{k}.log")
                    for k in range(workers)]
        try:
            def wait(sources: Sequence[int], n: int) -> tuple[int, int, int]:
                deadline = time.monotonic() + timeout
                while True:
                    # The items still waiting first (a look-up in the index of unanalysed
                    # items): the stored and alert counts read thousands of index entries,
                    # on the cores the workers are measured on, so only once nothing waits.
                    if _waiting(engine) == 0:
                        stored, waiting, alerts = _counts(engine, sources)
                        if stored >= n and waiting == 0:
                            return stored, waiting, alerts
                    else:
                        stored = waiting = -1
                    for child in children:
                        if not child.alive():
                            raise SystemExit(f"{child.name} exited; see {home / 'logs'}")
                    if time.monotonic() > deadline:
                        stored, waiting, _ = _counts(engine, sources)
                        raise SystemExit(f"timed out: {stored}/{n} stored, {waiting} waiting")
                    time.sleep(0.1)

            app.send_task("monitor.poll_source", args=[warm_id], queue="poll")
            wait([warm_id], len(warmup))
            t0 = time.perf_counter()
            for source_id in ids:
                app.send_task("monitor.poll_source", args=[source_id], queue="poll")
            stored, _, alerts = wait(ids, len(posts))
            seconds = time.perf_counter() - t0
        finally:
            for child in children:
                child.stop()
    engine.dispose()
    return {"items": stored, "alerts": alerts, "seconds": round(seconds, 3),
            "items_per_s": round(stored / seconds, 1), "preload_seconds": round(preload_s, 1)}


# --- the naive loop and the in-process stages ------------------------------------------------

def run_naive(db_url: str, bodies: Sequence[bytes]) -> dict[str, Any]:
    """feedparser + stock SnowNLP + one INSERT per row, on the same feed bytes."""
    import feedparser
    from snownlp import SnowNLP

    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS naive_items (guid VARCHAR(200), "
                          "title TEXT, body TEXT, score FLOAT)"))
    n = 0
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for body in bodies:
            for entry in feedparser.parse(body).entries:
                words = entry.get("summary", "") or entry.get("title", "")
                score = SnowNLP(words).sentiments if words else None
                conn.execute(text("INSERT INTO naive_items VALUES (:g, :t, :b, :s)"),
                             {"g": entry.get("id"), "t": entry.get("title"), "b": words,
                              "s": score})
                n += 1
    seconds = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE naive_items"))
    engine.dispose()
    return {"items": n, "seconds": round(seconds, 3), "items_per_s": round(n / seconds, 1)}


def run_in_process(bodies: Sequence[bytes], db_url: str) -> dict[str, Any]:
    """The same domain functions as the worker, in this process, stage by stage."""
    from monitor.analyze import analyze_items
    from monitor.event_store import EventSettings
    from monitor.flagging import FlagPolicy
    from monitor.ingest import store_entries
    from monitor.office import OwnVoice
    from monitor.sentiment import build_scorer
    from monitor.topics import Taxonomy
    from responders.alerts import open_alerts
    from responders.sla import SLA

    settings = load_settings()
    config = Path(settings.config_dir)
    scorer = build_scorer(settings.sentiment)
    taxonomy = Taxonomy.from_files(config / "topics.yaml", config / "sensitive.yaml")
    sla = SLA.from_file(config / "sla.yaml")
    policy = FlagPolicy.from_section(settings.flagging)
    events = EventSettings.from_section(settings.events)
    own = OwnVoice.from_section(settings.office_voice)
    batch = settings.analyze.batch_size
    engine = make_engine(db_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    t = {"parse": 0.0, "store": 0.0, "analyze": 0.0, "alerts": 0.0, "commit": 0.0}
    stored = alerts = 0
    with sessions() as session:
        source, _ = upsert_source(session, SourceSpec(name="bench", url="https://bench.example/",
                                                      interval_s=3600), now)
        session.commit()
        for body in bodies:
            t0 = time.perf_counter()
            entries = parse_feed(body).entries
            t1 = time.perf_counter()
            ids = store_entries(session, source.id, entries, now)
            session.commit()
            t2 = time.perf_counter()
            t["parse"] += t1 - t0
            t["store"] += t2 - t1
            for k in range(0, len(ids), batch):
                t2 = time.perf_counter()
                analyses = analyze_items(session, ids[k : k + batch], scorer=scorer,
                                         taxonomy=taxonomy, policy=policy, now=now,
                                         events=events, own=own)
                t3 = time.perf_counter()
                alerts += len(open_alerts(session, analyses, sla, now))
                t4 = time.perf_counter()
                session.commit()
                t5 = time.perf_counter()
                t["analyze"] += t3 - t2
                t["alerts"] += t4 - t3
                t["commit"] += t5 - t4
            stored += len(ids)
    engine.dispose()
    total = sum(t.values())
    return {"items": stored, "alerts": alerts, "engine": scorer.name,
            "seconds": round(total, 3), "items_per_s": round(stored / total, 1),
            "stage_share": {k: round(v / total, 3) for k, v in t.items()}}


def story_words(posts: Sequence[tuple[str, str]]) -> list[str]:
    """Terms the bench stories are filed under (the preloaded events share some)."""
    from monitor.event_store import EventSettings
    from monitor.stories import index_terms, load_background, story_vector

    cfg = EventSettings.from_section(load_settings().events).stories
    background = load_background()
    words: set[str] = set()
    for title, body in posts:
        words.update(index_terms(story_vector(f"{title}\n{body}", background, frozenset(), cfg)))
    return sorted(words)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--database-url", help="PostgreSQL server to create bench databases on "
                    "(default: SQLite files in a temporary folder)")
    ap.add_argument("--broker-url", help="Celery broker (default: an embedded Redis)")
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--preload", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--naive-items", type=int, default=1000,
                    help="items the naive loop runs on (it is slow; its rate is what counts)")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--in-process", action="store_true",
                    help="only the in-process stages (SQLite, no broker, no workers)")
    args = ap.parse_args()
    if args.items < 1 or args.workers < 1 or args.preload < 0:
        ap.error("--items and --workers must be at least 1, --preload at least 0")

    base = demo_posts()
    posts = make_posts(args.items, "b", base)
    now = datetime.now(UTC)
    bodies = [rss(posts[k : k + PER_FEED], now) for k in range(0, len(posts), PER_FEED)]
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if args.in_process:
            result = run_in_process(bodies, f"sqlite:///{tmp}/inprocess.db")
            _print(result, args.json)
            return 0
        owned = None
        broker = args.broker_url
        if not broker:
            from tasks.embedded import EmbeddedBroker

            owned = EmbeddedBroker(tmp / "home")
            owned.start()
            broker = owned.url
        try:
            warmup = make_posts(WARMUP, "w", base[::-1])
            vocabulary = story_words(base)
            with fresh_database(args.database_url, "empty", tmp) as url:
                empty = run_workers(url, broker, posts, warmup, workers=args.workers,
                                    home=tmp / "home", preload_n=0, vocabulary=vocabulary,
                                    timeout=args.timeout)
            loaded: dict[str, Any] | None = None
            if args.preload:
                with fresh_database(args.database_url, "preload", tmp) as url:
                    loaded = run_workers(url, broker, posts, warmup, workers=args.workers,
                                         home=tmp / "home", preload_n=args.preload,
                                         vocabulary=vocabulary, timeout=args.timeout)
            naive_bodies: list[bytes] = []
            count = 0
            for k in range(0, len(posts), PER_FEED):
                if count >= args.naive_items:
                    break
                chunk = posts[k : min(k + PER_FEED, k + args.naive_items - count)]
                naive_bodies.append(rss(chunk, now))
                count += len(chunk)
            with fresh_database(args.database_url, "naive", tmp) as url:
                naive = run_naive(url, naive_bodies)
            stages = run_in_process(bodies, f"sqlite:///{tmp}/inprocess.db")
        finally:
            if owned is not None:
                owned.stop()
    result = {
        "items": empty["items"],
        "items_per_s": empty["items_per_s"],
        "preload": args.preload,
        "preload_items_per_s": loaded["items_per_s"] if loaded else None,
        "naive_items_per_s": naive["items_per_s"],
        "ratio_vs_naive": round(empty["items_per_s"] / naive["items_per_s"], 2),
        "stage_share": stages["stage_share"],
        "workers": args.workers,
        "database": "postgresql" if args.database_url and not
        args.database_url.startswith("sqlite") else "sqlite",
        "broker": "embedded redis" if owned is not None else (broker.split("://")[0]),
        "seconds": empty["seconds"],
        "alerts": empty["alerts"],
        "preload_ratio": (round(loaded["items_per_s"] / empty["items_per_s"], 3)
                          if loaded else None),
        "preload_seconds": loaded["preload_seconds"] if loaded else None,
        "preload_alerts": loaded["alerts"] if loaded else None,
        "naive_items": naive["items"],
        "in_process_items_per_s": stages["items_per_s"],
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    _print(result, args.json)
    return 0


def _print(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for k, v in result.items():
            print(f"{k:>24}: {v}")


if __name__ == "__main__":
    sys.exit(main())
