"""api_tokens.user_id (a token acts for a person) and login_throttle (shared by web processes)

Revision ID: desk_0006
Revises: desk_0005
Create Date: 2026-12-02

Tokens made before this revision act for nobody: user_id stays NULL, and such a token may
read the desk but no longer act on it (issue 14: a token that acted for nobody escaped the
separation of duties). The admin makes a new one with `yuqing tokens create NAME --role R
--user PERSON`. A batch alter, because SQLite adds a foreign key only by rebuilding the
table (api_tokens is small, and nothing refers to it).
"""

import sqlalchemy as sa
from alembic import op

revision = "desk_0006"
down_revision = "desk_0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_api_tokens_user_id_users"), "users", ["user_id"],
                                 ["id"], ondelete="SET NULL")
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", TS, nullable=False),
        sa.Column("wait_until", TS, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("fk_api_tokens_user_id_users"), type_="foreignkey")
        batch.drop_column("user_id")
