"""Notifications stored per member, and what members follow."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.event import JSONDocument


class NotificationKind(enum.Enum):
    MENTION = "MENTION"
    REPLY = "REPLY"
    REACTION = "REACTION"
    MODERATION = "MODERATION"
    NEW_THREAD = "NEW_THREAD"
    REVIEW_DECISION = "REVIEW_DECISION"
    WEBINAR_REMINDER = "WEBINAR_REMINDER"
    WEBINAR_UPDATE = "WEBINAR_UPDATE"
    SUPPORT_REQUEST_UPDATE = "SUPPORT_REQUEST_UPDATE"


class WatchLevel(enum.Enum):
    MUTED = "MUTED"
    NORMAL = "NORMAL"
    WATCHING = "WATCHING"


class FollowTarget(enum.Enum):
    THREAD = "THREAD"
    COMMUNITY = "COMMUNITY"


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_member_id_id", "member_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, native_enum=False, length=40, values_callable=enum_values)
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    # What it is about, as integer keys: {"thread": 3, "post": 17, "community": 1}.
    subject: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Follow(Base):
    __tablename__ = "follow"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    target: Mapped[FollowTarget] = mapped_column(
        Enum(FollowTarget, native_enum=False, length=20, values_callable=enum_values),
        primary_key=True,
    )
    target_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[WatchLevel] = mapped_column(
        Enum(WatchLevel, native_enum=False, length=20, values_callable=enum_values)
    )
