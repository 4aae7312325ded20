"""Publishing no longer writes every follower's notification itself: it writes one FANOUT job
to the outbox, which the workers expand in batches. `delivery.last_member_id` is a job's
progress (written in each batch's transaction); `notification.fanout_job` names the job that
wrote a notification, unique per member, so a batch cannot be written twice; a topic's
followers are read in member id order.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_PER_MEMBER = sa.text("fanout_job IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("last_member_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("fanout_job", sa.Integer(), nullable=True))
    op.create_index(
        "uq_notification_fanout_job_member_id",
        "notification",
        ["fanout_job", "member_id"],
        unique=True,
        postgresql_where=ONE_PER_MEMBER,
        sqlite_where=ONE_PER_MEMBER,
    )
    op.drop_index("ix_topic_follow_topic_key", table_name="topic_follow")
    op.create_index(
        "ix_topic_follow_topic_key_member_id", "topic_follow", ["topic", "key", "member_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_topic_follow_topic_key_member_id", table_name="topic_follow")
    op.create_index("ix_topic_follow_topic_key", "topic_follow", ["topic", "key"])
    op.drop_index("uq_notification_fanout_job_member_id", table_name="notification")
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("fanout_job")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_column("last_member_id")
