"""Live frames at scale (schema/live.py, app/ws_frames.py): behind uvicorn's wsproto protocol a
live event's frames are written straight to every socket's transport, its payload encoded once
per audience; a delivery to many sockets yields to the event loop between slices, so that
requests waiting behind it are answered before it ends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import pytest
import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

import schema.live
from app.main import create_app
from app.ws_frames import OPENED, PROTOCOL, FrameProtocol, FrameWriter, SlimEvent, SlimQueue
from schema.fanout import SHARED_RESULTS
from tests.conftest import api_client, make_settings
from tests.discussions import community, post, thread
from tests.live import THREAD_EVENTS, thread_cursor
from tests.live import connect as connect_in_process
from tests.services import free_port


@asynccontextmanager
async def uvicorn_server(app: Starlette) -> AsyncIterator[tuple[str, uvicorn.Server]]:
    """`app` served by uvicorn in this process as `hub serve` runs it (app/cli.py: this
    protocol, no per-message compression); its ws URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws=PROTOCOL,
        ws_per_message_deflate=False,
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        yield f"ws://127.0.0.1:{port}/graphql", server
    finally:
        server.should_exit = True
        await task


async def subscribed_socket(url: str, thread_id: str, after: str) -> ClientConnection:
    ws = await connect(
        url,
        origin=Origin("https://hub.example.org"),
        subprotocols=[Subprotocol("graphql-transport-ws")],
    )
    await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    payload = {"query": THREAD_EVENTS, "variables": {"threadId": thread_id, "after": after}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return ws


async def bodies(ws: ClientConnection, count: int) -> list[str]:
    received = []
    async with asyncio.timeout(10):
        while len(received) < count:
            message = json.loads(await ws.recv())
            assert message["type"] == "next", message
            assert message["id"] == "1", message
            received.append(message["payload"]["data"]["threadEvents"]["post"]["body"])
    return received


async def test_live_frames_go_straight_to_the_transport_encoded_once_per_event(
    database_url, db, broadcast, factory
):
    # given twenty anonymous subscribers of a thread on sockets served by uvicorn
    app = create_app(make_settings(database_url), db=db, broadcast=broadcast)

    async with (
        api_client(app) as client,
        uvicorn_server(app) as (url, server),
        AsyncExitStack() as stack,
    ):
        community_id, moderator = await community(client, factory)
        thread_id = await thread(client, community_id, moderator)
        after = await thread_cursor(client, thread_id)
        sockets = [await subscribed_socket(url, thread_id, after) for _ in range(20)]
        for ws in sockets:
            stack.push_async_callback(ws.close)
        await post(client, thread_id, moderator, "warm-up")  # each subscription joins the group
        assert [await bodies(ws, 1) for ws in sockets] == [["warm-up"]] * 20
        frames, encoded = FrameWriter.frames_written, SHARED_RESULTS.encoded
        executions, built = SHARED_RESULTS.executions, FrameWriter.frames_built

        # when three posts are made
        for body in ("a", "b", "c"):
            await post(client, thread_id, moderator, body)

        # then everyone has the three, in order; one execution, one encoding and one frame
        # built per event for the twenty (their subscriptions have the same id: the same bytes
        # are written to every socket), and sixty frames written by the writers (none through
        # ASGI's send)
        assert [await bodies(ws, 3) for ws in sockets] == [["a", "b", "c"]] * 20
        assert SHARED_RESULTS.executions - executions == 3
        assert SHARED_RESULTS.encoded - encoded == 3
        assert FrameWriter.frames_built - built == 3
        assert FrameWriter.frames_written - frames == 60
        # and the open sockets have let go of their HTTP handshake's state
        protocols = [p for p in server.server_state.connections if isinstance(p, FrameProtocol)]
        assert len(protocols) == 20
        assert all(p.conn.handshake is OPENED for p in protocols)
        # and hold slim stand-ins for asyncio's queue and event (~3 KB less per socket)
        assert all(isinstance(p.queue, SlimQueue) for p in protocols)
        assert all(isinstance(p.writable, SlimEvent) for p in protocols)
        # and the twenty members share one document, one prefix and one execution key
        groups = app.state.live_groups
        members = groups.members_of(groups.streams()[0])
        assert len(members) == 20
        for part in ("document", "prefix", "prefix_data", "execution_key"):
            assert len({id(getattr(m, part)) for m in members}) == 1, part


async def test_a_delivery_yields_to_the_loop_between_slices_of_members(
    database_url, db, broadcast, factory, monkeypatch: pytest.MonkeyPatch
):
    # given ten subscribers of a thread, delivered to three at a time
    monkeypatch.setattr(schema.live, "DELIVERY_SLICE", 3)
    app = create_app(make_settings(database_url), db=db, broadcast=broadcast)

    async with api_client(app) as client, AsyncExitStack() as stack:
        community_id, moderator = await community(client, factory)
        thread_id = await thread(client, community_id, moderator)
        after = await thread_cursor(client, thread_id)
        sockets = [await stack.enter_async_context(connect_in_process(app)) for _ in range(10)]
        for socket in sockets:
            await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": after})
        await post(client, thread_id, moderator, "warm-up")
        for socket in sockets:
            await socket.next_payloads(1)
        groups = app.state.live_groups
        slices = groups.slices
        members = groups.members_of(groups.streams()[0])
        assert len(members) == 10
        # how many members have the newest event, each time the loop lets others run
        progress: set[int] = set()

        async def watch_progress() -> None:
            while True:
                newest = max(m.seq for m in members)
                progress.add(sum(1 for m in members if m.seq == newest))
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch_progress())

        # when two posts are made
        await post(client, thread_id, moderator, "a")
        await post(client, thread_id, moderator, "b")
        received = [await socket.next_payloads(2) for socket in sockets]
        watcher.cancel()

        # then each event went out in four slices (3 + 3 + 3 + 1), and between them the loop
        # ran what else was ready: it saw the event with 3, 6 and 9 of the 10 members
        assert all([p["threadEvents"]["post"]["body"] for p in r] == ["a", "b"] for r in received)
        assert groups.slices - slices == 6
        assert {3, 6, 9} <= progress
