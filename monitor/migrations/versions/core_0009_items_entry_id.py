"""items.entry_id indexed on its own

Revision ID: core_0009
Revises: core_0004
Create Date: 2026-12-02

Issue 13: a Weibo post is one post whichever source brings it (an account timeline, a keyword
search, an RSS bridge of the account: all give `weibo:<mid>`). Storing checks whether another
source holds the id already (monitor.ingest), a lookup by entry_id alone that the
(source_id, entry_id) unique key cannot serve. No rows change: copies stored before this
revision stay, and the analysis has them in one event as near-duplicates.
"""

from alembic import op

revision = "core_0009"
down_revision = "core_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_items_entry_id", "items", ["entry_id"])


def downgrade() -> None:
    op.drop_index("ix_items_entry_id", table_name="items")
