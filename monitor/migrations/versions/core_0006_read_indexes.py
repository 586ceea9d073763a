"""read indexes: items by first sight

Revision ID: core_0006
Revises: core_0007
Create Date: 2026-12-02

Issue 15 (reads at a million items): the desk's daily chart, the weekly digest and retention
read items by `fetched_at` (first sight); without this index each was a sequential scan of
`items`.
"""

from alembic import op

revision = "core_0006"
down_revision = "core_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_fetched_at", "items", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_items_fetched_at", table_name="items")
