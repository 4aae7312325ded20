"""A webinar's lasting record in the knowledge base: the resource its organisers filed from it
(recording and answered questions), and the published resources linked to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class WebinarRecord(Base):
    """The resource filed from a webinar: one per webinar (the primary key), so filing twice
    finds the first one instead of making a duplicate."""

    __tablename__ = "webinar_record"

    webinar_id: Mapped[int] = mapped_column(
        ForeignKey("webinar.id", ondelete="CASCADE"), primary_key=True
    )
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), unique=True
    )
    filed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebinarResource(Base):
    """A resource linked to a webinar by its organisers; listed in the order linked."""

    __tablename__ = "webinar_resource"
    __table_args__ = (
        UniqueConstraint("webinar_id", "resource_id"),
        Index("ix_webinar_resource_webinar_id_id", "webinar_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webinar_id: Mapped[int] = mapped_column(ForeignKey("webinar.id", ondelete="CASCADE"))
    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), index=True
    )
    linked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
