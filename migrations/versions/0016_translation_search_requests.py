"""Search across languages, and translation requests.

Search: a search document per translation of an item, beside the original's, each indexed in
its own language's text search configuration.

`translation` is "" for the original's document and the language tag of a translation's;
`language` is the language of the document's text (when known) and `status` ORIGINAL or the
translation's weakest status. The unique key becomes (kind, item_id, translation).

On SQLite the table is rebuilt to change its unique key, which drops the triggers that keep the
FTS5 table in step: they are dropped first and made again after (the rowids, the documents'
ids, are kept, so the FTS5 table stays valid). Translations that exist already are indexed by
`hub search-reindex` (`hub doctor` reports them missing until then).

Translation requests: `translation_request`, one per (item, language) with its count of
requesters, open or closed; `translation_requester`, who asked.

Sorting by name in every script: `name_key` on members, organisations and communities, the
Unicode collation key of the name (models/collation.py), computed here for existing rows; the
member directory's index moves from (name, id) to (name_key, id). Matching whatever the case:
`resource.publisher_key`, the publisher casefolded and NFKC-normalised.

A member's languages in their own order: `member_language.position` (0 first). Existing
members get the order they were shown in until now (the six UN languages in the UN order,
then the others alphabetically), and can reorder them on their profile.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from models.collation import match_key, sort_key
from models.reference import un_official_languages

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = ("search_document_ai", "search_document_ad", "search_document_au")
SQLITE_TRIGGER_SQL = [
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


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _drop_triggers() -> None:
    if _sqlite():
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger}")


def _create_triggers() -> None:
    if _sqlite():
        for statement in SQLITE_TRIGGER_SQL:
            op.execute(statement)


def upgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table("search_document") as batch:
        batch.add_column(sa.Column("language", sa.String(length=35), nullable=True))
        batch.add_column(
            sa.Column("translation", sa.String(length=35), server_default="", nullable=False)
        )
        batch.add_column(
            sa.Column("status", sa.String(length=20), server_default="ORIGINAL", nullable=False)
        )
        batch.drop_constraint("uq_search_document_kind_item_id", type_="unique")
        batch.create_unique_constraint(
            "uq_search_document_kind_item_id_translation", ["kind", "item_id", "translation"]
        )
    _create_triggers()
    _create_requests()
    _add_name_keys()
    _add_language_positions()


def _shown_order(tag: str) -> tuple[int, str]:
    """The order members' languages were shown in before 0015: the UN languages first."""
    official = un_official_languages()
    primary = tag.split("-")[0]
    return (official.index(primary), tag) if primary in official else (len(official), tag)


def _add_language_positions() -> None:
    with op.batch_alter_table("member_language") as batch:
        batch.add_column(sa.Column("position", sa.Integer(), server_default="0", nullable=False))
    rows = op.get_bind().execute(sa.text("SELECT member_id, tag FROM member_language")).all()
    by_member: dict[int, list[str]] = {}
    for row in rows:
        by_member.setdefault(row.member_id, []).append(row.tag)
    positions = [
        {"member": member, "tag": tag, "position": position}
        for member, tags in by_member.items()
        for position, tag in enumerate(sorted(tags, key=_shown_order))
    ]
    if positions:
        op.get_bind().execute(
            sa.text(
                "UPDATE member_language SET position = :position "
                "WHERE member_id = :member AND tag = :tag"
            ),
            positions,
        )


NAMED = ("member", "organization", "community")


def _add_name_keys() -> None:
    for table in NAMED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("name_key", sa.LargeBinary(), nullable=True))
        rows = op.get_bind().execute(sa.text(f"SELECT id, name FROM {table}")).all()  # noqa: S608
        if rows:
            op.get_bind().execute(
                sa.text(f"UPDATE {table} SET name_key = :key WHERE id = :id"),  # noqa: S608
                [{"id": row.id, "key": sort_key(row.name)} for row in rows],
            )
    op.drop_index("ix_member_name_id", table_name="member")
    op.create_index("ix_member_name_key_id", "member", ["name_key", "id"])
    op.create_index(op.f("ix_organization_name_key"), "organization", ["name_key"])
    op.create_index(op.f("ix_community_name_key"), "community", ["name_key"])
    with op.batch_alter_table("resource") as batch:
        batch.add_column(sa.Column("publisher_key", sa.String(length=200), nullable=True))
    rows = op.get_bind().execute(sa.text("SELECT id, publisher FROM resource")).all()
    if rows:
        op.get_bind().execute(
            sa.text("UPDATE resource SET publisher_key = :key WHERE id = :id"),
            [{"id": row.id, "key": match_key(row.publisher)} for row in rows],
        )
    op.create_index(op.f("ix_resource_publisher_key"), "resource", ["publisher_key"])


def _drop_name_keys() -> None:
    op.drop_index(op.f("ix_resource_publisher_key"), table_name="resource")
    with op.batch_alter_table("resource") as batch:
        batch.drop_column("publisher_key")
    op.drop_index(op.f("ix_community_name_key"), table_name="community")
    op.drop_index(op.f("ix_organization_name_key"), table_name="organization")
    op.drop_index("ix_member_name_key_id", table_name="member")
    op.create_index("ix_member_name_id", "member", ["name", "id"])
    for table in NAMED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("name_key")


def _create_requests() -> None:
    op.create_table(
        "translation_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("requester_count", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_translation_request")),
        sa.UniqueConstraint(
            "kind", "item_id", "language", name=op.f("uq_translation_request_kind_item_id_language")
        ),
    )
    op.create_index(
        "ix_translation_request_open", "translation_request", ["closed_at", "requester_count"]
    )
    op.create_table(
        "translation_requester",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["translation_request.id"],
            name=op.f("fk_translation_requester_request_id_translation_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_translation_requester_member_id_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "member_id", name=op.f("pk_translation_requester")),
    )
    op.create_index(
        op.f("ix_translation_requester_member_id"), "translation_requester", ["member_id"]
    )


def downgrade() -> None:
    with op.batch_alter_table("member_language") as batch:
        batch.drop_column("position")
    _drop_name_keys()
    op.drop_index(op.f("ix_translation_requester_member_id"), table_name="translation_requester")
    op.drop_table("translation_requester")
    op.drop_index("ix_translation_request_open", table_name="translation_request")
    op.drop_table("translation_request")
    op.execute("DELETE FROM search_document WHERE translation <> ''")
    _drop_triggers()
    with op.batch_alter_table("search_document") as batch:
        batch.drop_constraint("uq_search_document_kind_item_id_translation", type_="unique")
        batch.create_unique_constraint("uq_search_document_kind_item_id", ["kind", "item_id"])
        batch.drop_column("status")
        batch.drop_column("translation")
        batch.drop_column("language")
    _create_triggers()
