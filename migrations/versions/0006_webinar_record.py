"""A webinar's lasting record: the resource filed from it, and resources linked to it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webinar_record",
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("filed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["webinar_id"],
            ["webinar.id"],
            name=op.f("fk_webinar_record_webinar_id_webinar"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_webinar_record_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["filed_by_id"],
            ["member.id"],
            name=op.f("fk_webinar_record_filed_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("webinar_id", name=op.f("pk_webinar_record")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_webinar_record_resource_id")),
    )
    with op.batch_alter_table("webinar_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webinar_record_filed_by_id"), ["filed_by_id"], unique=False
        )

    op.create_table(
        "webinar_resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("linked_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["webinar_id"],
            ["webinar.id"],
            name=op.f("fk_webinar_resource_webinar_id_webinar"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_webinar_resource_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_id"],
            ["member.id"],
            name=op.f("fk_webinar_resource_linked_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webinar_resource")),
        sa.UniqueConstraint(
            "webinar_id", "resource_id", name=op.f("uq_webinar_resource_webinar_id_resource_id")
        ),
    )
    with op.batch_alter_table("webinar_resource", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webinar_resource_webinar_id_id", ["webinar_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webinar_resource_resource_id"), ["resource_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webinar_resource_linked_by_id"), ["linked_by_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("webinar_resource", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webinar_resource_linked_by_id"))
        batch_op.drop_index(batch_op.f("ix_webinar_resource_resource_id"))
        batch_op.drop_index("ix_webinar_resource_webinar_id_id")

    op.drop_table("webinar_resource")
    with op.batch_alter_table("webinar_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webinar_record_filed_by_id"))

    op.drop_table("webinar_record")
