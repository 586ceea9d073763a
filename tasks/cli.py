"""The `yuqing` command. Exit codes: 0 ok, 2 bad usage or bad input (one sentence on stderr),
1 anything else. Commands are the only place (with tasks) that commit."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from monitor.errors import InputError, YuqingError
from monitor.settings import Settings, load_settings
from responders.workflow import ALERT_STATES
from tasks import (
    cli_desk,
    cli_digest,
    cli_events,
    cli_models,
    cli_notify,
    cli_prune,
    cli_register,
    cli_status,
    cli_users,
)
from tasks.bootstrap import DEFAULT_DEMO_PORT, DEMO_DIR_NAME, init_database
from tasks.cli_common import UsageError, _emit, _local, _Parser, _runtime, exit_code

Handler = Callable[[argparse.Namespace, Settings], int]


# ---------------------------------------------------------------- init & sources

def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    demo_url = None
    if args.demo:
        demo_url = args.demo_url or f"http://127.0.0.1:{DEFAULT_DEMO_PORT}/feeds"
    result = init_database(settings, sources_file=args.sources, demo_base_url=demo_url)
    if args.json:
        _emit(result)
    else:
        print(f"database ready at revision {result['revision']} ({settings.database_url}); "
              f"sources: {result['sources_created']} added, {result['sources_updated']} updated")
    return 0


def _source_row(source: Any, items: int, settings: Settings) -> dict[str, Any]:
    from monitor.polling import gone_state

    health = "ok" if source.failure_count == 0 else "failing"
    if source.last_checked_at is None:
        health = "never polled"
    # 410 → "gone" (not polled until `yuqing sources enable`); long 404 → "likely gone".
    health = gone_state(source.last_status, source.last_success_at, source.created_at,
                        datetime.now(UTC),
                        likely_gone_after_s=settings.poll.likely_gone_days * 86400) or health
    return {
        "id": source.id,
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "interval_s": source.interval_s,
        "health": health,
        "items": items,
        "last_checked_at": source.last_checked_at,
        "last_success_at": source.last_success_at,
        "next_check_at": source.next_check_at,
        "failure_count": source.failure_count,
        "last_status": source.last_status,
        "last_error": source.last_error,
        "last_warning": source.last_warning,
    }


def literal_address_problem(url: str, allow_private: bool) -> str | None:
    """Pure: why `sources add` refuses a URL whose host is an IP literal the poller would
    refuse (monitor.fetch's rules, so the two never differ), or None. Names are not
    resolved here: that is the poll's check, on every hop and the connected address."""
    import ipaddress
    from urllib.parse import urlsplit

    from monitor.fetch import _address_problem  # the one statement of what is refused

    try:
        host = urlsplit(url).hostname or ""
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    problem = _address_problem(ip, allow_private=allow_private)
    if problem is None:
        return None
    if _address_problem(ip, allow_private=True) is None:
        return (f"{url} points at {ip}, {problem}: yuqing fetches such addresses only for "
                "a source that allows it; add --allow-private for a feed on your own "
                "network (an intranet RSS bridge, say)")
    return (f"{url} points at {ip}, {problem}, which yuqing never fetches, not even with "
            "--allow-private")


def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.sources import (
        IntervalRules,
        item_counts,
        list_sources,
        remove_source,
        upsert_source,
        validate_spec,
    )

    rt = _runtime(settings)
    with rt.sessions() as session:
        if args.sources_cmd == "add":
            # Said now, not as a failure at the first poll (issue 16).
            refused = literal_address_problem(
                args.url, args.allow_private or settings.fetch.allow_private)
            if refused is not None:
                raise InputError(refused)
            spec = validate_spec({"name": args.name or args.url, "url": args.url,
                                  "kind": args.kind, "interval": args.interval,
                                  "allow_private": args.allow_private},
                                 IntervalRules.from_section(settings.poll), where="source")
            source, created = upsert_source(session, spec, datetime.now(UTC))
            session.commit()
            row = _source_row(source, 0, settings)
            if args.json:
                _emit(row, settings.timezone)
            else:
                print(f"{'added' if created else 'updated'} source {source.id}: {source.name} "
                      f"({source.url})")
            return 0
        if args.sources_cmd == "enable":
            from monitor.polling import enable_source
            from monitor.sources import find_source

            source = find_source(session, args.source)
            if not enable_source(source):
                raise InputError(f"source {source.name!r} is not marked gone (HTTP 410); "
                                 "nothing to enable")
            session.commit()
            print(f"enabled source {source.name!r}: polled again from the next beat tick")
            return 0
        if args.sources_cmd == "remove":
            name, purged = remove_source(session, args.source, purge=args.purge)
            session.commit()
            print(f"removed source {name!r}" + (f" and its {purged} items" if purged else ""))
            return 0
        counts = item_counts(session)
        rows = [_source_row(s, counts.get(s.id, 0), settings) for s in list_sources(session)]
    if args.json:
        _emit(rows, settings.timezone)
        return 0
    if not rows:
        print("no sources yet: `yuqing sources add URL --name NAME` "
              "or `yuqing init --sources FILE`")
        return 0
    for r in rows:
        status = r["health"] if r["health"] not in ("failing", "gone", "likely gone") else (
            f"{r['health'].upper()} ×{r['failure_count']}: {r['last_error']}")
        print(f"{r['id']:>4}  {r['name']}  [{r['kind']}]  {r['items']} items  "
              f"checked {_local(r['last_checked_at'], settings)}  "
              f"next {_local(r['next_check_at'], settings)}  {status}")
        print(f"      {r['url']}")
        if r["last_warning"]:
            print(f"      warning: {r['last_warning']}")
    return 0


def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    """Poll one source now, in this process: handy to try a new feed without a worker."""
    import random

    from monitor.analyze import analyze_items
    from monitor.polling import PUSHED_URL_PREFIX, apply_poll, fetch_and_parse, read_plan
    from monitor.sources import find_source
    from responders.alerts import open_alerts
    from responders.board_replies import close_answered

    rt = _runtime(settings)
    now = datetime.now(UTC)
    cfg = rt.poll_settings
    with rt.sessions() as session:
        source = find_source(session, args.source)
        name = source.name
        if source.url.startswith(PUSHED_URL_PREFIX):
            # Filled by `yuqing import` or the push API: there is nothing to fetch, and a
            # failed fetch would only write a misleading last_error on the source.
            raise InputError(f"source {name!r} receives pushed posts (yuqing import, "
                             "POST /api/v1/ingest); it is never polled")
        plan = read_plan(session, source.id, cfg=cfg, now=now)
    if plan is None:  # found a moment ago, in the same transaction: cannot happen
        raise InputError(f"source {args.source!r} disappeared while polling")
    # The session is closed: no transaction is held while we wait for the host and fetch.
    outcome = fetch_and_parse(plan, policy=rt.fetch_policy, cfg=cfg, now=now)
    alerts: list[int] = []
    with rt.sessions() as session:
        report = apply_poll(session, plan, outcome, cfg=cfg, now=now, jitter=random.random())
        closed = close_answered(session, report.answered_ids, now) if report else []
        if report is not None and report.new_item_ids and not args.no_analyze:
            analyses = analyze_items(session, report.new_item_ids, scorer=rt.scorer,
                                     taxonomy=rt.taxonomy, policy=rt.flag_policy, now=now,
                                     events=rt.event_settings, own=rt.own_voice)
            alerts = open_alerts(session, analyses, rt.sla, now)
        session.commit()
    if report is None:
        raise InputError(f"source {args.source!r} disappeared while polling")
    out = {"source": name, "ok": report.ok, "not_modified": report.not_modified,
           "entries": report.entries, "new_items": len(report.new_item_ids),
           "alerts": len(alerts), "answered": len(closed), "error": report.error}
    if args.json:
        _emit(out)
    else:
        print(json.dumps(out, ensure_ascii=False))
    return 0 if report.ok else 1


# ---------------------------------------------------------------- alerts

def alert_row(alert: Any, settings: Settings,
              links: dict[int, list[str]] | None = None) -> dict[str, Any]:
    """One alert as `alerts list` shows it. `links`: the links of the listed events' items
    (responders.queue.event_links, read once for the whole list)."""
    item = alert.item
    event_id = item.event_id
    if event_id is not None and links is not None:
        event_links = links.get(event_id, [])
    else:
        # Not in an event (an alert raised before events existed): its own item's link.
        event_links = [item.link] if item.link else []
    return {
        "id": alert.id,
        "event_id": event_id,
        "links": event_links,
        "priority": alert.priority,
        "state": alert.state,
        "title": item.title,
        "text": item.text,
        "source": item.source.name,
        "link": item.link,
        "published_at": item.published_at,
        "sentiment": item.sentiment_score,
        "sentiment_label": item.sentiment_label,
        "topics": alert.topics,
        "reasons": alert.reasons,
        "created_at": alert.created_at,
        "due_at": alert.due_at,
        "milestones": alert.milestones,
        # created_at is first sight; the deadlines run from clock_from (issue 12).
        "story_published_at": alert.story_published_at,
        "clock_from": alert.clock_from or alert.created_at,
        "backfill": alert.backfill,
    }


def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.flagging import PRIORITY_NAMES
    from responders.queue import QueueFilter, count_alerts, event_links, query_alerts

    rt = _runtime(settings)
    with rt.sessions() as session:
        # Issue 15/16: open alerts by default, one page of --limit (50) cut in SQL, and the
        # total counted by the database so a cut list says so.
        f = QueueFilter(priority=args.priority, state=args.state)
        alerts = query_alerts(session, f, limit=args.limit)
        total = count_alerts(session, f) if len(alerts) >= args.limit else len(alerts)
        # The links of every listed alert's event in one query, not one per row.
        links = event_links(session, (a.item.event_id for a in alerts
                                      if a.item.event_id is not None))
        rows = [alert_row(a, settings, links) for a in alerts]
    if args.json:
        _emit(rows, settings.timezone)
        if total > len(rows):
            print(f"showing {len(rows)} of {total}; --limit N shows more", file=sys.stderr)
        return 0
    if not rows:
        which = [f"state {args.state}"] if args.state not in ("open", "all") else []
        which += [f"priority {args.priority}"] if args.priority else []
        what = {"open": "no open alerts", "all": "no alerts"}.get(args.state, "no alerts")
        print(what + (f" with {' and '.join(which)}" if which else "")
              + ("" if args.state == "all" else " (--state all lists closed ones too)"))
        return 0
    now = datetime.now(UTC)
    for r in rows:
        left = r["due_at"] - now
        hours = left.total_seconds() / 3600
        due = f"超期 {-hours:.1f} 小时" if hours < 0 else f"剩余 {hours:.1f} 小时"
        score = "-" if r["sentiment"] is None else f"{r['sentiment']:.2f}"
        print(f"#{r['id']:<5} {r['priority']} {PRIORITY_NAMES[r['priority']]}  "
              f"截止 {_local(r['due_at'], settings)}（{due}）  情感 {score}  [{r['source']}]")
        print(f"       {r['title'] or r['text'][:60]}")
        print(f"       {'；'.join(r['reasons'])}")
    if total > len(rows):
        print(f"showing {len(rows)} of {total}; --limit N shows more")
    return 0


# ---------------------------------------------------------------- sentiment

def cmd_sentiment(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.sentiment import build_scorer
    from monitor.sentiment.registry import registry_root

    models = registry_root(settings.home)  # `weibo` scores with the active version
    if args.sentiment_cmd == "score":
        scorer = build_scorer(settings.sentiment, args.engine, models=models)
        errors = 0
        for n, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                    raise ValueError('expected an object with a string "text"')
            except ValueError as exc:
                errors += 1
                print(f"yuqing: line {n}: not a JSON object with a \"text\" string ({exc})",
                      file=sys.stderr)
                continue
            result = scorer.score(obj["text"])
            obj["score"] = None if result is None else round(result.score, 6)
            obj["label"] = None if result is None else result.label
            if result is not None and result.p_neutral is not None:
                # the three classes' probabilities, where the engine has a neutral class
                obj["p_negative"] = round(result.p_negative or 0.0, 6)
                obj["p_neutral"] = round(result.p_neutral, 6)
                obj["p_positive"] = round(result.p_positive or 0.0, 6)
            _emit(obj)
            sys.stdout.flush()
        return 2 if errors else 0
    if args.sentiment_cmd == "export-labels":
        return _export_labels(args, settings)
    if args.sentiment_cmd == "eval":
        from monitor.sentiment.evaluate import evaluate, load_labelled

        if (args.file is None) == (not args.reviews):
            raise UsageError("give a labelled FILE.jsonl or --reviews (the office's reviewed "
                             "items): one of the two")
        if args.reviews:
            rows = [(r.text, r.label) for r in _reviewed(settings, None, "evaluate on")]
        else:
            rows = load_labelled(args.file)
        figures = evaluate(_eval_scorer(args, settings, models), rows)
        if args.json:
            _emit(figures)
        else:
            for key, value in figures.items():
                print(f"{key:>22}: {value}")
        return 0
    if args.sentiment_cmd == "train":
        from monitor.sentiment.train import train_model

        if not args.data.is_dir():
            raise InputError(f"--data {args.data} is not a folder")
        if args.reviews_weight is not None and not args.reviews:
            raise UsageError("--reviews-weight weighs the reviewed items: add --reviews")
        weight = 3.0 if args.reviews_weight is None else args.reviews_weight
        extra = [(r.text, r.label, weight)
                 for r in _reviewed(settings, None, "train on")] if args.reviews else []
        started = time.monotonic()

        def progress(line: str) -> None:
            # Training takes minutes: say what it is doing, on stderr so --json stays clean.
            print(f"[{time.monotonic() - started:6.1f} s] {line}", file=sys.stderr, flush=True)

        def run(out: Path) -> dict[str, Any]:
            return train_model(args.data, out, progress=progress, extra_rows=extra)

        if args.out is None or args.register or args.activate:
            return cli_models.train_and_register(args, settings, run, progress)
        _emit(run(args.out))
        return 0
    raise UsageError("choose a sentiment command: score, eval, train or export-labels")


def _eval_scorer(args: argparse.Namespace, settings: Settings, models: Path) -> Any:
    """The scorer `sentiment eval` measures: --model VERSION (a registered version or
    "shipped", the `weibo` engine's), else --engine or the configured engine, whose `weibo`
    is the active version."""
    from monitor.sentiment import build_scorer

    if args.model is None:
        return build_scorer(settings.sentiment, args.engine, models=models)
    if args.engine not in (None, "weibo"):
        raise UsageError(f"--model picks a version of the weibo engine, not of {args.engine}")
    from monitor.sentiment.registry import load_version
    from monitor.sentiment.weibo import WeiboScorer

    # Verified and loaded as a swap would load it; an unknown name is NotFound (exit 2).
    return WeiboScorer(load_version(models, args.model),
                       max_chars=settings.sentiment.max_chars, version=args.model)


def _reviewed(settings: Settings, since: datetime | None, purpose: str) -> list[Any]:
    """The office's reviewed items with the officers' majority label (ties skipped and
    counted on stderr); a clear error when there are none."""
    from responders.sentiment_reviews import reviewed_items

    rt = _runtime(settings)
    with rt.sessions() as session:
        export = reviewed_items(session, since)
    _say_skipped(export.ties, export.empty)
    if not export.rows:
        raise InputError(f"no reviewed items to {purpose}"
                         f"{' since ' + since.date().isoformat() if since else ''}: officers "
                         "mark an item's sentiment on the desk's alert and event pages "
                         "(情感判断有误 → 负面/中性/正面)")
    return export.rows


def _say_skipped(ties: int, empty: int) -> None:
    if ties:
        print(f"yuqing: skipped {ties} reviewed item{'s' if ties != 1 else ''} whose "
              "reviewers tie (no majority label)", file=sys.stderr)
    if empty:
        print(f"yuqing: skipped {empty} reviewed item{'s' if empty != 1 else ''} with no "
              "text", file=sys.stderr)


def _export_labels(args: argparse.Namespace, settings: Settings) -> int:
    """`yuqing sentiment export-labels --out FILE.jsonl [--since DATE]`: the reviewed items
    as `{"text", "label", …}` lines, the format `yuqing sentiment eval FILE` reads. Written
    to a temporary file beside FILE and renamed, so a failure leaves no half file."""
    import os
    import tempfile
    from zoneinfo import ZoneInfo

    from responders.sentiment_reviews import reviewed_items

    since = None
    if args.since is not None:
        since = datetime.combine(args.since, datetime.min.time(),
                                 tzinfo=ZoneInfo(settings.timezone))
    out: Path = args.out
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name such as "
                         f"{out / 'reviews.jsonl'}")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {out}: the folder {folder} does not exist")
    rt = _runtime(settings)
    with rt.sessions() as session:
        export = reviewed_items(session, since)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=folder)
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in export.rows:
                fh.write(json.dumps(row.as_record(), ensure_ascii=False) + "\n")
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    _say_skipped(export.ties, export.empty)
    counts = {lab: sum(1 for r in export.rows if r.label == lab)
              for lab in ("negative", "neutral", "positive")}
    print(f"wrote {len(export.rows)} reviewed item{'s' if len(export.rows) != 1 else ''} to "
          f"{out} ({', '.join(f'{k} {v}' for k, v in counts.items())})")
    return 0


# ---------------------------------------------------------------- processes

def cmd_demo_server(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.demo_server import DemoServer

    server = DemoServer(Path(settings.config_dir) / DEMO_DIR_NAME, args.host, args.port,
                        as_recorded=args.as_recorded)
    moved = f", dated {server.days_shifted} days later than recorded" if server.days_shifted else ""
    print(f"serving {len(server.feeds)} demo feeds at {server.base_url}/{moved}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    import os

    from tasks.celery_app import create_app
    from tasks.embedded import EmbeddedBroker
    from tasks.logsetup import for_celery

    if not settings.broker_url:
        EmbeddedBroker(settings.home).start()
    concurrency = args.concurrency or settings.celery.concurrency
    level = for_celery(settings.tree.logging, args.loglevel)  # logging: (tasks.logsetup)
    app = create_app(settings)
    # JSON logs: no start-up banner (plain text on stdout) among the JSON lines.
    quiet = ["--quiet"] if settings.tree.logging.format == "json" else []
    app.start([
        *quiet, "worker", "-Q", args.queues, "-c", str(concurrency), "-l",
        logging.getLevelName(level), "-n", f"yuqing-{os.getpid()}@%h", "--without-gossip",
        "--without-mingle",
    ])
    return 0


def cmd_beat(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.celery_app import create_app
    from tasks.embedded import EmbeddedBroker
    from tasks.logsetup import for_celery

    if not settings.broker_url:
        EmbeddedBroker(settings.home).start()
    settings.home.mkdir(parents=True, exist_ok=True)
    level = for_celery(settings.tree.logging, args.loglevel)
    app = create_app(settings)
    app.start(["beat", "-l", logging.getLevelName(level),
               "-s", str(settings.home / "celerybeat-schedule"),
               "--pidfile", str(settings.home / "celerybeat.pid")])
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.service import run_service

    return run_service(settings, demo=not args.no_demo, demo_port=args.demo_port,
                       host=args.host, port=args.port)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from tasks.service import run_demo_once

    result = run_demo_once(settings, timeout=args.timeout, port=args.port)
    if args.json:
        _emit(result)
    else:
        for key, value in result.items():
            print(f"{key:>10}: {value}")
    return 0


# ---------------------------------------------------------------- parser

# Command groups that live in modules of their own (one per feature) register here: each
# module has `register(sub) -> None`, adding its parsers with `set_defaults(func=handler)`
# where handler(args, settings) -> exit code. They import their helpers from
# tasks.cli_common, never from this module, so the imports run one way.
COMMAND_MODULES: tuple[ModuleType, ...] = (cli_desk, cli_events, cli_digest, cli_users,
                                           cli_register, cli_status, cli_notify, cli_prune)



def _positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1, with the reason when it is not."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value

def _positive_float(text: str) -> float:
    """An argparse type: a number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0: {text}")
    return value


def _iso_date(text: str) -> date:
    """An argparse type: a calendar day written YYYY-MM-DD."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date written YYYY-MM-DD: {text!r}") from None


def _port(text: str) -> int:
    """An argparse type: a TCP port number, 1–65535."""
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"not a port number (1–65535): {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="yuqing", description="舆情监测与回应 — public-opinion monitoring "
                "for government press offices")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)

    s = sub.add_parser("init", help="create/upgrade the database (idempotent), load sources")
    s.add_argument("--sources", type=Path, help="a YAML file of sources (see "
                   "config/sources.example.yaml)")
    s.add_argument("--demo", action="store_true", help="add the bundled demo sources")
    s.add_argument("--demo-url", help="where the demo server serves them "
                   f"(default http://127.0.0.1:{DEFAULT_DEMO_PORT}/feeds)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("sources", help="add, list or remove sources")
    ss = s.add_subparsers(dest="sources_cmd", required=True, parser_class=_Parser)
    a = ss.add_parser("add", help="add (or update by name) a feed")
    a.add_argument("url")
    a.add_argument("--name")
    a.add_argument("--kind", default="news", help="news|government|weibo|wechat|board")
    a.add_argument("--interval", type=int,
                   help="seconds between polls (default: poll.default_interval)")
    a.add_argument("--allow-private", action="store_true",
                   help="allow a loopback/private address (e.g. an intranet bridge)")
    a.add_argument("--json", action="store_true")
    ls = ss.add_parser("list", help="sources with their health")
    ls.add_argument("--json", action="store_true")
    en = ss.add_parser("enable", help="poll again a source marked gone (HTTP 410)")
    en.add_argument("source", help="id or name")
    rm = ss.add_parser("remove", help="remove a source by id or name")
    rm.add_argument("source")
    rm.add_argument("--purge", action="store_true", help="also delete its stored items")
    s.set_defaults(func=cmd_sources)

    s = sub.add_parser("poll", help="poll one source now, in this process")
    s.add_argument("source", help="id or name")
    s.add_argument("--no-analyze", action="store_true")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_poll)

    s = sub.add_parser("alerts", help="the alert queue")
    sa = s.add_subparsers(dest="alerts_cmd", required=True, parser_class=_Parser)
    al = sa.add_parser("list", help="highest priority and nearest deadline first")
    al.add_argument("--priority", choices=["P1", "P2", "P3"])
    al.add_argument("--state", choices=["open", "all", *ALERT_STATES], default="open",
                    help="open (any open state, the default), all, or one state")
    al.add_argument("--limit", type=_positive_int, default=50,
                    help="at most this many (default 50)")
    al.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_alerts)

    s = sub.add_parser("sentiment", help="score, evaluate or train sentiment")
    se = s.add_subparsers(dest="sentiment_cmd", required=True, parser_class=_Parser)
    sc = se.add_parser("score", help='JSONL {"text": ...} on stdin → with "score", "label" '
                       '(and "p_negative", "p_neutral", "p_positive" from a three-class engine)')
    sc.add_argument("--engine")
    ev = se.add_parser("eval", help="evaluate an engine on labelled JSONL, or on the "
                       "office's reviewed items (--reviews)")
    ev.add_argument("file", type=Path, nargs="?")
    ev.add_argument("--reviews", action="store_true",
                    help="the items officers reviewed on the desk, labelled by their majority")
    ev.add_argument("--engine")
    ev.add_argument("--model", metavar="VERSION",
                    help='a version of the weibo model (`sentiment models list`, or '
                    '"shipped"); default: the active one')
    ev.add_argument("--json", action="store_true")
    tr = se.add_parser("train", help="train the Weibo model from labelled data")
    tr.add_argument("--data", type=Path, required=True)
    tr.add_argument("--out", type=Path, help="write the model files here (without "
                    "--register: only that, no version)")
    cli_models.add_train_options(tr)
    tr.add_argument("--reviews", action="store_true",
                    help="also train on the items officers reviewed on the desk")
    tr.add_argument("--reviews-weight", type=_positive_float, default=None, metavar="W",
                    help="weight of a reviewed item's row (default 3.0)")
    ex = se.add_parser("export-labels", help="the items officers reviewed on the desk, as "
                       "labelled JSONL for `sentiment eval` (label: the officers' majority)")
    ex.add_argument("--out", type=Path, required=True, metavar="FILE.jsonl")
    ex.add_argument("--since", type=_iso_date, metavar="YYYY-MM-DD",
                    help="only items reviewed on or after this day (the office's time zone)")
    s.set_defaults(func=cmd_sentiment)
    cli_models.register(se)

    s = sub.add_parser("demo", help="one shot: poll the bundled demo feeds through a real "
                       "worker and report")
    s.add_argument("--json", action="store_true")
    s.add_argument("--timeout", type=float, default=600.0)
    s.add_argument("--port", type=_port, help="serve the demo feeds on this port (default "
                   f"{DEFAULT_DEMO_PORT}, or any free one when that is taken)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("demo-server", help="serve the bundled demo feeds on loopback")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=DEFAULT_DEMO_PORT)
    s.add_argument("--as-recorded", action="store_true",
                   help="serve the files' own dates (default: moved so the newest is today)")
    s.set_defaults(func=cmd_demo_server)

    s = sub.add_parser("worker", help="a Celery worker (queues poll, analyze, notify, "
                       "schedule; give beat's clock a worker of its own with "
                       "--queues schedule --concurrency 1)")
    s.add_argument("--concurrency", type=int)
    s.add_argument("--queues", default="poll,analyze,notify,schedule")
    s.add_argument("--loglevel", help="debug|info|warning|error (default logging.level)")
    s.set_defaults(func=cmd_worker)

    s = sub.add_parser("beat", help="the scheduler that enqueues due sources")
    s.add_argument("--loglevel", help="debug|info|warning|error (default logging.level)")
    s.set_defaults(func=cmd_beat)

    s = sub.add_parser("run", help="the whole service: broker, worker, beat, demo feeds")
    s.add_argument("--no-demo", action="store_true", help="don't serve or add the demo feeds")
    s.add_argument("--demo-port", type=_port, default=DEFAULT_DEMO_PORT)
    s.add_argument("--host", default="127.0.0.1",
                   help="the desk's address (default 127.0.0.1; 0.0.0.0 behind a proxy)")
    s.add_argument("--port", type=_port, help="the desk's port (default web.port, 8000)")
    s.set_defaults(func=cmd_run)

    for module in COMMAND_MODULES:
        module.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        return int(args.func(args, settings))
    except YuqingError as exc:
        code = exit_code(exc)
        # Code 2 is the person's to fix ("error: …", as argparse says it); 1 is ours.
        print(f"yuqing: {'error: ' if code == 2 else ''}{exc}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `yuqing alerts list | head`: the reader left; that is not an error worth a trace.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
