"""Clients that vanish are normal (issue 12, point 6): a real server process, with sockets
aborted while their operations answer, logs no traceback. (On PostgreSQL the operations are
slow enough to answer after the abort: there, without the fix, this failed.)"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import websockets

from tests.conftest import broadcast_url_for_tests
from tests.servers import server

SUBSCRIBE = {
    "id": "1",
    "type": "subscribe",
    "payload": {
        "query": "subscription($t: ID!) { threadEvents(threadId: $t) { __typename } }",
        "variables": {"t": "VGhyZWFkOjE="},
    },
}


async def vanish(url: str, times: int, rng: random.Random) -> None:
    """Sign on, subscribe, and drop the TCP connection without a close, `times` times."""
    for _ in range(times):
        socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init"}))
        await socket.recv()
        await socket.send(json.dumps(SUBSCRIBE))
        await asyncio.sleep(rng.random() * 0.2)
        socket.transport.abort()


async def test_vanishing_clients_leave_no_traceback_in_the_log(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    rng = random.Random(12)
    async with server(database_url, broadcast_url_for_tests(), log) as base:
        url = base.replace("http://", "ws://") + "/graphql"
        async with asyncio.timeout(60):
            await asyncio.gather(*(vanish(url, 5, rng) for _ in range(30)))
        await asyncio.sleep(0.5)  # what the server does once they are gone
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert "Exception in worker task" not in text
