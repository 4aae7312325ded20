"""Redis pub/sub for broadcaster that survives the connection breaking and says when it did.

Why not broadcaster's own RedisBackend: with redis-py 8 it receives nothing. redis-py 8 gives
connections a default 5 s socket timeout, so sending SUBSCRIBE goes through `asyncio.wait_for`
and yields. broadcaster wakes its reader just before that send; the reader then finds
`pubsub.subscribed` still false (redis-py records a channel only after sending), `listen()`
ends at once, and the reader goes back to sleep until the next subscribe() call: a process
with one channel hears nothing. It also never reconnects, and redis-py's own silent reconnect
would hide the messages lost meanwhile.

Here one reader task owns a dedicated pub/sub connection and reads it directly. When the
connection breaks it reconnects with backoff, resubscribes every channel and, as each
resubscription is confirmed, sends that channel's subscribers a `GAP`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from broadcaster import BroadcastBackend, Event
from redis import asyncio as redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from subscriptions import metrics
from subscriptions.broadcast import GAP
from subscriptions.retry import (
    RECONNECT_BACKOFF,
    Backoff,
    describe,
    retry_briefly,
    retry_forever,
)
from subscriptions.tasks import stop_task

logger = logging.getLogger(__name__)

# What a broken or unreachable Redis raises; anything else is a bug and is not retried.
CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)

# redis-py must neither retry nor reconnect on its own: a silent reconnect would hide the window
# in which messages were lost, and subscribers must hear of it. We retry, knowingly, ourselves.
NO_RETRY = Retry(NoBackoff(), retries=0, supported_errors=())

# A Redis that takes longer than this to accept a connection or a command counts as down.
SOCKET_TIMEOUT = 2.0


@dataclass
class _Unconfirmed:
    """SUBSCRIBE commands sent on the current connection and not yet confirmed, per channel,
    oldest first: Redis confirms them in order, so the n-th confirmation answers the n-th send."""

    sends: dict[str, deque[_Send]] = field(default_factory=dict)

    def add(self, channel: str, *, after_reconnect: bool) -> asyncio.Future[None]:
        send = _Send(asyncio.get_running_loop().create_future(), after_reconnect)
        self.sends.setdefault(channel, deque()).append(send)
        return send.confirmed

    def confirm(self, channel: str) -> _Send | None:
        sends = self.sends.get(channel)
        if not sends:
            return None
        send = sends.popleft()
        if not sends:
            del self.sends[channel]
        if not send.confirmed.done():
            send.confirmed.set_result(None)
        return send

    def release_all(self) -> None:
        """The connection is gone: nobody waits for it any longer (a GAP follows instead)."""
        for sends in self.sends.values():
            for send in sends:
                if not send.confirmed.done():
                    send.confirmed.set_result(None)
        self.sends.clear()


@dataclass
class _Send:
    confirmed: asyncio.Future[None]
    after_reconnect: bool


class RedisBackend(BroadcastBackend):
    def __init__(
        self, url: str, *, backoff: Backoff = RECONNECT_BACKOFF, publish_attempts: int = 3
    ) -> None:
        # Two clients, so that resetting the publisher's pool never touches the subscriber.
        self._publisher = _client(url)
        self._subscriber = _client(url)
        self._backoff = backoff
        self._publish_attempts = publish_attempts
        self._channels: set[str] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._unconfirmed = _Unconfirmed()
        self._pubsub: PubSub | None = None  # None while disconnected or reconnecting
        # Sending (UNSUBSCRIBE, SUBSCRIBE) and replacing the connection exclude each other,
        # so nothing is ever sent on a connection that is being dropped.
        self._pubsub_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Open the pub/sub connection (an unreachable Redis at start-up is an error) and start
        reading it."""
        await self._open_pubsub()
        self._reader = asyncio.create_task(self._read_forever(), name="redis-broadcast-reader")

    async def disconnect(self) -> None:
        if self._reader is not None:
            await stop_task(self._reader)
        await self._drop_pubsub()
        await self._publisher.aclose()
        await self._subscriber.aclose()

    async def subscribe(self, channel: str) -> None:
        """Return once Redis confirms the subscription, so any message published after this
        returns is delivered. While the connection is down, return at once: the channel is
        subscribed on reconnect and its subscribers get a GAP then."""
        self._channels.add(channel)
        async with self._pubsub_lock:
            if self._pubsub is None:
                return
            confirmed = self._unconfirmed.add(channel, after_reconnect=False)
            try:
                await self._pubsub.subscribe(channel)
            except CONNECTION_ERRORS as error:
                logger.warning(
                    "redis broadcast: SUBSCRIBE %r failed (%s); it is resubscribed, with a gap, "
                    "when the reader reconnects",
                    channel,
                    describe(error),
                )
                return
        await confirmed  # set by the reader, or released when the connection breaks

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        async with self._pubsub_lock:
            if self._pubsub is None:
                return
            try:
                await self._pubsub.unsubscribe(channel)
            except CONNECTION_ERRORS as error:
                # Harmless: a reconnect subscribes only the channels still wanted.
                logger.warning(
                    "redis broadcast: UNSUBSCRIBE %r failed (%s)", channel, describe(error)
                )

    async def publish(self, channel: str, message: Any) -> None:
        """Publish, retrying briefly while Redis is unreachable, then log and drop the message:
        never raise on a broken connection. The event log keeps the event, and subscribers
        whose connection broke too are sent a GAP when it comes back."""
        if not isinstance(message, str):
            raise TypeError(f"broadcast messages are str, not {type(message).__name__}")

        async def send() -> None:
            try:
                await self._publisher.publish(channel, message)
            except CONNECTION_ERRORS:
                # The server went away: its other idle connections are stale too; the retry
                # then starts afresh instead of failing once per stale connection.
                with contextlib.suppress(*CONNECTION_ERRORS):
                    await self._publisher.connection_pool.disconnect(inuse_connections=False)
                raise

        published = await retry_briefly(
            send,
            transient=CONNECTION_ERRORS,
            attempts=self._publish_attempts,
            backoff=self._backoff,
            what=f"redis broadcast: PUBLISH to {channel!r}",
        )
        if not published:
            logger.error(
                "redis broadcast: dropped a message to %r after %d attempts; subscribers "
                "repair it from the event log",
                channel,
                self._publish_attempts,
            )

    async def next_published(self) -> Event:
        return await self._events.get()

    async def _read_forever(self) -> None:
        while True:
            try:
                await self._read_until_broken()
            except CONNECTION_ERRORS as error:
                logger.warning(
                    "redis broadcast: pub/sub connection lost (%s); reconnecting", describe(error)
                )
            except Exception:
                # A bug, not an outage; a fresh connection and a GAP are still the safe answer.
                logger.exception("redis broadcast: reading pub/sub failed; reconnecting")
            await self._drop_pubsub()
            await retry_forever(
                self._open_pubsub,
                transient=CONNECTION_ERRORS,
                backoff=self._backoff,
                what="redis broadcast: reconnecting pub/sub",
            )
            metrics.BROKER_RECONNECTS.labels("redis").inc()
            logger.info(
                "redis broadcast: reconnected; resubscribed %d channel(s)", len(self._channels)
            )

    async def _read_until_broken(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None, "the reader runs only while connected"
        while True:
            # redis-py would silently reconnect (and resubscribe) a connection it closed after a
            # failed send; that would hide the messages lost meanwhile, so refuse to read on.
            if pubsub.connection is None or not pubsub.connection.is_connected:
                raise RedisConnectionError("the pub/sub connection was closed")
            message = await pubsub.get_message(timeout=None)
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind, channel = message["type"], message["channel"]
        if kind == "message" and channel in self._channels:
            self._events.put_nowait(Event(channel, message["data"]))
        elif kind == "subscribe":
            send = self._unconfirmed.confirm(channel)
            if send is not None and send.after_reconnect and channel in self._channels:
                # Only now, with the subscription in force, can a replay miss nothing.
                self._events.put_nowait(Event(channel, GAP))

    async def _open_pubsub(self) -> None:
        """Connect, then resubscribe every wanted channel, each marked to produce a GAP when
        confirmed (there are none on the first connect)."""
        async with self._pubsub_lock:
            pubsub = self._subscriber.pubsub()
            try:
                await _typed(pubsub.connect)()
                if self._channels:
                    for channel in self._channels:
                        self._unconfirmed.add(channel, after_reconnect=True)
                    await pubsub.subscribe(*self._channels)
            except BaseException:
                self._unconfirmed.release_all()
                await _close_quietly(pubsub)
                raise
            self._pubsub = pubsub

    async def _drop_pubsub(self) -> None:
        async with self._pubsub_lock:
            pubsub, self._pubsub = self._pubsub, None
            self._unconfirmed.release_all()
        if pubsub is not None:
            await _close_quietly(pubsub)


def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        retry=NO_RETRY,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=SOCKET_TIMEOUT,
    )


def _typed(method: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A redis-py coroutine method, typed for mypy whether or not the installed redis-py
    annotates it (8.2 annotates `PubSub.aclose`, earlier releases do not, and `connect` is
    still bare): no `type: ignore` that is needed on one release and unused on another."""
    return method


async def _close_quietly(pubsub: PubSub) -> None:
    """Close a connection that is usually broken already; failing to do so changes nothing."""
    try:
        await _typed(pubsub.aclose)()
    except (*CONNECTION_ERRORS, RedisError) as error:
        logger.debug("redis broadcast: closing a broken pub/sub connection: %s", describe(error))
