"""The core's first revision: sources and items.

Revision ID: core_0001
Revises: -
Create Date: 2026-11-26

The core's branch ("core") holds only the domain core's tables (monitor.models): sources,
items, events. The desk's tables (alerts and everything after them) are the desk's own branch
in responders/migrations, which depends on this branch's events revision. Until issue 11 this
revision was "0001" and also created `alerts`; databases built then are re-stamped by
responders.schema.migrate (their schema is the same as these two branches build).
"""

from alembic import op
import sqlalchemy as sa


revision = 'core_0001'
down_revision = None
branch_labels = ('core',)
depends_on = None


def upgrade() -> None:
    op.create_table('sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('interval_s', sa.Integer(), nullable=False),
    sa.Column('allow_private', sa.Boolean(), nullable=False),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('failure_count', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_warning', sa.Text(), nullable=True),
    sa.Column('items_seen', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_sources_name'))
    )
    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=500), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=2000), nullable=True),
    sa.Column('author', sa.String(length=300), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('analyzed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('analysis_runs', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('sentiment_score', sa.Float(), nullable=True),
    sa.Column('sentiment_label', sa.String(length=10), nullable=True),
    sa.Column('sentiment_engine', sa.String(length=40), nullable=True),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_items_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('source_id', 'content_hash', name='uq_items_source_hash'),
    sa.UniqueConstraint('source_id', 'entry_id', name='uq_items_source_entry')
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_items_content_hash'), ['content_hash'], unique=False)
        batch_op.create_index('ix_items_unanalyzed', ['analyzed_at', 'fetched_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_unanalyzed')
        batch_op.drop_index(batch_op.f('ix_items_content_hash'))

    op.drop_table('items')
    op.drop_table('sources')
