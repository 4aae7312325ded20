"""The worker's outcomes, written the moment they are known, several in one statement when
they come together (a group commit).

Why: a message accepted by the SMTP server (its 250) but not yet recorded when the worker dies
is sent again after its lease: the duplicate window is the time from the 250 to the committed
outcome. So the outcome goes out from the coroutine that received the 250, before the event
loop runs anything else (no task to schedule, no other send or compose step in between), on a
connection the writer keeps while a round sends (no pool checkout, no ping), as one statement
in autocommit on PostgreSQL (no BEGIN, no COMMIT round trips; `resolvers/outbox.record_on`).
Outcomes that arrive while a statement is in flight wait for it, then go out together in the
next one. Measured in bench/README.md (issue 14)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from models.db import Database
from models.writes import announce_write
from resolvers import outbox
from resolvers.outbox import Claimed, Recorded, Result, RetryPolicy

# The only table an outcome writes (with the write version, which is not announced).
WRITTEN = frozenset({"delivery"})


@dataclass
class _Waiting:
    claimed: Claimed
    result: Result
    recorded: asyncio.Future[bool]


@dataclass
class OutcomeWriter:
    db: Database
    retry: RetryPolicy
    # Statements committed and outcomes written (for the tests and the benchmark).
    commits: int = 0
    written: int = 0
    _waiting: list[_Waiting] = field(default_factory=list)
    # One statement at a time on the kept connection; taken without yielding when free.
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    _connection: AsyncConnection | None = None
    _keep: bool = False

    @asynccontextmanager
    async def kept(self) -> AsyncIterator[None]:
        """Keep one connection while a round sends (opened now, before any send: none is
        checked out between a 250 and its record), and give it back to the pool after."""
        self._keep = True
        try:
            await self._connect()
            yield
        finally:
            self._keep = False
            await self._release()

    async def record(self, claimed: Claimed, result: Result) -> bool:
        """Record an outcome now, or with the next statement if one is in flight; False if
        the claim was lost meanwhile (the lease ended and another worker claimed the row: its
        outcome counts)."""
        waiting = _Waiting(claimed, result, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        async with self._turn:
            if not waiting.recorded.done():  # else a statement in flight took it
                batch, self._waiting = self._waiting, []
                await self._commit(batch)
        return await waiting.recorded

    async def _commit(self, batch: list[_Waiting]) -> None:
        try:
            recorded = await self._write([(w.claimed, w.result) for w in batch])
        except Exception as error:  # each waiting send fails as its own record would have
            for waiting in batch:
                waiting.recorded.set_exception(error)
            return
        except BaseException:  # cancelled: the outcomes were not recorded (the lease ends)
            for waiting in batch:
                waiting.recorded.cancel()
            raise
        if recorded.version is not None:
            announce_write(self.db.write_listeners, recorded.version, WRITTEN)
        self.commits += 1
        self.written += len(batch)
        for waiting in batch:
            waiting.recorded.set_result(waiting.claimed.id in recorded.ids)

    async def _write(self, outcomes: list[tuple[Claimed, Result]]) -> Recorded:
        """On the kept connection; one that the server dropped meanwhile (a restart) is
        replaced once (the recording is idempotent: a row already recorded is left alone)."""
        connection = self._connection or await self._connect()
        try:
            return await outbox.record_on(connection, outcomes, self.retry)
        except DBAPIError as error:
            await self._release(broken=True)
            if not error.connection_invalidated:
                raise
            return await outbox.record_on(await self._connect(), outcomes, self.retry)
        finally:
            if not self._keep:
                await self._release()

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            connection = await self.db.engine.connect()
            if not self.db.is_sqlite:
                # Each statement commits on its own; SQLAlchemy's transaction, begun here once
                # and never committed, sends nothing (autocommit) and spares a begin per record.
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.begin()
            self._connection = connection
        return self._connection

    async def _release(self, broken: bool = False) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await (connection.invalidate() if broken else connection.close())
