"""Resources and initiatives sorted by title in every script: `title_key`, the title's key
under the Unicode Collation Algorithm (models/collation.py, as members' and communities'
`name_key`), computed here for existing rows; the `TITLE` orders' indexes move from the
title's bytes to it.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.collation import sort_key

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → (the old index and its columns, the new index and its columns)
INDEXES = {
    "resource": (
        ("ix_resource_title", ["supersession_depth", "title", "id"]),
        ("ix_resource_title_key", ["supersession_depth", "title_key", "id"]),
    ),
    "initiative": (
        ("ix_initiative_title", ["title", "id"]),
        ("ix_initiative_title_key", ["title_key", "id"]),
    ),
}


def upgrade() -> None:
    for table, (old, new) in INDEXES.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("title_key", sa.LargeBinary(), nullable=True))
        rows = op.get_bind().execute(sa.text(f"SELECT id, title FROM {table}")).all()  # noqa: S608
        if rows:
            op.get_bind().execute(
                sa.text(f"UPDATE {table} SET title_key = :key WHERE id = :id"),  # noqa: S608
                [{"id": row.id, "key": sort_key(row.title)} for row in rows],
            )
        op.drop_index(old[0], table_name=table)
        op.create_index(new[0], table, new[1])


def downgrade() -> None:
    for table, (old, new) in INDEXES.items():
        op.drop_index(new[0], table_name=table)
        op.create_index(old[0], table, old[1])
        with op.batch_alter_table(table) as batch:
            batch.drop_column("title_key")
