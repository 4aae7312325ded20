"""The search index: one document per searchable item and per language it is translated into,
with its facet values; and the search epoch, which moves on whenever a committed write may
change what a search answers.

Writers keep the index current in their own transaction (resolvers/search_index.py). Full-text
columns are database-specific and made by the migration: on PostgreSQL a weighted `tsvector`
column with a GIN index; on SQLite an FTS5 table `search_fts` whose rowid is the document id.

The epoch is what lets every process cache search answers (resolvers/search_cache.py) without
serving one that is out of date: models/db.py adds one to it in the same transaction as every
write to a table that is not listed in SEARCH_NEUTRAL_TABLES, and an answer is cached under the
epoch it was read at."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime


class SearchDocument(Base):
    __tablename__ = "search_document"
    __table_args__ = (
        # One document for the original ("" here) and one per language it is translated into.
        UniqueConstraint("kind", "item_id", "translation"),
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
    # The PostgreSQL text search configuration the text's language maps to (`simple` else).
    text_config: Mapped[str] = mapped_column(String(30), default="simple")
    # The language of this document's text, when known: the original's, or the translation's.
    language: Mapped[str | None] = mapped_column(String(35))
    # "" for the item's original text; the language tag of a translation's document.
    translation: Mapped[str] = mapped_column(String(35), default="")
    # ORIGINAL, or the weakest status among the translated fields (models/translation.py).
    status: Mapped[str] = mapped_column(String(20), default="ORIGINAL")
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


class SearchEpoch(Base):
    """One row (id 1): how many committed transactions so far may have changed a search answer."""

    __tablename__ = "search_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# Tables no search answer (hits, scores, order, snippets, totals, facets, for any viewer) is
# read from: writes to them leave the search epoch alone. Every other table moves it on, so a
# table added later and not listed here can only cost cached answers, never serve a stale one.
# tests/test_search_cache.py checks that no statement a search runs reads one of these.
SEARCH_NEUTRAL_TABLES = frozenset(
    {
        "search_epoch",
        "write_version",
        "auth_token",
        "rate_limit_counter",
        "login_throttle",
        "login_known_address",
        "event_stream",
        "event",
        "audit_entry",
        "flag",
        "notification",
        "follow",
        # delivery (issue 14): the outbox, email preferences, used unsubscribe links
        "delivery",
        "email_preference",
        "used_unsubscribe_token",
        "webhook_endpoint",
        "reaction",
        "mention",
        "thread_read",
        "post_revision",
        "community_join_request",
        "review",
        "review_principle_answer",
        "conflict_of_interest",
        "support_request",
        "support_request_objective",
        "support_request_country",
        "support_request_language",
        "support_proposal",
        "support_timeline_entry",
        "support_message",
        "webinar_registration",
        "webinar_reminder",
        "webinar_chat_message",
        "webinar_question",
        "webinar_question_vote",
        "calendar_feed",
        # persisted operations (issue 17): what clients may run, never what a search finds
        "trusted_document",
        # translation requests (issue 15): what members asked to have translated
        "translation_request",
        "translation_requester",
    }
)
