"""snapshots: evidence kept for alerted items (issue 18)

Revision ID: desk_0012
Revises: desk_0011
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

revision = "desk_0012"
down_revision = "desk_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("media_type", sa.String(120), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
        sa.UniqueConstraint("item_id", "kind", name="uq_snapshots_item_kind"),
    )
    op.create_index("ix_snapshots_alert_id", "snapshots", ["alert_id"])
    op.create_index("ix_snapshots_item_id", "snapshots", ["item_id"])
    op.create_index("ix_snapshots_sha256", "snapshots", ["sha256"])


def downgrade() -> None:
    op.drop_table("snapshots")
