"""The delivery outbox (issue 14): deliveries written with what causes them, members' email
preferences per notification kind, the one-click unsubscribe links already used, and the
webhook endpoints admins register.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
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


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=40 if name == "kind" else 20)


def upgrade() -> None:
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=36), nullable=False),
        sa.Column(
            "channel",
            _enum("deliverychannel", "EMAIL", "DIGEST", "PUSH", "WEBHOOK"),
            nullable=False,
        ),
        sa.Column(
            "state", _enum("deliverystate", "PENDING", "SENT", "DROPPED", "DEAD"), nullable=False
        ),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_delivery_member_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_delivery_notification_id_notification"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint("key", name=op.f("uq_delivery_key")),
    )
    op.create_index("ix_delivery_state_due_at", "delivery", ["state", "due_at"])
    op.create_index(op.f("ix_delivery_member_id"), "delivery", ["member_id"])
    op.create_index(op.f("ix_delivery_notification_id"), "delivery", ["notification_id"])
    op.create_table(
        "email_preference",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KINDS, name="notificationkind", native_enum=False, length=40),
            nullable=False,
        ),
        sa.Column(
            "frequency",
            _enum("emailfrequency", "IMMEDIATE", "DAILY", "WEEKLY", "NEVER"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_email_preference_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "kind", name=op.f("pk_email_preference")),
    )
    op.create_table(
        "used_unsubscribe_token",
        sa.Column("delivery_key", sa.String(length=36), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("delivery_key", name=op.f("pk_used_unsubscribe_token")),
    )
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("events", JSON, nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_webhook_endpoint_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["member.id"],
            name=op.f("fk_webhook_endpoint_created_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_index(
        op.f("ix_webhook_endpoint_organization_id"), "webhook_endpoint", ["organization_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_webhook_endpoint_organization_id"), table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")
    op.drop_table("used_unsubscribe_token")
    op.drop_table("email_preference")
    op.drop_index(op.f("ix_delivery_notification_id"), table_name="delivery")
    op.drop_index(op.f("ix_delivery_member_id"), table_name="delivery")
    op.drop_index("ix_delivery_state_due_at", table_name="delivery")
    op.drop_table("delivery")
