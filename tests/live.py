"""A small graphql-transport-ws client for the live-update tests (a real WebSocket speaking the
protocol, against the ASGI app)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from httpx import AsyncClient
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

THREAD_EVENTS = """
subscription($threadId: ID!, $after: String) {
  threadEvents(threadId: $threadId, after: $after) {
    __typename
    ... on ThreadEvent { cursor kind post { body } }
    ... on ResyncRequired { message }
  }
}
"""


async def thread_cursor(client: Any, thread_id: str, token: str | None = None) -> str:
    """The thread's current event cursor: subscribing after it misses nothing from now on
    (the server may set up a subscription after a request sent later has committed)."""
    response = await client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {token}"} if token else {},
        json={
            "query": "query($id: ID!) { thread(id: $id) { eventCursor } }",
            "variables": {"id": thread_id},
        },
    )
    return str(response.json()["data"]["thread"]["eventCursor"])


class Socket:
    def __init__(self, ws: AsyncWebSocketSession) -> None:
        self.ws = ws
        self._ids = 0

    async def subscribe(self, query: str, variables: dict[str, Any]) -> str:
        self._ids += 1
        op_id = str(self._ids)
        payload = {"query": query, "variables": variables}
        await self.ws.send_text(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))
        return op_id

    async def receive(self, seconds: float = 5.0) -> dict[str, Any]:
        async with asyncio.timeout(seconds):
            message: dict[str, Any] = json.loads(await self.ws.receive_text())
            return message

    async def next_payloads(self, count: int, seconds: float = 5.0) -> list[dict[str, Any]]:
        """The next `count` `next` payloads (data only), failing on errors."""
        payloads = []
        while len(payloads) < count:
            message = await self.receive(seconds)
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            payloads.append(message["payload"]["data"])
        return payloads


@asynccontextmanager
async def connect(app: Starlette, token: str | None = None, **params: Any) -> AsyncIterator[Socket]:
    transport = ASGIWebSocketTransport(app=app)
    async with (
        AsyncClient(transport=transport, base_url="http://testserver") as client,
        aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        payload = {"token": token} if token else {}
        payload.update(params)  # more of `connection_init`, such as `language`
        await ws.send_text(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await ws.receive_text())
        assert ack["type"] == "connection_ack", ack
        yield Socket(ws)
