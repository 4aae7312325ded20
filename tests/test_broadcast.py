"""The broker layer: HubBroadcast over memory, Redis and PostgreSQL LISTEN/NOTIFY.

Memory always runs. Redis runs on a private redis-server started here (and on the shared one
when HUB_BROADCAST_URL names Redis); PostgreSQL when HUB_DATABASE_URL names it. A service that
is not configured skips its tests, unless HUB_REQUIRE_SERVICES=1 (CI), which fails them.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from broadcaster import Broadcast, Event
from broadcaster._backends.memory import MemoryBackend
from broadcaster._base import Subscriber, Unsubscribed
from prometheus_client import REGISTRY

from subscriptions.broadcast import GAP, HubBroadcast, create_broadcast
from subscriptions.postgres_backend import PostgresNotifyBackend, asyncpg_url
from subscriptions.redis_backend import RedisBackend
from tests.services import (
    WAIT,
    PrivateRedis,
    postgres_url,
    shared_redis_url,
)

# -- services ------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis-private", "redis-shared", "postgres"])
def broadcast_url(request: pytest.FixtureRequest) -> str:
    if request.param == "redis-private":
        server: PrivateRedis = request.getfixturevalue("private_redis")
        return server.url
    if request.param == "redis-shared":
        return shared_redis_url()
    if request.param == "postgres":
        return postgres_url()
    return "memory://"


class FreezableProxy:
    """A TCP proxy that can stop forwarding on its open connections without closing them: the
    peer has vanished (a network partition) and nothing tells the client so."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._frozen: set[asyncio.StreamWriter] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def freeze_open_connections(self) -> None:
        self._frozen |= self._writers

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        if self._server is not None:
            await self._server.wait_closed()

    async def _forward(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        upstream, to_upstream = await asyncio.open_connection(*self._target)
        self._writers |= {to_client, to_upstream}
        try:
            await asyncio.gather(
                self._pipe(client, to_upstream, to_client),
                self._pipe(upstream, to_client, to_client),
            )
        finally:
            for writer in (to_client, to_upstream):
                self._writers.discard(writer)
                writer.close()
                with suppress(OSError):
                    await writer.wait_closed()

    async def _pipe(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, client: asyncio.StreamWriter
    ) -> None:
        with suppress(OSError):
            while data := await source.read(65536):
                if client not in self._frozen:  # frozen: swallow everything, answer nothing
                    sink.write(data)
                    await sink.drain()
        sink.close()


def through(url: str, proxy: FreezableProxy) -> str:
    parts = urlsplit(url)
    user = f"{parts.netloc.rpartition('@')[0]}@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{proxy.port}"))


# -- helpers -------------------------------------------------------------------------------


def new_channel() -> str:
    """A channel no other test (or CI run on the shared services) uses, with characters that
    PostgreSQL's LISTEN must quote."""
    return f'thread:{uuid.uuid4().hex} "é"'


@asynccontextmanager
async def connected(broadcast: Broadcast) -> AsyncIterator[Broadcast]:
    async with asyncio.timeout(WAIT):
        await broadcast.connect()
    try:
        yield broadcast
    finally:
        async with asyncio.timeout(WAIT):
            await broadcast.disconnect()


async def subscribe_many(
    stack: AsyncExitStack, broadcast: Broadcast, channel: str, count: int
) -> list[Subscriber]:
    """Subscribe `count` times at once, as a burst of WebSocket clients would."""
    async with asyncio.timeout(WAIT):
        return await asyncio.gather(
            *(stack.enter_async_context(broadcast.subscribe(channel)) for _ in range(count))
        )


async def read(subscriber: Subscriber, count: int) -> list[str]:
    return [(await subscriber.get()).message for _ in range(count)]


class Reader:
    """Reads a subscriber in a task of its own, as a GraphQL subscription does."""

    def __init__(self, subscriber: Subscriber) -> None:
        self.messages: list[str] = []
        self._arrived = asyncio.Condition()
        self.task = asyncio.create_task(self._read(subscriber))

    async def _read(self, subscriber: Subscriber) -> None:
        with suppress(Unsubscribed):
            while True:
                message = (await subscriber.get()).message
                async with self._arrived:
                    self.messages.append(message)
                    self._arrived.notify_all()

    async def has_read(self, expected: list[str]) -> None:
        async with self._arrived:
            await self._arrived.wait_for(lambda: self.messages == expected)


async def readers_of(stack: AsyncExitStack, broadcast: Broadcast, channel: str) -> list[Reader]:
    readers = [Reader(s) for s in await subscribe_many(stack, broadcast, channel, 5)]
    stack.callback(lambda: [reader.task.cancel() for reader in readers])
    return readers


async def all_read(readers: list[Reader], expected: list[str]) -> None:
    """Wait until every reader has read exactly `expected`, its task still running."""
    try:
        async with asyncio.timeout(WAIT):
            await asyncio.gather(*(reader.has_read(expected) for reader in readers))
    except TimeoutError:
        pytest.fail(f"expected every reader to read {expected}: {[r.messages for r in readers]}")
    assert not any(reader.task.done() for reader in readers), "a subscriber task ended"


class YieldingMemoryBackend(MemoryBackend):
    """broadcaster's memory backend, made to pass through the event loop when subscribing, as a
    network backend does; counts calls."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.calls: list[str] = []

    async def subscribe(self, channel: str) -> None:
        self.calls.append("subscribe")
        await asyncio.sleep(0)
        await super().subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        self.calls.append("unsubscribe")
        await asyncio.sleep(0)
        await super().unsubscribe(channel)


class ExplodingMemoryBackend(MemoryBackend):
    """A backend whose next_published() raises when it meets the message "explode"."""

    async def next_published(self) -> Event:
        event = await super().next_published()
        if event.message == "explode":
            raise RuntimeError("backend failed")
        return event


# -- every backend -------------------------------------------------------------------------


async def test_hundred_concurrent_subscribers_each_receive_every_message_in_order(
    broadcast_url: str,
) -> None:
    # given
    channel, messages = new_channel(), [f"event {n}" for n in range(30)]
    async with connected(create_broadcast(broadcast_url)) as broadcast, AsyncExitStack() as stack:
        subscribers = await subscribe_many(stack, broadcast, channel, 100)
        # when
        for message in messages:
            await broadcast.publish(channel, message)
        # then
        async with asyncio.timeout(WAIT):
            received = await asyncio.gather(*(read(s, len(messages)) for s in subscribers))
    assert received == [messages] * 100


async def test_each_subscriber_receives_only_its_channel(broadcast_url: str) -> None:
    first, second = new_channel(), new_channel()
    async with connected(create_broadcast(broadcast_url)) as broadcast, AsyncExitStack() as stack:
        [on_first] = await subscribe_many(stack, broadcast, first, 1)
        await broadcast.publish(first, "a1")
        async with asyncio.timeout(WAIT):
            assert await read(on_first, 1) == ["a1"]
        # a channel subscribed while the backend is already reading the first
        [on_second] = await subscribe_many(stack, broadcast, second, 1)
        await broadcast.publish(second, "b1")
        await broadcast.publish(first, "a2")
        async with asyncio.timeout(WAIT):
            assert await read(on_first, 1) == ["a2"]
            assert await read(on_second, 1) == ["b1"]


async def test_disconnect_ends_every_subscriber(broadcast_url: str) -> None:
    channel = new_channel()
    # leaving the subscriptions and disconnecting again, after the disconnect, raise nothing
    async with connected(create_broadcast(broadcast_url)) as broadcast, AsyncExitStack() as stack:
        readers = [Reader(s) for s in await subscribe_many(stack, broadcast, channel, 3)]
        await broadcast.publish(channel, "last")
        await all_read(readers, ["last"])
        # when
        async with asyncio.timeout(WAIT):
            await broadcast.disconnect()
        # then
        async with asyncio.timeout(WAIT):
            await asyncio.gather(*(reader.task for reader in readers))


# -- HubBroadcast's own behaviour (memory) -------------------------------------------------


async def test_stock_broadcast_loses_concurrent_subscribers_when_subscribing_awaits() -> None:
    """Why HubBroadcast exists: stock Broadcast.subscribe stores the queue only after awaiting
    the backend, so concurrent subscribers overwrite each other. Should a broadcaster release
    fix this, this test fails and the workaround can go."""
    channel = new_channel()
    broadcast = Broadcast(backend=YieldingMemoryBackend("memory://"))
    await broadcast.connect()
    contexts = [broadcast.subscribe(channel) for _ in range(100)]
    subscribers = await asyncio.gather(*(context.__aenter__() for context in contexts))
    await broadcast.publish(channel, "hello")
    gets = [asyncio.create_task(s.get()) for s in subscribers]
    done, pending = await asyncio.wait(gets, timeout=0.5)
    for get in pending:
        get.cancel()
    for context in contexts:
        with suppress(KeyError):  # stock subscribe also fails to leave: the queue is not there
            await context.__aexit__(None, None, None)
    await broadcast.disconnect()
    assert len(done) == 1, "only the last of 100 concurrent subscribers receives"


async def test_concurrent_subscribers_subscribe_the_backend_once_and_unsubscribe_it_once() -> None:
    channel, backend = new_channel(), YieldingMemoryBackend("memory://")
    async with connected(HubBroadcast(backend=backend)) as broadcast:
        async with AsyncExitStack() as stack:
            subscribers = await subscribe_many(stack, broadcast, channel, 100)
            await broadcast.publish(channel, "hello")
            async with asyncio.timeout(WAIT):
                received = await asyncio.gather(*(read(s, 1) for s in subscribers))
            assert received == [["hello"]] * 100
            assert backend.calls == ["subscribe"]
        assert backend.calls == ["subscribe", "unsubscribe"]


async def test_subscriber_arriving_while_the_last_one_leaves_still_receives() -> None:
    channel, backend = new_channel(), YieldingMemoryBackend("memory://")
    async with connected(HubBroadcast(backend=backend)) as broadcast:
        leaving = broadcast.subscribe(channel)
        await leaving.__aenter__()
        # when: the last subscriber leaves (the backend is unsubscribing) as a new one arrives
        leave = asyncio.create_task(leaving.__aexit__(None, None, None))
        await asyncio.sleep(0)
        async with broadcast.subscribe(channel) as arriving:
            async with asyncio.timeout(WAIT):
                await leave
            await broadcast.publish(channel, "hello")
            # then
            async with asyncio.timeout(WAIT):
                assert await read(arriving, 1) == ["hello"]
        assert backend.calls == ["subscribe", "unsubscribe", "subscribe", "unsubscribe"]


async def test_slow_subscriber_gets_a_gap_instead_of_a_growing_backlog() -> None:
    # given: one subscriber that reads everything, one that reads nothing for a while
    channel, queue_size = new_channel(), 100
    messages = [str(n) for n in range(10 * queue_size)]
    async with (
        connected(create_broadcast("memory://", queue_size=queue_size)) as broadcast,
        broadcast.subscribe(channel) as slow,
        broadcast.subscribe(channel) as fast,
    ):
        fast_reads = asyncio.create_task(read(fast, len(messages)))
        # when
        for message in messages:
            await broadcast.publish(channel, message)
            await asyncio.sleep(0)  # memory:// never yields; a networked publisher would
        async with asyncio.timeout(WAIT):
            assert await fast_reads == messages  # the slow one held nobody back
        # then: its queue (broadcaster's Subscriber._queue) stayed bounded ...
        assert slow._queue.qsize() <= queue_size
        # ... and it learns it must replay, then carries on with what came after the gap
        backlog = await read(slow, slow._queue.qsize())
    assert backlog[0] == GAP
    assert backlog[1:] == messages[len(messages) - len(backlog) + 1 :]


async def test_listener_survives_a_failing_backend_and_reports_a_gap() -> None:
    channel = new_channel()
    broadcast = HubBroadcast(backend=ExplodingMemoryBackend("memory://"))
    async with connected(broadcast), broadcast.subscribe(channel) as subscriber:
        for message in ("before", "explode", "after"):
            await broadcast.publish(channel, message)
        async with asyncio.timeout(WAIT):
            assert await read(subscriber, 3) == ["before", GAP, "after"]


def test_backend_is_chosen_by_url_scheme() -> None:
    assert isinstance(create_broadcast("memory://")._backend, MemoryBackend)
    assert isinstance(create_broadcast("redis://127.0.0.1:6379")._backend, RedisBackend)
    assert isinstance(create_broadcast("rediss://127.0.0.1:6379")._backend, RedisBackend)
    assert isinstance(HubBroadcast("redis://127.0.0.1:6379")._backend, RedisBackend)
    for url in ("postgres://h/db", "postgresql://h/db", "postgresql+asyncpg://h/db"):
        assert isinstance(create_broadcast(url)._backend, PostgresNotifyBackend)
    assert (
        asyncpg_url("postgresql+asyncpg://root@h:5432/db?x=1") == "postgresql://root@h:5432/db?x=1"
    )
    with pytest.raises(ValueError, match="kafka"):
        create_broadcast("kafka://h:9092")


# -- Redis faults --------------------------------------------------------------------------


def reconnects_of(broker: str) -> float:
    return REGISTRY.get_sample_value("hub_broker_reconnects_total", {"broker": broker}) or 0.0


async def test_redis_subscribers_get_a_gap_then_new_messages_when_their_connection_is_killed(
    private_redis: PrivateRedis,
) -> None:
    channel = new_channel()
    async with (
        connected(create_broadcast(private_redis.url)) as broadcast,
        AsyncExitStack() as stack,
    ):
        readers = await readers_of(stack, broadcast, channel)
        await broadcast.publish(channel, "before")
        await all_read(readers, ["before"])
        reconnects = reconnects_of("redis")
        # when
        assert await private_redis.command("CLIENT", "KILL", "TYPE", "pubsub") == 1
        # then
        await all_read(readers, ["before", GAP])
        await broadcast.publish(channel, "after")
        await all_read(readers, ["before", GAP, "after"])
        assert reconnects_of("redis") == reconnects + 1  # and /metrics says so


async def test_redis_subscribers_get_a_gap_then_new_messages_when_the_server_restarts(
    private_redis: PrivateRedis,
) -> None:
    channel = new_channel()
    async with (
        connected(create_broadcast(private_redis.url)) as broadcast,
        AsyncExitStack() as stack,
    ):
        readers = await readers_of(stack, broadcast, channel)
        await broadcast.publish(channel, "before")
        await all_read(readers, ["before"])
        # when: the server goes away; publishing and subscribing meanwhile neither raise nor hang
        await private_redis.stop()
        async with asyncio.timeout(WAIT):
            await broadcast.publish(channel, "lost while down")
            latecomer = Reader(await stack.enter_async_context(broadcast.subscribe(channel)))
        await private_redis.start()
        # then
        await all_read(readers, ["before", GAP])
        await all_read([latecomer], [GAP])
        await broadcast.publish(channel, "after")
        await all_read(readers, ["before", GAP, "after"])
        await all_read([latecomer], [GAP, "after"])
        latecomer.task.cancel()


# -- PostgreSQL ----------------------------------------------------------------------------


async def test_postgres_subscribers_get_a_gap_then_new_messages_when_listener_is_killed() -> None:
    url, application_name = postgres_url(), f"hub-test-{uuid.uuid4().hex[:12]}"
    channel = new_channel()
    backend = PostgresNotifyBackend(url, application_name=application_name)
    async with connected(HubBroadcast(backend=backend)) as broadcast, AsyncExitStack() as stack:
        readers = await readers_of(stack, broadcast, channel)
        await broadcast.publish(channel, "before")
        await all_read(readers, ["before"])
        reconnects = reconnects_of("postgres")
        # when
        admin = await asyncpg.connect(url)
        try:
            terminated = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1",
                application_name,
            )
        finally:
            await admin.close()
        assert terminated == 1
        # then
        await all_read(readers, ["before", GAP])
        await broadcast.publish(channel, "after")
        await all_read(readers, ["before", GAP, "after"])
        assert reconnects_of("postgres") == reconnects + 1


async def test_postgres_silent_listener_is_replaced_and_subscribers_get_a_gap() -> None:
    # given: every connection goes through a proxy that can black-hole it
    url = postgres_url()
    target = urlsplit(url)
    proxy = FreezableProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    channel = new_channel()
    backend = PostgresNotifyBackend(through(url, proxy), health_check_interval=0.2)
    try:
        async with connected(HubBroadcast(backend=backend)) as broadcast, AsyncExitStack() as stack:
            readers = await readers_of(stack, broadcast, channel)
            await broadcast.publish(channel, "before")
            await all_read(readers, ["before"])
            # when: both connections go silent, without closing
            proxy.freeze_open_connections()
            # then: the health check notices, the listener is replaced, subscribers hear of it
            await all_read(readers, ["before", GAP])
            # and publishing gives up on its silent connection and uses a new one
            await broadcast.publish(channel, "after")
            await all_read(readers, ["before", GAP, "after"])
    finally:
        await proxy.stop()


async def test_postgres_carries_the_largest_notify_payload_and_refuses_a_larger_one() -> None:
    channel, largest = new_channel(), "é" * 3999 + "x"  # 7999 bytes
    broadcast = create_broadcast(postgres_url())
    async with connected(broadcast), broadcast.subscribe(channel) as subscriber:
        await broadcast.publish(channel, largest)
        async with asyncio.timeout(WAIT):
            assert await read(subscriber, 1) == [largest]
        with pytest.raises(ValueError, match="8000 bytes is too large"):
            await broadcast.publish(channel, largest + "x")


async def test_postgres_refuses_what_notify_cannot_carry_before_connecting() -> None:
    backend = PostgresNotifyBackend("postgresql://nowhere.invalid/db")
    with pytest.raises(ValueError, match="too large"):
        await backend.publish("thread:1", "x" * 8000)
    with pytest.raises(ValueError, match="NUL"):
        await backend.publish("thread:1", "a\x00b")
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        await backend.publish("t" * 64, "x")
    with pytest.raises(ValueError, match="1 to 63 bytes"):
        await backend.subscribe("")
    with pytest.raises(TypeError, match="str"):
        await backend.publish("thread:1", b"bytes")


async def test_namespaces_sharing_one_redis_never_hear_each_other(
    private_redis: PrivateRedis,
) -> None:
    ours = HubBroadcast(backend=RedisBackend(private_redis.url), namespace="hub:a:")
    theirs = HubBroadcast(backend=RedisBackend(private_redis.url), namespace="hub:b:")
    async with connected(ours), connected(theirs), ours.subscribe("thread:1") as subscriber:
        await theirs.publish("thread:1", "not for us")
        await ours.publish("thread:1", "for us")
        async with asyncio.timeout(WAIT):
            event = await subscriber.get()
    assert (event.channel, event.message) == ("thread:1", "for us")
