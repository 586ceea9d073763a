"""Deadline reminders: one row per (alert, milestone, recipient), claimed before sending.

(Was "0102_reminders" before issue 11.)

Revision ID: desk_0002
Revises: desk_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "desk_0002"
down_revision = "desk_0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("milestone", sa.String(40), nullable=False),
        sa.Column("milestone_name", sa.String(100), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("recipient", sa.String(120), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("address", sa.String(2000), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"],
                                name=op.f("fk_reminders_alert_id_alerts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("alert_id", "milestone", "recipient",
                            name="uq_reminders_alert_milestone_recipient"),
    )
    op.create_index(op.f("ix_reminders_alert_id"), "reminders", ["alert_id"])
    op.create_index(op.f("ix_reminders_state"), "reminders", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reminders_state"), table_name="reminders")
    op.drop_index(op.f("ix_reminders_alert_id"), table_name="reminders")
    op.drop_table("reminders")
