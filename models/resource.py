"""Resources of the knowledge platform, what they are about, and how they relate."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.collation import keep_key, key_default, match_key
from models.review import ReviewedItem, db_enum


class ResourceKind(enum.Enum):
    PUBLICATION = "PUBLICATION"
    TOOL = "TOOL"
    GUIDANCE = "GUIDANCE"
    DATASET = "DATASET"
    TRAINING = "TRAINING"
    MULTIMEDIA = "MULTIMEDIA"
    POLICY = "POLICY"
    OTHER = "OTHER"


class SourceType(enum.Enum):
    INTERNATIONAL_ORGANIZATION_REPORT = "INTERNATIONAL_ORGANIZATION_REPORT"
    ACADEMIC_ARTICLE = "ACADEMIC_ARTICLE"
    GOVERNMENT_STATISTICS = "GOVERNMENT_STATISTICS"
    GOVERNMENT_POLICY = "GOVERNMENT_POLICY"
    CIVIL_SOCIETY = "CIVIL_SOCIETY"
    MEDIA = "MEDIA"
    OTHER = "OTHER"


class RelationKind(enum.Enum):
    SUPERSEDES = "SUPERSEDES"
    CONTRADICTS = "CONTRADICTS"
    CORRECTS = "CORRECTS"
    UPDATES = "UPDATES"
    TRANSLATION_OF = "TRANSLATION_OF"
    RELATED = "RELATED"


class RelationStatus(enum.Enum):
    PROPOSED = "PROPOSED"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"


class Resource(ReviewedItem, Base):
    """A publication, tool, dataset... submitted by a member and published after review.

    A row with `revision_of_id` is a proposed edit of a published resource: it goes through
    review on its own and, once approved, its content replaces the published one's.
    """

    __tablename__ = "resource"
    # Listings rank superseded items below their successors: keyset columns lead with the
    # supersession rank, in the listing's direction (`currency` = -`supersession_depth`).
    __table_args__ = (
        Index("ix_resource_newest", "currency", "created_at", "id"),
        Index("ix_resource_recently_reviewed", "currency", "reviewed_at", "id"),
        Index("ix_resource_title_key", "supersession_depth", "title_key", "id"),
    )

    revision_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    # When an approved revision replaced the published content.
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(String(300))
    # How the title sorts in every script (models/collation.py), kept with the title.
    title_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=key_default("title"))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[ResourceKind] = mapped_column(db_enum(ResourceKind), index=True)
    link: Mapped[str | None] = mapped_column(String(2000))
    publisher: Mapped[str] = mapped_column(String(200), default="", index=True)
    # The publisher as matched, whatever its case and script (models/collation.py).
    publisher_key: Mapped[str | None] = mapped_column(
        String(200), default=key_default("publisher", match_key), index=True
    )
    published_on: Mapped[date | None] = mapped_column(Date, index=True)
    language: Mapped[str] = mapped_column(String(35), index=True)
    source_type: Mapped[SourceType] = mapped_column(db_enum(SourceType, 40))
    doi: Mapped[str | None] = mapped_column(String(200))
    is_global: Mapped[bool] = mapped_column(Boolean, default=False)
    # GENERAL: about migration governance as a whole rather than specific objectives.
    is_general: Mapped[bool] = mapped_column(Boolean, default=False)
    supersession_depth: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[int] = mapped_column(Integer, default=0)


class ResourceObjective(Base):
    __tablename__ = "resource_objective"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    objective_number: Mapped[int] = mapped_column(
        ForeignKey("gcm_objective.number"), primary_key=True, index=True
    )


class ResourcePrinciple(Base):
    __tablename__ = "resource_principle"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    principle_letter: Mapped[str] = mapped_column(
        ForeignKey("guiding_principle.letter"), primary_key=True, index=True
    )


class ResourceCountry(Base):
    __tablename__ = "resource_country"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class ResourceRegion(Base):
    """A UN M49 top-level region (its code)."""

    __tablename__ = "resource_region"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    m49: Mapped[str] = mapped_column(String(3), primary_key=True, index=True)


class ResourceLanguage(Base):
    """Another language the resource is available in (BCP 47)."""

    __tablename__ = "resource_language"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(35), primary_key=True, index=True)


class ResourceTheme(Base):
    """A cross-cutting theme (lower-case tag)."""

    __tablename__ = "resource_theme"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    theme: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)


class ResourceRelation(Base):
    """`from` SUPERSEDES / CONTRADICTS / ... `to`, proposed by a member, confirmed by review."""

    __tablename__ = "resource_relation"
    __table_args__ = (UniqueConstraint("from_id", "to_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    to_id: Mapped[int] = mapped_column(ForeignKey("resource.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RelationKind] = mapped_column(db_enum(RelationKind))
    status: Mapped[RelationStatus] = mapped_column(
        db_enum(RelationStatus), default=RelationStatus.PROPOSED, index=True
    )
    note: Mapped[str] = mapped_column(Text, default="")
    proposed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


keep_key(Resource.publisher, "publisher_key", match_key)
keep_key(Resource.title, "title_key")
