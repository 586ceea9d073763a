"""The whole schema: the core's Alembic branch plus the desk's own (responders/migrations).

The desk owns its tables (responders.models) and their migrations; this module is the one
place that knows both branches, so `yuqing init`, the workers and the tests bring a database
up to date through `migrate` here. The core's branch alone is `monitor.db.migrate`.

Databases built before issue 11 carry one mixed history (revisions 0001 … 0400_merge, the
alerts table created by the core's first revision). Their schema at that history's head is
exactly what the two branches build now (a test compares them table by table on SQLite and
PostgreSQL), so such a database is re-stamped, row for row untouched, and upgraded from there.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from monitor.db import CORE_VERSIONS, alembic_config, current_heads
from monitor.db import migrate as migrate_branches
from monitor.errors import ConfigError

DESK_VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
VERSION_DIRS = (CORE_VERSIONS, DESK_VERSIONS)

# The last head of the mixed history, and the revision of the new branches whose schema is
# identical to it: the desk's desk_0003, which implies the core's core_0002 through depends_on
# (Alembic records only that one, as it does after an upgrade from nothing).
LEGACY_HEAD = "0400_merge"
LEGACY_EQUIVALENT = ("desk_0003",)
# Revisions of the mixed history before its merge: no database outside development was left
# there (the merge came with the same week's work), so they are named, not upgraded.
LEGACY_REVISIONS = {"0001", "0101_desk", "0102_reminders", "0201_events", "0301_digest"}


def _restamp_legacy(engine: Engine) -> None:
    stamped = current_heads(engine)
    if stamped == {LEGACY_HEAD}:
        # Only the version table changes, in one transaction (a crash leaves the old stamp);
        # purge: the old revision is unknown to the new branches, so it is dropped unchecked.
        from alembic import command

        command.stamp(alembic_config(engine, VERSION_DIRS), list(LEGACY_EQUIVALENT), purge=True)
    elif stamped & (LEGACY_REVISIONS | {LEGACY_HEAD}):
        raise ConfigError(
            "the database is at a development schema from before 2026-11-26 (revisions "
            f"{', '.join(sorted(stamped))}) that this version cannot upgrade: upgrade it with "
            "the yuqing of commit 8c7f967 first (`yuqing init`), then with this one")


def migrate(engine: Engine) -> str | None:
    """Bring the core's and the desk's tables to their newest revisions (idempotent).
    Returns the heads, comma-separated."""
    _restamp_legacy(engine)
    return migrate_branches(engine, VERSION_DIRS)
