"""Translations of curated content, and the reference data's titles in other languages.

One table for every translatable kind, keyed by (kind, item, field, language): the five kinds
share every rule (who translates, verifies, removes; when a translation is outdated), so one
table keeps one loader, one policy predicate and one hook; a table per kind would repeat them
five times for no column of their own."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.review import db_enum


class TranslatableKind(enum.Enum):
    """The kinds of content whose human-facing text may be translated."""

    RESOURCE = "RESOURCE"
    INITIATIVE = "INITIATIVE"
    WEBINAR = "WEBINAR"
    COMMUNITY = "COMMUNITY"
    CALL = "CALL"


class TranslationStatus(enum.Enum):
    ORIGINAL = "ORIGINAL"  # the text as written (never stored: the item's own columns)
    HUMAN = "HUMAN"
    MACHINE = "MACHINE"
    VERIFIED = "VERIFIED"
    OUTDATED = "OUTDATED"


class Translation(Base):
    """One field of one item in one language."""

    __tablename__ = "translation"
    __table_args__ = (Index("ix_translation_language", "language"),)

    kind: Mapped[TranslatableKind] = mapped_column(db_enum(TranslatableKind), primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    field: Mapped[str] = mapped_column(String(30), primary_key=True)
    language: Mapped[str] = mapped_column(String(35), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[TranslationStatus] = mapped_column(db_enum(TranslationStatus))
    translator_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReferenceTranslation(Base):
    """A title of the GCM reference data (objective or guiding principle) in another language,
    seeded from models/reference/gcm_translations.json with the source it was copied from."""

    __tablename__ = "reference_translation"

    # "objective" (key: its number) or "principle" (key: its letter).
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    key: Mapped[str] = mapped_column(String(3), primary_key=True)
    language: Mapped[str] = mapped_column(String(35), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)


class TranslationRequest(Base):
    """Members asked to have an item in a language: one row per (item, language), with how
    many asked; open until a translation into that language is submitted, and open again when
    someone asks after that."""

    __tablename__ = "translation_request"
    __table_args__ = (
        UniqueConstraint("kind", "item_id", "language"),
        Index("ix_translation_request_open", "closed_at", "requester_count"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[TranslatableKind] = mapped_column(db_enum(TranslatableKind))
    item_id: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(35))
    requester_count: Mapped[int] = mapped_column(Integer, default=0)
    # When it was (last) opened, and when a translation closed it.
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TranslationRequester(Base):
    """Who asked, so that a member counts once (and can be told apart from the others)."""

    __tablename__ = "translation_requester"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("translation_request.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True, index=True
    )
