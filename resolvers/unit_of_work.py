"""One mutation, one transaction; its events are published only after the commit.

`mutation(...)` is the one way to write a mutation: the sign-in check, the input's problems,
one unit of work, typed refusals (`Refused`), integrity conflicts answered as `CONFLICT`, and the
events published after the commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow, AnySelect
from models.event import StoredEvent, append_event, append_events
from models.outbox import Delivery
from resolvers.errors import NOT_SIGNED_IN, ErrorCode, Problem
from resolvers.policy import Viewer
from subscriptions.events import EventPublisher

T = TypeVar("T")

# Two requests made the same change at once and met at a unique constraint: the loser's answer.
RACED = Problem(
    None, "The same change was made at the same time; reload and try again.", ErrorCode.CONFLICT
)


class Refused(Exception):
    """Raised inside a unit of work to roll it back and answer with these problems."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__(problems)
        self.problems = list(problems)


@dataclass
class UnitOfWork:
    session: AsyncSession
    events: list[StoredEvent] = field(default_factory=list)
    deliveries: int = 0

    async def emit(self, stream: str, kind: str, payload: dict[str, Any]) -> StoredEvent:
        """Append an event to the log in this transaction; it is published after commit."""
        event = await append_event(self.session, stream, kind, payload)
        self.events.append(event)
        return event

    async def emit_to_each(
        self, kind: str, payloads: Mapping[str, dict[str, Any]]
    ) -> list[StoredEvent]:
        """Append an event of `kind` to each stream of `payloads` (a fan-out), in a few
        statements whatever their number; published after commit."""
        events = await append_events(self.session, kind, payloads)
        self.events.extend(events)
        return events

    async def read_back(self, statement: AnySelect) -> AnyRow | None:
        """A mutation's answer (`statement`, narrowed to one row and to what the viewer may
        see), read in this transaction: once it has committed, the answer needs the database
        no more, so a database gone right after the commit cannot turn a stored change into an
        error."""
        await self.session.flush()
        return (await self.session.execute(statement)).first()

    def deliver(self, delivery: Delivery) -> None:
        """Write a delivery (an email, a push message, a webhook call) to the outbox in this
        transaction: it exists if and only if the change commits, and no worker sees it
        before; the workers send it, the mutation never waits for the sending."""
        self.session.add(delivery)
        self.deliveries += 1

    async def deliver_all(self, deliveries: Sequence[Mapping[str, Any]]) -> None:
        """Write many deliveries (their columns) to the outbox in this transaction, in one
        statement (the driver pages very large ones): a fan-out's emails or push messages."""
        if deliveries:
            await self.session.execute(insert(Delivery), [dict(d) for d in deliveries])
            self.deliveries += len(deliveries)


@asynccontextmanager
async def unit_of_work(
    sessions: async_sessionmaker[AsyncSession], publisher: EventPublisher | None
) -> AsyncIterator[UnitOfWork]:
    """Commit on normal exit, then publish; roll back on an exception and publish nothing.
    A change that emits no events may go without a publisher."""
    async with sessions.begin() as session:
        work = UnitOfWork(session)
        yield work
    if publisher is not None:
        await publisher.publish_committed(work.events)
    elif work.events:
        raise RuntimeError("events were emitted in a unit of work without a publisher")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a mutation did: its value, or the problems that stopped it (nothing was changed)."""

    value: T | None = None
    problems: list[Problem] = field(default_factory=list)


Change = Callable[[UnitOfWork], Awaitable[T]]


def reading_back(change: Change[int], answer: Callable[[int], AnySelect]) -> Change[AnyRow | None]:
    """`change` (which returns the id of what it wrote), answering with the row `answer(id)`
    selects, read in the same transaction (`UnitOfWork.read_back`)."""

    async def changed(work: UnitOfWork) -> AnyRow | None:
        return await work.read_back(answer(await change(work)))

    return changed


async def mutation(
    sessions: async_sessionmaker[AsyncSession],
    events: EventPublisher | None,
    viewer: Viewer,
    change: Change[T],
    *,
    problems: Sequence[Problem] = (),
    sign_in: bool = True,
    conflict: Problem | None = RACED,
) -> Outcome[T]:
    """Run `change` as one mutation.

    - `sign_in`: anonymous callers get NOT_SIGNED_IN before anything else is said.
    - `problems`: what the input's validation found; nothing runs when there are any.
    - `change` runs in one transaction; raising `Refused` rolls it back and answers its problems.
    - An integrity error (two requests meeting at a unique constraint) rolls back and answers
      `conflict` (None: let it raise, it would be a bug).
    - The events the change emitted are published after the commit, never before."""
    if sign_in and viewer.member_id is None:
        return Outcome(problems=[NOT_SIGNED_IN])
    if problems:
        return Outcome(problems=list(problems))
    try:
        async with unit_of_work(sessions, events) as work:
            value = await change(work)
    except Refused as refusal:
        return Outcome(problems=refusal.problems)
    except IntegrityError:
        if conflict is None:
            raise
        return Outcome(problems=[conflict])
    return Outcome(value=value)
