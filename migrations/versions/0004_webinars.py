"""Webinars: schedule, hosts, registrations and waitlist, reminders, live chat and Q&A.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webinar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "visibility",
            sa.Enum("PUBLIC", "COMMUNITY", name="webinarvisibility", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "SCHEDULED",
                "LIVE",
                "ENDED",
                "CANCELLED",
                name="webinarstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("registered_count", sa.Integer(), nullable=False),
        sa.Column("registration_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("join_url", sa.String(length=500), nullable=True),
        sa.Column("recording_url", sa.String(length=500), nullable=True),
        sa.Column("slow_mode_seconds", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
            name=op.f("fk_webinar_community_id_community"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["member.id"],
            name=op.f("fk_webinar_created_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webinar")),
    )
    with op.batch_alter_table("webinar", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webinar_community_id"), ["community_id"], unique=False)
        batch_op.create_index("ix_webinar_starts_at_id", ["starts_at", "id"], unique=False)

    op.create_table(
        "webinar_chat_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_webinar_chat_message_author_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by_id"],
            ["member.id"],
            name=op.f("fk_webinar_chat_message_deleted_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["webinar_id"],
            ["webinar.id"],
            name=op.f("fk_webinar_chat_message_webinar_id_webinar"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webinar_chat_message")),
    )
    with op.batch_alter_table("webinar_chat_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_webinar_chat_message_author", ["webinar_id", "author_id", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webinar_chat_message_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webinar_chat_message_deleted_by_id"), ["deleted_by_id"], unique=False
        )
        batch_op.create_index(
            "ix_webinar_chat_message_webinar_id_id", ["webinar_id", "id"], unique=False
        )

    op.create_table(
        "webinar_host",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("ORGANISER", "SPEAKER", name="webinarhostrole", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("guest_name", sa.String(length=200), nullable=True),
        sa.Column("guest_affiliation", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_webinar_host_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webinar_id"],
            ["webinar.id"],
            name=op.f("fk_webinar_host_webinar_id_webinar"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webinar_host")),
    )
    with op.batch_alter_table("webinar_host", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webinar_host_member_id"), ["member_id"], unique=False)
        batch_op.create_index("ix_webinar_host_webinar_id_id", ["webinar_id", "id"], unique=False)

    op.create_table(
        "webinar_language",
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=35), nullable=False),
        sa.Column("interpretation", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webinar_id"],
            ["webinar.id"],
            name=op.f("fk_webinar_language_webinar_id_webinar"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "webinar_id", "tag", "interpretation", name=op.f("pk_webinar_language")
        ),
    )
    op.create_table(
        "webinar_objective",
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("objective_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_number"],
            ["gcm_objective.number"],
            name=op.f("fk_webinar_objective_objective_number_gcm_objective"),
        ),
        sa.ForeignKeyConstraint(
            ["webinar_id"],
            ["webinar.id"],
            name=op.f("fk_webinar_objective_webinar_id_webinar"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "webinar_id", "objective_number", name=op.f("pk_webinar_objective")
        ),
    )
    with op.batch_alter_table("webinar_objective", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webinar_objective_objective_number"), ["objective_number"], unique=False
        )

    op.create_table(
        "webinar_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("vote_count", sa.Integer(), nullable=False),
        sa.Column("order_key", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN", "ANSWERED", "DISMISSED", name="questionstatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_live", sa.Boolean(), nullable=False),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["member.id"],
            name=op.f("fk_webinar_question_answered_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_webinar_question_author_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["webinar_id"],
            ["webinar.id"],
            name=op.f("fk_webinar_question_webinar_id_webinar"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webinar_question")),
    )
    with op.batch_alter_table("webinar_question", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webinar_question_answered_by_id"), ["answered_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_webinar_question_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            "ix_webinar_question_ranking", ["webinar_id", "vote_count", "order_key"], unique=False
        )

    op.create_table(
        "webinar_registration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "REGISTERED",
                "WAITLISTED",
                "CANCELLED",
                name="registrationstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_webinar_registration_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webinar_id"],
            ["webinar.id"],
            name=op.f("fk_webinar_registration_webinar_id_webinar"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webinar_registration")),
    )
    with op.batch_alter_table("webinar_registration", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webinar_registration_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            "ix_webinar_registration_webinar_status_id",
            ["webinar_id", "status", "id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_webinar_registration_active",
            ["webinar_id", "member_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'CANCELLED'"),
            postgresql_where=sa.text("status <> 'CANCELLED'"),
        )

    op.create_table(
        "webinar_reminder",
        sa.Column("webinar_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_webinar_reminder_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["webinar_id"],
            ["webinar.id"],
            name=op.f("fk_webinar_reminder_webinar_id_webinar"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "webinar_id", "member_id", "kind", name=op.f("pk_webinar_reminder")
        ),
    )
    with op.batch_alter_table("webinar_reminder", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webinar_reminder_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "webinar_question_vote",
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_webinar_question_vote_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["webinar_question.id"],
            name=op.f("fk_webinar_question_vote_question_id_webinar_question"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("question_id", "member_id", name=op.f("pk_webinar_question_vote")),
    )
    with op.batch_alter_table("webinar_question_vote", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webinar_question_vote_member_id"), ["member_id"], unique=False
        )
    op.create_table(
        "calendar_feed",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_calendar_feed_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feed")
    with op.batch_alter_table("webinar_question_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webinar_question_vote_member_id"))

    op.drop_table("webinar_question_vote")
    with op.batch_alter_table("webinar_reminder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webinar_reminder_member_id"))

    op.drop_table("webinar_reminder")
    with op.batch_alter_table("webinar_registration", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_webinar_registration_active",
            sqlite_where=sa.text("status <> 'CANCELLED'"),
            postgresql_where=sa.text("status <> 'CANCELLED'"),
        )
        batch_op.drop_index("ix_webinar_registration_webinar_status_id")
        batch_op.drop_index(batch_op.f("ix_webinar_registration_member_id"))

    op.drop_table("webinar_registration")
    with op.batch_alter_table("webinar_question", schema=None) as batch_op:
        batch_op.drop_index("ix_webinar_question_ranking")
        batch_op.drop_index(batch_op.f("ix_webinar_question_author_id"))
        batch_op.drop_index(batch_op.f("ix_webinar_question_answered_by_id"))

    op.drop_table("webinar_question")
    with op.batch_alter_table("webinar_objective", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webinar_objective_objective_number"))

    op.drop_table("webinar_objective")
    op.drop_table("webinar_language")
    with op.batch_alter_table("webinar_host", schema=None) as batch_op:
        batch_op.drop_index("ix_webinar_host_webinar_id_id")
        batch_op.drop_index(batch_op.f("ix_webinar_host_member_id"))

    op.drop_table("webinar_host")
    with op.batch_alter_table("webinar_chat_message", schema=None) as batch_op:
        batch_op.drop_index("ix_webinar_chat_message_webinar_id_id")
        batch_op.drop_index(batch_op.f("ix_webinar_chat_message_deleted_by_id"))
        batch_op.drop_index(batch_op.f("ix_webinar_chat_message_author_id"))
        batch_op.drop_index("ix_webinar_chat_message_author")

    op.drop_table("webinar_chat_message")
    with op.batch_alter_table("webinar", schema=None) as batch_op:
        batch_op.drop_index("ix_webinar_starts_at_id")
        batch_op.drop_index(batch_op.f("ix_webinar_community_id"))

    op.drop_table("webinar")
