"""Alembic environment: the engine is handed in by monitor.db.migrate (no alembic.ini).

One environment serves every branch: the core's revisions (monitor/migrations/versions) and
any other package's (the desk's, responders/migrations/versions), named in version_locations.
`target_metadata` matters only to autogenerate: a caller that generates a desk revision passes
the metadata with the desk's models loaded (attributes["metadata"]).
"""

from __future__ import annotations

from alembic import context

from monitor.models import Base

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # SQLite alters a table by copying it into a new one and dropping the old one. With
        # foreign keys enforced, that drop would cascade and delete every row pointing at the
        # table (items, alerts …). Off during migrations, outside any transaction (SQLite
        # ignores this pragma inside one), and on again afterwards.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=context.config.attributes.get("metadata", Base.metadata),
        render_as_batch=sqlite,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
    if sqlite:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.commit()
        if problems:
            raise RuntimeError(f"migration left rows with broken foreign keys: {problems[:5]}")
