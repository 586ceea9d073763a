"""mail_log: one row per (key, recipient) sent — the weekly digest and other mail

Revision ID: 0301_digest
Revises: 0101_desk
Create Date: 2026-11-28

Touches only its own table. Other branches start from 0001/0101_desk too; `yuqing init`
upgrades to all heads.
"""

import sqlalchemy as sa
from alembic import op

revision = "0301_digest"
down_revision = "0101_desk"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(300), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_log")),
        sa.UniqueConstraint("key", "recipient", name="uq_mail_log_key_recipient"),
    )
    op.create_index(op.f("ix_mail_log_key"), "mail_log", ["key"])
    op.create_index(op.f("ix_mail_log_state"), "mail_log", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_mail_log_state"), table_name="mail_log")
    op.drop_index(op.f("ix_mail_log_key"), table_name="mail_log")
    op.drop_table("mail_log")
