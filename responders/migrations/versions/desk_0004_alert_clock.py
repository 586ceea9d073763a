"""alerts: when the clock started, the story's publication time, and the backfill flag

Revision ID: desk_0004
Revises: desk_0003
Create Date: 2026-12-02

Deadlines run from the story's publication time, no longer from first sight (issue 12): the
alert keeps the start it was given, beside created_at (first sight). Alerts raised before
keep clock_from NULL, which reads as "from created_at" — what their deadlines were counted
from — so no row is rewritten and no table is rebuilt (SQLite's batch rebuild of alerts
would cascade through the tables that refer to it).
"""

import sqlalchemy as sa
from alembic import op

revision = "desk_0004"
down_revision = "desk_0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("alerts", sa.Column("clock_from", TS, nullable=True))
    op.add_column("alerts", sa.Column("story_published_at", TS, nullable=True))
    # A constant default lets SQLite add a NOT NULL column in place; old alerts were not
    # backfill (the rule did not exist).
    op.add_column("alerts", sa.Column("backfill", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("backfill")
        batch.drop_column("story_published_at")
        batch.drop_column("clock_from")
