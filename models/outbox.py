"""The outbox: every delivery that leaves the server (an email, a digest, a push message, a
webhook call) is a row written in the transaction that causes it; workers claim due rows,
deliver them and record the outcome. Members' email preferences and the one-click
unsubscribe tokens already used live here too."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.event import JSONDocument
from models.notification import NotificationKind


class DeliveryChannel(enum.Enum):
    EMAIL = "EMAIL"
    DIGEST = "DIGEST"
    PUSH = "PUSH"
    WEBHOOK = "WEBHOOK"
    # Not a message: a job telling the followers of topics about something published, which
    # the workers expand into notifications (and their emails and push messages) in batches.
    FANOUT = "FANOUT"


class DeliveryState(enum.Enum):
    PENDING = "PENDING"  # due at `due_at` (a claimed row is pending with its lease as due time)
    SENT = "SENT"
    DROPPED = "DROPPED"  # not to be sent any more: the recipient may no longer receive it
    DEAD = "DEAD"  # every attempt failed: waits for an admin's retry


class EmailFrequency(enum.Enum):
    IMMEDIATE = "IMMEDIATE"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    NEVER = "NEVER"


def new_delivery_key() -> str:
    return str(uuid.uuid4())


class Delivery(Base):
    __tablename__ = "delivery"
    # Workers look for due pending rows, oldest due first.
    __table_args__ = (Index("ix_delivery_state_due_at", "state", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stable across retries and redeliveries: receivers drop duplicates by it.
    key: Mapped[str] = mapped_column(String(36), unique=True, default=new_delivery_key)
    channel: Mapped[DeliveryChannel] = mapped_column(
        Enum(DeliveryChannel, native_enum=False, length=20, values_callable=enum_values)
    )
    state: Mapped[DeliveryState] = mapped_column(
        Enum(DeliveryState, native_enum=False, length=20, values_callable=enum_values),
        default=DeliveryState.PENDING,
    )
    # A deleted account leaves its deliveries without a recipient: they are dropped.
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="SET NULL"), index=True
    )
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification.id", ondelete="SET NULL"), index=True
    )
    # The address when the delivery was written: a changed address drops it, never sends it.
    address: Mapped[str | None] = mapped_column(String(254))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it failed last, or why it was dropped (bounded, for admins).
    last_error: Mapped[str | None] = mapped_column(Text)
    # A FANOUT job's progress: the highest member id its committed batches covered (written
    # in each batch's transaction, so a job resumes after it and nowhere else).
    last_member_id: Mapped[int | None] = mapped_column(Integer)


class EmailPreference(Base):
    """A member's choice for one kind of notification; no row: the kind's default."""

    __tablename__ = "email_preference"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, native_enum=False, length=40, values_callable=enum_values),
        primary_key=True,
    )
    frequency: Mapped[EmailFrequency] = mapped_column(
        Enum(EmailFrequency, native_enum=False, length=20, values_callable=enum_values)
    )


class UsedUnsubscribeToken(Base):
    """A one-click unsubscribe link works once: the delivery whose link was used."""

    __tablename__ = "used_unsubscribe_token"

    delivery_key: Mapped[str] = mapped_column(String(36), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
