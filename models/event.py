"""The append-only event log that live updates replay from."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
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


@dataclass(frozen=True)
class StoredEvent:
    """An event as written to the log and as carried by the broker (JSON round-trips it)."""

    stream: str
    seq: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    # The W3C trace context of the mutation that committed it, carried by the broker only
    # (subscriptions/tracing.py); an event read from the log has none.
    traceparent: str | None = None

    def to_json(self) -> str:
        message = {
            "stream": self.stream,
            "seq": self.seq,
            "kind": self.kind,
            "payload": self.payload,
            "created_at": self.created_at.isoformat(),
        }
        if self.traceparent is not None:
            message["traceparent"] = self.traceparent
        return json.dumps(message, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> StoredEvent:
        data = json.loads(text)
        return cls(
            stream=data["stream"],
            seq=int(data["seq"]),
            kind=data["kind"],
            payload=data["payload"],
            created_at=datetime.fromisoformat(data["created_at"]),
            traceparent=data.get("traceparent"),
        )


async def _create_stream(session: AsyncSession, stream: str) -> None:
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(EventStream)
        .values(name=stream, last_seq=0, retained_from_seq=1)
        .on_conflict_do_nothing()
    )


async def lock_stream(session: AsyncSession, stream: str) -> None:
    """Take `stream`'s row lock now, as appending would later. Writers that change the object
    a stream is about take it first, before reading or locking the object's own row: one lock
    order for all of them, so they never wait for each other in a cycle, and each reads the
    object as the writer before it left it."""
    await _create_stream(session, stream)
    await session.execute(
        select(EventStream.name).where(EventStream.name == stream).with_for_update()
    )


async def append_event(
    session: AsyncSession, stream: str, kind: str, payload: dict[str, Any]
) -> StoredEvent:
    """Append to `stream` inside the caller's transaction; the stream row's lock orders writers,
    so seq grows by exactly one per event."""
    # A payload must survive JSON, or it would fail later in a subscriber.
    payload = json.loads(json.dumps(payload))
    await _create_stream(session, stream)
    seq = (
        await session.execute(
            update(EventStream)
            .where(EventStream.name == stream)
            .values(last_seq=EventStream.last_seq + 1)
            .returning(EventStream.last_seq)
        )
    ).scalar_one()
    created_at = utcnow()
    session.add(Event(stream=stream, seq=seq, kind=kind, payload=payload, created_at=created_at))
    return StoredEvent(stream, seq, kind, payload, created_at)


# Streams one statement names at most (SQLite allows 32,766 parameters a statement).
STREAMS_PER_STATEMENT = 1000


async def append_events(
    session: AsyncSession, kind: str, payloads: Mapping[str, dict[str, Any]]
) -> list[StoredEvent]:
    """Append one event of `kind` to each of many streams (a fan-out: one per recipient) in a
    few statements, whatever their number: the streams are created, locked in name order (so
    two fan-outs never wait for each other in a cycle), advanced and written together."""
    names = sorted(payloads)
    seqs: dict[str, int] = {}
    for start in range(0, len(names), STREAMS_PER_STATEMENT):
        seqs.update(await _advance(session, names[start : start + STREAMS_PER_STATEMENT]))
    created_at = utcnow()
    events = [
        StoredEvent(name, seqs[name], kind, json.loads(json.dumps(payloads[name])), created_at)
        for name in names
    ]
    if events:
        await session.execute(
            insert(Event),
            [
                {
                    "stream": e.stream,
                    "seq": e.seq,
                    "kind": kind,
                    "payload": e.payload,
                    "created_at": created_at,
                }
                for e in events
            ],
        )
    return events


async def _advance(session: AsyncSession, names: Sequence[str]) -> dict[str, int]:
    """Each stream's next seq, its row created if new and locked until the transaction ends."""
    upsert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        upsert(EventStream).on_conflict_do_nothing(),
        [{"name": n, "last_seq": 0, "retained_from_seq": 1} for n in names],
    )
    await session.execute(
        select(EventStream.name)
        .where(EventStream.name.in_(names))
        .order_by(EventStream.name)
        .with_for_update()
    )
    rows = await session.execute(
        update(EventStream)
        .where(EventStream.name.in_(names))
        .values(last_seq=EventStream.last_seq + 1)
        .returning(EventStream.name, EventStream.last_seq)
        .execution_options(synchronize_session=False)
    )
    return {str(name): int(seq) for name, seq in rows}


async def events_after(
    session: AsyncSession, stream: str, after_seq: int, limit: int
) -> list[StoredEvent]:
    rows = await session.execute(
        select(Event.seq, Event.kind, Event.payload, Event.created_at)
        .where(Event.stream == stream, Event.seq > after_seq)
        .order_by(Event.seq)
        .limit(limit)
    )
    return [StoredEvent(stream, seq, kind, payload, at) for seq, kind, payload, at in rows]


async def stream_position(session: AsyncSession, stream: str) -> tuple[int, int]:
    """(last seq written, first seq still retained) of a stream; (0, 1) when it is new."""
    row = (
        await session.execute(
            select(EventStream.last_seq, EventStream.retained_from_seq).where(
                EventStream.name == stream
            )
        )
    ).first()
    return (int(row[0]), int(row[1])) if row else (0, 1)


async def last_seqs(session: AsyncSession, streams: Sequence[str]) -> list[int]:
    """The last seq written to each stream (0 for a stream with no event yet)."""
    rows = await session.execute(
        select(EventStream.name, EventStream.last_seq).where(EventStream.name.in_(streams))
    )
    last = dict(rows.all())
    return [int(last.get(stream, 0)) for stream in streams]


async def oldest_event_time(session: AsyncSession) -> datetime | None:
    """When the oldest event still in the log was written (None: the log is empty)."""
    oldest: datetime | None = await session.scalar(select(func.min(Event.created_at)))
    return oldest


async def prune_events(session: AsyncSession, older_than: datetime) -> int:
    """Delete events older than `older_than`, remembering per stream where retention starts."""
    oldest_kept = (
        select(Event.stream, func.min(Event.seq).label("seq"))
        .where(Event.created_at >= older_than)
        .group_by(Event.stream)
        .subquery()
    )
    await session.execute(
        update(EventStream)
        .values(
            retained_from_seq=func.coalesce(
                select(oldest_kept.c.seq)
                .where(oldest_kept.c.stream == EventStream.name)
                .scalar_subquery(),
                EventStream.last_seq + 1,
            )
        )
        .where(exists().where(Event.stream == EventStream.name, Event.created_at < older_than))
    )
    result = await session.execute(delete(Event).where(Event.created_at < older_than))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
