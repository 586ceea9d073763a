"""sentiment reviews: officers' corrections of an item's sentiment (issue 19)

Revision ID: desk_0014
Revises: desk_0008
Create Date: 2026-12-03

One row per (item, officer); `yuqing sentiment export-labels` reads the officers' majority.
"""

import sqlalchemy as sa
from alembic import op

revision = "desk_0014"
down_revision = "desk_0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sentiment_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(10), nullable=False),
        sa.Column("model_version", sa.String(40), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"],
                                name=op.f("fk_sentiment_reviews_item_id_items"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_sentiment_reviews_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sentiment_reviews")),
        sa.UniqueConstraint("item_id", "user_id", name="uq_sentiment_reviews_item_user"),
    )
    op.create_index(op.f("ix_sentiment_reviews_item_id"), "sentiment_reviews", ["item_id"])
    op.create_index(op.f("ix_sentiment_reviews_updated_at"), "sentiment_reviews",
                    ["updated_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sentiment_reviews_updated_at"), table_name="sentiment_reviews")
    op.drop_index(op.f("ix_sentiment_reviews_item_id"), table_name="sentiment_reviews")
    op.drop_table("sentiment_reviews")
