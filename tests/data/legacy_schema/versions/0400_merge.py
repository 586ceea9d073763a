"""Join the three branches started in parallel (desk + reminders + mail log, events), so the
next schema change has one parent.

Revision ID: 0400_merge
Revises: 0102_reminders, 0201_events, 0301_digest
Create Date: 2026-11-26
"""

revision = "0400_merge"
down_revision = ("0102_reminders", "0201_events", "0301_digest")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
