"""Poll cycles over many loopback sources, through the real beat, clock and worker processes.

    python bench/polling.py --json [--sources N] [--hosts H] [--interval S] [--changed P]
                            [--database-url URL] [--broker-url URL]

A loopback feed server (asyncio, HTTP/1.1 keep-alive) serves N feeds on H hosts — the
addresses 127.0.0.1 … 127.0.0.H, N/H feeds each — with ETags: a request with the current
ETag is answered 304, except that each request finds its feed changed with probability P
(a new item, in Chinese, from the bundled demo stories) and is answered 200. N sources point
at them, interval S. Then `yuqing beat`, a clock worker (`--queues schedule`) and two workers
(`--queues poll,analyze,notify`, each with celery.concurrency children) run on the given
Redis and a fresh PostgreSQL database (dropped afterwards), as in production.

Three phases, timed by the feed server's own request log:

1. first cycle: every source is new (due at once) and fetched with its first body —
   `first_cycle_seconds`, until every feed was requested once;
2. a catch-up cycle: all sources made due at once (as after an outage), mostly 304 —
   `cycle_seconds` until every feed was requested again; `polls_per_s` = N / that;
3. steady state for `--observe` seconds (default 1.2 × the interval): every source set to
   interval S, as if polled on time at its last slot (phases 1 and 2 run with a day's
   interval, so that any second request in them is a duplicate), then every request's
   lateness against its source's slot (monitor.schedule.slot_lateness) — `late_polls`
   counts those more than 10 % of the interval late.

Also `polled_once_per_cycle` (every feed requested exactly once in phases 1 and 2),
`analysed_twice` (items analysed more than once) and `loadavg` (the machine is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import _purge, demo_posts, fresh_database  # noqa: E402
from sqlalchemy import func, select, update  # noqa: E402

from monitor.db import make_engine, make_sessionmaker  # noqa: E402
from monitor.models import Item, Source  # noqa: E402
from monitor.schedule import next_slot, phase_of, slot_lateness  # noqa: E402
from monitor.sources import SourceSpec, upsert_source  # noqa: E402
from responders.schema import migrate  # noqa: E402
from tasks.supervise import Child, yuqing_argv  # noqa: E402

LATE_SHARE = 0.10  # a poll later than this share of the interval after its slot is late
PHASE_INTERVAL = 86_400  # the sources' interval in phases 1 and 2 (no slot comes due)


# --- the feed server -------------------------------------------------------------------------

class Feeds:
    """N feeds on H loopback hosts; each request logged as (monotonic, wall, host, path,
    status). Runs an asyncio loop in a thread of its own."""

    def __init__(self, n: int, hosts: int, changed: float, seed: int = 15) -> None:
        self.hosts = [f"127.0.0.{h + 1}" for h in range(hosts)]
        self.per_host = -(-n // hosts)
        self.n = n
        self.changed = changed
        self.rng = random.Random(seed)
        self.posts = demo_posts()
        self.version: dict[tuple[str, str], int] = {}
        self.log: list[tuple[float, float, str, str, int]] = []
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.started = threading.Event()

    def urls(self) -> list[str]:
        out = []
        for k in range(self.n):
            host = self.hosts[k // self.per_host]
            out.append(f"http://{host}:{self.port}/feed/{k % self.per_host}.xml")
        return out

    def _body(self, host: str, path: str, version: int) -> bytes:
        key = hash((host, path, version)) % len(self.posts)
        title, text = self.posts[key]
        guid = f"{host}{path}#{version}"
        now = datetime.now(UTC)
        item = (f"<item><title>{escape(title)}（{version}）</title>"
                f"<link>https://bench.example{path}?v={version}&amp;h={host}</link>"
                f"<guid isPermaLink=\"false\">{escape(guid)}</guid>"
                f"<pubDate>{format_datetime(now)}</pubDate>"
                f"<description>{escape(text)}（{host}{path} 第{version}版）</description></item>")
        return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
                f"<title>基准 {host}{path}</title><link>https://bench.example/</link>{item}"
                "</channel></rss>").encode()

    def _answer(self, host: str, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str],
                                                                            bytes]:
        key = (host, path)
        version = self.version.get(key)
        if version is None:
            version = self.version[key] = 1
        elif self.rng.random() < self.changed:
            version = self.version[key] = version + 1
        etag = f'"v{version}"'
        if headers.get("if-none-match") == etag:
            return 304, {"ETag": etag}, b""
        return 200, {"ETag": etag, "Content-Type": "application/rss+xml; charset=utf-8"}, \
            self._body(host, path, version)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host = writer.get_extra_info("sockname")[0]
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                parts = line.decode("latin-1").split()
                headers: dict[str, str] = {}
                while True:
                    h = await reader.readline()
                    if h in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = h.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                path = parts[1] if len(parts) > 1 else "/"
                k = path.removeprefix("/feed/").removesuffix(".xml")
                if k.isdigit() and int(k) < self.per_host:
                    status, extra, body = self._answer(host, path, headers)
                else:
                    status, extra, body = 404, {}, b""
                self.log.append((time.monotonic(), time.time(), host, path, status))
                reason = {200: "OK", 304: "Not Modified", 404: "Not Found"}[status]
                head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}",
                        *(f"{a}: {b}" for a, b in extra.items())]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            first = await asyncio.start_server(self._handle, self.hosts[0], 0, backlog=1024)
            self.port = first.sockets[0].getsockname()[1]
            for host in self.hosts[1:]:
                await asyncio.start_server(self._handle, host, self.port, backlog=1024)
            self.started.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    def __enter__(self) -> Feeds:
        self.thread.start()
        self.started.wait(10)
        return self

    def __exit__(self, *_: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)

    def requests(self) -> list[tuple[float, float, str, str, int]]:
        return list(self.log)  # appended by one thread; a copy to read


# --- the run ---------------------------------------------------------------------------------

def _wait_all(feeds: Feeds, start: int, n: int, children: Sequence[Child], home: Path,
              timeout: float, what: str) -> tuple[float, list[tuple[float, float, str, str,
                                                                     int]]]:
    """Until every feed has been requested since log index `start`: (the monotonic time of
    the last first-request, the log since start)."""
    deadline = time.monotonic() + timeout
    while True:
        log = feeds.requests()[start:]
        seen = {(h, p) for _, _, h, p, _ in log}
        if len(seen) >= n:
            firsts: dict[tuple[str, str], float] = {}
            for t, _, h, p, _ in log:
                firsts.setdefault((h, p), t)
            return max(firsts.values()), log
        for child in children:
            if not child.alive():
                raise SystemExit(f"{child.name} exited; see {home / 'logs'}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out in the {what}: {len(seen)}/{n} feeds requested")
        time.sleep(0.2)


def run(n: int, hosts: int, *, interval: int, changed: float, db_url: str | None, broker: str,
        observe: float | None, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-polling-") as tmp, \
            fresh_database(db_url, "polling", Path(tmp)) as url:
        home = Path(tmp) / "home"
        home.mkdir()
        return _run(n, hosts, interval=interval, changed=changed, url=url, broker=broker,
                    observe=observe, timeout=timeout, home=home)


def _run(n: int, hosts: int, *, interval: int, changed: float, url: str, broker: str,
         observe: float | None, timeout: float, home: Path) -> dict[str, Any]:
    engine = make_engine(url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with Feeds(n, hosts, changed) as feeds:
        now = datetime.now(UTC)
        with sessions() as s:
            # Phases 1 and 2 with an interval no slot of which comes due during them, so a
            # second request of a feed in a cycle can only be a duplicate.
            for k, feed_url in enumerate(feeds.urls()):
                upsert_source(s, SourceSpec(name=f"基准源{k}", url=feed_url,
                                            interval_s=PHASE_INTERVAL, allow_private=True), now)
            s.commit()
        env = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
        env.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": url,
                    "YUQING_BROKER_URL": broker, "PYTHONUNBUFFERED": "1",
                    # The tick bounds how late a source is past its slot: well under 10 %.
                    "YUQING_POLL_TICK_SECONDS": str(max(1, min(5, interval // 40))),
                    "YUQING_POLL_MIN_INTERVAL": str(min(60, interval))})
        for key in ("YUQING_SENTIMENT_ENGINE", "YUQING_POLL_HOST_BATCH",
                    "YUQING_POLL_FETCH_THREADS", "YUQING_POLL_HOST_CONNECTIONS",
                    "YUQING_CELERY_CONCURRENCY", "YUQING_POLL_BATCH_SIZE",
                    "YUQING_POLL_PER_HOST"):
            if os.environ.get(key):
                env[key] = os.environ[key]
        _purge(broker)
        logs = home / "logs"
        children = [
            Child("clock", yuqing_argv("worker", "--queues", "schedule", "--concurrency", "1",
                                       "--loglevel", "WARNING"), env,
                  log_to=logs / "bench-clock.log"),
            *(Child(f"worker{k}", yuqing_argv("worker", "--queues", "poll,analyze,notify",
                                              "--loglevel", "WARNING"), env,
                    log_to=logs / f"bench-worker{k}.log") for k in range(2)),
            Child("beat", yuqing_argv("beat", "--loglevel", "WARNING"), env,
                  log_to=logs / "bench-beat.log"),
        ]
        try:
            t0 = time.monotonic()
            # 1. First cycle: every source new, due at once, fetched with its first body.
            last, first_log = _wait_all(feeds, 0, n, children, home, timeout, "first cycle")
            first_cycle = last - first_log[0][0]
            _settle(sessions, None, timeout)
            # 2. Catch-up: every source due at once, as after an outage; mostly 304.
            mark = len(feeds.requests())
            catch_wall = datetime.now(UTC)
            with sessions() as s:
                s.execute(update(Source).values(next_check_at=catch_wall))
                s.commit()
            t_catch = time.monotonic()
            last, catch_log = _wait_all(feeds, mark, n, children, home, timeout,
                                        "catch-up cycle")
            cycle = last - t_catch
            _settle(sessions, catch_wall, timeout)
            phase12 = feeds.requests()[:len(feeds.requests())]
            # 3. Steady state at `interval`: each source as if polled on time at its last
            # slot (the system does this itself after a source's first poll; set here so
            # the window starts with the slots in place rather than after a transient).
            with sessions() as s:
                at = datetime.now(UTC)
                ids = list(s.scalars(select(Source.id)))
                s.execute(update(Source), [
                    {"id": i, "interval_s": interval,
                     "next_check_at": next_slot(at + timedelta(seconds=interval * 0.05),
                                                period_s=interval, phase=phase_of(i))}
                    for i in ids])
                s.commit()
            steady_from = len(feeds.requests())
            window = observe if observe is not None else interval * 1.2
            time.sleep(window)
            steady = feeds.requests()[steady_from:]
            _drain_analysis(sessions, timeout=60)
            total_s = time.monotonic() - t0
        finally:
            for child in children:
                child.stop(timeout=20)
    per_feed_first = Counter((h, p) for _, _, h, p, _ in phase12[:mark])
    per_feed_catch = Counter((h, p) for _, _, h, p, _ in phase12[mark:])
    with sessions() as s:
        id_of = {u: i for i, u in s.execute(select(Source.id, Source.url))}
        twice = s.scalar(select(func.count()).select_from(Item).where(
            Item.analysis_runs > 1)) or 0
        stored = s.scalar(select(func.count()).select_from(Item)) or 0
        unanalysed = s.scalar(select(func.count()).select_from(Item).where(
            Item.analyzed_at.is_(None))) or 0
    engine.dispose()
    late = []
    for _, wall, h, p, _ in steady:
        sid = id_of[f"http://{h}:{feeds.port}{p}"]
        lateness = slot_lateness(datetime.fromtimestamp(wall, UTC), period_s=interval,
                                 phase=phase_of(sid))
        if lateness > LATE_SHARE * interval:
            late.append(lateness)
    statuses = Counter(st for *_, st in catch_log)
    return {
        "sources": n,
        "hosts": hosts,
        "interval_s": interval,
        "cycle_seconds": round(cycle, 2),
        "polls_per_s": round(n / cycle, 1) if cycle > 0 else None,
        "first_cycle_seconds": round(first_cycle, 2),
        "late_polls": len(late),
        "worst_late_s": round(max(late), 2) if late else 0.0,
        "steady_polls": len(steady),
        "steady_window_s": round(window, 1),
        "catch_up_not_modified_share": round(statuses.get(304, 0) / max(1, len(catch_log)), 3),
        "polled_once_per_cycle": (len(per_feed_first) == n and len(per_feed_catch) == n
                                  and set(per_feed_first.values()) == {1}
                                  and set(per_feed_catch.values()) == {1}),
        "items": stored,
        "unanalysed": unanalysed,
        "analysed_twice": twice,
        "total_seconds": round(total_s, 1),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }


def _settle(sessions: Any, since: datetime | None, timeout: float) -> None:
    """Until every source's poll of this phase was applied: its last_checked_at (the apply's
    `now`, taken after the claim) set, and after `since` when given."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as s:
            q = select(func.count()).select_from(Source)
            q = q.where(Source.last_checked_at.is_(None) if since is None
                        else (Source.last_checked_at.is_(None)
                              | (Source.last_checked_at < since)))
            if not s.scalar(q):
                return
        time.sleep(0.2)
    raise SystemExit("timed out waiting for the polls to be applied")


def _drain_analysis(sessions: Any, timeout: float) -> None:
    """Give the workers until `timeout` to analyse what the last polls stored."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as s:
            if not s.scalar(select(func.count()).select_from(Item).where(
                    Item.analyzed_at.is_(None))):
                return
        time.sleep(0.5)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", type=int, default=10_000)
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--interval", type=int, default=120,
                    help="seconds between polls of each source (default 120)")
    ap.add_argument("--changed", type=float, default=0.05,
                    help="chance that a feed has a new item at a poll (default 0.05)")
    ap.add_argument("--observe", type=float, default=None,
                    help="seconds of steady state to watch (default 1.2 × interval)")
    ap.add_argument("--database-url", default=os.environ.get(
        "YUQING_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--broker-url", default=os.environ.get(
        "YUQING_TEST_BROKER_URL", "redis://127.0.0.1:6379/1"))
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    # A SIGTERM (a timeout, a person) stops the beat and workers too, via the finally.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not 1 <= args.hosts <= 254:
        ap.error("--hosts must be between 1 and 254 (127.0.0.1 … 127.0.0.254)")
    if args.sources < args.hosts:
        ap.error("--sources must be at least --hosts")
    if not args.database_url.startswith("postgresql"):
        ap.error("--database-url must be a PostgreSQL server (the bench is about it)")
    result = run(args.sources, args.hosts, interval=args.interval, changed=args.changed,
                 db_url=args.database_url, broker=args.broker_url, observe=args.observe,
                 timeout=args.timeout)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for key, value in result.items():
            print(f"{key:>30}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
