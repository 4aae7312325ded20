"""The search index: one document per searchable item, with its facet values.

Writers keep it current in their own transaction (resolvers/search.py). Full-text columns are
database-specific and made by the migration: on PostgreSQL a weighted `tsvector` column with a
GIN index; on SQLite an FTS5 table `search_fts` whose rowid is the document id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class SearchDocument(Base):
    __tablename__ = "search_document"
    __table_args__ = (
        UniqueConstraint("kind", "item_id"),
        Index("ix_search_document_created_at", "created_at"),
        Index("ix_search_document_kind_scope_id", "kind", "scope_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The registered domain (THREAD, POST, MEMBER, ...) and the item's own key there.
    kind: Mapped[str] = mapped_column(String(30))
    item_id: Mapped[int] = mapped_column(Integer)
    # What decides who may see the item, when its source has such a key (threads and replies:
    # their community), so that visibility is one short IN list rather than a walk per item.
    scope_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # The PostgreSQL text search configuration the item's language maps to (`simple` else).
    text_config: Mapped[str] = mapped_column(String(30), default="simple")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SearchFacet(Base):
    """A value of a filter dimension (OBJECTIVE 6, COUNTRY MX, REGION 019, LANGUAGE es, ...)."""

    __tablename__ = "search_facet"
    __table_args__ = (Index("ix_search_facet_dimension_value", "dimension", "value"),)

    document_id: Mapped[int] = mapped_column(
        ForeignKey("search_document.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(35), primary_key=True)
