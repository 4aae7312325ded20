"""The worker's outcomes, written as soon as they are known, several in one transaction (a
group commit): a send's outcome waits for at most the commit in progress, then goes in the
next one with every outcome that arrived meanwhile.

Why: a message accepted by the SMTP server (its 250) but not yet recorded when the worker dies
is sent again after its lease. That window is now the gap between the 250 and the commit that
holds its outcome, not the rest of a batch; and a busy worker still commits a few outcomes per
transaction instead of one transaction per message. No timer: an idle writer costs nothing."""

from __future__ import annotations

import asyncio
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
    # Transactions committed and outcomes written (for the tests and the benchmark).
    commits: int = 0
    written: int = 0
    _waiting: list[_Waiting] = field(default_factory=list)
    _writing: asyncio.Task[None] | None = None

    async def record(self, claimed: Claimed, result: Result) -> bool:
        """Record an outcome with the next commit; False if the claim was lost meanwhile (the
        lease ended and another worker claimed the row: its outcome counts)."""
        recorded: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(claimed, result, recorded))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write())
        return await recorded

    async def _write(self) -> None:
        """Commit what waits, again and again, until nothing does."""
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                done = await outbox.record_all(
                    self.sessions, [(w.claimed, w.result) for w in batch], self.retry
                )
            except Exception as error:  # each waiting send fails as its own record would have
                for waiting in batch:
                    if not waiting.recorded.done():
                        waiting.recorded.set_exception(error)
                continue
            self.commits += 1
            self.written += len(batch)
            for waiting in batch:
                if not waiting.recorded.done():
                    waiting.recorded.set_result(waiting.claimed.id in done)
