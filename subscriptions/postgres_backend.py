"""PostgreSQL LISTEN/NOTIFY for broadcaster that survives the connection breaking and says when
it did.

broadcaster's own PostgresBackend listens and publishes on one connection and never notices
losing it. Here a dedicated connection LISTENs; a watchdog notices its loss (asyncpg's
termination callback, or a failed `SELECT 1` every second for connections that die silently),
reconnects with backoff, LISTENs again on every channel and then sends each channel's
subscribers a `GAP`. NOTIFY goes through a second connection, reopened when lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from broadcaster import BroadcastBackend, Event

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

# What a broken or unreachable PostgreSQL raises (57P01 admin shutdown and 57P03 "starting up"
# are operator interventions); anything else is a bug and is not retried.
CONNECTION_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
)

# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more (BLCKSZ - NAMEDATALEN - 128), and
# truncates channel names (identifiers) to 63 bytes, which would LISTEN on another channel.
MAX_PAYLOAD_BYTES = 7999
MAX_CHANNEL_BYTES = 63

CONNECT_TIMEOUT = 5.0
# asyncpg waits forever by default; a NOTIFY on a connection whose peer vanished would too.
NOTIFY_TIMEOUT = 2.0


class PostgresNotifyBackend(BroadcastBackend):
    def __init__(
        self,
        url: str,
        *,
        application_name: str = "hub-broadcast",
        health_check_interval: float = 1.0,
        backoff: Backoff = RECONNECT_BACKOFF,
        publish_attempts: int = 3,
    ) -> None:
        self._url = asyncpg_url(url)
        self._application_name = application_name  # the listener's, in pg_stat_activity
        self._health_check_interval = health_check_interval
        self._backoff = backoff
        self._publish_attempts = publish_attempts
        self._channels: set[str] = set()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        # asyncpg runs one operation at a time per connection; each connection has its lock.
        self._listening: asyncpg.Connection | None = None  # None while reconnecting
        self._listening_lock = asyncio.Lock()
        self._listening_lost = asyncio.Event()
        self._publishing: asyncpg.Connection | None = None
        self._publishing_lock = asyncio.Lock()
        self._watchdog: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Open both connections (an unreachable PostgreSQL at start-up is an error) and start
        watching the listening one."""
        await self._listen_again()
        try:
            async with self._publishing_lock:
                await self._publishing_connection()
        except BaseException:
            await self.disconnect()
            raise
        self._watchdog = asyncio.create_task(self._watch_forever(), name="postgres-broadcast")

    async def disconnect(self) -> None:
        if self._watchdog is not None:
            await stop_task(self._watchdog)
        async with self._listening_lock:
            listening, self._listening = self._listening, None
        async with self._publishing_lock:
            publishing, self._publishing = self._publishing, None
        for connection in (listening, publishing):
            if connection is not None:
                await _close_quietly(connection)

    async def subscribe(self, channel: str) -> None:
        """LISTEN on `channel`; once this returns, every NOTIFY on it is delivered. While the
        connection is down, return at once: the channel is LISTENed on reconnect and its
        subscribers get a GAP then."""
        check_channel(channel)
        self._channels.add(channel)
        async with self._listening_lock:
            if self._listening is None:
                return
            try:
                # asyncpg quotes the identifier: LISTEN "thread:42", with " doubled.
                await self._listening.add_listener(channel, self._on_notification)
            except CONNECTION_ERRORS as error:
                self._report_lost(f"LISTEN {channel!r} failed", error)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        async with self._listening_lock:
            if self._listening is None:
                return
            try:
                await self._listening.remove_listener(channel, self._on_notification)
            except CONNECTION_ERRORS as error:
                self._report_lost(f"UNLISTEN {channel!r} failed", error)

    async def publish(self, channel: str, message: Any) -> None:
        """NOTIFY, retrying briefly while PostgreSQL is unreachable, then log and drop the
        message: the event log keeps the event, and subscribers whose connection broke too are
        sent a GAP when it comes back. Raises ValueError for what NOTIFY can never carry."""
        check_channel(channel)
        check_payload(message)

        async def send() -> None:
            await self._notify(channel, message)

        published = await retry_briefly(
            send,
            transient=CONNECTION_ERRORS,
            attempts=self._publish_attempts,
            backoff=self._backoff,
            what=f"postgres broadcast: NOTIFY {channel!r}",
        )
        if not published:
            logger.error(
                "postgres broadcast: dropped a message to %r after %d attempts; subscribers "
                "repair it from the event log",
                channel,
                self._publish_attempts,
            )

    async def next_published(self) -> Event:
        return await self._events.get()

    async def _notify(self, channel: str, message: str) -> None:
        async with self._publishing_lock:
            connection = await self._publishing_connection()
            try:
                await connection.execute(
                    "SELECT pg_notify($1, $2)", channel, message, timeout=NOTIFY_TIMEOUT
                )
            except CONNECTION_ERRORS:
                self._publishing = None
                connection.terminate()
                raise

    async def _publishing_connection(self) -> asyncpg.Connection:
        if self._publishing is None or self._publishing.is_closed():
            self._publishing = await self._open(f"{self._application_name} publisher")
        return self._publishing

    def _on_notification(
        self, _connection: asyncpg.Connection, _pid: int, channel: str, payload: str
    ) -> None:
        if channel in self._channels:
            self._events.put_nowait(Event(channel, payload))

    def _on_terminated(self, connection: asyncpg.Connection) -> None:
        if connection is self._listening:
            self._report_lost("connection closed", None)

    def _report_lost(self, what: str, error: BaseException | None) -> None:
        detail = f" ({describe(error)})" if error else ""
        logger.warning("postgres broadcast: listening %s%s; reconnecting", what, detail)
        self._listening_lost.set()

    async def _watch_forever(self) -> None:
        while True:
            await self._wait_until_lost()
            async with self._listening_lock:
                listening, self._listening = self._listening, None
            if listening is not None:
                listening.remove_termination_listener(self._on_terminated)
                listening.terminate()
            await retry_forever(
                self._listen_again,
                transient=CONNECTION_ERRORS,
                backoff=self._backoff,
                what="postgres broadcast: reconnecting the listener",
            )
            for channel in sorted(self._channels):
                self._events.put_nowait(Event(channel, GAP))
            metrics.BROKER_RECONNECTS.labels("postgres").inc()
            logger.info(
                "postgres broadcast: reconnected; LISTENing on %d channel(s)", len(self._channels)
            )

    async def _wait_until_lost(self) -> None:
        """Return when the listening connection is known to be lost: asyncpg reported it
        closed, or it did not answer `SELECT 1` (a peer that vanished closes nothing)."""
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._health_check_interval):
                    await self._listening_lost.wait()
            if self._listening_lost.is_set() or not await self._listening_answers():
                return

    async def _listening_answers(self) -> bool:
        async with self._listening_lock:
            if self._listening is None:
                return False
            try:
                async with asyncio.timeout(self._health_check_interval):
                    await self._listening.fetchval("SELECT 1")
            except Exception as error:  # whatever the cause, the connection is of no use
                self._report_lost("health check failed", error)
                return False
        return True

    async def _listen_again(self) -> None:
        """Open the listening connection and LISTEN on every wanted channel. LISTEN is in force
        when it returns, so a GAP sent after this is followed by a replay that misses nothing."""
        connection = await self._open(self._application_name)
        try:
            async with self._listening_lock:
                self._listening_lost.clear()
                connection.add_termination_listener(self._on_terminated)
                for channel in sorted(self._channels):
                    await connection.add_listener(channel, self._on_notification)
                self._listening = connection
        except BaseException:
            connection.terminate()
            raise

    async def _open(self, application_name: str) -> asyncpg.Connection:
        return await asyncpg.connect(
            self._url,
            timeout=CONNECT_TIMEOUT,
            server_settings={"application_name": application_name},
        )


def asyncpg_url(url: str) -> str:
    """`postgresql+asyncpg://…` (SQLAlchemy's spelling) as asyncpg wants it: `postgresql://…`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme=parts.scheme.removesuffix("+asyncpg")))


def check_channel(channel: str) -> None:
    size = len(channel.encode())
    if not 0 < size <= MAX_CHANNEL_BYTES:
        raise ValueError(
            f"PostgreSQL channel names are 1 to {MAX_CHANNEL_BYTES} bytes; {channel!r} is {size}"
        )


def check_payload(message: Any) -> None:
    if not isinstance(message, str):
        raise TypeError(f"broadcast messages are str, not {type(message).__name__}")
    size = len(message.encode())
    if size > MAX_PAYLOAD_BYTES:
        raise ValueError(
            f"NOTIFY payload of {size} bytes is too large: PostgreSQL accepts at most "
            f"{MAX_PAYLOAD_BYTES}. Publish a reference (stream and seq) and let subscribers "
            "read the event from the log."
        )
    if "\x00" in message:
        raise ValueError("NOTIFY payloads cannot contain NUL characters")


async def _close_quietly(connection: asyncpg.Connection) -> None:
    """Close gracefully if the connection still can; otherwise just drop it."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await connection.close()
    except CONNECTION_ERRORS as error:
        logger.debug("postgres broadcast: closing a connection: %s", describe(error))
        connection.terminate()
