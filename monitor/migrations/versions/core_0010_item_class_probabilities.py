"""items: the three sentiment classes' probabilities

Revision ID: core_0010
Revises: core_0009
Create Date: 2026-12-02

Issue 19: the `weibo` engine returns calibrated P(negative), P(neutral), P(positive) beside
its score; the digest averages them (class shares, and the balance P(pos) − P(neg)) instead
of a score whose neutral posts sit at the extremes. Items analysed before this revision keep
NULL and are left out of those means.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0010"
down_revision = "core_0009"
branch_labels = None
depends_on = None

_COLUMNS = ("sentiment_p_negative", "sentiment_p_neutral", "sentiment_p_positive")


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
