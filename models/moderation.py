"""Moderation: the append-only audit log and members' flags on content."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.event import JSONDocument


class ModerationAction(enum.Enum):
    PIN_THREAD = "PIN_THREAD"
    UNPIN_THREAD = "UNPIN_THREAD"
    LOCK_THREAD = "LOCK_THREAD"
    UNLOCK_THREAD = "UNLOCK_THREAD"
    MOVE_THREAD = "MOVE_THREAD"
    DELETE_THREAD = "DELETE_THREAD"
    DELETE_POST = "DELETE_POST"
    REMOVE_COMMUNITY_MEMBER = "REMOVE_COMMUNITY_MEMBER"
    RESOLVE_FLAG = "RESOLVE_FLAG"
    # Curated knowledge (reviewed items).
    DECIDE_REVIEW_ITEM = "DECIDE_REVIEW_ITEM"
    ARCHIVE_REVIEW_ITEM = "ARCHIVE_REVIEW_ITEM"
    SEND_BACK_TO_REVIEW = "SEND_BACK_TO_REVIEW"
    DELETE_WEBINAR_CHAT_MESSAGE = "DELETE_WEBINAR_CHAT_MESSAGE"


class AuditEntry(Base):
    """Who did what to which object, and why. Rows are only ever inserted."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    action: Mapped[ModerationAction] = mapped_column(
        Enum(ModerationAction, native_enum=False, length=40, values_callable=enum_values)
    )
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    community_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Flag(Base):
    """A member telling moderators that a post needs a look."""

    __tablename__ = "flag"
    __table_args__ = (UniqueConstraint("post_id", "member_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
