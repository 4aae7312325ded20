"""Live groups (schema/live.py): subscriptions of one stream are fed by one follower; a socket
that cannot keep up is switched to replaying from the log and loses nothing; a completed
subscription leaves its group, and the last one to leave stops it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.main import create_app
from tests.conftest import api_client, make_settings
from tests.discussions import community, post, thread
from tests.live import THREAD_EVENTS, Socket, connect, thread_cursor

SLOW = (b"x-test-slow-reader", b"1")


def slow_reader_network(app: ASGIApp, delay: float) -> ASGIApp:
    """The app behind a network on which sockets that ask for it take `delay` per frame sent
    to them (a reader that cannot keep up)."""

    async def network(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or SLOW not in scope.get("headers", []):
            await app(scope, receive, send)
            return

        async def slow_send(message: Message) -> None:
            if message["type"] == "websocket.send":
                await asyncio.sleep(delay)
            await send(message)

        await app(scope, receive, slow_send)

    return network


@asynccontextmanager
async def slow_socket(app: ASGIApp) -> AsyncIterator[Socket]:
    transport = ASGIWebSocketTransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        aconnect_ws(
            "/graphql",
            client,
            subprotocols=["graphql-transport-ws"],
            headers={SLOW[0].decode(): SLOW[1].decode()},
        ) as ws,
    ):
        await ws.send_text(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.receive_text())["type"] == "connection_ack"
        yield Socket(ws)


async def test_a_socket_that_falls_behind_replays_and_loses_nothing(
    database_url, db, broadcast, factory
):
    # One frame may wait; the reader takes 0.2 s a frame while posts come every few ms.
    settings = make_settings(database_url, ws_live_outbox_limit=1)
    hub = create_app(settings, db=db, broadcast=broadcast)
    app = slow_reader_network(hub, delay=0.2)
    async with api_client(app) as client:
        community_id, moderator = await community(client, factory)
        thread_id = await thread(client, community_id, moderator)
        after = await thread_cursor(client, thread_id)
        bodies = [f"post {n}" for n in range(8)]
        async with connect(app) as fast, slow_socket(app) as slow:
            for socket in (fast, slow):
                await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": after})
            await asyncio.sleep(0.1)  # both have joined the thread's group
            for body in bodies:
                await post(client, thread_id, moderator, body)
            fast_events = await fast.next_payloads(len(bodies))
            slow_events = await slow.next_payloads(len(bodies), seconds=10)
            with_nothing_more = [fast, slow]
            for socket in with_nothing_more:
                try:
                    extra = await socket.receive(seconds=0.3)
                except TimeoutError:
                    continue
                raise AssertionError(f"a frame too many: {extra}")

    for events in (fast_events, slow_events):
        assert [e["threadEvents"]["post"]["body"] for e in events] == bodies
    assert hub.state.live_groups.behind >= 1  # the slow socket did fall behind the group


async def test_completing_a_subscription_leaves_the_group_and_the_last_stops_it(
    app, client, factory
):
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    after = await thread_cursor(client, thread_id)
    groups = app.state.live_groups
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(connect(app))
        second = await stack.enter_async_context(connect(app))
        first_id = await first.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": after})
        second_id = await second.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": after})
        await post(client, thread_id, moderator, "one")
        assert len(await first.next_payloads(1)) == len(await second.next_payloads(1)) == 1
        assert groups.streams() == [f"thread:{thread_id_key(thread_id)}"]

        await first.ws.send_text(json.dumps({"id": first_id, "type": "complete"}))
        await post(client, thread_id, moderator, "two")
        assert (await second.next_payloads(1))[0]["threadEvents"]["post"]["body"] == "two"
        try:
            extra = await first.receive(seconds=0.3)
        except TimeoutError:
            extra = None
        assert extra is None, f"a completed subscription still receives: {extra}"

        await second.ws.send_text(json.dumps({"id": second_id, "type": "complete"}))
        for _ in range(50):
            if not groups.streams():
                break
            await asyncio.sleep(0.01)
        assert groups.streams() == []


def thread_id_key(global_id: str) -> int:
    from schema.relay import decode_int_id

    key = decode_int_id(global_id, "Thread")
    assert key is not None
    return key
