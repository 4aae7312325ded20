"""DataLoaders belong to one operation: never shared across operations on a socket or viewers."""

from __future__ import annotations

import json
from typing import Any

from httpx import AsyncClient
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from tests.conftest import gql


async def run_over_socket(ws: AsyncWebSocketSession, op_id: str, query: str) -> dict[str, Any]:
    await ws.send_text(json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}}))
    while True:
        message = json.loads(await ws.receive_text())
        if message.get("id") == op_id and message["type"] == "next":
            payload: dict[str, Any] = message["payload"]
            return payload


async def test_each_operation_on_one_socket_reads_fresh_data(app, client, factory):
    # given: a member connected over one WebSocket
    member = await factory.member(name="Old Name")
    transport = ASGIWebSocketTransport(app=app)
    async with (
        AsyncClient(transport=transport, base_url="http://testserver") as ws_client,
        aconnect_ws("/graphql", ws_client, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send_text(
            json.dumps({"type": "connection_init", "payload": {"token": member.token}})
        )
        assert json.loads(await ws.receive_text())["type"] == "connection_ack"
        first = await run_over_socket(ws, "1", "{ viewer { name } }")
        # when: the name changes between two operations on the same socket
        await gql(
            client,
            'mutation { updateProfile(input: {name: "New Name"}) { errors { code } } }',
            member=member,
        )
        second = await run_over_socket(ws, "2", "{ viewer { name } }")
    # then: the second operation did not reuse the first one's cached row
    assert first["data"]["viewer"]["name"] == "Old Name"
    assert second["data"]["viewer"]["name"] == "New Name"


async def test_a_row_loaded_for_one_viewer_is_never_served_to_another(client, factory):
    # given: an expert visible to all, and a non-expert visible to signed-in members only
    insider = await factory.member(name="Insider")
    hidden = await factory.member(name="Hidden")
    query = "query($id: ID!) { member(id: $id) { name } }"
    # when
    anonymous = await gql(client, query, {"id": hidden.global_id})
    signed_in = await gql(client, query, {"id": hidden.global_id}, member=insider)
    # then
    assert anonymous["data"]["member"] is None
    assert signed_in["data"]["member"] == {"name": "Hidden"}
