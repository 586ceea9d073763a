"""items: the sentiment model version that scored the item

Revision ID: core_0011
Revises: core_0006 (the core head: the chain runs … 0009, 0010, 0008, 0007, 0006)
Create Date: 2026-12-03

Issue 19: retrained `weibo` models are versioned (monitor.sentiment.registry) and swapped
in while workers run; each item records the version that scored it ("shipped" or a
registered one), so a retrain's effect can be traced item by item. Items analysed before
this revision, and by engines without versions, keep NULL.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0011"
down_revision = "core_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("sentiment_model", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("sentiment_model")
