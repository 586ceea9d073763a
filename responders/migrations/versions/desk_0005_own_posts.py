"""outputs: own_item_id, the office's own post an output records (本单位已发声)

Revision ID: desk_0005
Revises: desk_0004
Create Date: 2026-12-02

A unique index, not a constraint: SQLite adds it in place (a constraint would need a batch
rebuild of outputs, cascading through publications); NULLs — every drafted output — never
collide, on SQLite or PostgreSQL.
"""

import sqlalchemy as sa
from alembic import op

revision = "desk_0005"
down_revision = "desk_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("outputs", sa.Column("own_item_id", sa.Integer(), nullable=True))
    op.create_index("ix_outputs_own_item_id", "outputs", ["own_item_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_outputs_own_item_id", table_name="outputs")
    with op.batch_alter_table("outputs") as batch:
        batch.drop_column("own_item_id")
