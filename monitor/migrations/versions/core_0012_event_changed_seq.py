"""events: the attach batch that last wrote each event

Revision ID: core_0012
Revises: core_0011
Create Date: 2026-12-06

Issue 12 (speed): the analysis reads its candidate index and weighs each post against it
before it takes the attach lock, so that two workers do that work side by side; once it
holds the lock it re-reads only the events another worker wrote meanwhile, found by this
number (monitor.event_store.attach), instead of reading the index under the lock. Events
stored before this revision carry 0: written before any reader's mark.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0012"
down_revision = "core_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("changed_seq", sa.BigInteger(), nullable=False,
                                   server_default="0"))
        batch.create_index("ix_events_changed_seq", ["changed_seq"])


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index("ix_events_changed_seq")
        batch.drop_column("changed_seq")
