"""`yuqing sentiment models list|use` and the registering half of `yuqing sentiment train`.

The versions live under `$YUQING_HOME/models/sentiment/` (monitor.sentiment.registry);
workers pick up the active one at their next batch (monitor.sentiment.active). A swap is
audit-logged (actor "cli", entity "sentiment_model") when the database has an audit log;
without one (no `yuqing init` yet) the swap is still made, and the command says it was not
logged. Exit codes by the contract (tasks.cli_common): 0 done (or already so), 2 an unknown
or damaged version (nothing changed), 1 anything else.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.sentiment import registry
from monitor.sentiment.card import FIGURE_WORDS, split_fingerprint
from monitor.settings import Settings
from tasks.cli_common import _emit, _local


def _audit_sessions(settings: Settings) -> tuple[Any, str | None]:
    """(a sessionmaker, None) when the database has an audit log, else (None, why not)."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.db import make_engine, make_sessionmaker

    try:
        engine = make_engine(settings.database_url)
        if not inspect(engine).has_table("audit_log"):
            return None, "the database has no audit log yet (`yuqing init` makes one)"
    except SQLAlchemyError as exc:
        return None, f"the database cannot be reached ({type(exc).__name__})"
    return make_sessionmaker(engine), None


def swap(settings: Settings, name: str) -> tuple[str, str, bool]:
    """Make `name` active, audit-logged; (before, after, logged). The version is verified
    and loaded in full before the pointer moves (registry.use); if the audit entry cannot
    be committed, the pointer is put back, so no swap goes unrecorded where a log exists."""
    from responders.desk import audit

    root = registry.registry_root(settings.home)
    registry.check_name(name)
    before = registry.active_name(root)
    if before == name:
        registry.verify(root, name)  # "already active" only for a version that is usable
        return before, name, False
    sessions, why_not = _audit_sessions(settings)
    if sessions is None:
        before, after = registry.use(root, name)
        print(f"yuqing: warning: the swap is not audit-logged: {why_not}", file=sys.stderr)
        return before, after, False
    with sessions() as session:
        audit(session, "cli", datetime.now(UTC), entity="sentiment_model", entity_id=0,
              action="model_use", detail={"from": before, "to": name})
        session.flush()
        before, after = registry.use(root, name)
        try:
            session.commit()
        except Exception:
            registry.write_pointer(root, before)  # the log is the record: no entry, no swap
            raise
    return before, after, True


def _held_out(data: Path, staged: Path) -> dict[str, Any]:
    """The fingerprint of the test rows train measured on: the same sources, split shares
    and seed as the model file records (monitor.sentiment.train; SMP's virus_train has no
    test part there, so none here)."""
    import json

    from monitor.sentiment.train import Options, load_sources, stratified_split
    from monitor.sentiment.weibo import MODEL_NAME

    meta = json.loads((staged / f"{MODEL_NAME}.json").read_text(encoding="utf-8"))
    split = meta.get("options", {}).get("split") or Options().split
    seed = int(meta.get("seed") or 0)
    tests = {name: stratified_split(rows, (float(split[0]), float(split[1])), seed)[2]
             for name, rows in load_sources(data).items() if name != "smp_virus_train"}
    return split_fingerprint(tests)


def train_and_register(args: argparse.Namespace, settings: Settings,
                       run: Callable[[Path], dict[str, Any]],
                       progress: Callable[[str], None]) -> int:
    """`sentiment train` without --out (or with --register / --activate): `run` trains into
    a folder (--out, else a staging folder in the registry that is removed afterwards),
    whose files become a new version; active only with --activate."""
    root = registry.registry_root(settings.home)
    staged = args.out or root / f".staging-{datetime.now(UTC):%Y%m%dT%H%M%S%f}"
    try:
        metrics = run(staged)
        provenance = {"data": str(args.data.resolve()), "held_out": _held_out(args.data, staged)}
        version, created = registry.register(root, staged, datetime.now(UTC),
                                             provenance=provenance)
    finally:
        if args.out is None:
            shutil.rmtree(staged, ignore_errors=True)
    progress(f"registered sentiment model version {version.name} in {root}"
             if created else f"these files are version {version.name} already")
    activated = False
    if args.activate:
        before, _after, _logged = swap(settings, version.name)
        activated = True
        progress(f"active now (was {before}): workers use it from their next batch")
    else:
        progress(f"not active; `yuqing sentiment models use {version.name}` makes it so")
    _emit({"version": version.name, "registered": created, "active": activated,
           "folder": str(version.path), "figures": version.figures, "metrics": metrics})
    return 0


def _row(v: registry.Version, active: str) -> dict[str, Any]:
    return {"version": v.name, "active": v.name == active, "builtin": v.builtin,
            "created": v.created, "figures": v.figures, "data": v.card.get("data"),
            "held_out": v.card.get("held_out"), "path": str(v.path), "problem": v.problem}


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    root = registry.registry_root(settings.home)
    if args.models_cmd == "use":
        before, after, logged = swap(settings, args.version)
        if before == after:
            print(f"sentiment model {after} is active already")
        else:
            print(f"sentiment model {after} active (was {before}); workers use it from their "
                  f"next batch{'' if logged else ' (not audit-logged)'}")
        return 0
    active = registry.active_name(root)
    versions = registry.list_versions(root)
    if args.json:
        _emit([_row(v, active) for v in versions], settings.timezone)
        return 0
    if not any(v.name == active for v in versions):
        print(f"warning: the pointer names {active!r}, which is not here; workers keep the "
              "model they have", file=sys.stderr)
    short = {"general_binary_f1": "F1", "general_three_class_f1": "F1(3)",
             "general_auc": "AUC"}
    for v in versions:
        mark = "*" if v.name == active else " "
        when = "built in" if v.builtin else _local(v.created, settings)
        if v.problem:
            print(f"{mark} {v.name:<27} {when:<16}  DAMAGED: {v.problem}")
            continue
        figures = "  ".join(f"{short[k]} {v.figures[k]:.4f}" for k in short if k in v.figures)
        print(f"{mark} {v.name:<27} {when:<16}  {figures}")
    print(f"(* active; figures: {', '.join(FIGURE_WORDS[k] for k in short)})")
    return 0


def register(sentiment_sub: Any) -> None:
    """Adds `models` under `yuqing sentiment` (given that group's subparsers)."""
    s = sentiment_sub.add_parser("models", help="versions of the weibo model: list, use")
    ms = s.add_subparsers(dest="models_cmd", required=True, parser_class=type(s))
    ls = ms.add_parser("list", help="versions with their held-out figures; * is active")
    ls.add_argument("--json", action="store_true")
    u = ms.add_parser("use", help="make a version active (workers swap at their next batch)")
    u.add_argument("version", help="a name from `models list`, or shipped")
    s.set_defaults(func=cmd_models)


def add_train_options(train: Any) -> None:
    """`sentiment train`'s registry options (--out stays: files only, as before)."""
    train.add_argument("--register", action="store_true",
                       help="register the model as a new version (the default without --out)")
    train.add_argument("--activate", action="store_true",
                       help="and make it the active version (implies --register)")
