"""The append-only event log that live updates replay from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

JSONDocument = JSON().with_variant(JSONB(), "postgresql")


class EventStream(Base):
    """One stream (a thread, a community, a member's notifications) and its sequence counter.

    Appending takes this row's lock (UPDATE ... RETURNING), so seq never repeats or skips."""

    __tablename__ = "event_stream"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Events with seq below this were pruned: an older cursor needs a resync.
    retained_from_seq: Mapped[int] = mapped_column(Integer, default=1)


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (UniqueConstraint("stream", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream: Mapped[str] = mapped_column(ForeignKey("event_stream.name", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
