"""Broker faults while subscribers are connected and posts keep coming: Redis restarted, the
PostgreSQL LISTEN connection terminated. After the broker returns, every post reaches every
subscriber, in order, once; no client is disconnected."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import asyncpg
import pytest

from app.main import create_app
from subscriptions.broadcast import HubBroadcast
from subscriptions.broker import BrokerUnavailable, ping_broker
from subscriptions.postgres_backend import PostgresNotifyBackend, asyncpg_url
from subscriptions.redis_backend import RedisBackend
from tests.conftest import api_client, make_settings
from tests.discussions import community, post, thread
from tests.live import THREAD_EVENTS, connect, thread_cursor
from tests.services import PrivateRedis, postgres_url

POSTS = 24
SUBSCRIBERS = 4
FAULT_AFTER = 8


@asynccontextmanager
async def app_with(broadcast: HubBroadcast, database_url: str, db) -> AsyncIterator[object]:
    await broadcast.connect()
    try:
        yield create_app(make_settings(database_url), db, broadcast)
    finally:
        await broadcast.disconnect()


async def posts_survive(app, factory, fault: Callable[[], Awaitable[None]]) -> None:
    """Subscribers watch a thread while posts are written; `fault` strikes part-way."""
    async with api_client(app) as api:
        community_id, moderator = await community(api, factory)
        thread_id = await thread(api, community_id, moderator)
        after = await thread_cursor(api, thread_id)
        async with AsyncExitStack() as stack:
            sockets = [
                await stack.enter_async_context(connect(app, moderator.token))
                for _ in range(SUBSCRIBERS)
            ]
            for socket in sockets:
                await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": after})
            for index in range(POSTS):
                if index == FAULT_AFTER:
                    await fault()
                await post(api, thread_id, moderator, f"post {index}")
                await asyncio.sleep(0.02)
            expected = [f"post {i}" for i in range(POSTS)]
            for socket in sockets:
                events = await socket.next_payloads(POSTS, 30)
                assert [e["threadEvents"]["post"]["body"] for e in events] == expected


async def test_posts_reach_every_subscriber_across_a_redis_restart(
    private_redis: PrivateRedis, database_url, db, factory
):
    broadcast = HubBroadcast(backend=RedisBackend(private_redis.url))
    restarts: list[asyncio.Task[None]] = []

    async def back_later() -> None:
        await asyncio.sleep(0.8)  # posts keep coming while Redis is down
        await private_redis.start()

    async def restart_redis() -> None:
        await private_redis.stop()
        restarts.append(asyncio.create_task(back_later()))

    async with app_with(broadcast, database_url, db) as app:
        await posts_survive(app, factory, restart_redis)
    await asyncio.gather(*restarts)
    assert restarts  # the fault did strike


async def test_posts_reach_every_subscriber_after_the_listen_connection_is_terminated(
    database_url, db, factory
):
    url = postgres_url()  # skips (or fails in CI) without PostgreSQL
    name = f"hub-fault-{uuid.uuid4().hex[:12]}"
    broadcast = HubBroadcast(backend=PostgresNotifyBackend(asyncpg_url(url), application_name=name))

    async def terminate_listener() -> None:
        admin = await asyncpg.connect(url)
        try:
            terminated = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = $1",
                name,
            )
        finally:
            await admin.close()
        assert terminated >= 1

    async with app_with(broadcast, database_url, db) as app:
        await posts_survive(app, factory, terminate_listener)


async def test_a_redis_that_takes_no_writes_is_not_ready(private_redis: PrivateRedis) -> None:
    """PING still answers under `CLIENT PAUSE WRITE`; readiness asks for a PUBLISH (issue 12)."""
    await ping_broker(private_redis.url, within_seconds=2)
    await private_redis.command("CLIENT", "PAUSE", "4000", "WRITE")
    with pytest.raises(BrokerUnavailable):
        await ping_broker(private_redis.url, within_seconds=1)
