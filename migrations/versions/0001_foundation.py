"""Members, organisations, sign-in, rate limits, and the GCM reference data.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.reference import gcm_reference

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORGANIZATION_KINDS = (
    "GOVERNMENT",
    "UN_SYSTEM",
    "CIVIL_SOCIETY",
    "ACADEMIA",
    "PRIVATE_SECTOR",
    "OTHER",
)
ROLES = ("MEMBER", "REVIEWER", "MODERATOR", "ADMIN")


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    objectives = op.create_table(
        "gcm_objective",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("short_title", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_gcm_objective")),
    )
    principles = op.create_table(
        "guiding_principle",
        sa.Column("letter", sa.String(length=1), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("letter", name=op.f("pk_guiding_principle")),
    )
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*ORGANIZATION_KINDS, name="organizationkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("country", sa.String(length=2), nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization")),
        sa.UniqueConstraint("name", name=op.f("uq_organization_name")),
    )
    op.create_index(op.f("ix_organization_kind"), "organization", ["kind"])
    op.create_table(
        "rate_limit_counter",
        sa.Column("key", sa.String(length=300), nullable=False),
        _timestamp("window_start"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_counter")),
    )
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("is_expert", sa.Boolean(), nullable=False),
        sa.Column(
            "role", sa.Enum(*ROLES, name="role", native_enum=False, length=20), nullable=False
        ),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_member_organization_id_organization"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member")),
        sa.UniqueConstraint("email", name=op.f("uq_member_email")),
    )
    op.create_index("ix_member_name_id", "member", ["name", "id"])
    op.create_index(op.f("ix_member_country"), "member", ["country"])
    op.create_index(op.f("ix_member_is_expert"), "member", ["is_expert"])
    op.create_index(op.f("ix_member_organization_id"), "member", ["organization_id"])
    op.create_table(
        "auth_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        _timestamp("expires_at"),
        _timestamp("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_auth_token_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_auth_token_token_hash")),
    )
    op.create_index(op.f("ix_auth_token_member_id"), "auth_token", ["member_id"])
    op.create_table(
        "member_expertise",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("objective_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_member_expertise_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["objective_number"],
            ["gcm_objective.number"],
            name=op.f("fk_member_expertise_objective_number_gcm_objective"),
        ),
        sa.PrimaryKeyConstraint("member_id", "objective_number", name=op.f("pk_member_expertise")),
    )
    op.create_index(
        op.f("ix_member_expertise_objective_number"), "member_expertise", ["objective_number"]
    )
    op.create_table(
        "member_language",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=35), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_member_language_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", "tag", name=op.f("pk_member_language")),
    )
    op.create_index(op.f("ix_member_language_tag"), "member_language", ["tag"])

    reference = gcm_reference()
    op.bulk_insert(
        objectives,
        [
            {"number": o["number"], "short_title": o["short"], "title": o["title"]}
            for o in reference["objectives"]
        ],
    )
    op.bulk_insert(
        principles,
        [{"letter": p["letter"], "name": p["name"]} for p in reference["guiding_principles"]],
    )


def downgrade() -> None:
    op.drop_table("member_language")
    op.drop_table("member_expertise")
    op.drop_table("auth_token")
    op.drop_table("member")
    op.drop_table("rate_limit_counter")
    op.drop_table("organization")
    op.drop_table("guiding_principle")
    op.drop_table("gcm_objective")
