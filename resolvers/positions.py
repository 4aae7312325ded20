"""Where streams stand in the event log, for clients that fetch state and then subscribe."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.event import last_seqs


async def stream_positions(
    sessions: async_sessionmaker[AsyncSession], streams: Sequence[str]
) -> list[int]:
    async with sessions() as session:
        return await last_seqs(session, streams)
