"""Upgrading keeps what is stored: rows written at the first revision survive every later
migration, on SQLite (where altering a table copies it) and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from monitor.db import _alembic_config, make_engine, migrate


def test_upgrade_from_first_revision_keeps_rows(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    command.upgrade(_alembic_config(engine), "0001")
    now = datetime(2026, 11, 20, tzinfo=UTC).isoformat(sep=" ")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sources (id, name, url, kind, host, interval_s, allow_private,"
            " failure_count, items_seen, created_at) VALUES (1, '源', 'https://a.example/',"
            " 'news', 'a.example', 600, 0, 0, 1, :now)"), {"now": now})
        conn.execute(text(
            "INSERT INTO items (id, source_id, entry_id, content_hash, title, text,"
            " fetched_at, topics, keywords, analysis_runs) VALUES (1, 1, 'e1', 'h1', '标题',"
            " '正文', :now, '[]', '[]', 1)"), {"now": now})
        conn.execute(text(
            "INSERT INTO alerts (id, item_id, priority, state, reasons, topics, sla_rule,"
            " milestones, created_at, due_at) VALUES (1, 1, 'P2', 'new', '[]', '[]',"
            " 'government_affairs', '[]', :now, :now)"), {"now": now})
    heads = migrate(engine)
    assert heads and "0001" not in heads.split(",")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sources")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM items")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert migrate(engine) == heads  # idempotent
    engine.dispose()


def test_migrations_match_the_models(db_url):
    """Every model change comes with its migration (SQLite, or PostgreSQL in CI)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import responders.models  # noqa: F401  (the desk's tables share the metadata)
    from monitor.models import Base

    engine = make_engine(db_url)  # the fixture has migrated it to the newest revision
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
