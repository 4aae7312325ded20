"""Peer review, one mechanism for every reviewed kind of item (resources, and later others).

An item under review is keyed by (kind, id). Its lifecycle columns come from `ReviewedItem`;
assignments, reviews with their checklists, and declared conflicts of interest live here.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow


class ReviewItemKind(enum.Enum):
    RESOURCE = "RESOURCE"
    INITIATIVE = "INITIATIVE"


class ReviewState(enum.Enum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    IN_REVIEW = "IN_REVIEW"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WITHDRAWN = "WITHDRAWN"
    ARCHIVED = "ARCHIVED"


class ReviewDecision(enum.Enum):
    APPROVE = "APPROVE"
    REQUEST_CHANGES = "REQUEST_CHANGES"
    REJECT = "REJECT"


class PrincipleAnswer(enum.Enum):
    YES = "YES"
    NO = "NO"
    NOT_APPLICABLE = "NOT_APPLICABLE"


def db_enum(enum_class: type[enum.Enum], length: int = 20) -> Enum:
    return Enum(enum_class, native_enum=False, length=length, values_callable=enum_values)


class ReviewedItem:
    """Lifecycle columns every reviewed item has (a mixin: each kind keeps its own table)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[ReviewState] = mapped_column(
        db_enum(ReviewState), default=ReviewState.DRAFT, index=True
    )
    # Reviews count within a round; a resubmission or a re-review starts the next one.
    review_round: Mapped[int] = mapped_column(Integer, default=1)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="SET NULL"), index=True
    )
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last review decision (or creation): what "recently reviewed" orders by.
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_by: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    under_re_review: Mapped[bool] = mapped_column(Boolean, default=False)
    # An approval and a rejection in one round: one more reviewer has to decide.
    needs_additional_reviewer: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReviewAssignment(Base):
    """A reviewer a moderator asked to review an item."""

    __tablename__ = "review_assignment"
    __table_args__ = (
        UniqueConstraint("item_kind", "item_id", "reviewer_id"),
        Index("ix_review_assignment_reviewer_id_assigned_at", "reviewer_id", "assigned_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_kind: Mapped[ReviewItemKind] = mapped_column(db_enum(ReviewItemKind))
    item_id: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    assigned_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Review(Base):
    """One reviewer's decision on an item in one round, with the checklist."""

    __tablename__ = "review"
    __table_args__ = (
        UniqueConstraint("item_kind", "item_id", "round", "reviewer_id"),
        Index("ix_review_item", "item_kind", "item_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_kind: Mapped[ReviewItemKind] = mapped_column(db_enum(ReviewItemKind))
    item_id: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    decision: Mapped[ReviewDecision] = mapped_column(db_enum(ReviewDecision))
    comment: Mapped[str] = mapped_column(Text)
    relates_to_objective: Mapped[bool] = mapped_column(Boolean)
    accurate_and_sourced: Mapped[bool] = mapped_column(Boolean)
    up_to_date: Mapped[bool] = mapped_column(Boolean)
    # Whether the reviewer's organisation was UN_SYSTEM when reviewing (the publishing rule).
    reviewer_is_un_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewPrincipleAnswer(Base):
    """The checklist's answer for one guiding principle."""

    __tablename__ = "review_principle_answer"

    review_id: Mapped[int] = mapped_column(
        ForeignKey("review.id", ondelete="CASCADE"), primary_key=True
    )
    principle_letter: Mapped[str] = mapped_column(
        ForeignKey("guiding_principle.letter"), primary_key=True, index=True
    )
    answer: Mapped[PrincipleAnswer] = mapped_column(db_enum(PrincipleAnswer))


class ConflictOfInterest(Base):
    """A reviewer declaring they cannot review an item impartially."""

    __tablename__ = "conflict_of_interest"
    __table_args__ = (UniqueConstraint("item_kind", "item_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_kind: Mapped[ReviewItemKind] = mapped_column(db_enum(ReviewItemKind))
    item_id: Mapped[int] = mapped_column(Integer)
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    declared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
