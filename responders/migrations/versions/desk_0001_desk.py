"""The desk's first revision: alerts (with their workflow columns), users, API tokens, web
sessions, the audit log (append-only), outputs, publications (the output log), the policy
library.

Revision ID: desk_0001
Revises: -
Depends on: core_0002 (the core's events revision: alerts refer to items)

The base of the desk's own branch ("desk"), found through Alembic's version_locations beside
the core's branch (monitor/migrations). Until issue 11 the alerts table was created by the
core's "0001" and these tables by "0101_desk"; databases built then are re-stamped by
responders.schema.migrate (the schema is the same).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "desk_0001"
down_revision = None
branch_labels = ("desk",)
depends_on = "core_0002"

TS = sa.DateTime(timezone=True)

_PG_TRIGGER = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("sla_rule", sa.String(40), nullable=False),
        sa.Column("milestones", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("state_changed_at", TS, nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"], name=op.f("fk_alerts_item_id_items"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["assignee_id"], ["users.id"],
                                name=op.f("fk_alerts_assignee_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("item_id", name=op.f("uq_alerts_item_id")),
    )
    op.create_index(op.f("ix_alerts_due_at"), "alerts", ["due_at"])
    op.create_index(op.f("ix_alerts_priority"), "alerts", ["priority"])
    op.create_index(op.f("ix_alerts_state"), "alerts", ["state"])
    op.create_index(op.f("ix_alerts_assignee_id"), "alerts", ["assignee_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_used_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_web_sessions")),
    )
    op.create_index(op.f("ix_web_sessions_user_id"), "web_sessions", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("entity", sa.String(20), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_alert_id"), "audit_log", ["alert_id"])
    op.create_table(
        "outputs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("topic", sa.String(60), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("cited_policy_ids", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("approver_id", sa.Integer(), nullable=True),
        sa.Column("review_comment", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"],
                                name=op.f("fk_outputs_alert_id_alerts"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"],
                                name=op.f("fk_outputs_author_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["approver_id"], ["users.id"],
                                name=op.f("fk_outputs_approver_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outputs")),
    )
    op.create_index(op.f("ix_outputs_alert_id"), "outputs", ["alert_id"])
    op.create_index(op.f("ix_outputs_state"), "outputs", ["state"])
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("output_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(60), nullable=False),
        sa.Column("link", sa.String(2000), nullable=True),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["output_id"], ["outputs.id"],
                                name=op.f("fk_publications_output_id_outputs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
        sa.UniqueConstraint("output_id", "channel", name="uq_publications_output_channel"),
    )
    op.create_index(op.f("ix_publications_published_at"), "publications", ["published_at"])
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("doc_number", sa.String(100), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("issuer", sa.String(200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("source_file", sa.String(500), nullable=True),
        sa.Column("imported_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("doc_number", name=op.f("uq_policies_doc_number")),
    )
    # The audit log is append-only in the database itself, not just by convention.
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_PG_TRIGGER)
    elif dialect == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table("policies")
    op.drop_index(op.f("ix_publications_published_at"), table_name="publications")
    op.drop_table("publications")
    op.drop_index(op.f("ix_outputs_state"), table_name="outputs")
    op.drop_index(op.f("ix_outputs_alert_id"), table_name="outputs")
    op.drop_table("outputs")
    op.drop_index(op.f("ix_audit_log_alert_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_web_sessions_user_id"), table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("api_tokens")
    for name in ("assignee_id", "state", "priority", "due_at"):
        op.drop_index(op.f(f"ix_alerts_{name}"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("users")
