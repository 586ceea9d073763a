"""Items per second from fetched bytes to stored alerts, in one process, stage by stage.

    python bench/pipeline.py --json [--items 2000] [--engine snownlp]

Parses the bundled demo feeds' bytes (repeated with distinct ids up to --items), stores the
entries in a fresh SQLite database, analyses them (sentiment, topics, flagging) and opens
alerts — the same domain functions the worker runs, without the broker hop.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.analyze import analyze_items  # noqa: E402
from monitor.db import make_engine, make_sessionmaker  # noqa: E402
from monitor.event_store import EventSettings  # noqa: E402
from monitor.feeds import parse_feed  # noqa: E402
from monitor.flagging import FlagPolicy  # noqa: E402
from monitor.ingest import store_entries  # noqa: E402
from monitor.models import Source  # noqa: E402
from monitor.office import OwnVoice  # noqa: E402
from monitor.sentiment import build_scorer  # noqa: E402
from monitor.settings import load_settings  # noqa: E402
from monitor.topics import Taxonomy  # noqa: E402
from responders.alerts import open_alerts  # noqa: E402
from responders.schema import migrate  # noqa: E402
from responders.sla import SLA  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--engine")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    settings = load_settings()
    config = Path(settings.config_dir)
    bodies = [p.read_bytes() for p in sorted((config / "demo").glob("*.xml"))]
    scorer = build_scorer(settings.sentiment, args.engine)
    taxonomy = Taxonomy.from_files(config / "topics.yaml", config / "sensitive.yaml")
    sla = SLA.from_file(config / "sla.yaml")
    policy = FlagPolicy.from_section(settings.flagging)
    # The worker's event settings (tasks/runtime.py), so the bench groups items as it does.
    events = EventSettings.from_section(settings.events)
    own = OwnVoice.from_section(settings.office_voice)
    now = datetime.now(UTC)

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        sessions = make_sessionmaker(engine)
        t = {"parse": 0.0, "store": 0.0, "analyze": 0.0, "alerts": 0.0}
        stored = alerts = 0
        round_no = 0
        with sessions() as session:
            source = Source(name="bench", url="https://bench.example/", host="bench.example",
                            created_at=now, failure_count=0, items_seen=0, interval_s=600)
            session.add(source)
            session.flush()
            while stored < args.items:
                for body in bodies:
                    t0 = time.perf_counter()
                    entries = parse_feed(body).entries
                    t1 = time.perf_counter()
                    # distinct ids and text per round so every entry is stored anew
                    entries = tuple(
                        replace(e, entry_id=f"{round_no}:{e.entry_id}",
                                text=f"{e.text} ({round_no})")
                        for e in entries
                    )[: args.items - stored]
                    ids = store_entries(session, source.id, entries, now)
                    t2 = time.perf_counter()
                    analyses = analyze_items(session, ids, scorer=scorer, taxonomy=taxonomy,
                                             policy=policy, now=now, events=events,
                                             own=own)
                    t3 = time.perf_counter()
                    alerts += len(open_alerts(session, analyses, sla, now))
                    t4 = time.perf_counter()
                    t["parse"] += t1 - t0
                    t["store"] += t2 - t1
                    t["analyze"] += t3 - t2
                    t["alerts"] += t4 - t3
                    stored += len(ids)
                    if stored >= args.items:
                        break
                round_no += 1
            t0 = time.perf_counter()
            session.commit()
            t["commit"] = time.perf_counter() - t0
        engine.dispose()
    total = sum(t.values())
    result = {
        "items": stored,
        "alerts": alerts,
        "engine": scorer.name,
        "seconds": round(total, 3),
        "items_per_s": round(stored / total, 1),
        "stage_share": {k: round(v / total, 3) for k, v in t.items()},
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>12}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
