"""Support requests of governments, and the search index with its full-text machinery.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Full text is database-specific and lives outside the models (migrations/env.py tells
`alembic check` to leave it alone):
- PostgreSQL: `search_document.search_vector`, a tsvector weighted title A > summary B > body C
  in the document's own text search configuration, kept by a trigger, with a GIN index.
- SQLite: `search_fts`, an FTS5 table over search_document (external content), kept by triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("text_config", sa.String(length=30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_document")),
        sa.UniqueConstraint("kind", "item_id", name=op.f("uq_search_document_kind_item_id")),
    )
    with op.batch_alter_table("search_document", schema=None) as batch_op:
        batch_op.create_index("ix_search_document_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_search_document_kind_scope_id", ["kind", "scope_id"], unique=False
        )

    op.create_table(
        "search_facet",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=35), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["search_document.id"],
            name=op.f("fk_search_facet_document_id_search_document"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("document_id", "dimension", "value", name=op.f("pk_search_facet")),
    )
    with op.batch_alter_table("search_facet", schema=None) as batch_op:
        batch_op.create_index(
            "ix_search_facet_dimension_value", ["dimension", "value"], unique=False
        )

    _create_full_text()

    op.create_table(
        "support_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("focal_point_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "TECHNICAL_ASSISTANCE",
                "CAPACITY_BUILDING",
                "POLICY_ADVICE",
                "DATA_AND_EVIDENCE",
                "FUNDING_GUIDANCE",
                "OTHER",
                name="supportcategory",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column(
            "urgency",
            sa.Enum("LOW", "MEDIUM", "HIGH", name="supporturgency", native_enum=False, length=30),
            nullable=False,
        ),
        sa.Column("desired_timeframe", sa.String(length=200), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SUBMITTED",
                "TRIAGED",
                "MATCHED",
                "IN_PROGRESS",
                "COMPLETED",
                "DECLINED",
                name="supportstatus",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["focal_point_id"],
            ["member.id"],
            name=op.f("fk_support_request_focal_point_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_support_request_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requester_id"],
            ["member.id"],
            name=op.f("fk_support_request_requester_id_member"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_request")),
    )
    with op.batch_alter_table("support_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_support_request_created_at_id", ["created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_request_focal_point_id"), ["focal_point_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_request_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_request_requester_id"), ["requester_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_support_request_status"), ["status"], unique=False)

    op.create_table(
        "support_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["member.id"],
            name=op.f("fk_support_message_author_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["support_request.id"],
            name=op.f("fk_support_message_request_id_support_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_message")),
    )
    with op.batch_alter_table("support_message", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_message_author_id"), ["author_id"], unique=False
        )
        batch_op.create_index(
            "ix_support_message_request_id_id", ["request_id", "id"], unique=False
        )

    op.create_table(
        "support_proposal",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PROPOSED",
                "ACCEPTED",
                "DECLINED",
                name="proposalstatus",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["member.id"],
            name=op.f("fk_support_proposal_expert_id_member"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["member.id"],
            name=op.f("fk_support_proposal_proposed_by_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["support_request.id"],
            name=op.f("fk_support_proposal_request_id_support_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "expert_id", name=op.f("pk_support_proposal")),
    )
    with op.batch_alter_table("support_proposal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_proposal_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_proposal_proposed_by_id"), ["proposed_by_id"], unique=False
        )

    op.create_table(
        "support_request_country",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["support_request.id"],
            name=op.f("fk_support_request_country_request_id_support_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "country", name=op.f("pk_support_request_country")),
    )
    with op.batch_alter_table("support_request_country", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_request_country_country"), ["country"], unique=False
        )

    op.create_table(
        "support_request_language",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=35), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["support_request.id"],
            name=op.f("fk_support_request_language_request_id_support_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "tag", name=op.f("pk_support_request_language")),
    )
    op.create_table(
        "support_request_objective",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("objective_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["objective_number"],
            ["gcm_objective.number"],
            name=op.f("fk_support_request_objective_objective_number_gcm_objective"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["support_request.id"],
            name=op.f("fk_support_request_objective_request_id_support_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "request_id", "objective_number", name=op.f("pk_support_request_objective")
        ),
    )
    with op.batch_alter_table("support_request_objective", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_request_objective_objective_number"),
            ["objective_number"],
            unique=False,
        )

    op.create_table(
        "support_timeline_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "SUBMITTED",
                "TRIAGED",
                "MATCHED",
                "IN_PROGRESS",
                "COMPLETED",
                "DECLINED",
                name="supportstatus",
                native_enum=False,
                length=30,
            ),
            nullable=False,
        ),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("expert_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["member.id"],
            name=op.f("fk_support_timeline_entry_actor_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["member.id"],
            name=op.f("fk_support_timeline_entry_expert_id_member"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["support_request.id"],
            name=op.f("fk_support_timeline_entry_request_id_support_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_timeline_entry")),
    )
    with op.batch_alter_table("support_timeline_entry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_support_timeline_entry_actor_id"), ["actor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_support_timeline_entry_expert_id"), ["expert_id"], unique=False
        )
        batch_op.create_index(
            "ix_support_timeline_entry_request_id_id", ["request_id", "id"], unique=False
        )


def downgrade() -> None:
    _drop_full_text()
    with op.batch_alter_table("support_timeline_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_support_timeline_entry_request_id_id")
        batch_op.drop_index(batch_op.f("ix_support_timeline_entry_expert_id"))
        batch_op.drop_index(batch_op.f("ix_support_timeline_entry_actor_id"))

    op.drop_table("support_timeline_entry")
    with op.batch_alter_table("support_request_objective", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_request_objective_objective_number"))

    op.drop_table("support_request_objective")
    op.drop_table("support_request_language")
    with op.batch_alter_table("support_request_country", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_request_country_country"))

    op.drop_table("support_request_country")
    with op.batch_alter_table("support_proposal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_proposal_proposed_by_id"))
        batch_op.drop_index(batch_op.f("ix_support_proposal_expert_id"))

    op.drop_table("support_proposal")
    with op.batch_alter_table("support_message", schema=None) as batch_op:
        batch_op.drop_index("ix_support_message_request_id_id")
        batch_op.drop_index(batch_op.f("ix_support_message_author_id"))

    op.drop_table("support_message")
    with op.batch_alter_table("support_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_request_status"))
        batch_op.drop_index(batch_op.f("ix_support_request_requester_id"))
        batch_op.drop_index(batch_op.f("ix_support_request_organization_id"))
        batch_op.drop_index(batch_op.f("ix_support_request_focal_point_id"))
        batch_op.drop_index("ix_support_request_created_at_id")

    op.drop_table("support_request")
    with op.batch_alter_table("search_facet", schema=None) as batch_op:
        batch_op.drop_index("ix_search_facet_dimension_value")

    op.drop_table("search_facet")
    with op.batch_alter_table("search_document", schema=None) as batch_op:
        batch_op.drop_index("ix_search_document_kind_scope_id")
        batch_op.drop_index("ix_search_document_created_at")

    op.drop_table("search_document")


PG_VECTOR = """
CREATE FUNCTION search_document_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_vector :=
    setweight(to_tsvector(NEW.text_config::regconfig, NEW.title), 'A') ||
    setweight(to_tsvector(NEW.text_config::regconfig, NEW.summary), 'B') ||
    setweight(to_tsvector(NEW.text_config::regconfig, NEW.body), 'C');
  RETURN NEW;
END
$$
"""

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, summary, body, content='search_document', "
    "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_document_ai AFTER INSERT ON search_document BEGIN "
    "INSERT INTO search_fts(rowid, title, summary, body) "
    "VALUES (new.id, new.title, new.summary, new.body); END",
    "CREATE TRIGGER search_document_ad AFTER DELETE ON search_document BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, summary, body) "
    "VALUES ('delete', old.id, old.title, old.summary, old.body); END",
    "CREATE TRIGGER search_document_au AFTER UPDATE ON search_document BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, title, summary, body) "
    "VALUES ('delete', old.id, old.title, old.summary, old.body); "
    "INSERT INTO search_fts(rowid, title, summary, body) "
    "VALUES (new.id, new.title, new.summary, new.body); END",
]


def _create_full_text() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE search_document ADD COLUMN search_vector tsvector")
        op.execute(PG_VECTOR)
        op.execute(
            "CREATE TRIGGER search_document_vector BEFORE INSERT OR UPDATE ON search_document "
            "FOR EACH ROW EXECUTE FUNCTION search_document_vector()"
        )
        op.execute(
            "CREATE INDEX ix_search_document_search_vector ON search_document "
            "USING gin (search_vector)"
        )
    else:
        for statement in SQLITE_FTS:
            op.execute(statement)


def _drop_full_text() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_search_document_search_vector")
        op.execute("DROP TRIGGER search_document_vector ON search_document")
        op.execute("DROP FUNCTION search_document_vector()")
        op.execute("ALTER TABLE search_document DROP COLUMN search_vector")
    else:
        for trigger in ("search_document_ai", "search_document_ad", "search_document_au"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE search_fts")
