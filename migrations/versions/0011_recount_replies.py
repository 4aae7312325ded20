"""Each thread's reply count set once from its live replies: counted in Python before
(read, then add one), simultaneous replies and deletions lost some; the count is kept in SQL
from now on (issue 12).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE thread SET reply_count = (SELECT count(*) FROM post"
        " WHERE post.thread_id = thread.id AND post.deleted_at IS NULL)"
    )


def downgrade() -> None:
    """Nothing to undo: the counts are right under the revision before too."""
