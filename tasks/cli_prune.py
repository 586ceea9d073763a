"""`yuqing prune [--dry-run] [--json]`: retention of old items (monitor.retention)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from monitor.settings import Settings
from tasks.cli_common import _emit, _local, _runtime


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    from monitor.retention import PruneResult, plan, prune_batch
    from responders.kept_items import referenced

    days = settings.retention.items_days
    rt = _runtime(settings)
    now = datetime.now(UTC)
    with rt.sessions() as session:
        p = plan(session, now, days, referenced)
    if days is None:
        message = "retention.items_days is null: every item is kept, nothing to prune"
    elif args.dry_run:
        message = (f"would delete {p.prunable} items first seen before "
                   f"{_local(p.cutoff, settings)}; {p.kept} older items are kept because an "
                   "alert, output or evidence refers to them")
    if args.dry_run or days is None:
        if args.json:
            _emit({"dry_run": bool(args.dry_run), "items_days": days, "cutoff": p.cutoff,
                   "prunable": p.prunable, "kept": p.kept, "oldest": p.oldest},
                  settings.timezone)
        else:
            print(message)
        return 0
    total = PruneResult()
    while True:
        # One short transaction per batch: the CLI is the boundary that commits.
        with rt.sessions() as session:
            done = prune_batch(session, now, days, referenced,
                               batch_size=settings.retention.batch_size)
            session.commit()
        total.items += done.items
        total.events_updated += done.events_updated
        total.events_deleted += done.events_deleted
        total.batches += done.batches
        if done.done:
            break
    if args.json:
        _emit({"dry_run": False, "items_days": days, "cutoff": p.cutoff, "deleted": total.items,
               "events_updated": total.events_updated, "events_deleted": total.events_deleted,
               "batches": total.batches, "kept": p.kept}, settings.timezone)
    else:
        print(f"deleted {total.items} items first seen before {_local(p.cutoff, settings)} "
              f"in {total.batches} batches ({total.events_updated} events updated, "
              f"{total.events_deleted} emptied and removed); {p.kept} kept (referenced)")
    return 0


def register(sub: Any) -> None:
    s = sub.add_parser("prune", help="delete items older than retention.items_days that no "
                       "alert, output or evidence refers to")
    s.add_argument("--dry-run", action="store_true", help="only tell what would go")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_prune)
