"""Web Push and topic follows (issue 14): members' push subscriptions, their choice of push per
notification kind, and the GCM objectives, guiding principles, countries and regions they follow.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = (
    "MENTION",
    "REPLY",
    "REACTION",
    "MODERATION",
    "NEW_THREAD",
    "REVIEW_DECISION",
    "WEBINAR_REMINDER",
    "WEBINAR_UPDATE",
    "SUPPORT_REQUEST_UPDATE",
)


def upgrade() -> None:
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=2000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_push_subscription_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscription")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscription_endpoint")),
    )
    op.create_index(op.f("ix_push_subscription_member_id"), "push_subscription", ["member_id"])
    op.create_table(
        "push_preference",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="notificationkind", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_push_preference_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "kind", name=op.f("pk_push_preference")),
    )
    op.create_table(
        "topic_follow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "topic",
            sa.Enum(
                "OBJECTIVE",
                "PRINCIPLE",
                "COUNTRY",
                "REGION",
                name="topickind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("key", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_topic_follow_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_topic_follow")),
        sa.UniqueConstraint(
            "member_id", "topic", "key", name=op.f("uq_topic_follow_member_id_topic_key")
        ),
    )
    op.create_index("ix_topic_follow_topic_key", "topic_follow", ["topic", "key"])


def downgrade() -> None:
    op.drop_index("ix_topic_follow_topic_key", table_name="topic_follow")
    op.drop_table("topic_follow")
    op.drop_table("push_preference")
    op.drop_index(op.f("ix_push_subscription_member_id"), table_name="push_subscription")
    op.drop_table("push_subscription")
