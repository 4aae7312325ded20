"""One mutation, one transaction; its events are published only after the commit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.event import StoredEvent, append_event
from resolvers.errors import Problem
from subscriptions.events import EventPublisher


class Refused(Exception):
    """Raised inside a unit of work to roll it back and answer with these problems."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__(problems)
        self.problems = list(problems)


@dataclass
class UnitOfWork:
    session: AsyncSession
    events: list[StoredEvent] = field(default_factory=list)

    async def emit(self, stream: str, kind: str, payload: dict[str, Any]) -> StoredEvent:
        """Append an event to the log in this transaction; it is published after commit."""
        event = await append_event(self.session, stream, kind, payload)
        self.events.append(event)
        return event


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession], publisher: EventPublisher
) -> AsyncIterator[UnitOfWork]:
    """Commit on normal exit, then publish; roll back on an exception and publish nothing."""
    async with sessions.begin() as session:
        work = UnitOfWork(session)
        yield work
    await publisher.publish_committed(work.events)
