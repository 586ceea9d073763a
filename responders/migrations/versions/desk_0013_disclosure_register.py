"""disclosure register: requests, their documents, reconsiderations and lawsuits (issue 20)

Revision ID: desk_0013
Revises: desk_0007
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

revision = "desk_0013"
down_revision = "desk_0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "disclosure_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("applicant_type", sa.String(20), nullable=False),
        sa.Column("applicant", sa.String(200), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("correction_requested_on", sa.Date(), nullable=True),
        sa.Column("corrected_on", sa.Date(), nullable=True),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("applicant_told_on", sa.Date(), nullable=True),
        sa.Column("pauses", sa.JSON(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(120), nullable=True),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("fee_yuan", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_requests")),
        sa.UniqueConstraint("number", name=op.f("uq_disclosure_requests_number")),
    )
    for col in ("received_on", "due_on", "state", "answered_on"):
        op.create_index(op.f(f"ix_disclosure_requests_{col}"), "disclosure_requests", [col])
    op.create_table(
        "request_documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("media_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(120), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["disclosure_requests.id"],
                                name=op.f("fk_request_documents_request_id_disclosure_requests"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_documents")),
        sa.UniqueConstraint("request_id", "sha256",
                            name="uq_request_documents_request_sha256"),
    )
    op.create_index(op.f("ix_request_documents_request_id"), "request_documents",
                    ["request_id"])
    op.create_table(
        "disclosure_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("route", sa.String(20), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("body", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["disclosure_requests.id"],
                                name=op.f("fk_disclosure_cases_request_id_disclosure_requests"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_disclosure_cases_number")),
    )
    for col in ("request_id", "filed_on"):
        op.create_index(op.f(f"ix_disclosure_cases_{col}"), "disclosure_cases", [col])


def downgrade() -> None:
    for col in ("request_id", "filed_on"):
        op.drop_index(op.f(f"ix_disclosure_cases_{col}"), table_name="disclosure_cases")
    op.drop_table("disclosure_cases")
    op.drop_index(op.f("ix_request_documents_request_id"), table_name="request_documents")
    op.drop_table("request_documents")
    for col in ("received_on", "due_on", "state", "answered_on"):
        op.drop_index(op.f(f"ix_disclosure_requests_{col}"), table_name="disclosure_requests")
    op.drop_table("disclosure_requests")
