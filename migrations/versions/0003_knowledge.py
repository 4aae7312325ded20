"""Curated knowledge: resources, initiatives and calls for practices, peer review (assignments,
reviews with their checklist, conflicts of interest) and relations between resources.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_for_practices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["member.id"],
            name=op.f("fk_call_for_practices_created_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_for_practices")),
    )
    with op.batch_alter_table("call_for_practices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_for_practices_created_by_id"), ["created_by_id"], unique=False
        )
        batch_op.create_index("ix_call_for_practices_deadline_id", ["deadline", "id"], unique=False)

    op.create_table(
        "conflict_of_interest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "item_kind",
            sa.Enum("RESOURCE", "INITIATIVE", name="reviewitemkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["member.id"],
            name=op.f("fk_conflict_of_interest_reviewer_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflict_of_interest")),
        sa.UniqueConstraint(
            "item_kind",
            "item_id",
            "reviewer_id",
            name=op.f("uq_conflict_of_interest_item_kind_item_id_reviewer_id"),
        ),
    )
    with op.batch_alter_table("conflict_of_interest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_conflict_of_interest_reviewer_id"), ["reviewer_id"], unique=False
        )

    op.create_table(
        "resource",
        sa.Column("revision_of_id", sa.Integer(), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "PUBLICATION",
                "TOOL",
                "GUIDANCE",
                "DATASET",
                "TRAINING",
                "MULTIMEDIA",
                "POLICY",
                "OTHER",
                name="resourcekind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("publisher", sa.String(length=200), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column(
            "source_type",
            sa.Enum(
                "INTERNATIONAL_ORGANIZATION_REPORT",
                "ACADEMIC_ARTICLE",
                "GOVERNMENT_STATISTICS",
                "GOVERNMENT_POLICY",
                "CIVIL_SOCIETY",
                "MEDIA",
                "OTHER",
                name="sourcetype",
                native_enum=False,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("doi", sa.String(length=200), nullable=True),
        sa.Column("is_global", sa.Boolean(), nullable=False),
        sa.Column("is_general", sa.Boolean(), nullable=False),
        sa.Column("supersession_depth", sa.Integer(), nullable=False),
        sa.Column("currency", sa.Integer(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "DRAFT",
                "SUBMITTED",
                "IN_REVIEW",
                "CHANGES_REQUESTED",
                "APPROVED",
                "REJECTED",
                "WITHDRAWN",
                "ARCHIVED",
                name="reviewstate",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("review_round", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("under_re_review", sa.Boolean(), nullable=False),
        sa.Column("needs_additional_reviewer", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_resource_author_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_resource_organization_id_organization"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["revision_of_id"],
            ["resource.id"],
            name=op.f("fk_resource_revision_of_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource")),
    )
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resource_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_resource_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_resource_language"), ["language"], unique=False)
        batch_op.create_index("ix_resource_newest", ["currency", "created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_resource_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_resource_published_on"), ["published_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resource_publisher"), ["publisher"], unique=False)
        batch_op.create_index(
            "ix_resource_recently_reviewed", ["currency", "reviewed_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resource_review_by"), ["review_by"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_resource_revision_of_id"), ["revision_of_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resource_state"), ["state"], unique=False)
        batch_op.create_index(
            "ix_resource_title", ["supersession_depth", "title", "id"], unique=False
        )

    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "item_kind",
            sa.Enum("RESOURCE", "INITIATIVE", name="reviewitemkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column(
            "decision",
            sa.Enum(
                "APPROVE",
                "REQUEST_CHANGES",
                "REJECT",
                name="reviewdecision",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("relates_to_objective", sa.Boolean(), nullable=False),
        sa.Column("accurate_and_sourced", sa.Boolean(), nullable=False),
        sa.Column("up_to_date", sa.Boolean(), nullable=False),
        sa.Column("reviewer_is_un_system", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["member.id"],
            name=op.f("fk_review_reviewer_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
        sa.UniqueConstraint(
            "item_kind",
            "item_id",
            "round",
            "reviewer_id",
            name=op.f("uq_review_item_kind_item_id_round_reviewer_id"),
        ),
    )
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.create_index("ix_review_item", ["item_kind", "item_id", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_review_reviewer_id"), ["reviewer_id"], unique=False)

    op.create_table(
        "review_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "item_kind",
            sa.Enum("RESOURCE", "INITIATIVE", name="reviewitemkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"],
            ["member.id"],
            name=op.f("fk_review_assignment_assigned_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["member.id"],
            name=op.f("fk_review_assignment_reviewer_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_assignment")),
        sa.UniqueConstraint(
            "item_kind",
            "item_id",
            "reviewer_id",
            name=op.f("uq_review_assignment_item_kind_item_id_reviewer_id"),
        ),
    )
    with op.batch_alter_table("review_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_assignment_assigned_by_id"), ["assigned_by_id"], unique=False
        )
        batch_op.create_index(
            "ix_review_assignment_reviewer_id_assigned_at",
            ["reviewer_id", "assigned_at", "id"],
            unique=False,
        )

    op.create_table(
        "call_objective",
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("objective_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["call_for_practices.id"],
            name=op.f("fk_call_objective_call_id_call_for_practices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["objective_number"],
            ["gcm_objective.number"],
            name=op.f("fk_call_objective_objective_number_gcm_objective"),
        ),
        sa.PrimaryKeyConstraint("call_id", "objective_number", name=op.f("pk_call_objective")),
    )
    with op.batch_alter_table("call_objective", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_objective_objective_number"), ["objective_number"], unique=False
        )

    op.create_table(
        "initiative",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("lead_organization_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "PLANNED",
                "ONGOING",
                "COMPLETED",
                name="initiativestatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("replicability", sa.Text(), nullable=False),
        sa.Column("is_global", sa.Boolean(), nullable=False),
        sa.Column("featured", sa.Boolean(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "DRAFT",
                "SUBMITTED",
                "IN_REVIEW",
                "CHANGES_REQUESTED",
                "APPROVED",
                "REJECTED",
                "WITHDRAWN",
                "ARCHIVED",
                name="reviewstate",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("review_round", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("under_re_review", sa.Boolean(), nullable=False),
        sa.Column("needs_additional_reviewer", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_initiative_author_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["call_for_practices.id"],
            name=op.f("fk_initiative_call_id_call_for_practices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_organization_id"],
            ["organization.id"],
            name=op.f("fk_initiative_lead_organization_id_organization"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_initiative_organization_id_organization"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_initiative")),
    )
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_initiative_author_id"), ["author_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiative_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiative_featured"), ["featured"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_initiative_lead_organization_id"), ["lead_organization_id"], unique=False
        )
        batch_op.create_index("ix_initiative_newest", ["created_at", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_initiative_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            "ix_initiative_recently_reviewed", ["reviewed_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_initiative_review_by"), ["review_by"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiative_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_initiative_status"), ["status"], unique=False)
        batch_op.create_index("ix_initiative_title", ["title", "id"], unique=False)

    op.create_table(
        "resource_country",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_resource_country_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resource_id", "code", name=op.f("pk_resource_country")),
    )
    with op.batch_alter_table("resource_country", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resource_country_code"), ["code"], unique=False)

    op.create_table(
        "resource_language",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=35), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_resource_language_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resource_id", "tag", name=op.f("pk_resource_language")),
    )
    with op.batch_alter_table("resource_language", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resource_language_tag"), ["tag"], unique=False)

    op.create_table(
        "resource_objective",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("objective_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_number"],
            ["gcm_objective.number"],
            name=op.f("fk_resource_objective_objective_number_gcm_objective"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_resource_objective_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "resource_id", "objective_number", name=op.f("pk_resource_objective")
        ),
    )
    with op.batch_alter_table("resource_objective", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_objective_objective_number"), ["objective_number"], unique=False
        )

    op.create_table(
        "resource_principle",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("principle_letter", sa.String(length=1), nullable=False),
        sa.ForeignKeyConstraint(
            ["principle_letter"],
            ["guiding_principle.letter"],
            name=op.f("fk_resource_principle_principle_letter_guiding_principle"),
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_resource_principle_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "resource_id", "principle_letter", name=op.f("pk_resource_principle")
        ),
    )
    with op.batch_alter_table("resource_principle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_principle_principle_letter"), ["principle_letter"], unique=False
        )

    op.create_table(
        "resource_region",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("m49", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_resource_region_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resource_id", "m49", name=op.f("pk_resource_region")),
    )
    with op.batch_alter_table("resource_region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resource_region_m49"), ["m49"], unique=False)

    op.create_table(
        "resource_relation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_id", sa.Integer(), nullable=False),
        sa.Column("to_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "SUPERSEDES",
                "CONTRADICTS",
                "CORRECTS",
                "UPDATES",
                "TRANSLATION_OF",
                "RELATED",
                name="relationkind",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "PROPOSED",
                "CONFIRMED",
                "REJECTED",
                name="relationstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["member.id"],
            name=op.f("fk_resource_relation_decided_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["from_id"],
            ["resource.id"],
            name=op.f("fk_resource_relation_from_id_resource"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["member.id"],
            name=op.f("fk_resource_relation_proposed_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["to_id"],
            ["resource.id"],
            name=op.f("fk_resource_relation_to_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_relation")),
        sa.UniqueConstraint(
            "from_id", "to_id", "kind", name=op.f("uq_resource_relation_from_id_to_id_kind")
        ),
    )
    with op.batch_alter_table("resource_relation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resource_relation_decided_by_id"), ["decided_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resource_relation_from_id"), ["from_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_resource_relation_proposed_by_id"), ["proposed_by_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_resource_relation_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_resource_relation_to_id"), ["to_id"], unique=False)

    op.create_table(
        "resource_theme",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_resource_theme_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resource_id", "theme", name=op.f("pk_resource_theme")),
    )
    with op.batch_alter_table("resource_theme", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_resource_theme_theme"), ["theme"], unique=False)

    op.create_table(
        "review_principle_answer",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("principle_letter", sa.String(length=1), nullable=False),
        sa.Column(
            "answer",
            sa.Enum(
                "YES", "NO", "NOT_APPLICABLE", name="principleanswer", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["principle_letter"],
            ["guiding_principle.letter"],
            name=op.f("fk_review_principle_answer_principle_letter_guiding_principle"),
        ),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["review.id"],
            name=op.f("fk_review_principle_answer_review_id_review"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "review_id", "principle_letter", name=op.f("pk_review_principle_answer")
        ),
    )
    with op.batch_alter_table("review_principle_answer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_principle_answer_principle_letter"),
            ["principle_letter"],
            unique=False,
        )

    op.create_table(
        "initiative_country",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiative.id"],
            name=op.f("fk_initiative_country_initiative_id_initiative"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("initiative_id", "code", name=op.f("pk_initiative_country")),
    )
    with op.batch_alter_table("initiative_country", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_initiative_country_code"), ["code"], unique=False)

    op.create_table(
        "initiative_objective",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("objective_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiative.id"],
            name=op.f("fk_initiative_objective_initiative_id_initiative"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["objective_number"],
            ["gcm_objective.number"],
            name=op.f("fk_initiative_objective_objective_number_gcm_objective"),
        ),
        sa.PrimaryKeyConstraint(
            "initiative_id", "objective_number", name=op.f("pk_initiative_objective")
        ),
    )
    with op.batch_alter_table("initiative_objective", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_initiative_objective_objective_number"),
            ["objective_number"],
            unique=False,
        )

    op.create_table(
        "initiative_partner",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiative.id"],
            name=op.f("fk_initiative_partner_initiative_id_initiative"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_initiative_partner_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "initiative_id", "organization_id", name=op.f("pk_initiative_partner")
        ),
    )
    with op.batch_alter_table("initiative_partner", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_initiative_partner_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "initiative_principle",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("principle_letter", sa.String(length=1), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiative.id"],
            name=op.f("fk_initiative_principle_initiative_id_initiative"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["principle_letter"],
            ["guiding_principle.letter"],
            name=op.f("fk_initiative_principle_principle_letter_guiding_principle"),
        ),
        sa.PrimaryKeyConstraint(
            "initiative_id", "principle_letter", name=op.f("pk_initiative_principle")
        ),
    )
    with op.batch_alter_table("initiative_principle", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_initiative_principle_principle_letter"),
            ["principle_letter"],
            unique=False,
        )

    op.create_table(
        "initiative_region",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("m49", sa.String(length=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiative.id"],
            name=op.f("fk_initiative_region_initiative_id_initiative"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("initiative_id", "m49", name=op.f("pk_initiative_region")),
    )
    with op.batch_alter_table("initiative_region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_initiative_region_m49"), ["m49"], unique=False)

    op.create_table(
        "initiative_resource",
        sa.Column("initiative_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["initiative_id"],
            ["initiative.id"],
            name=op.f("fk_initiative_resource_initiative_id_initiative"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_initiative_resource_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "initiative_id", "resource_id", name=op.f("pk_initiative_resource")
        ),
    )
    with op.batch_alter_table("initiative_resource", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_initiative_resource_resource_id"), ["resource_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("initiative_resource", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_resource_resource_id"))

    op.drop_table("initiative_resource")
    with op.batch_alter_table("initiative_region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_region_m49"))

    op.drop_table("initiative_region")
    with op.batch_alter_table("initiative_principle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_principle_principle_letter"))

    op.drop_table("initiative_principle")
    with op.batch_alter_table("initiative_partner", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_partner_organization_id"))

    op.drop_table("initiative_partner")
    with op.batch_alter_table("initiative_objective", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_objective_objective_number"))

    op.drop_table("initiative_objective")
    with op.batch_alter_table("initiative_country", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_initiative_country_code"))

    op.drop_table("initiative_country")
    with op.batch_alter_table("review_principle_answer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_principle_answer_principle_letter"))

    op.drop_table("review_principle_answer")
    with op.batch_alter_table("resource_theme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_theme_theme"))

    op.drop_table("resource_theme")
    with op.batch_alter_table("resource_relation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_relation_to_id"))
        batch_op.drop_index(batch_op.f("ix_resource_relation_status"))
        batch_op.drop_index(batch_op.f("ix_resource_relation_proposed_by_id"))
        batch_op.drop_index(batch_op.f("ix_resource_relation_from_id"))
        batch_op.drop_index(batch_op.f("ix_resource_relation_decided_by_id"))

    op.drop_table("resource_relation")
    with op.batch_alter_table("resource_region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_region_m49"))

    op.drop_table("resource_region")
    with op.batch_alter_table("resource_principle", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_principle_principle_letter"))

    op.drop_table("resource_principle")
    with op.batch_alter_table("resource_objective", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_objective_objective_number"))

    op.drop_table("resource_objective")
    with op.batch_alter_table("resource_language", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_language_tag"))

    op.drop_table("resource_language")
    with op.batch_alter_table("resource_country", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resource_country_code"))

    op.drop_table("resource_country")
    with op.batch_alter_table("initiative", schema=None) as batch_op:
        batch_op.drop_index("ix_initiative_title")
        batch_op.drop_index(batch_op.f("ix_initiative_status"))
        batch_op.drop_index(batch_op.f("ix_initiative_state"))
        batch_op.drop_index(batch_op.f("ix_initiative_review_by"))
        batch_op.drop_index("ix_initiative_recently_reviewed")
        batch_op.drop_index(batch_op.f("ix_initiative_organization_id"))
        batch_op.drop_index("ix_initiative_newest")
        batch_op.drop_index(batch_op.f("ix_initiative_lead_organization_id"))
        batch_op.drop_index(batch_op.f("ix_initiative_featured"))
        batch_op.drop_index(batch_op.f("ix_initiative_call_id"))
        batch_op.drop_index(batch_op.f("ix_initiative_author_id"))

    op.drop_table("initiative")
    with op.batch_alter_table("call_objective", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_objective_objective_number"))

    op.drop_table("call_objective")
    with op.batch_alter_table("review_assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_review_assignment_reviewer_id_assigned_at")
        batch_op.drop_index(batch_op.f("ix_review_assignment_assigned_by_id"))

    op.drop_table("review_assignment")
    with op.batch_alter_table("review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_reviewer_id"))
        batch_op.drop_index("ix_review_item")

    op.drop_table("review")
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_title")
        batch_op.drop_index(batch_op.f("ix_resource_state"))
        batch_op.drop_index(batch_op.f("ix_resource_revision_of_id"))
        batch_op.drop_index(batch_op.f("ix_resource_review_by"))
        batch_op.drop_index("ix_resource_recently_reviewed")
        batch_op.drop_index(batch_op.f("ix_resource_publisher"))
        batch_op.drop_index(batch_op.f("ix_resource_published_on"))
        batch_op.drop_index(batch_op.f("ix_resource_organization_id"))
        batch_op.drop_index("ix_resource_newest")
        batch_op.drop_index(batch_op.f("ix_resource_language"))
        batch_op.drop_index(batch_op.f("ix_resource_kind"))
        batch_op.drop_index(batch_op.f("ix_resource_author_id"))

    op.drop_table("resource")
    with op.batch_alter_table("conflict_of_interest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conflict_of_interest_reviewer_id"))

    op.drop_table("conflict_of_interest")
    with op.batch_alter_table("call_for_practices", schema=None) as batch_op:
        batch_op.drop_index("ix_call_for_practices_deadline_id")
        batch_op.drop_index(batch_op.f("ix_call_for_practices_created_by_id"))

    op.drop_table("call_for_practices")
