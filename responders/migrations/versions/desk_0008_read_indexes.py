"""read indexes: the alert queue in its order, alerts by time, the audit log by entity

Revision ID: desk_0008
Revises: desk_0012
Create Date: 2026-12-02

Issue 15 (reads at a million items): the queue page and GET /api/v1/alerts read a page at a
time in (priority, due_at, id) order — for the open states (partial index), for one state or
for all; the annual report and the digest read alerts by created_at / state_changed_at; the
output log looks up who approved its outputs in the audit log by (entity, entity_id).
"""

import sqlalchemy as sa
from alembic import op

revision = "desk_0008"
down_revision = "desk_0012"
branch_labels = None
depends_on = None

OPEN = "state IN ('new', 'assigned', 'drafting', 'escalated')"


def upgrade() -> None:
    op.create_index("ix_alerts_queue", "alerts", ["priority", "due_at", "id"])
    op.create_index("ix_alerts_state_queue", "alerts", ["state", "priority", "due_at", "id"])
    op.create_index("ix_alerts_open_queue", "alerts", ["priority", "due_at", "id"],
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])
    op.create_index("ix_alerts_state_changed_at", "alerts", ["state_changed_at"])
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    for name in ("ix_alerts_state_changed_at", "ix_alerts_created_at", "ix_alerts_open_queue",
                 "ix_alerts_state_queue", "ix_alerts_queue"):
        op.drop_index(name, table_name="alerts")
