"""Reads at a million items (issue 15): build a year of data on PostgreSQL with COPY, then
time the desk's hot pages through the real FastAPI app and the two reports.

    python bench/reads.py --items 1000000 --json     # YUQING_BENCH_DATABASE_URL or
                                                     # YUQING_TEST_DATABASE_URL: the server
Prints {"items": n, "p95_ms": {"queue", "api_alerts", "alert_page", "events", "output_log",
"search"}, "report_s": {"digest", "annual"}, ...}; events/search are null while the desk has
no such page. Proportions per million items: 500,000 events, 150,000 alerts (5 % open),
15,000 outputs with 22,500 publications. A database of its own is created on the server and
dropped afterwards. Targets: every page p95 <= 150 ms, each report <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TITLES = ["某县司法局社区矫正工作被质疑流于形式", "网友反映法律援助申请材料繁琐",
          "监狱会见预约系统故障引发家属不满", "人民调解员调解邻里纠纷获点赞",
          "公证处办事效率低遭投诉", "律师执业权利保障问题引关注",
          "戒毒所开放日活动受好评", "普法宣传进社区活动反响热烈"]
TOPICS = ["community_correction", "legal_aid", "prison", "mediation", "notary", "lawyer",
          "drug_rehab", "legal_education"]
LABELS = ["negative", "neutral", "positive"]
OPEN = ["new", "assigned", "drafting", "escalated"]
CHANNELS = ["门户网站", "政务微博", "微信公众号"]


def _server_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_server_db(url, "postgres").replace("postgresql+psycopg", "postgresql"),
                         autocommit=True) as conn:
        conn.execute(sql)


def build(url: str, n_items: int, now: datetime, seed: int = 7) -> dict[str, Any]:
    """COPY a year of rows in realistic proportions; returns ids the timings use."""
    import psycopg

    rnd = random.Random(seed)
    n_sources = max(20, min(500, n_items // 5000))
    n_events = n_items // 2
    span = timedelta(days=365).total_seconds()
    plain = url.replace("postgresql+psycopg", "postgresql")
    t0 = time.perf_counter()
    alerts_open: list[int] = []
    with psycopg.connect(plain) as conn:
        conn.execute("SET session_replication_role = replica")  # FKs checked by construction
        with conn.cursor() as cur:
            with cur.copy("COPY sources (id, name, url, kind, host, interval_s, allow_private,"
                          " failure_count, items_seen, created_at, config) FROM STDIN") as cp:
                for s in range(1, n_sources + 1):
                    kind = ("weibo", "news", "government", "board")[s % 4]
                    cp.write_row((s, f"信息源{s:04d}", f"https://s{s}.example.cn/feed", kind,
                                  f"s{s}.example.cn", 600, False, 0, 0, now - timedelta(days=400),
                                  "{}"))
            # Items in time order (id order = first sight order); two per event, the
            # second an hour after the first.
            with cur.copy("COPY items (id, source_id, entry_id, content_hash, title, text, link,"
                          " author, published_at, fetched_at, analyzed_at, analysis_runs,"
                          " sentiment_score, sentiment_label, topics, keywords, event_id,"
                          " extra) FROM STDIN") as cp:
                for i in range(1, n_items + 1):
                    e = (i - 1) // 2 + 1
                    base = now - timedelta(seconds=span * (1 - (e - 1) / n_events))
                    fetched = base + timedelta(hours=(i - 1) % 2)
                    title = TITLES[e % len(TITLES)]
                    label = LABELS[(i * 7) % 3]
                    score = (0.2, 0.5, 0.8)[(i * 7) % 3]
                    cp.write_row((i, i % n_sources + 1, f"e{i}", f"{i:064x}", title,
                                  f"{title}。网友留言称：相关部门应当尽快回应，依法处理。（第{i}条）",
                                  f"https://s{i % n_sources + 1}.example.cn/p/{i}",
                                  f"网友{i % 977}", fetched - timedelta(minutes=i % 90), fetched,
                                  fetched, 1, score, label,
                                  json.dumps([TOPICS[e % len(TOPICS)]]), "[]", e, "{}"))
            with cur.copy("COPY events (id, first_item_id, item_count, source_ids, reach,"
                          " negative_count, scored_count, negative_share, topics, signature,"
                          " first_seen_at, last_seen_at, burst, kind, story_terms) FROM STDIN"
                          ) as cp:
                for e in range(1, n_events + 1):
                    first = now - timedelta(seconds=span * (1 - (e - 1) / n_events))
                    cp.write_row((e, 2 * e - 1, 2, "[]", rnd.randint(0, 50000), 1, 2, 0.5,
                                  json.dumps([TOPICS[e % len(TOPICS)]]), "[]", first,
                                  first + timedelta(hours=1), False, "event", "{}"))
            # 150,000 alerts per million items: 3 events in 10; the newest 5 % still open.
            alert_events = [e for e in range(1, n_events + 1) if e % 10 in (0, 3, 6)]
            open_from = int(len(alert_events) * 0.95)
            outputs: list[tuple[int, int, datetime]] = []
            with cur.copy("COPY alerts (id, item_id, priority, state, reasons, topics, sla_rule,"
                          " milestones, created_at, due_at, clock_from, backfill, assignee_id,"
                          " state_changed_at) FROM STDIN") as cp:
                for a, e in enumerate(alert_events, start=1):
                    created = now - timedelta(seconds=span * (1 - (e - 1) / n_events))
                    prio = "P1" if a % 20 == 0 else "P2" if a % 4 == 0 else "P3"
                    hours = {"P1": 5, "P2": 24, "P3": 48}[prio]
                    if a > open_from:
                        state, changed = OPEN[a % 4], None
                        alerts_open.append(a)
                    else:
                        state = "responded" if a % 3 else "dismissed"
                        changed = created + timedelta(hours=hours / 2)
                        if state == "responded" and a % 10 == 1:
                            outputs.append((len(outputs) + 1, a, changed))
                    cp.write_row((a, 2 * e - 1, prio, state, '["负面情绪集中"]',
                                  json.dumps([TOPICS[e % len(TOPICS)]]), "default", "[]",
                                  created, created + timedelta(hours=hours), created, False,
                                  None, changed))
            with cur.copy("COPY users (id, name, display_name, role, password_hash, active,"
                          " created_at) FROM STDIN") as cp:
                for u, (name, role) in enumerate((("wang", "officer"), ("li", "approver")), 1):
                    cp.write_row((u, name, name, role, "$argon2id$v=19$unused", True, now))
            with cur.copy("COPY outputs (id, alert_id, kind, topic, title, body, state,"
                          " cited_policy_ids, author_id, approver_id, created_at, updated_at)"
                          " FROM STDIN") as cp:
                for o, a, at in outputs:
                    cp.write_row((o, a, "政策解读" if o % 5 == 0 else "回应", None,
                                  f"关于网民反映问题的回应（{o}）",
                                  "经核查，现将有关情况说明如下。", "published", "[]", 1, 2,
                                  at, at))
            pub_id = 0
            with cur.copy("COPY publications (id, output_id, channel, link, published_at,"
                          " recorded_by, recorded_at) FROM STDIN") as cp:
                for o, _a, at in outputs:
                    for c in CHANNELS[:1 + (o % 2)]:
                        pub_id += 1
                        cp.write_row((pub_id, o, c, f"https://sft.example.cn/r/{o}", at,
                                      "user:wang", at))
            with cur.copy("COPY audit_log (id, at, actor, entity, entity_id, alert_id, action,"
                          " detail) FROM STDIN") as cp:
                for o, a, at in outputs:
                    cp.write_row((o, at, "user:li", "output", o, a, "approve", "{}"))
        for table, column in (("sources", "id"), ("items", "id"), ("events", "id"),
                              ("alerts", "id"), ("users", "id"), ("outputs", "id"),
                              ("publications", "id"), ("audit_log", "id")):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
                         f" (SELECT coalesce(max({column}), 1) FROM {table}))")
        conn.commit()
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return {"build_s": round(time.perf_counter() - t0, 1), "events": n_events,
            "alerts": len(alert_events), "open_alerts": len(alerts_open),
            "outputs": len(outputs), "publications": pub_id,
            "open_alert_ids": alerts_open}


def p95_ms(fn: Any, repeat: int, first: list[float] | None = None) -> float:
    """The p95 of `repeat` timed calls after an untimed first one, whose time goes to
    `first` (the first request a fresh desk process serves a page: its statements compiled,
    the chart's memo filled)."""
    t = time.perf_counter()
    fn()
    if first is not None:
        first.append(round((time.perf_counter() - t) * 1000, 1))
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return round(times[min(len(times) - 1, int(0.95 * len(times)))], 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--requests", type=int, default=30, help="timed requests per page")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = ap.parse_args(argv)
    server = (os.environ.get("YUQING_BENCH_DATABASE_URL")
              or os.environ.get("YUQING_TEST_DATABASE_URL")
              or "postgresql://postgres@127.0.0.1:5432/postgres")
    if not server.startswith("postgresql"):
        print("bench/reads.py needs PostgreSQL (COPY): set YUQING_BENCH_DATABASE_URL",
              file=sys.stderr)
        return 2
    name = f"yuqing_bench_reads_{os.getpid()}"
    url = _server_db(server, name)
    _admin(server, f"CREATE DATABASE {name}")
    try:
        return _run(args, url)
    finally:
        if not args.keep:
            _admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _run(args: argparse.Namespace, url: str) -> int:
    from fastapi.testclient import TestClient

    from monitor.db import make_engine, make_sessionmaker
    from monitor.settings import load_settings
    from responders.auth import create_token, open_session
    from responders.digest import digest_for, last_complete_week, render_text
    from responders.models import User
    from responders.reports import build_report, load_period, to_markdown, year_period
    from responders.schema import migrate
    from responders.web import create_app

    home = tempfile.mkdtemp(prefix="yuqing-bench-reads-")
    settings = load_settings(env={"YUQING_HOME": home, "YUQING_DATABASE_URL": url})
    engine = make_engine(url)
    migrate(engine)
    now = datetime.now(UTC)
    built = build(url, args.items, now)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        wang = s.get(User, 1)
        assert wang is not None
        cookie = open_session(s, wang, now)
        token = create_token(s, "bench", "officer", now)
        s.commit()
    app = create_app(settings, lambda _name, _args: None)
    client = TestClient(app)
    t = time.perf_counter()
    client.__enter__()   # the server's start-up step, as uvicorn runs it (responders.web.warmup)
    startup_s = time.perf_counter() - t
    client.cookies.set("yq_session", cookie)
    bearer = {"Authorization": f"Bearer {token}"}
    open_ids = built.pop("open_alert_ids")
    pick = random.Random(3)

    def get(path: str, **kw: Any) -> None:
        r = client.get(path, **kw)
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code} {r.text[:300]}")

    def has(path: str) -> bool:
        return client.get(path).status_code == 200

    firsts: dict[str, list[float]] = {k: [] for k in ("queue", "api_alerts", "alert_page")}
    p95 = {
        "queue": p95_ms(lambda: get("/"), args.requests, firsts["queue"]),
        "api_alerts": p95_ms(lambda: get("/api/v1/alerts", headers=bearer), args.requests,
                             firsts["api_alerts"]),
        "alert_page": p95_ms(lambda: get(f"/alerts/{pick.choice(open_ids)}"), args.requests,
                             firsts["alert_page"]),
        "events": p95_ms(lambda: get("/events"), args.requests) if has("/events") else None,
        "output_log": p95_ms(lambda: get("/log"), args.requests),
        "search": (p95_ms(lambda: get("/search?q=社区矫正"), args.requests)
                   if has("/search?q=社区矫正") else None),
    }
    with sessions() as s:
        t = time.perf_counter()
        render_text(digest_for(s, last_complete_week(now, settings.timezone), settings, now=now))
        digest_s = time.perf_counter() - t
    with sessions() as s:
        t = time.perf_counter()
        period = year_period(now.year)
        pubs, alerts = load_period(s, period, settings.timezone)
        to_markdown(build_report(period, pubs, alerts, tz=settings.timezone))
        annual_s = time.perf_counter() - t
    out = {"items": args.items, "p95_ms": p95,
           "report_s": {"digest": round(digest_s, 2), "annual": round(annual_s, 2)},
           "first_ms": {k: v[0] for k, v in firsts.items()},
           "startup_s": round(startup_s, 2),
           **built, "load_average": round(os.getloadavg()[0], 2)}
    client.__exit__(None, None, None)
    engine.dispose()
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for key, value in out.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
