"""A completed support request documented as a practice: the initiative drafted from it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_request_practice",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("documented_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["support_request.id"],
            name=op.f("fk_support_request_practice_request_id_support_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiative.id"],
            name=op.f("fk_support_request_practice_initiative_id_initiative"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["documented_by_id"],
            ["member.id"],
            name=op.f("fk_support_request_practice_documented_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_support_request_practice")),
        sa.UniqueConstraint(
            "initiative_id", name=op.f("uq_support_request_practice_initiative_id")
        ),
    )
    with op.batch_alter_table("support_request_practice", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_request_practice_documented_by_id"),
            ["documented_by_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("support_request_practice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_request_practice_documented_by_id"))

    op.drop_table("support_request_practice")
