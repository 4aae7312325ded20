"""Keepalive pings are the hub's settings (`HUB_WS_PING_INTERVAL_SECONDS`,
`HUB_WS_PING_TIMEOUT_SECONDS`), passed to uvicorn by `hub serve`: a real server pings a socket
at the set interval, and closes one whose peer never answers after the set timeout. The client
is a bare wsproto connection, so that it sees the pings (other clients answer them unseen)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Event, Ping, Request

from tests.services import hub_serve, hub_serve_environment


async def _events_until_closed(base: str) -> list[Event]:
    """Open a graphql-transport-ws socket and read, never answering a ping, until the server
    closes it (bounded: 30 s)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    connection = WSConnection(ConnectionType.CLIENT)
    writer.write(
        connection.send(
            Request(host=host, target="/graphql", subprotocols=["graphql-transport-ws"])
        )
    )
    seen: list[Event] = []
    try:
        async with asyncio.timeout(30):
            while not any(isinstance(event, CloseConnection) for event in seen):
                data = await reader.read(65536)
                if not data:
                    break
                connection.receive_data(data)
                seen.extend(connection.events())
    finally:
        writer.close()
    return seen


async def test_the_hub_pings_sockets_and_closes_those_that_never_answer(
    database_url: str, tmp_path: Path
) -> None:
    env = hub_serve_environment(
        database_url, HUB_WS_PING_INTERVAL_SECONDS="0.2", HUB_WS_PING_TIMEOUT_SECONDS="1"
    )
    async with hub_serve(env, tmp_path / "serve.log") as (_, base):
        seen = await _events_until_closed(base)
    kinds = [type(event) for event in seen]
    assert kinds[0] is AcceptConnection
    assert Ping in kinds  # the first ping, unanswered ...
    assert kinds[-1] is CloseConnection  # ... closes the socket once its timeout has passed
    assert kinds.count(Ping) == 1  # no second ping while the first awaits its pong
