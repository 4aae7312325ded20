"""Notifications stored per member, and what members follow."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, UniqueConstraint, text
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
    # Something was published (a resource, an initiative) or opened (a call for practices) on
    # a GCM objective, guiding principle, country or region the member follows.
    FOLLOWED_TOPIC = "FOLLOWED_TOPIC"


class WatchLevel(enum.Enum):
    MUTED = "MUTED"
    NORMAL = "NORMAL"
    WATCHING = "WATCHING"


class FollowTarget(enum.Enum):
    THREAD = "THREAD"
    COMMUNITY = "COMMUNITY"


class TopicKind(enum.Enum):
    """What of the Compact's vocabulary a member can follow; a topic's key is the objective's
    number, the principle's letter, the country's ISO 3166 code or the region's M49 code."""

    OBJECTIVE = "OBJECTIVE"
    PRINCIPLE = "PRINCIPLE"
    COUNTRY = "COUNTRY"
    REGION = "REGION"


class CreatedNotification(NamedTuple):
    """A notification just written, as the outbox needs it (its emails and push messages)."""

    id: int
    member_id: int
    kind: NotificationKind


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_member_id_id", "member_id", "id"),
        # A fan-out job's batch replayed (a worker killed after writing it but before its
        # progress was recorded: impossible, as both are one transaction) would meet here
        # instead of telling anyone twice.
        Index(
            "uq_notification_fanout_job_member_id",
            "fanout_job",
            "member_id",
            unique=True,
            postgresql_where=text("fanout_job IS NOT NULL"),
            sqlite_where=text("fanout_job IS NOT NULL"),
        ),
    )

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
    # The outbox's fan-out job (a `delivery` row of channel FANOUT) that wrote it, if one did;
    # no foreign key: the delivery table already refers to this one.
    fanout_job: Mapped[int | None] = mapped_column(Integer)


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


class TopicFollow(Base):
    """A member follows a topic: they are notified when something is published on it."""

    __tablename__ = "topic_follow"
    __table_args__ = (
        UniqueConstraint("member_id", "topic", "key"),
        # A fan-out job reads a topic's followers in batches, in member id order.
        Index("ix_topic_follow_topic_key_member_id", "topic", "key", "member_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    topic: Mapped[TopicKind] = mapped_column(
        Enum(TopicKind, native_enum=False, length=20, values_callable=enum_values)
    )
    key: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
