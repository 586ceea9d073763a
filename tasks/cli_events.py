"""`yuqing import FILE` and `yuqing events list`: pushed posts in, events out."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from monitor.settings import Settings
from tasks import cli_evidence
from tasks.cli_common import _emit, _local, _Parser, _runtime


def _enqueue(settings: Settings, ids: list[int]) -> bool:
    """Hand the items to the workers; False when no broker answers (then analyse here)."""
    from tasks.celery_app import create_app

    app = create_app(settings)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception:  # noqa: BLE001 - any broker failure means "no workers to hand to"
        return False
    size = settings.analyze.batch_size
    for i in range(0, len(ids), size):
        app.send_task("monitor.analyze_items", args=[ids[i:i + size]], queue="analyze")
    return True


def _done(rt: Any, ids: list[int]) -> int:
    from monitor.models import Item

    with rt.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Item).where(
            Item.id.in_(ids), Item.event_id.is_(None))) or 0)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.analyze import analyze_items
    from monitor.event_store import EventSettings
    from monitor.importing import push_source, read_posts_as, store_posts
    from responders.alerts import open_alerts
    from responders.board_replies import close_answered

    posts, encoding = read_posts_as(args.file, args.encoding)
    rt = _runtime(settings)
    now = datetime.now(UTC)
    with rt.sessions() as session:
        # A --kind the source cannot take raises here, before anything is stored.
        source = push_source(session, args.source, now, kind=args.kind)
        result = store_posts(session, source, posts, now)
        close_answered(session, result.answered_ids, now)
        session.commit()
    ids = result.item_ids
    if ids and not _enqueue(settings, ids):
        # No broker: analyse in this process, as `yuqing poll` does.
        with rt.sessions() as session:
            analyses = analyze_items(
                session, ids, scorer=rt.scorer, taxonomy=rt.taxonomy, policy=rt.flag_policy,
                now=now, events=EventSettings.from_section(settings.events),
                own=rt.own_voice)
            open_alerts(session, analyses, rt.sla, now)
            session.commit()
    elif ids and not args.no_wait:
        deadline = time.monotonic() + args.timeout
        while _done(rt, ids) and time.monotonic() < deadline:
            time.sleep(0.5)
    out = result.as_dict()
    if args.json:
        _emit(out)
    else:
        read_as = "" if encoding == "utf-8" else f" (read as {encoding})"
        print(f"imported {out['imported']}, duplicates {out['duplicates']}, "
              f"errors {len(out['errors'])}{read_as}")
        for err in out["errors"]:
            print(f"  line {err['line']}: {err['error']}")
    return 0


def event_rows(session: Any) -> list[dict[str, Any]]:
    from monitor.models import Event, Item
    from responders.queue import event_links

    events = session.scalars(select(Event).order_by(Event.item_count.desc(), Event.id)).all()
    members: dict[int, list[str]] = {}
    for event_id, ext in session.execute(
            select(Item.event_id, Item.external_id).where(Item.event_id.is_not(None))
            .order_by(Item.id)):
        if ext is not None:
            members.setdefault(int(event_id), []).append(str(ext))
    # One query for the links of every listed event, not one per row.
    links = event_links(session, (e.id for e in events))
    rows = []
    for e in events:
        first = session.get(Item, e.first_item_id) if e.first_item_id else None
        rows.append({
            "id": e.id,
            "kind": e.kind,
            "items": e.item_count,
            "external_ids": members.get(e.id, []),
            "links": links.get(e.id, []),
            "first_item_text": (first.text or first.title) if first else None,
            "priority": e.priority,
            "burst": bool(e.burst),
            "burst_reason": e.burst_reason,
            "reach": e.reach,
            "negative_share": round(e.negative_share, 3),
            "topics": e.topics,
            "sources": len(e.source_ids),
            "first_seen_at": e.first_seen_at,
            "last_seen_at": e.last_seen_at,
        })
    return rows


def cmd_events(args: argparse.Namespace, settings: Settings) -> int:
    rt = _runtime(settings)
    with rt.sessions() as session:
        rows = event_rows(session)
    if args.json:
        _emit(rows, settings.timezone)
        return 0
    if not rows:
        print("no events yet")
        return 0
    # People read topic names (公证), not the taxonomy's ids; --json keeps the ids.
    names = {t.id: t.name for t in rt.taxonomy.topics}
    for r in rows:
        flag = "  爆发" if r["burst"] else ""
        print(f"#{r['id']:<5} {r['priority'] or '--'}  {r['items']} 条  传播 {r['reach']}  "
              f"{r['sources']} 个来源{flag}")
        print(f"       {(r['first_item_text'] or '')[:80]}")
        if r["topics"]:
            print("       话题：" + "、".join(names.get(t, t) for t in r["topics"]))
        if r["burst_reason"]:
            print(f"       {r['burst_reason']}")
    return 0


def event_detail(session: Any, event_id: int, settings: Settings, now: datetime
                 ) -> dict[str, Any]:
    """One event as `events show` gives it: its fields, its items, its alert, the office's
    own posts in it and 回应效果 (None when nothing answered it yet)."""
    from monitor.errors import NotFound
    from monitor.event_store import seen_at
    from monitor.models import Event, Item
    from monitor.office import OwnVoice
    from responders.alerts import event_alert
    from responders.effect import load_effect
    from responders.voice import own_posts

    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"no event {event_id} (see `yuqing events list`)")
    own = OwnVoice.from_section(settings.office_voice)
    items = list(session.scalars(select(Item).where(Item.event_id == event.id)
                                 .order_by(Item.published_at, Item.id)))
    items.sort(key=lambda i: (seen_at(i), i.id))
    alert = event_alert(session, event.id)
    effect = load_effect(session, event.id, own, hours=settings.office_voice.effect_hours,
                         now=now)
    return {
        "id": event.id, "kind": event.kind, "priority": event.priority,
        "items_count": event.item_count, "reach": event.reach,
        "negative_share": round(event.negative_share, 3), "topics": event.topics,
        "burst": bool(event.burst), "burst_reason": event.burst_reason,
        "first_seen_at": event.first_seen_at, "last_seen_at": event.last_seen_at,
        "alert": None if alert is None else {
            "id": alert.id, "priority": alert.priority, "state": alert.state,
            "due_at": alert.due_at},
        "items": [{
            "id": i.id, "source": i.source.name, "source_kind": i.source.kind,
            "author": i.author, "published_at": i.published_at, "fetched_at": i.fetched_at,
            "sentiment": i.sentiment_label, "sentiment_score": i.sentiment_score,
            "title": i.title, "text": i.text[:200], "link": i.link,
            "own": own.is_own(i.source.name, i.author)} for i in items],
        "own_posts": [{"item_id": p.item_id, "channel": p.channel, "at": p.at,
                       "link": p.link, "title": p.title, "source": p.source,
                       "account": p.account,
                       "output_id": p.output_id} for p in own_posts(session, items, own)],
        "effect": None if effect is None else effect.as_dict(),
    }


def cmd_event_show(args: argparse.Namespace, settings: Settings) -> int:
    rt = _runtime(settings)
    with rt.sessions() as session:
        d = event_detail(session, args.id, settings, datetime.now(UTC))
    if args.json:
        _emit(d, settings.timezone)
        return 0
    names = {t.id: t.name for t in rt.taxonomy.topics}
    print(f"事件 #{d['id']}  {d['priority'] or '--'}  {d['items_count']} 条  "
          f"传播 {d['reach']}  负面占比 {d['negative_share']:.0%}")
    if d["topics"]:
        print("话题：" + "、".join(names.get(t, t) for t in d["topics"]))
    a = d["alert"]
    print(f"预警：#{a['id']} {a['priority']} {a['state']}" if a else "预警：无")
    for i in d["items"]:
        mark = "［本单位］" if i["own"] else ""
        print(f"  {_local(i['published_at'] or i['fetched_at'], settings)}  "
              f"{i['sentiment'] or '-':8} {i['source']}"
              f"{'·' + i['author'] if i['author'] else ''}{mark}：{(i['title'] or i['text'])[:50]}")
        if i["link"]:
            print(f"      {i['link']}")
    for p in d["own_posts"]:
        print(f"本单位已发声：{p['channel']} {_local(p['at'], settings)} {p['link'] or ''}"
              + ("（已记入台账）" if p["output_id"] else ""))
    e = d["effect"]
    if e is None:
        print("回应效果：尚无回应")
        return 0
    print(f"回应效果：首次回应 {_local(e['first_response_at'], settings)}"
          f"（{'发布台账' if e['response_kind'] == 'output' else '本单位发声'}）")
    for label, w in (("回应前", e["before"]), ("回应后", e["after"])):
        share = "-" if w["negative_share"] is None else f"{w['negative_share']:.0%}"
        print(f"  {label} {w['hours']} 小时：{w['items']} 条，每小时 {w['per_hour_mean']}，"
              f"负面占比 {share}")
    return 0


def cmd_source_token(args: argparse.Namespace, settings: Settings) -> int:
    """A new push token for a source (created as a push source when there is none by that
    name). The token is printed once; only its hash is kept, and it replaces any earlier
    token of the source (that one stops working)."""
    from monitor.importing import new_token, push_source
    from monitor.models import Source

    rt = _runtime(settings)
    now = datetime.now(UTC)
    with rt.sessions() as session:
        existing = session.scalars(select(Source).where(Source.name == args.name.strip())
                                   ).one_or_none()
        source = existing or push_source(session, args.name, now)
        replaced = bool(source.ingest_token_hash)
        token = new_token(source)
        session.commit()
        out = {"source": source.name, "source_id": source.id, "kind": source.kind,
               "created": existing is None, "replaced": replaced, "token": token}
    if args.json:
        _emit(out)
    else:
        print(f"push token for source {out['source']!r} (id {out['source_id']})"
              + ("; the previous token no longer works" if replaced else "") + ":")
        print(token)
        print("shown once: send it as `Authorization: Bearer <token>` to POST /api/v1/ingest")
    return 0


def _sources_subparsers(sub: Any) -> Any:
    """The `yuqing sources` group's sub-commands (built in tasks.cli), to add `token` to."""
    group = sub.choices["sources"]
    return next(a for a in group._actions if isinstance(a, argparse._SubParsersAction))


def register(sub: Any) -> None:
    t = _sources_subparsers(sub).add_parser(
        "token", help="a new push token for POST /api/v1/ingest (printed once)")
    t.add_argument("name", help="the source's name (a push source is created if none)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_source_token)

    s = sub.add_parser("import", help="import posts from a JSONL or CSV file")
    s.add_argument("file", type=Path)
    s.add_argument("--source", help="the push source to file them under (created if new)")
    # The kind says how the analysis reads the posts (a board's are citizens' messages, each
    # an event of its own); a source created by an import is never polled, whatever its kind.
    # Checked by monitor.importing.push_source (monitor.sources.KINDS), as `sources add`
    # checks its --kind: importing monitor.sources here would slow every command's start.
    s.add_argument("--kind", help="news|government|weibo|wechat|board: the kind of a "
                   "source this import creates (default push); an existing source keeps "
                   "its own")
    s.add_argument("--encoding", help="the file's encoding (default: UTF-8; a CSV that is "
                   "not UTF-8 is read as GBK/GB18030 when it reads as Chinese)")
    s.add_argument("--json", action="store_true")
    s.add_argument("--no-wait", action="store_true",
                   help="return at once instead of waiting for the workers' analysis")
    s.add_argument("--timeout", type=float, default=600.0, help=argparse.SUPPRESS)
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("events", help="events: near-duplicate posts grouped")
    se = s.add_subparsers(dest="events_cmd", required=True, parser_class=_Parser)
    ls = se.add_parser("list", help="largest first")
    ls.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_events)
    sh = se.add_parser("show", help="one event: its items, alert, own posts and 回应效果")
    sh.add_argument("id", type=int)
    sh.add_argument("--json", action="store_true")
    sh.set_defaults(func=cmd_event_show)
    cli_evidence.register_events(se)  # report, export (issue 18)
