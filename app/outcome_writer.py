"""The worker's outcomes, written as soon as they are known, several in one transaction when
they come together (a group commit): each outcome starts a commit at once unless one is about
to start, which it joins; commits run side by side (one per connection of the pool; on
SQLite one after the other).

Why: a message accepted by the SMTP server (its 250) but not yet recorded when the worker dies
is sent again after its lease. That window is now the gap between the 250 and the commit that
holds its outcome, not the rest of a batch; and a busy worker still commits a few outcomes per
transaction instead of one transaction per message. No timer: an idle writer costs nothing."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from resolvers import outbox
from resolvers.outbox import Claimed, Result, RetryPolicy, Sessions


@dataclass
class _Waiting:
    claimed: Claimed
    result: Result
    recorded: asyncio.Future[bool]


@dataclass
class OutcomeWriter:
    sessions: Sessions
    retry: RetryPolicy
    # False on SQLite, whose one writer at a time makes concurrent commits fail ("database is
    # locked"): a commit then waits for the one in progress, and takes what arrived meanwhile.
    side_by_side: bool = True
    # Transactions committed and outcomes written (for the tests and the benchmark).
    commits: int = 0
    written: int = 0
    _waiting: list[_Waiting] = field(default_factory=list)
    # A commit that will take what is waiting when it starts (none: the next outcome starts one).
    _next: asyncio.Task[None] | None = None
    _writing: set[asyncio.Task[None]] = field(default_factory=set)
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def record(self, claimed: Claimed, result: Result) -> bool:
        """Record an outcome with the next commit; False if the claim was lost meanwhile (the
        lease ended and another worker claimed the row: its outcome counts)."""
        recorded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(claimed, result, recorded))
        if self._next is None:
            self._next = asyncio.create_task(self._write())
            self._writing.add(self._next)
            self._next.add_done_callback(self._writing.discard)
        return await recorded

    async def _write(self) -> None:
        """Commit every outcome that arrived before this task started: those that came
        together share a transaction; one that comes while it commits starts the next at once
        (never waiting behind this one: a commit's latency is the window)."""
        async with self._turn if not self.side_by_side else contextlib.nullcontext():
            batch, self._waiting, self._next = self._waiting, [], None
            await self._commit(batch)

    async def _commit(self, batch: list[_Waiting]) -> None:
        try:
            done = await outbox.record_all(
                self.sessions, [(w.claimed, w.result) for w in batch], self.retry
            )
        except Exception as error:  # each waiting send fails as its own record would have
            for waiting in batch:
                if not waiting.recorded.done():
                    waiting.recorded.set_exception(error)
            return
        self.commits += 1
        self.written += len(batch)
        for waiting in batch:
            if not waiting.recorded.done():
                waiting.recorded.set_result(waiting.claimed.id in done)
