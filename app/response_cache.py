"""A per-process cache of whole GraphQL answers that are the same for a whole audience.

What is kept: the answer (the response body) to a query whose viewer belongs to a shared
audience (`resolvers.policy.shared_audience`: the public) and which selects no viewer-specific
field (schema/viewer_fields.py), executed without an error and without reading the clock.
Keyed by the document's SHA-256, the operation name, the variables as canonical JSON, the
audience and the request's languages (everything else a public answer depends on is the data).

What drops it: a write to a table it read. While executing, every statement's tables are noted
(models/reads.py). Every committed transaction that writes gets the next write version and
tells its tables (models/writes.py): on the writer's process at once, after the commit and
before the mutation answers; on every other process through the broker (`CHANNEL`). Each
table has a generation here, moved on by each write to it; an answer is served only while the
generations of the tables it read are those it was computed under. A broker gap, a write whose
tables are unknown, or a version that never arrives drops everything.

Read-your-writes across processes: versions are handed out in commit order, one apart, so a
process knows the version up to which it has applied every write (`applied`). A mutation's
response carries its version (`Hub-Write-Version`); a client that sends it back is never served
from the cache by a process that has not applied that version yet: it is answered by execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from broadcaster._base import Unsubscribed
from opentelemetry.instrumentation.utils import suppress_instrumentation
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.reads import Reads
from models.writes import EVERY_TABLE, read_write_version
from subscriptions import metrics
from subscriptions.broadcast import GAP, HubBroadcast
from subscriptions.events import PUBLISH_BUDGET_SECONDS
from subscriptions.retry import RECONNECT_BACKOFF

logger = logging.getLogger(__name__)

CHANNEL = "response-cache"  # the broker channel of write versions and their tables
ENTRY_OVERHEAD_BYTES = 400  # what an entry costs beyond its body (key, tuples, dict slot)
FIRST_SYNC_SECONDS = 1.0  # how long the first request waits for the cache to be in sync


@dataclass(frozen=True, slots=True)
class Entry:
    body: bytes
    etag: str
    tables: tuple[str, ...]
    generations: tuple[int, ...]
    epoch: int
    expires: float

    @property
    def size(self) -> int:
        return len(self.body) + ENTRY_OVERHEAD_BYTES


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The state an execution started from: what it computes may be kept only under it."""

    epoch: int
    generations: dict[str, int]


class ResponseCache:
    """Answers by key, least recently used out first past `max_bytes` (0: nothing is kept,
    but this process's writes are still announced to the others)."""

    def __init__(
        self,
        max_bytes: int,
        ttl_seconds: float,
        missing_seconds: float,
        poll_seconds: float = 0.0,
    ) -> None:
        self.max_bytes = max_bytes
        self.ttl_seconds = ttl_seconds
        self.missing_seconds = missing_seconds
        self.poll_seconds = poll_seconds  # 0: never read the database's version while quiet
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._bytes = 0
        self._generations: dict[str, int] = {}
        self.epoch = 0  # moves on whenever everything is dropped
        # Every write up to this version is applied here (None: not in sync with the database).
        self.applied: int | None = None
        self._ahead: dict[int, float] = {}  # versions applied above `applied`, when they came
        # The newest version the database had when this process last looked, and since when it
        # has known of it: a write nobody announced (`hub` commands, a process that died).
        self._head: tuple[int, float] | None = None
        self._follower: asyncio.Task[None] | None = None
        self._synced: asyncio.Event | None = None
        self._broadcast: HubBroadcast | None = None
        self._publishing: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    # --- answers

    def snapshot(self) -> Snapshot:
        return Snapshot(self.epoch, dict(self._generations))

    def get(self, key: Hashable) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if not self._current(entry):
            self._remove(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: Hashable, snapshot: Snapshot, reads: Reads, body: bytes, etag: str) -> bool:
        """Keep `body`, computed from `snapshot` reading `reads`, unless a write the execution
        may not have seen has come in since it started (or it read the clock)."""
        if reads.clock or snapshot.epoch != self.epoch or self.applied is None:
            return False
        tables = tuple(sorted(reads.tables))
        generations = tuple(snapshot.generations.get(t, 0) for t in tables)
        if any(self._generations.get(t, 0) != g for t, g in zip(tables, generations, strict=True)):
            return False
        entry = Entry(body, etag, tables, generations, self.epoch, self._now() + self.ttl_seconds)
        if entry.size > self.max_bytes // 8:
            return False
        self._remove(key)
        self._entries[key] = entry
        self._bytes += entry.size
        while self._bytes > self.max_bytes:
            self._remove(next(iter(self._entries)))
        return True

    def _current(self, entry: Entry) -> bool:
        if entry.epoch != self.epoch or entry.expires <= self._now():
            return False
        generations = self._generations
        return all(
            generations.get(t, 0) == g for t, g in zip(entry.tables, entry.generations, strict=True)
        )

    def _remove(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry.size

    def drop(self, reason: str) -> None:
        """Forget every answer; executions under way keep nothing."""
        self.epoch += 1
        self._entries.clear()
        self._bytes = 0
        metrics.RESPONSE_CACHE_DROPS.labels(reason).inc()

    @staticmethod
    def _now() -> float:
        return time.monotonic()

    # --- write versions

    def behind(self, version: int | None) -> bool:
        """Whether this process cannot yet answer from the cache a client who has seen
        `version` (or anyone: not in sync)."""
        self._check_missing()
        if self.applied is None:
            return True
        return version is not None and version > self.applied

    def write(self, version: int, tables: frozenset[str]) -> None:
        """A committed write (this process's, or another's from the broker)."""
        if (self.applied is not None and version <= self.applied) or version in self._ahead:
            return
        if EVERY_TABLE in tables:
            self.drop("everything")
        for table in tables:
            self._generations[table] = self._generations.get(table, 0) + 1
        self._ahead[version] = self._now()
        self._advance()

    def _advance(self) -> None:
        if self.applied is None:
            return
        while self.applied + 1 in self._ahead:
            self.applied += 1
            del self._ahead[self.applied]

    def _check_missing(self) -> None:
        """A version below one that arrived (or that the database has) long enough ago will
        not come (its process died between commit and announcement, its message was lost
        without a gap, or it was written by a `hub` command): its write is committed, so what
        is computed from now on includes it."""
        if self.applied is None:
            return
        since = [*self._ahead.values(), *([self._head[1]] if self._head else [])]
        if not since or self._now() - min(since) < self.missing_seconds:
            return
        self.drop("missing")
        newest = max([*self._ahead, self._head[0] if self._head else 0, self.applied])
        self.applied = newest
        self._ahead.clear()
        self._head = None

    def heard_of(self, version: int) -> None:
        """The database's version now (polled while the broker is quiet)."""
        if self.applied is None or version <= self.applied or version in self._ahead:
            return
        if self._head is None or version > self._head[0]:
            since = self._head[1] if self._head else self._now()
            self._head = (version, since)
        self._check_missing()

    def lose_sync(self) -> None:
        self.drop("gap")
        self.applied = None

    def synced(self, version: int) -> None:
        """Every write up to `version` is in the database, and nothing kept predates it."""
        self._head = None
        self._ahead = {v: t for v, t in self._ahead.items() if v > version}
        self.applied = version
        self._advance()

    # --- the broker

    def announce(self, broadcast: HubBroadcast) -> None:
        """Tell the other processes of this process's writes, through `broadcast`."""
        self._broadcast = broadcast

    def committed(self, version: int, tables: frozenset[str]) -> None:
        """Called by the session after a commit that wrote (models/writes.py)."""
        self.write(version, tables)
        broadcast = self._broadcast
        if broadcast is None or not broadcast.connected:
            return  # the process is starting or stopping: the others find the version missing
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: the others find the version missing, and drop their caches
        message = json.dumps({"v": version, "t": sorted(tables)})
        task = loop.create_task(self._publish(broadcast, message), context=contextvars.Context())
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    @staticmethod
    async def _publish(broadcast: HubBroadcast, message: str) -> None:
        try:
            await broadcast.publish(CHANNEL, message)
        except Exception:
            logger.exception("announcing a write to the response caches failed")

    async def ready(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Start following the broker (once), and wait a little for the first sync."""
        if self._follower is None and self._broadcast is not None:
            self._synced = asyncio.Event()
            self._follower = asyncio.create_task(
                self._follow(self._broadcast, sessions),
                name="response cache",
                context=contextvars.Context(),  # not the first request's reads and commits
            )
        if self.applied is None and self._synced is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FIRST_SYNC_SECONDS):
                    await self._synced.wait()

    async def _follow(
        self, broadcast: HubBroadcast, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        delays = RECONNECT_BACKOFF.delays()
        while True:
            try:
                async with broadcast.subscribe(CHANNEL) as subscriber:
                    await self._sync(sessions)
                    while True:
                        try:
                            async with asyncio.timeout(self.poll_seconds or None):
                                event = await subscriber.get()
                        except TimeoutError:  # quiet: any write nobody announced?
                            self.heard_of(await _database_version(sessions))
                            continue
                        await self._receive(event.message, sessions)
            except Unsubscribed:
                self.lose_sync()
                return  # the broadcast was disconnected: the process is stopping
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("the response cache lost the broker; dropped until back")
                self.lose_sync()
                await asyncio.sleep(next(delays))

    async def _sync(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        # Subscribed first: every write after the version read here comes through the broker.
        self.synced(await _database_version(sessions))
        if self._synced is not None:
            self._synced.set()

    async def _receive(self, message: str, sessions: async_sessionmaker[AsyncSession]) -> None:
        if message == GAP:
            self.lose_sync()
            await self._sync(sessions)
            return
        try:
            data = json.loads(message)
            version, tables = int(data["v"]), frozenset(str(t) for t in data["t"])
        except (ValueError, KeyError, TypeError):
            logger.error("the response cache's channel carried %r", message[:200])
            self.lose_sync()
            await self._sync(sessions)
            return
        self.write(version, tables)

    async def close(self) -> None:
        """Stop following the broker and announcing; announcements under way are finished
        (briefly)."""
        self._broadcast = None
        if self._publishing:
            await asyncio.wait(set(self._publishing), timeout=PUBLISH_BUDGET_SECONDS)
        tasks = {*self._publishing, *([self._follower] if self._follower else [])}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._follower = None


async def _database_version(sessions: async_sessionmaker[AsyncSession]) -> int:
    """The write version now. The cache's own bookkeeping, no request's: not traced."""
    with suppress_instrumentation():
        async with sessions() as session:
            return await read_write_version(session)
