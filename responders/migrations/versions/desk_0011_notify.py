"""notify: people, the on-call roster, deliveries and acknowledgement tokens (issue 17)

Revision ID: desk_0011
Revises: desk_0013
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

revision = "desk_0011"
down_revision = "desk_0013"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notify_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_people")),
        sa.UniqueConstraint("name", name=op.f("uq_notify_people_name")),
    )
    op.create_table(
        "roster_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=True),
        sa.Column("on_date", sa.Date(), nullable=True),
        sa.Column("start", sa.String(5), nullable=False),
        sa.Column("end", sa.String(5), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["notify_people.id"], ondelete="CASCADE",
                                name=op.f("fk_roster_shifts_person_id_notify_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roster_shifts")),
    )
    op.create_index(op.f("ix_roster_shifts_on_date"), "roster_shifts", ["on_date"])
    op.create_index(op.f("ix_roster_shifts_person_id"), "roster_shifts", ["person_id"])
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(100), nullable=False),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("mentions", sa.JSON(), nullable=False),
        sa.Column("ack_token", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("send_after", TS, nullable=False),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE",
                                name=op.f("fk_notify_deliveries_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_deliveries")),
        sa.UniqueConstraint("key", name="uq_notify_deliveries_key"),
    )
    op.create_index(op.f("ix_notify_deliveries_alert_id"), "notify_deliveries", ["alert_id"])
    op.create_index(op.f("ix_notify_deliveries_event_id"), "notify_deliveries", ["event_id"])
    op.create_index("ix_notify_deliveries_due", "notify_deliveries", ["state", "send_after"])
    op.create_table(
        "ack_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE",
                                name=op.f("fk_ack_tokens_alert_id_alerts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ack_tokens")),
        sa.UniqueConstraint("nonce", name=op.f("uq_ack_tokens_nonce")),
    )
    op.create_index(op.f("ix_ack_tokens_alert_id"), "ack_tokens", ["alert_id"])


def downgrade() -> None:
    op.drop_table("ack_tokens")
    op.drop_index("ix_notify_deliveries_due", table_name="notify_deliveries")
    op.drop_table("notify_deliveries")
    op.drop_table("roster_shifts")
    op.drop_table("notify_people")
