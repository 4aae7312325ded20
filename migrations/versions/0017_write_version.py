"""The write version: one counter, moved on by every committed transaction that writes, so
that processes can cache answers and drop them when a table they read is written
(models/writes.py, app/response_cache.py).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    version = op.create_table(
        "write_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_version")),
    )
    op.bulk_insert(version, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("write_version")
