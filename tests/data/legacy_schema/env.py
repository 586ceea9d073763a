"""Alembic environment for the frozen pre-issue-11 migrations (tests only): the same engine
handling as monitor/migrations/env.py had then, with no metadata (nothing autogenerates)."""

from __future__ import annotations

from alembic import context

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=None, render_as_batch=sqlite)
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
