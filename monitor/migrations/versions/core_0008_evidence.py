"""evidence: raw item bodies, deleted items, coverage gaps

Revision ID: core_0008
Revises: core_0010
Create Date: 2026-12-02

Issue 18: `item_raw` keeps the body an item was parsed from (written at ingest for new items),
`item_gone` marks an item found deleted (已删除) with when it was noticed, `coverage_gaps`
keeps the spans when a source failed or went silent (监测盲区). Items stored before this
revision have no raw body: their snapshot is the page at their link only.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0008"
down_revision = "core_0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_raw",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=60), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE",
                                name=op.f("fk_item_raw_item_id_items")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_raw")),
    )
    op.create_table(
        "item_gone",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("noticed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], ondelete="CASCADE",
                                name=op.f("fk_item_gone_item_id_items")),
        sa.PrimaryKeyConstraint("item_id", name=op.f("pk_item_gone")),
    )
    op.create_table(
        "coverage_gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"], ondelete="CASCADE",
                                name=op.f("fk_coverage_gaps_source_id_sources")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_gaps")),
    )
    op.create_index("ix_coverage_gaps_source_open", "coverage_gaps", ["source_id", "ended_at"])
    op.create_index("ix_coverage_gaps_started_at", "coverage_gaps", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_coverage_gaps_started_at", table_name="coverage_gaps")
    op.drop_index("ix_coverage_gaps_source_open", table_name="coverage_gaps")
    op.drop_table("coverage_gaps")
    op.drop_table("item_gone")
    op.drop_table("item_raw")
