"""Languages: translations of curated content (one table for every kind), the language each
item was written in, and the GCM reference titles in other languages, seeded from
models/reference/gcm_translations.json with their sources.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.reference import reference_translations

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose items had no language of their own: what exists was written in English.
WITH_LANGUAGE = ("initiative", "call_for_practices", "webinar", "community")


def upgrade() -> None:
    for table in WITH_LANGUAGE:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("language", sa.String(length=35), server_default="en", nullable=False)
            )
    op.create_table(
        "translation",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=30), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("translator_id", sa.Integer(), nullable=True),
        sa.Column("verifier_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["translator_id"],
            ["member.id"],
            name=op.f("fk_translation_translator_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["verifier_id"],
            ["member.id"],
            name=op.f("fk_translation_verifier_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint(
            "kind", "item_id", "field", "language", name=op.f("pk_translation")
        ),
    )
    op.create_index("ix_translation_language", "translation", ["language"])
    op.create_index(op.f("ix_translation_translator_id"), "translation", ["translator_id"])
    reference = op.create_table(
        "reference_translation",
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=3), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", "language", name=op.f("pk_reference_translation")),
    )
    op.bulk_insert(reference, [row._asdict() for row in reference_translations()])


def downgrade() -> None:
    op.drop_table("reference_translation")
    op.drop_index(op.f("ix_translation_translator_id"), table_name="translation")
    op.drop_index("ix_translation_language", table_name="translation")
    op.drop_table("translation")
    for table in WITH_LANGUAGE:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("language")
