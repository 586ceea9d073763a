"""Migrations: each package's branch has one head, the core's branch works alone, the models
and the migrations agree, and upgrading keeps what is stored — rows written at the core's
first revision survive later migrations, and a database built by the mixed history of before
issue 11 (revisions 0001 … 0400_merge) becomes the new layout with every row of every table
kept, on SQLite (where altering a table copies it) and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Text,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

import responders.models  # noqa: F401  (the desk's tables share the metadata)
from monitor.db import CORE_VERSIONS, alembic_config, current_heads, make_engine
from monitor.db import migrate as migrate_core
from monitor.models import (
    Base,
    BurstCount,
    CoverageGap,
    Event,
    EventTerm,
    Item,
    ItemGone,
    ItemRaw,
    Source,
)
from responders.schema import VERSION_DIRS, migrate

LEGACY_DIR = Path(__file__).resolve().parents[1] / "data" / "legacy_schema"
CORE_TABLES = {t.__tablename__ for t in (Source, Item, Event, EventTerm, BurstCount,
                                          ItemRaw, ItemGone, CoverageGap)}
NOW = datetime(2026, 11, 20, 1, 2, 3, tzinfo=UTC)


def test_upgrade_from_first_revision_keeps_rows(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(alembic_config(engine), "core_0001")
    now = NOW.isoformat(sep=" ")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sources (id, name, url, kind, host, interval_s, allow_private,"
            " failure_count, items_seen, created_at) VALUES (1, '源', 'https://a.example/',"
            " 'news', 'a.example', 600, 0, 0, 1, :now)"), {"now": now})
        conn.execute(text(
            "INSERT INTO items (id, source_id, entry_id, content_hash, title, text,"
            " fetched_at, topics, keywords, analysis_runs) VALUES (1, 1, 'e1', 'h1', '标题',"
            " '正文', :now, '[]', '[]', 1)"), {"now": now})
    heads = migrate(engine)
    assert heads and "core_0001" not in heads.split(",")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sources")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM items")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert migrate(engine) == heads  # idempotent
    engine.dispose()


def test_migrations_match_the_models(db_url):
    """Every model change comes with its migration (SQLite, or PostgreSQL in CI)."""
    engine = make_engine(db_url)  # the fixture has migrated it to the newest revision
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={
            "include_object": lambda _o, name, _k, _r, _t: not _search_index(name)}),
            Base.metadata)
    engine.dispose()
    assert diff == []


def _search_index(name: str | None) -> bool:
    """core_0007's search index (SQLite's FTS5 table and its shadow tables, PostgreSQL's
    trigram index) belongs to the migration alone: no model declares it."""
    return bool(name) and (name.startswith("items_fts") or name.startswith("ix_search_"))


def _script(dirs: tuple[Path, ...] = VERSION_DIRS) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(None, dirs))


def test_each_branch_has_one_head_and_no_merges():
    script = _script()
    revisions = list(script.walk_revisions())
    assert [r.revision for r in revisions if r.is_merge_point] == []
    heads = script.get_heads()
    bases = script.get_bases()
    # One head per base: a second head in a branch (two changes started from one revision)
    # fails here instead of being joined by a merge revision.
    assert len(heads) == len(bases) == 2, (heads, bases)
    for label in ("core", "desk"):
        assert len(script.get_revisions(f"{label}@head")) == 1, label
    # Following down_revision alone (not depends_on), each head leads to its own base.
    reached = set()
    for head in heads:
        rev = script.get_revision(head)
        while rev.down_revision is not None:
            assert isinstance(rev.down_revision, str)
            rev = script.get_revision(rev.down_revision)
        reached.add(rev.revision)
    assert reached == set(bases)
    # The desk's branch starts from nothing of the core's but depends on its events revision.
    desk_base = script.get_revision("desk_0001")
    assert desk_base.branch_labels == {"desk"}
    assert desk_base.down_revision is None
    assert desk_base.dependencies == "core_0002"


def test_the_cores_branch_upgrades_alone(empty_databases):
    """monitor/ stands alone: its migrations build its tables and nothing of the desk's."""
    files = {"_".join(p.stem.split("_")[:2]) for p in Path(CORE_VERSIONS).glob("core_*.py")}
    revisions = {r.revision for r in _script((CORE_VERSIONS,)).walk_revisions()}
    assert revisions == files and {"core_0001", "core_0004"} <= revisions
    engine = make_engine(empty_databases())
    assert migrate_core(engine) == _script((CORE_VERSIONS,)).get_current_head()
    assert {n for n in inspect(engine).get_table_names() if not _search_index(n)} == \
        CORE_TABLES | {"alembic_version"}
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(
                conn, opts={"include_object": lambda _obj, name, kind, _reflected, _to:
                            not _search_index(name)
                            and (kind != "table" or name in CORE_TABLES)}),
            Base.metadata)
    assert diff == []
    # The desk's branch can follow later, on the same database.
    assert migrate(engine) == _fresh_heads(empty_databases)
    engine.dispose()


def _fresh_heads(empty_databases: Any) -> str | None:
    engine = make_engine(empty_databases())
    heads = migrate(engine)
    engine.dispose()
    return heads


# --- the database of before issue 11 -------------------------------------------------------


def _legacy_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(LEGACY_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def _value(table: str, column: Any) -> Any:
    """A value of the column's type, different for each column, so a column that lost or
    swapped its data would show."""
    tag = f"{table}.{column.name}"
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, BigInteger):
        return 12_345_678_901
    if isinstance(kind, Integer):
        return 1 if column.foreign_keys or column.primary_key else len(tag)
    if isinstance(kind, Float):
        return len(tag) / 100
    if isinstance(kind, DateTime):
        return NOW.replace(second=len(tag) % 60)
    if isinstance(kind, Date):
        return date(2026, 11, len(tag) % 28 + 1)
    if isinstance(kind, JSON):
        return {"列": tag, "n": [1, 2]}
    if isinstance(kind, String) and kind.length:
        return ("值" + tag)[: kind.length]
    if isinstance(kind, Text | String):
        return "正文：" + tag
    raise AssertionError(f"no sample value for {tag} ({kind!r})")


def _fill_every_table(engine: Engine) -> list[str]:
    meta = MetaData()
    meta.reflect(engine)
    names = sorted(n for n in meta.tables if n != "alembic_version")
    with engine.begin() as conn:
        # Parents first; items ↔ events refer to each other: the item's event is set once
        # both exist.
        order = ["sources", "items", "events", "users", "alerts", "api_tokens", "web_sessions",
                 "audit_log", "policies", "outputs", "publications", "mail_log", "reminders"]
        assert sorted(order) == names
        for name in order:
            table = meta.tables[name]
            row = {c.name: _value(name, c) for c in table.columns}
            if name == "items":
                row["event_id"] = None
            conn.execute(table.insert().values(**row))
        items = meta.tables["items"]
        conn.execute(update(items).values(event_id=1))
    return names


def _dump(engine: Engine, names: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    meta = MetaData()
    meta.reflect(engine, only=names)
    with engine.connect() as conn:
        return {n: [tuple(r) for r in conn.execute(select(meta.tables[n]))] for n in names}


def _schema(engine: Engine) -> dict[str, Any]:
    """Everything the inspector sees, in a comparable form."""
    insp = inspect(engine)
    out: dict[str, Any] = {}
    for name in sorted(insp.get_table_names()):
        out[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                        for c in insp.get_columns(name)],
            "pk": insp.get_pk_constraint(name)["constrained_columns"],
            "fks": sorted((f["name"], tuple(f["constrained_columns"]), f["referred_table"],
                           tuple(f["referred_columns"]), str(sorted(f["options"].items())))
                          for f in insp.get_foreign_keys(name)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in insp.get_indexes(name)),
            "uniques": sorted((u["name"], tuple(u["column_names"]))
                              for u in insp.get_unique_constraints(name)),
        }
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            triggers = conn.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
        else:
            triggers = conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars()
        out["triggers"] = sorted(triggers)
    return out


def test_a_database_at_the_old_head_upgrades_with_every_row_kept(empty_databases):
    old = make_engine(empty_databases())
    command.upgrade(_legacy_config(old), "heads")
    assert current_heads(old) == {"0400_merge"}
    names = _fill_every_table(old)
    assert len(names) == 13  # sources … reminders: every table of the old head has a row
    before = _dump(old, names)
    assert all(len(rows) == 1 for rows in before.values())

    heads = migrate(old)

    assert heads == _fresh_heads(empty_databases)
    after = _dump(old, names)
    # desk_0004 added the alert's clock columns at the end: the old alert's clock is its
    # created_at (clock_from NULL), no publication time is known, and it is not backfill.
    assert [r[-3:] for r in after["alerts"]] == [(None, None, False)]
    after["alerts"] = [r[:-3] for r in after["alerts"]]
    # core_0003 added the event's story profile (empty) and merged_into (none) at the end,
    # core_0012 the change number after them (0: written before any reader's mark).
    assert [r[-3:] for r in after["events"]] == [({}, None, 0)]
    after["events"] = [r[:-3] for r in after["events"]]
    # desk_0005 added outputs.own_item_id at the end: an old output records no own post.
    assert [r[-1:] for r in after["outputs"]] == [(None,)]
    after["outputs"] = [r[:-1] for r in after["outputs"]]
    # desk_0006 added api_tokens.user_id at the end: an old token acts for nobody (read-only).
    assert [r[-1:] for r in after["api_tokens"]] == [(None,)]
    after["api_tokens"] = [r[:-1] for r in after["api_tokens"]]
    # core_0010 added the three class probabilities at the end of items, core_0011 the model
    # version after them: none for an old item.
    assert [r[-4:] for r in after["items"]] == [(None, None, None, None)]
    after["items"] = [r[:-4] for r in after["items"]]
    assert after == before
    # The same schema as a database built by the new branches from nothing …
    fresh = make_engine(empty_databases())
    migrate(fresh)
    assert _schema(old) == _schema(fresh)
    fresh.dispose()
    # … which the models agree with, and the audit log is still append-only.
    with old.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn, opts={
            "include_object": lambda _o, name, _k, _r, _t: not _search_index(name)}),
            Base.metadata) == []
    with pytest.raises(DBAPIError, match="append-only"), old.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'x'"))
    assert migrate(old) == heads  # idempotent
    old.dispose()


def test_a_development_database_before_the_merge_is_refused_in_words(empty_databases):
    from monitor.errors import ConfigError

    engine = make_engine(empty_databases())
    command.upgrade(_legacy_config(engine), "0201_events")
    with pytest.raises(ConfigError, match="development schema .*revisions 0201_events"):
        migrate(engine)
    assert current_heads(engine) == {"0201_events"}  # nothing was changed
    engine.dispose()
