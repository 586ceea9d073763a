"""CPU per poll in one worker process: the real `monitor.poll_batch` task body, called in
process, against bench/polling.py's loopback feed server run in a process of its own (so its
CPU is not counted) and a fresh PostgreSQL database.

    python bench/poll_cpu.py --json [--sources 500] [--hosts 5] [--rounds 3] [--changed 0]
                             [--database-url URL] [--broker-url URL] [--profile FILE]

The machine is shared: wall-clock throughput there says little, so this reports
`time.process_time()` (this process, all its threads) per poll. One first pass stores every
feed's first body (not measured); then `--rounds` passes over all sources, batched as beat
batches them (monitor.poll_batch.group_by_host, poll.host_batch), mostly 304 with
`--changed` 0; `cpu_ms_per_poll` is the median round's CPU over the sources. The Celery
message overhead of a task (in a worker, per batch) is not in it.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pipeline import _purge, fresh_database  # noqa: E402
from polling import Feeds  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from monitor.db import make_engine, make_sessionmaker  # noqa: E402
from monitor.models import Source  # noqa: E402
from monitor.sources import SourceSpec, upsert_source  # noqa: E402
from responders.schema import migrate  # noqa: E402


def _serve(n: int, hosts: int, changed: float, conn: Connection) -> None:
    with Feeds(n, hosts, changed) as feeds:
        conn.send((feeds.port, feeds.urls()))
        conn.recv()  # until the parent is done


def run(n: int, hosts: int, *, rounds: int, changed: float, db_url: str, broker: str,
        profile: str | None) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(n, hosts, changed, child), daemon=True)
    server.start()
    _, urls = parent.recv()
    try:
        with tempfile.TemporaryDirectory() as tmp, \
                fresh_database(db_url, "pollcpu", Path(tmp)) as url:
            home = Path(tmp) / "home"
            home.mkdir()
            return _run(urls, rounds=rounds, url=url, broker=broker, home=home,
                        profile=profile)
    finally:
        parent.send("done")
        server.join(5)


def _run(urls: Sequence[str], *, rounds: int, url: str, broker: str, home: Path,
         profile: str | None) -> dict[str, Any]:
    engine = make_engine(url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with sessions() as s:
        for k, feed_url in enumerate(urls):
            upsert_source(s, SourceSpec(name=f"基准源{k}", url=feed_url, interval_s=86_400,
                                        allow_private=True), now)
        s.commit()
        rows = [(i, h or "") for i, h in s.execute(select(Source.id, Source.host)
                                                    .order_by(Source.id))]
    os.environ.update({"YUQING_HOME": str(home), "YUQING_DATABASE_URL": url,
                       "YUQING_BROKER_URL": broker})
    _purge(broker)
    from monitor.poll_batch import group_by_host
    from tasks import jobs
    from tasks.runtime import reset_runtime

    rt = reset_runtime()
    batches = group_by_host(rows, batch=rt.settings.poll.host_batch)

    def one_round() -> tuple[float, int]:
        with sessions() as s:  # all due again (as after an outage)
            s.execute(update(Source).values(next_check_at=None))
            s.commit()
        polled = 0
        t0 = time.process_time()
        for batch in batches:
            out = jobs.poll_batch(batch, None)
            polled += int(out["polled"])  # type: ignore[call-overload]
        return time.process_time() - t0, polled

    one_round()  # first bodies, not measured
    _purge(broker)  # the analysis they asked for is not this benchmark's
    cpu = []
    prof = cProfile.Profile() if profile else None
    for _ in range(rounds):
        if prof:
            prof.enable()
        took, polled = one_round()
        if prof:
            prof.disable()
        cpu.append(took / max(1, polled))
    if prof and profile:
        prof.dump_stats(profile)
    _purge(broker)
    rt.engine.dispose()
    engine.dispose()
    return {"sources": len(urls), "batches": len(batches),
            "host_batch": rt.settings.poll.host_batch,
            "cpu_ms_per_poll": round(statistics.median(cpu) * 1000, 3),
            "rounds_ms": [round(c * 1000, 3) for c in cpu]}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=500)
    ap.add_argument("--hosts", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--changed", type=float, default=0.0)
    ap.add_argument("--database-url", default=os.environ.get(
        "YUQING_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    ap.add_argument("--broker-url", default=os.environ.get(
        "YUQING_BENCH_BROKER_URL", "redis://127.0.0.1:6379/3"))
    ap.add_argument("--profile", help="write cProfile stats of the measured rounds here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = run(args.sources, args.hosts, rounds=args.rounds, changed=args.changed,
              db_url=args.database_url, broker=args.broker_url, profile=args.profile)
    print(json.dumps(out) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
