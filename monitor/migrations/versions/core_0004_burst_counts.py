"""burst counts: items per hour of each event and each topic

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-12-02

Issue 12 (speed): the burst test's baselines come from these incremental counters
(monitor.counters) instead of a scan of the stored items of an event or a topic, so the cost
of analysing a batch does not grow with what is stored. Counts start empty: items analysed
before this revision are not counted, so during the first baseline window after an upgrade
(12 hours for social media, 14 days for news) a story that began before it is tested
against a lower baseline than it really has, floored at events.bursts.floor_rate.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "burst_counts",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", "hour", name=op.f("pk_burst_counts")),
    )


def downgrade() -> None:
    op.drop_table("burst_counts")
