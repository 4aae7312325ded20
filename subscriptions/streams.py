"""Resumable streams: replay a stream from the event log after a cursor, then follow the broker
live, repairing every gap (broker restart, lost message, slow consumer) from the log.

Each event is yielded once, in seq order. Who may watch is not decided here (no upward arrow):
the schema asks the policy before the stream starts and again for every event."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass

from broadcaster import Broadcast
from broadcaster._base import Unsubscribed
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.event import StoredEvent, events_after, stream_position
from subscriptions import metrics
from subscriptions.broadcast import GAP, HubBroadcast

REPLAY_PAGE = 200


@dataclass(frozen=True)
class ResyncRequired:
    """The cursor is older than the log's retention: fetch the state afresh, then resubscribe."""

    stream: str
    retained_from_seq: int


async def _replay(
    sessions: async_sessionmaker[AsyncSession], stream: str, after_seq: int
) -> AsyncIterator[StoredEvent]:
    """Every logged event after `after_seq`, page by page, each page in its own short session."""
    while True:
        async with sessions() as session:
            page = await events_after(session, stream, after_seq, REPLAY_PAGE)
        for event in page:
            yield event
            after_seq = event.seq
        if len(page) < REPLAY_PAGE:
            return


async def _retained_from(sessions: async_sessionmaker[AsyncSession], stream: str) -> int:
    async with sessions() as session:
        return (await stream_position(session, stream))[1]


@functools.lru_cache(maxsize=256)
def _parsed(message: str) -> StoredEvent:
    """One broker message reaches every subscriber of its stream: parse it once for all."""
    return StoredEvent.from_json(message)


async def replay(
    sessions: async_sessionmaker[AsyncSession], stream: str, after_seq: int
) -> AsyncIterator[StoredEvent | ResyncRequired]:
    """Every logged event after `after_seq`, or `ResyncRequired` when the log no longer reaches
    back that far. Live events are not awaited: it ends where the log ends."""
    retained_from = await _retained_from(sessions, stream)
    if after_seq + 1 < retained_from:
        yield ResyncRequired(stream, retained_from)
        return
    async for event in _replay(sessions, stream, after_seq):
        yield event


async def follow(
    sessions: async_sessionmaker[AsyncSession],
    broadcast: Broadcast,
    stream: str,
    after_seq: int,
) -> AsyncIterator[StoredEvent | ResyncRequired]:
    """Events of `stream` after `after_seq`: from the log, then live; nothing lost, nothing twice."""
    # Subscribe before reading the log: whatever commits meanwhile arrives live or in the replay.
    async with broadcast.subscribe(stream) as subscriber:
        retained_from = await _retained_from(sessions, stream)
        if after_seq + 1 < retained_from:
            yield ResyncRequired(stream, retained_from)
            return
        last = after_seq
        async for event in _replay(sessions, stream, last):
            yield event
            last = event.seq
        _read_up_to(broadcast, stream, last)
        while True:
            try:
                message = (await subscriber.get()).message
            except Unsubscribed:
                return
            live = None if message == GAP else _parsed(message)
            if live is not None and live.seq <= last:
                continue  # already replayed
            if live is not None and live.seq == last + 1:
                yield live
                last = live.seq
                _read_up_to(broadcast, stream, last)
                continue
            # A gap: the broker said so, or a seq was skipped. The log has everything.
            metrics.GAPS_REPAIRED.inc()
            async for event in _replay(sessions, stream, last):
                yield event
                last = event.seq
            _read_up_to(broadcast, stream, last)


def _read_up_to(broadcast: Broadcast, stream: str, seq: int) -> None:
    """The log was read up to `seq`: what the broker lost before it is repaired already."""
    if isinstance(broadcast, HubBroadcast):
        broadcast.note_seen(stream, seq)
