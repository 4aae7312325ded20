"""Webhook endpoints: an organisation's system (or a public consumer) that admins registered
to be called, signed, when events of the kinds it chose happen. The calls themselves are
deliveries of the outbox (models/outbox.py, channel WEBHOOK)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow
from models.event import JSONDocument


class WebhookEvent(enum.Enum):
    RESOURCE_PUBLISHED = "RESOURCE_PUBLISHED"
    INITIATIVE_PUBLISHED = "INITIATIVE_PUBLISHED"
    WEBINAR_SCHEDULED = "WEBINAR_SCHEDULED"
    WEBINAR_CHANGED = "WEBINAR_CHANGED"
    SUPPORT_REQUEST_UPDATED = "SUPPORT_REQUEST_UPDATED"
    CALL_FOR_PRACTICES_OPENED = "CALL_FOR_PRACTICES_OPENED"


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # The signing secret (`whsec_` + base64), shown once when the endpoint is created.
    secret: Mapped[str] = mapped_column(String(100))
    # The WebhookEvent values it wants.
    events: Mapped[list[str]] = mapped_column(JSONDocument)
    # Whose data it may receive besides public data (a support request's organisation).
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
