"""Web Push (RFC 8030/8291/8292): the push subscriptions members' browsers and apps register,
and whether each kind of notification reaches a member by push. The messages themselves are
deliveries of the outbox (models/outbox.py, channel PUSH), one per subscription."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, enum_values, utcnow
from models.notification import NotificationKind


class PushSubscription(Base):
    """One browser's or app's subscription at its push service. An endpoint belongs to one
    member at a time: registering it again (another member signing in on that browser) moves
    it."""

    __tablename__ = "push_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"), index=True)
    # The push service's URL for this subscription (a capability: never shown to others).
    endpoint: Mapped[str] = mapped_column(String(2000), unique=True)
    # The browser's P-256 public key and its authentication secret (base64url), RFC 8291.
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PushPreference(Base):
    """A member's choice of push for one kind of notification; no row: the kind's default."""

    __tablename__ = "push_preference"

    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, native_enum=False, length=40, values_callable=enum_values),
        primary_key=True,
    )
    enabled: Mapped[bool] = mapped_column(Boolean)
