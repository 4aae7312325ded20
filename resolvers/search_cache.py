"""Answers of `search` kept in memory, per process, under the search epoch they were read at.

A search reads every match to rank it and to count facets: on a broad query that is thousands
of rows and tens of milliseconds of database time, the same for every client asking the same
thing. The answer (the page's hits with their snippets, and the counts) depends only on the
query, the filter, the page asked for, who asks (their policy: member, role, organisation) and
the data. The data part is the search epoch (models/search.py): every committed write that may
change an answer moves it on, in the writing transaction. A search first reads the epoch
(one primary-key read), then looks for an answer cached under that epoch; so the moment a write
commits, no process serves an answer from before it: an approved resource is found, a deleted
post is gone, a member who left a private community no longer sees it, as without the cache.

Simultaneous identical searches are answered by one computation. When the epoch moves on, the
entries of older epochs can never be asked for again and are dropped.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.search import SearchEpoch
from subscriptions import metrics

Answer = TypeVar("Answer")


async def read_epoch(session: AsyncSession) -> int | None:
    """The search epoch now (None if the row is missing: then nothing is cached)."""
    value = await session.scalar(select(SearchEpoch.value).where(SearchEpoch.id == 1))
    return None if value is None else int(value)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    shared: int = 0  # answered by a computation another request had started


@dataclass
class SearchCache(Generic[Answer]):
    """At most `entries` answers of the newest epoch seen, least recently used out first.
    `entries=0` turns caching off (every search computes its answer)."""

    entries: int
    stats: CacheStats = field(default_factory=CacheStats)
    _epoch: int = -1
    _answers: OrderedDict[Hashable, Answer] = field(default_factory=OrderedDict)
    _computing: dict[Hashable, asyncio.Future[Answer]] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.entries > 0

    def __len__(self) -> int:
        return len(self._answers)

    async def answer(
        self,
        epoch: int | None,
        key: Hashable,
        compute: Callable[[], Awaitable[Answer]],
        usable: Callable[[Answer], bool] = lambda _: True,
    ) -> Answer:
        """The cached answer for `key` at `epoch` if there is one and it is `usable`, else the
        one computed now (or by a simultaneous request for the same key), cached."""
        if not self.enabled or epoch is None or epoch < self._epoch:
            # Off, or this request read the epoch before a write another request has seen.
            return await compute()
        if epoch > self._epoch:
            self._epoch = epoch
            self._answers.clear()
            self._computing.clear()
        cached = self._answers.get(key)
        if cached is not None and usable(cached):
            self._answers.move_to_end(key)
            self.stats.hits += 1
            metrics.SEARCH_CACHE.labels("hit").inc()
            return cached
        running = self._computing.get(key)
        if running is not None:
            await asyncio.wait({running})  # never raises the other request's error or cancel
            if not running.cancelled() and running.exception() is None:
                result = running.result()
                if usable(result):
                    self.stats.shared += 1
                    metrics.SEARCH_CACHE.labels("shared").inc()
                    return result
        return await self._compute(epoch, key, compute)

    async def _compute(
        self, epoch: int, key: Hashable, compute: Callable[[], Awaitable[Answer]]
    ) -> Answer:
        self.stats.misses += 1
        metrics.SEARCH_CACHE.labels("miss").inc()
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._computing[key] = future
        try:
            result = await compute()
        except BaseException:
            future.cancel()
            raise
        finally:
            if self._computing.get(key) is future:
                del self._computing[key]
        future.set_result(result)
        if epoch == self._epoch:
            self._answers[key] = result
            self._answers.move_to_end(key)
            while len(self._answers) > self.entries:
                self._answers.popitem(last=False)
        return result
