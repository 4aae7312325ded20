"""Trusted documents: operations registered ahead of time from client builds' manifests
(`hub documents push`), looked up by the client's id or by the SHA-256 of their text.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trusted_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("operation_name", sa.String(length=200), nullable=True),
        sa.Column("operation_type", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_document")),
        sa.UniqueConstraint("document_id", name=op.f("uq_trusted_document_document_id")),
    )
    op.create_index(
        op.f("ix_trusted_document_sha256"), "trusted_document", ["sha256"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_trusted_document_sha256"), table_name="trusted_document")
    op.drop_table("trusted_document")
