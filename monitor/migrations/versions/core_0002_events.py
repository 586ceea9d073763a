"""events: near-duplicate clusters; social fields on items; config and push token on sources

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-27

(Was "0201_events" before issue 11.) batch_alter_table keeps SQLite working (it cannot add a
foreign key to an existing table in place). The desk's branch depends on this revision.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_item_id", sa.Integer(), nullable=True),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("source_ids", sa.JSON(), nullable=False),
        sa.Column("reach", sa.BigInteger(), nullable=False),
        sa.Column("negative_count", sa.Integer(), nullable=False),
        sa.Column("scored_count", sa.Integer(), nullable=False),
        sa.Column("negative_share", sa.Float(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("signature", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("burst", sa.Boolean(), nullable=False),
        sa.Column("burst_reason", sa.Text(), nullable=True),
        sa.Column("priority", sa.String(length=2), nullable=True),
        sa.Column("base_priority", sa.String(length=2), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["first_item_id"], ["items.id"],
                                name=op.f("fk_events_first_item_id_items"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("first_item_id", name=op.f("uq_events_first_item_id")),
    )
    op.create_index(op.f("ix_events_first_seen_at"), "events", ["first_seen_at"])
    op.create_index(op.f("ix_events_last_seen_at"), "events", ["last_seen_at"])
    op.create_index(op.f("ix_events_priority"), "events", ["priority"])

    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reposts", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("comments", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("likes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("repost_of", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("original_link", sa.String(length=2000), nullable=True))
        batch.add_column(sa.Column("signature", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("extra", sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))
        batch.create_foreign_key(op.f("fk_items_event_id_events"), "events", ["event_id"],
                                 ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_items_event_id"), ["event_id"])
        batch.create_index(op.f("ix_items_external_id"), ["external_id"])
        batch.create_index(op.f("ix_items_repost_of"), ["repost_of"])

    with op.batch_alter_table("sources") as batch:
        batch.add_column(sa.Column("config", sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))
        batch.add_column(sa.Column("ingest_token_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("silent_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("silent_since")
        batch.drop_column("ingest_token_hash")
        batch.drop_column("config")
    with op.batch_alter_table("items") as batch:
        batch.drop_index(op.f("ix_items_repost_of"))
        batch.drop_index(op.f("ix_items_external_id"))
        batch.drop_index(op.f("ix_items_event_id"))
        batch.drop_constraint(op.f("fk_items_event_id_events"), type_="foreignkey")
        for name in ("extra", "signature", "original_link", "repost_of", "likes", "comments",
                     "reposts", "external_id", "event_id"):
            batch.drop_column(name)
    op.drop_index(op.f("ix_events_priority"), table_name="events")
    op.drop_index(op.f("ix_events_last_seen_at"), table_name="events")
    op.drop_index(op.f("ix_events_first_seen_at"), table_name="events")
    op.drop_table("events")
