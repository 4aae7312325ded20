"""broadcaster's `Broadcast`, made safe for many concurrent subscribers and for slow readers.

Nothing here makes the broker reliable; instead every way of losing events (broker restart,
dropped connection, a subscriber too slow to keep up) ends in one message, `GAP`, on which a
subscriber replays the channel from the event log. The broker never has to remember anything.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

from broadcaster import Broadcast, BroadcastBackend, Event
from broadcaster._backends.memory import MemoryBackend
from broadcaster._base import Subscriber

from subscriptions.retry import RECONNECT_BACKOFF
from subscriptions.tasks import stop_task

logger = logging.getLogger(__name__)

GAP = "__hub_gap__"
"""Message meaning "events on this channel may have been lost; replay from the event log"."""

Queue = asyncio.Queue[Event | None]


class HubBroadcast(Broadcast):
    """`Broadcast(url)` or `Broadcast(backend=...)`, a URL choosing the project's backends, with
    three fixes over broadcaster 0.3.1:

    - Concurrent subscribers of one channel all receive events. Stock `subscribe` assigns
      `self._subscribers[channel] = {queue}` after awaiting `backend.subscribe`, so subscribers
      arriving meanwhile overwrite each other and all but the last receive nothing.
    - A slow subscriber cannot block the others or grow memory: past `queue_size` pending events
      its backlog is replaced by one `GAP`. Stock `_listener` awaits every subscriber's queue.
    - The listener survives a failing backend, and `disconnect()` ends every subscriber.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        backend: BroadcastBackend | None = None,
        queue_size: int = 1000,
        namespace: str = "",
    ) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, not {queue_size}")
        super().__init__(url, backend=backend)
        self._queue_size = queue_size
        # Prefixed to every channel at the broker, so deployments (or test runs) sharing one
        # Redis never hear each other's `thread:1`; subscribers see channels without it.
        self._namespace = namespace
        self._channel_locks = _ChannelLocks()
        # Channels the backend is subscribed to; changed only under the channel's lock, so
        # backend.subscribe and backend.unsubscribe alternate, once each, per channel.
        self._backend_channels: set[str] = set()
        # The highest seq known to have reached this process's followers of a stream, live or
        # from the log (noted by subscriptions/streams.follow; subscriptions/heads.py compares
        # it with the log's head to repair what the broker lost).
        self._seen: dict[str, int] = {}

    @property
    def connected(self) -> bool:
        """Between `connect()` and `disconnect()`: what is published now is sent."""
        listener: asyncio.Task[None] | None = getattr(self, "_listener_task", None)
        return listener is not None and not listener.done()

    def _create_backend(self, url: str) -> BroadcastBackend:
        return _backend_for(url)

    async def disconnect(self) -> None:
        """Stop listening and end every subscriber: its `get()` raises `Unsubscribed` (and
        `async for` stops) once it has read what was already queued for it."""
        await stop_task(self._listener_task)
        for queues in self._subscribers.values():
            for queue in queues:
                queue.put_nowait(None)  # queues are unbounded: the bound is ours, in _offer
        self._subscribers.clear()
        self._backend_channels.clear()
        await self._backend.disconnect()

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        """Yield a subscriber once the backend listens on `channel`, so every event published
        after this point reaches it (or a `GAP` does)."""
        queue: Queue = asyncio.Queue()
        # Registered before any await: an event arriving while we wait is already delivered.
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            await self._subscribe_backend(channel)
            yield Subscriber(queue)
        finally:
            self._subscribers.get(channel, set()).discard(queue)
            await self._unsubscribe_backend_if_unused(channel)

    async def _subscribe_backend(self, channel: str) -> None:
        async with self._channel_locks.hold(channel):
            if channel not in self._backend_channels:
                await self._backend.subscribe(self._namespace + channel)
                self._backend_channels.add(channel)

    async def _unsubscribe_backend_if_unused(self, channel: str) -> None:
        async with self._channel_locks.hold(channel):
            if self._subscribers.get(channel):
                return  # someone subscribed meanwhile; the backend keeps the channel
            self._subscribers.pop(channel, None)
            if channel not in self._backend_channels:
                return
            self._backend_channels.discard(channel)
            try:
                await self._backend.unsubscribe(self._namespace + channel)
            except Exception:
                # The subscriber is leaving anyway; a stale backend subscription only costs
                # events that _fan_out drops for want of subscribers.
                logger.exception("broadcast: unsubscribing the backend from %r failed", channel)

    async def _listener(self) -> None:
        """Hand every published event to its channel's subscribers without ever waiting on one."""
        delays: Iterator[float] | None = None  # set while the backend keeps failing
        while True:
            try:
                event = await self._backend.next_published()
            except Exception:
                # Backends should not raise; if one does, events may be lost: say so, go on.
                logger.exception(
                    "broadcast: %s.next_published() failed; telling every subscriber to replay",
                    type(self._backend).__name__,
                )
                for channel in list(self._subscribers):
                    self._fan_out(Event(channel, GAP))
                delays = delays or RECONNECT_BACKOFF.delays()
                await asyncio.sleep(next(delays))
            else:
                delays = None
                self._fan_out(event)

    async def publish(self, channel: str, message: str) -> None:
        await self._backend.publish(self._namespace + channel, message)

    def _fan_out(self, event: Event) -> None:
        if not event.channel.startswith(self._namespace):
            return  # another namespace's channel (it cannot be subscribed here)
        channel = event.channel[len(self._namespace) :]
        if channel != event.channel:
            event = Event(channel, event.message)
        for queue in self._subscribers.get(channel, ()):
            self._offer(queue, event)

    # --- what reached this process, for the repair of lost publishes (subscriptions/heads.py)

    def note_seen(self, channel: str, seq: int) -> None:
        if seq > self._seen.get(channel, 0):
            self._seen[channel] = seq

    def seen(self, channel: str) -> int:
        return self._seen.get(channel, 0)

    def local_channels(self) -> list[str]:
        """Channels with subscribers in this process (forgetting what the others saw)."""
        for channel in [c for c in self._seen if not self._subscribers.get(c)]:
            del self._seen[channel]
        return [channel for channel, queues in self._subscribers.items() if queues]

    def repair(self, channel: str, head: int) -> None:
        """The log holds events up to `head` that the broker never brought: tell this
        process's subscribers of `channel` to replay (each from where it is)."""
        self.note_seen(channel, head)
        for queue in self._subscribers.get(channel, ()):
            self._offer(queue, Event(channel, GAP))

    def _offer(self, queue: Queue, event: Event) -> None:
        """Queue `event`, unless the subscriber is already `queue_size` events behind: then its
        backlog is dropped for a single `GAP`, and it replays from the event log at its own pace."""
        if queue.qsize() >= self._queue_size:
            logger.warning(
                "broadcast: a subscriber of %r fell %d events behind; its backlog is replaced by a gap",
                event.channel,
                queue.qsize(),
            )
            _empty(queue)
            event = Event(event.channel, GAP)
        queue.put_nowait(event)


def _empty(queue: Queue) -> None:
    while not queue.empty():
        queue.get_nowait()


class _ChannelLocks:
    """One `asyncio.Lock` per channel, forgotten once nobody holds or waits for it: channels are
    per thread and per member, so a dict that only grew would leak."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, channel: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        self._users[channel] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[channel] -= 1
            if not self._users[channel]:
                del self._users[channel], self._locks[channel]


def create_broadcast(url: str, *, queue_size: int = 1000, namespace: str = "") -> HubBroadcast:
    """The broadcast named by `url`: memory:// (one process), redis:// or rediss://, or
    postgres:// / postgresql:// / postgresql+asyncpg:// (LISTEN/NOTIFY)."""
    return HubBroadcast(url, queue_size=queue_size, namespace=namespace)


def _backend_for(url: str) -> BroadcastBackend:
    # The project's backends are imported here, not at the top: they import GAP from this module.
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBackend(url)
    if scheme in ("redis", "rediss"):
        from subscriptions.redis_backend import RedisBackend

        return RedisBackend(url)
    if scheme.removesuffix("+asyncpg") in ("postgres", "postgresql"):
        from subscriptions.postgres_backend import PostgresNotifyBackend

        return PostgresNotifyBackend(url)
    raise ValueError(
        f"broadcast URL scheme {scheme!r} is not supported; "
        "use memory://, redis://, rediss://, postgres:// or postgresql://"
    )
