"""After the commit, nothing the publisher does turns a success into an error (issue 12, point
1): a broker failing in a way no retry knows (asyncpg's `InternalClientError` when the listening
connection is terminated mid-publish) is logged, the other events of the transaction are still
published, and subscribers repair the lost one from the event log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from broadcaster import BroadcastBackend, Event
from prometheus_client import REGISTRY
from starlette.applications import Starlette

from app.main import create_app
from app.settings import Settings
from models.db import Database
from schema.relay import decode_int_id
from subscriptions.broadcast import HubBroadcast, _backend_for
from subscriptions.events import member_stream
from subscriptions.heads import HeadWatcher
from tests.conftest import Factory, api_client, broadcast_url_for_tests, gql
from tests.discussions import community, join, post, thread
from tests.live import THREAD_EVENTS, connect, thread_cursor


class FailsOnThreads(BroadcastBackend):
    """The configured broker, whose publishes to a thread's stream fail the way asyncpg fails
    when its connection is terminated during an operation (fault injection at the broker's
    boundary: every other call goes to the real backend)."""

    def __init__(self, url: str) -> None:
        self.real = _backend_for(url)
        self.failed = 0

    async def connect(self) -> None:
        await self.real.connect()

    async def disconnect(self) -> None:
        await self.real.disconnect()

    async def subscribe(self, channel: str) -> None:
        await self.real.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        await self.real.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        if ":thread:" in f":{channel}":
            self.failed += 1
            raise asyncpg.exceptions.InternalClientError(
                "cannot switch to state 12; another operation (2) is in progress"
            )
        await self.real.publish(channel, message)

    async def next_published(self) -> Event:
        return await self.real.next_published()


@asynccontextmanager
async def broadcast_over(
    backend: FailsOnThreads, settings: Settings
) -> AsyncIterator[HubBroadcast]:
    hub = HubBroadcast(backend=backend, namespace=settings.broadcast_namespace)
    await hub.connect()
    try:
        yield hub
    finally:
        await hub.disconnect()


@pytest.fixture
async def failing(settings: Settings) -> AsyncIterator[tuple[HubBroadcast, FailsOnThreads]]:
    backend = FailsOnThreads(broadcast_url_for_tests())
    async with broadcast_over(backend, settings) as hub:
        yield hub, backend


async def test_a_committed_post_is_answered_as_a_success_whatever_the_broker_does(
    settings: Settings, db: Database, factory: Factory, failing: tuple[HubBroadcast, FailsOnThreads]
) -> None:
    hub, backend = failing
    app: Starlette = create_app(settings, db, hub)
    async with api_client(app) as client:
        community_id, moderator = await community(client, factory)
        member = await factory.member()
        await join(client, community_id, member)
        thread_id = await thread(client, community_id, member)  # its events: thread and community
        async with hub.subscribe(member_stream(member.id)) as subscriber:
            reply = await post(client, thread_id, moderator, "Stored and answered")
            # answered as the success it is (the helper asserts no error of any kind)
            assert reply["body"] == "Stored and answered"
            # and the transaction's other events went out: the author's notification
            async with asyncio.timeout(5):
                event = await subscriber.get()
        assert json.loads(event.message)["kind"] == "NOTIFICATION"
        stored = await gql(
            client,
            "query($id: ID!) { thread(id: $id) { posts { totalCount } } }",
            {"id": thread_id},
            member=member,
        )
    assert stored["data"]["thread"]["posts"]["totalCount"] == 1  # the reply, stored
    assert backend.failed >= 1


class DropsThreads(FailsOnThreads):
    """The configured broker, losing every publish to a thread's stream without a word (a
    stalled broker past the publish budget, a process killed between commit and publish)."""

    async def publish(self, channel: str, message: Any) -> None:
        if ":thread:" in f":{channel}":
            self.failed += 1
            return
        await self.real.publish(channel, message)


@pytest.fixture
async def dropping(settings: Settings) -> AsyncIterator[tuple[HubBroadcast, DropsThreads]]:
    backend = DropsThreads(broadcast_url_for_tests())
    async with broadcast_over(backend, settings) as hub:
        yield hub, backend


async def test_the_last_event_of_a_quiet_thread_arrives_though_the_broker_lost_it(
    settings: Settings, db: Database, factory: Factory, dropping: tuple[HubBroadcast, DropsThreads]
) -> None:
    hub, backend = dropping
    app: Starlette = create_app(settings, db, hub)
    watcher = HeadWatcher(db.sessions, hub)
    async with api_client(app) as client:
        community_id, moderator = await community(client, factory)
        thread_id = await thread(client, community_id, moderator)
        cursor = await thread_cursor(client, thread_id, moderator.token)
        async with connect(app, moderator.token) as socket:
            await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": cursor})
            stream = f"thread:{decode_int_id(thread_id, 'Thread')}"
            async with asyncio.timeout(5):  # the server has set the subscription up
                while stream not in hub.local_channels():  # noqa: ASYNC110 - state of the server
                    await asyncio.sleep(0.01)
            for body in ("one", "two", "the last word"):
                await post(client, thread_id, moderator, body)
            assert backend.failed == 3  # not one reached the broker
            # a look at the heads, then the next: still not arrived, so repaired
            assert await watcher.check() == []
            assert await watcher.check() == [stream]
            gaps = REGISTRY.get_sample_value("hub_gaps_repaired_total") or 0.0
            events = await socket.next_payloads(3)
            assert REGISTRY.get_sample_value("hub_gaps_repaired_total") == gaps + 1
            # and nothing twice: a further look repairs nothing
            assert await watcher.check() == []
    bodies = [e["threadEvents"]["post"]["body"] for e in events]
    assert bodies == ["one", "two", "the last word"]


class StallsOnThreads(FailsOnThreads):
    """The configured broker, accepting no write on a thread's stream and never answering
    (Redis under `CLIENT PAUSE WRITE`)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.released = asyncio.Event()

    async def publish(self, channel: str, message: Any) -> None:
        if ":thread:" in f":{channel}":
            self.failed += 1
            await self.released.wait()
        await self.real.publish(channel, message)


async def test_a_stalled_broker_does_not_hold_the_answer(
    settings: Settings, db: Database, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("subscriptions.events.PUBLISH_BUDGET_SECONDS", 0.2)
    backend = StallsOnThreads(broadcast_url_for_tests())
    hub = HubBroadcast(backend=backend, namespace=settings.broadcast_namespace)
    await hub.connect()
    try:
        app: Starlette = create_app(settings, db, hub)
        async with api_client(app) as client:
            community_id, moderator = await community(client, factory)
            thread_id = await thread(client, community_id, moderator)
            # answered, though the broker never takes the thread's events (the timeout only
            # turns a regression into a failure instead of a hung suite)
            async with asyncio.timeout(60):
                reply = await post(client, thread_id, moderator, "Answered all the same")
        assert reply["body"] == "Answered all the same"
        assert backend.failed >= 1
    finally:
        backend.released.set()
        await hub.disconnect()
