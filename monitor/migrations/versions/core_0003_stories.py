"""stories: an event's story profile, merges, and the candidate index of event terms

Revision ID: core_0003
Revises: core_0002
Create Date: 2026-12-02

Issue 12: posts that tell one matter in different words join one event (monitor.stories);
`event_terms` files each event under its profile's strongest terms so that a new post is
compared only with likely events; `merged_into` records that a bridging post showed two
events to be one story.
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("story_terms", sa.JSON(), nullable=False,
                                   server_default=sa.text("'{}'")))
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch.create_index(op.f("ix_events_merged_into"), ["merged_into"])
    op.create_table(
        "event_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"],
                                name=op.f("fk_event_terms_event_id_events"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("term", "event_id", name=op.f("pk_event_terms")),
    )
    op.create_index(op.f("ix_event_terms_event_id"), "event_terms", ["event_id"])
    op.create_index("ix_event_terms_term_last_seen_at", "event_terms",
                    ["term", "last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_event_terms_term_last_seen_at", table_name="event_terms")
    op.drop_index(op.f("ix_event_terms_event_id"), table_name="event_terms")
    op.drop_table("event_terms")
    with op.batch_alter_table("events") as batch:
        batch.drop_index(op.f("ix_events_merged_into"))
        batch.drop_column("merged_into")
        batch.drop_column("story_terms")
