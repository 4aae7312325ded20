"""Retrying against a broker that went away: exponential backoff with jitter.

Two policies, because the two callers want different things: a subscriber connection must come
back however long it takes (subscribers are deaf until it does), while a publish is retried only
briefly (the event is already in the event log; a caller must not hang on a broker outage).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

logger = logging.getLogger(__name__)


def describe(error: BaseException) -> str:
    """`ConnectionError: Connection closed by server.`, or just `TimeoutError` when it says
    nothing more, for log lines."""
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


Attempt = Callable[[], Awaitable[None]]
Errors = tuple[type[BaseException], ...]


@dataclass(frozen=True)
class Backoff:
    """Delays from `first` seconds doubling up to `cap`, each drawn from the upper half of its
    step, so the processes reconnecting to a restarted broker do not all arrive at once."""

    first: float = 0.05
    cap: float = 2.0

    def delays(self) -> Iterator[float]:
        step = self.first
        while True:
            yield random.uniform(step / 2, step)  # noqa: S311 - jitter, not cryptography
            step = min(step * 2, self.cap)


RECONNECT_BACKOFF = Backoff()


async def retry_forever(
    attempt: Attempt, *, transient: Errors, backoff: Backoff, what: str
) -> None:
    """Run `attempt` until it succeeds, sleeping before every try (also the first, so a broker
    that accepts and then drops every connection is not hammered in a tight loop). Errors that
    are not `transient` are logged with their traceback but retried too: giving up would leave
    subscribers deaf until the process restarts."""
    for number, delay in enumerate(backoff.delays(), start=1):
        await asyncio.sleep(delay)
        try:
            await attempt()
        except transient as error:
            logger.warning("%s: attempt %d failed (%s)", what, number, describe(error))
        except Exception:
            logger.exception("%s: attempt %d failed unexpectedly", what, number)
        else:
            return


async def retry_briefly(
    attempt: Attempt, *, transient: Errors, attempts: int, backoff: Backoff, what: str
) -> bool:
    """Run `attempt` up to `attempts` times; False when it never succeeded (each failure logged)."""
    delays = backoff.delays()
    for number in range(1, attempts + 1):
        try:
            await attempt()
        except transient as error:
            logger.warning(
                "%s: attempt %d of %d failed (%s)", what, number, attempts, describe(error)
            )
        else:
            return True
        if number < attempts:
            await asyncio.sleep(next(delays))
    return False
