"""search: a substring index over items' title and text that works for Chinese

Revision ID: core_0007
Revises: core_0008
Create Date: 2026-12-02

Issue 16 (search). Chinese has no spaces between words, so a word index finds nothing; both
databases index character trigrams instead, and any substring of three or more characters
is found through the index:

- SQLite: `items_fts`, an FTS5 table with the trigram tokenizer and external content
  (`content='items'`: it holds the index only, the text stays in `items`), kept in step by
  three triggers on `items` — insert, delete, and an update of title or text (an analysis
  that writes the sentiment leaves the index alone). Filled from the rows already stored.
- PostgreSQL: the pg_trgm extension and a GIN index on `title || ' ' || text`, which
  `ILIKE '%…%'` uses. `CREATE EXTENSION` needs the right to create it (the owner of the
  database, or a superuser); without it the revision still applies and search works by a
  scan, with a warning saying so.

The index is the migration's alone (no model declares it); responders.search reads it.
"""

import logging

from alembic import op

revision = "core_0007"
down_revision = "core_0008"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

SQLITE_UP = [
    "CREATE VIRTUAL TABLE items_fts USING fts5(title, text, content='items', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, text ON items BEGIN "
    "INSERT INTO items_fts(items_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, old.text); "
    "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "INSERT INTO items_fts(items_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS items_fts_update", "DROP TRIGGER IF EXISTS items_fts_delete",
               "DROP TRIGGER IF EXISTS items_fts_insert", "DROP TABLE IF EXISTS items_fts"]
PG_INDEX = ("CREATE INDEX IF NOT EXISTS ix_search_items_trgm ON items "
            "USING gin ((title || ' ' || text) gin_trgm_ops)")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
        return
    if bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():
                op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception as exc:  # noqa: BLE001 — any refusal: search scans instead
            log.warning("search: pg_trgm could not be created (%s); search will scan "
                        "items instead of using an index. A superuser can run "
                        "CREATE EXTENSION pg_trgm; and then %s;",
                        str(exc).splitlines()[0], PG_INDEX)
            return
        op.execute(PG_INDEX)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_items_trgm")
