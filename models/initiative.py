"""Initiatives (practices and flagship initiatives), reviewed like resources, and the calls
for practices they answer."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.collation import keep_key, key_default
from models.review import ReviewedItem, db_enum


class InitiativeStatus(enum.Enum):
    PLANNED = "PLANNED"
    ONGOING = "ONGOING"
    COMPLETED = "COMPLETED"


class CallForPractices(Base):
    """A moderator's call for practices on a theme: initiatives answer it until its deadline."""

    __tablename__ = "call_for_practices"
    __table_args__ = (Index("ix_call_for_practices_deadline_id", "deadline", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    theme: Mapped[str] = mapped_column(String(200))
    # The language its text was written in (BCP 47); translations are in others.
    language: Mapped[str] = mapped_column(String(35), default="en", server_default="en")
    description: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CallObjective(Base):
    __tablename__ = "call_objective"

    call_id: Mapped[int] = mapped_column(
        ForeignKey("call_for_practices.id", ondelete="CASCADE"), primary_key=True
    )
    objective_number: Mapped[int] = mapped_column(
        ForeignKey("gcm_objective.number"), primary_key=True, index=True
    )


class Initiative(ReviewedItem, Base):
    """A practice or flagship initiative: what it did, where, for which objectives, results."""

    __tablename__ = "initiative"
    __table_args__ = (
        Index("ix_initiative_newest", "created_at", "id"),
        Index("ix_initiative_recently_reviewed", "reviewed_at", "id"),
        Index("ix_initiative_title_key", "title_key", "id"),
    )

    title: Mapped[str] = mapped_column(String(300))
    # How the title sorts in every script (models/collation.py), kept with the title.
    title_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=key_default("title"))
    # The language its text was written in (BCP 47); translations are in others.
    language: Mapped[str] = mapped_column(String(35), default="en", server_default="en")
    summary: Mapped[str] = mapped_column(Text, default="")
    lead_organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[InitiativeStatus] = mapped_column(db_enum(InitiativeStatus), index=True)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    results: Mapped[str] = mapped_column(Text, default="")
    replicability: Mapped[str] = mapped_column(Text, default="")
    is_global: Mapped[bool] = mapped_column(Boolean, default=False)
    featured: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("call_for_practices.id", ondelete="SET NULL"), index=True
    )
    # A row with `revision_of_id` is a proposed edit of a published initiative, reviewed on its
    # own; once approved, its content replaces the published one's (as for resources).
    revision_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), index=True
    )
    # When an approved revision replaced the published content.
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


keep_key(Initiative.title, "title_key")


class InitiativePartner(Base):
    __tablename__ = "initiative_partner"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class InitiativeObjective(Base):
    __tablename__ = "initiative_objective"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    objective_number: Mapped[int] = mapped_column(
        ForeignKey("gcm_objective.number"), primary_key=True, index=True
    )


class InitiativePrinciple(Base):
    __tablename__ = "initiative_principle"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    principle_letter: Mapped[str] = mapped_column(
        ForeignKey("guiding_principle.letter"), primary_key=True, index=True
    )


class InitiativeCountry(Base):
    __tablename__ = "initiative_country"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)


class InitiativeRegion(Base):
    __tablename__ = "initiative_region"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    m49: Mapped[str] = mapped_column(String(3), primary_key=True, index=True)


class InitiativeResource(Base):
    """A resource an initiative links to (its toolkits, evaluations, ...)."""

    __tablename__ = "initiative_resource"

    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiative.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True, index=True
    )
