"""Revisions of published initiatives: an edit is a row of its own, reviewed, then merged.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_initiative_revision_of_id"), ["revision_of_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_initiative_revision_of_id_initiative"),
            "initiative",
            ["revision_of_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_initiative_revision_of_id_initiative"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_initiative_revision_of_id"))
        batch_op.drop_column("merged_at")
        batch_op.drop_column("revision_of_id")
