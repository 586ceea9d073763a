"""Database engines, sessions and migrations. Built per process by the edges, never at import."""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import ColumnElement, Engine, Insert, any_, bindparam, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The core's own Alembic branch ("core": sources, items, events). Other packages that add
# tables (the desk, responders/migrations) bring their own branch and pass its folder too.
CORE_VERSIONS = MIGRATIONS_DIR / "versions"


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout so worker, beat and CLI
    processes can share one file without 'database is locked' errors."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgres"):
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return create_engine(url, pool_pre_ping=True)
    raise ConfigError(f"unsupported database URL {url!r}: use sqlite:/// or postgresql://")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def insert_ignore(session: Session, table: Any) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING for the session's dialect (SQLite or PostgreSQL)."""
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    raise ConfigError(f"database dialect {name!r} is not supported")


def one_of(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL as `column = ANY(:array)`, one parameter: an
    expanding IN renders a statement text with a parameter per value at every execution,
    which psycopg then parses afresh — for the few hundred ids or terms of an analysis
    batch, more CPU than the query itself. The same rows either way."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[bool], column == any_(
            bindparam(None, list(values), type_=postgresql.ARRAY(column.type))))
    return cast(ColumnElement[bool], column.in_(values))


def alembic_config(engine: Engine, version_dirs: Sequence[Path] = (CORE_VERSIONS,)) -> Any:
    """Alembic's configuration for `engine` over the given branches' folders (no alembic.ini:
    the one env.py lives in monitor/migrations, each branch's revisions in its own folder)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(d) for d in version_dirs))
    cfg.attributes["engine"] = engine
    return cfg


def current_heads(engine: Engine) -> set[str]:
    """The revisions the database is stamped with (empty for a new database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def migrate(engine: Engine, version_dirs: Sequence[Path] = (CORE_VERSIONS,)) -> str | None:
    """Bring the schema to the newest revision of every branch given (by default the core's
    alone); safe to run again. Returns the revisions, comma-separated."""
    from alembic import command

    # "heads": each branch has one head (a test keeps it so); all of them are applied, in the
    # order their depends_on asks for.
    command.upgrade(alembic_config(engine, version_dirs), "heads")
    heads = current_heads(engine)
    return ",".join(sorted(heads)) if heads else None
