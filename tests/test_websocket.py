"""GraphQL over WebSocket, spoken by hand: graphql-transport-ws only, the token in
`connection_init`, the init timeout, the per-socket operation cap, origins and limits."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from sqlalchemy import update
from starlette.applications import Starlette

from app.main import create_app
from models.db import Database
from models.member import Member, Role
from tests.conftest import Factory, make_settings, without_cost

PROTOCOL = "graphql-transport-ws"
ALLOWED_ORIGIN = "https://hub.example.org"
WAIT_SECONDS = 10.0
UPDATE_BIO = "mutation($bio: String!) { updateProfile(input: {bio: $bio}) { errors { code } member { bio } } }"

Message = dict[str, Any]


# --- helpers -------------------------------------------------------------------------------------


@asynccontextmanager
async def socket(
    app: Starlette,
    *,
    subprotocols: tuple[str, ...] = (PROTOCOL,),
    headers: dict[str, str] | None = None,
) -> AsyncIterator[AsyncWebSocketSession]:
    transport = ASGIWebSocketTransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
        aconnect_ws(
            "/graphql", client, subprotocols=list(subprotocols), headers=headers or {}
        ) as ws,
    ):
        yield ws


async def send(ws: AsyncWebSocketSession, message: Message) -> None:
    await ws.send_text(json.dumps(message))


async def receive(ws: AsyncWebSocketSession) -> Message:
    message: Message = json.loads(await ws.receive_text(timeout=WAIT_SECONDS))
    return message


async def init(ws: AsyncWebSocketSession, payload: Message | None = None) -> Message:
    """connection_init, and the server's answer (the ack, if it accepts)."""
    init_message: Message = {"type": "connection_init"}
    if payload is not None:
        init_message["payload"] = payload
    await send(ws, init_message)
    return await receive(ws)


def subscribe(op_id: str, query: str, variables: Message | None = None) -> Message:
    return {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}


async def execute(
    ws: AsyncWebSocketSession, op_id: str, query: str, variables: Message | None = None
) -> Message:
    """Run one query or mutation: its `next` payload, after checking `complete` follows."""
    await send(ws, subscribe(op_id, query, variables))
    result = await receive(ws)
    assert result["id"] == op_id
    assert result["type"] == "next", result
    assert await receive(ws) == {"id": op_id, "type": "complete"}
    payload: Message = result["payload"]
    return payload


async def close_code(ws: AsyncWebSocketSession) -> int:
    """Wait for the server to close the socket; its close code (messages before are dropped)."""
    try:
        while True:
            await ws.receive_text(timeout=WAIT_SECONDS)
    except WebSocketDisconnect as closed:
        return closed.code


def unreachable_database_url(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'hub.db'}"
    return database_url.rsplit("/", 1)[0] + "/hub_no_such_database"


# --- subprotocol -----------------------------------------------------------------------------------


@pytest.mark.parametrize("subprotocols", [("graphql-ws",), ()], ids=["legacy-graphql-ws", "none"])
async def test_only_graphql_transport_ws_is_spoken(app, subprotocols: tuple[str, ...]):
    # when: a client offers the legacy protocol (or none)
    async with socket(app, subprotocols=subprotocols) as ws:
        # then: no subprotocol is agreed and the socket is closed before any operation
        assert ws.subprotocol is None
        assert await close_code(ws) == 4406


async def test_graphql_transport_ws_is_agreed_and_acknowledged(app):
    async with socket(app) as ws:
        assert ws.subprotocol == PROTOCOL
        assert (await init(ws))["type"] == "connection_ack"


# --- authentication --------------------------------------------------------------------------------


async def test_without_a_token_the_socket_is_anonymous(app):
    async with socket(app) as ws:
        await init(ws)
        result = await execute(ws, "1", "{ viewer { id } gcmObjective(number: 3) { number } }")
    assert without_cost(result) == {"data": {"viewer": None, "gcmObjective": {"number": 3}}}


@pytest.mark.parametrize(
    "payload_for",
    [
        lambda token: {"authorization": f"Bearer {token}"},
        lambda token: {"Authorization": f"Bearer {token}"},
        lambda token: {"token": token},
    ],
    ids=["authorization", "Authorization", "token"],
)
async def test_the_token_in_connection_init_signs_the_socket_in(
    app, factory: Factory, payload_for: Any
):
    # given
    member = await factory.member()
    async with socket(app) as ws:
        # when
        ack = await init(ws, payload_for(member.token))
        result = await execute(ws, "1", "{ viewer { id } }")
    # then
    assert ack["type"] == "connection_ack"
    assert without_cost(result) == {"data": {"viewer": {"id": member.global_id}}}


async def test_every_operation_on_the_socket_runs_as_its_member(app, factory: Factory):
    member = await factory.member(name="Socket Member")
    async with socket(app) as ws:
        await init(ws, {"token": member.token})
        first = await execute(ws, "1", "{ viewer { name } }")
        changed = await execute(ws, "2", UPDATE_BIO, {"bio": "Written over the socket"})
        second = await execute(ws, "3", "{ viewer { name bio } }")
    assert without_cost(first) == {"data": {"viewer": {"name": "Socket Member"}}}
    assert changed["data"]["updateProfile"]["errors"] == []
    assert without_cost(second) == {
        "data": {"viewer": {"name": "Socket Member", "bio": "Written over the socket"}}
    }


@pytest.mark.parametrize(
    "payload",
    [
        {"token": "not-a-real-token"},
        {"authorization": "Bearer not-a-real-token"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"token": 42},
    ],
    ids=["unknown-token", "unknown-bearer", "basic", "not-a-string"],
)
async def test_a_bad_token_closes_the_socket_with_4403(app, payload: Message):
    async with socket(app) as ws:
        await send(ws, {"type": "connection_init", "payload": payload})
        assert await close_code(ws) == 4403


async def test_a_revoked_token_closes_the_socket_with_4403(app, client, factory: Factory):
    # given: a member who logged out
    member = await factory.member()
    logout = await client.post(
        "/graphql", json={"query": "mutation { logout { loggedOut } }"}, headers=member.headers
    )
    assert logout.json()["data"]["logout"]["loggedOut"] is True
    # when / then
    async with socket(app) as ws:
        await send(ws, {"type": "connection_init", "payload": {"token": member.token}})
        assert await close_code(ws) == 4403


async def test_no_connection_init_in_time_closes_the_socket_with_4408(database_url, db: Database):
    # given
    app = create_app(make_settings(database_url, ws_connection_init_timeout_seconds=0.5), db)
    async with socket(app) as ws:
        # when: the client says nothing
        # then
        assert await close_code(ws) == 4408


async def test_an_operation_before_connection_init_closes_the_socket_with_4401(app):
    async with socket(app) as ws:
        await send(ws, subscribe("1", "{ __typename }"))
        assert await close_code(ws) == 4401


# --- operations per socket -------------------------------------------------------------------------


async def test_more_than_20_operations_at_once_on_one_socket_are_refused(
    app, db: Database, factory: Factory
):
    # given: a member on a socket, and another transaction holding that member's row, so that
    # every mutation of it stays in flight until the row is released
    member = await factory.member()
    async with socket(app) as ws:
        await init(ws, {"token": member.token})
        async with db.engine.connect() as blocker:
            held = await blocker.begin()
            await blocker.execute(update(Member).where(Member.id == member.id).values(bio="held"))
            # when: 21 mutations are sent at once
            for index in range(1, 22):
                await send(ws, subscribe(str(index), UPDATE_BIO, {"bio": f"op {index}"}))
            # then: the 21st is refused at once, while the 20 others wait for the row
            refused = await receive(ws)
            await held.rollback()
        assert refused["id"] == "21"
        assert refused["type"] == "error"
        assert [error["message"] for error in refused["payload"]] == ["Subscription limit reached"]
        # and once the row is free the 20 complete, and the socket takes operations again
        finished: dict[str, list[Message]] = {}
        for _ in range(2 * 20):
            message = await receive(ws)
            finished.setdefault(message["id"], []).append(message)
        after = await execute(ws, "22", "{ viewer { bio } }")
    assert sorted(finished, key=int) == [str(index) for index in range(1, 21)]
    for op_id, (result, complete) in finished.items():
        assert result["type"] == "next"
        assert result["payload"]["data"]["updateProfile"]["errors"] == []
        assert complete == {"id": op_id, "type": "complete"}
    assert after["data"]["viewer"]["bio"] in {f"op {index}" for index in range(1, 21)}


async def test_more_than_20_live_subscriptions_on_one_socket_are_refused(app, factory: Factory):
    # given: a member with 20 live subscriptions on one socket
    member = await factory.member()
    watch = "subscription { notificationReceived { __typename } }"
    async with socket(app) as ws:
        await init(ws, {"token": member.token})
        for index in range(1, 21):
            await send(ws, subscribe(str(index), watch))
        # when: a 21st is asked for
        await send(ws, subscribe("21", watch))
        refused = await receive(ws)
        # then: refused; and once the client completes one, the socket takes another operation
        await send(ws, {"id": "1", "type": "complete"})
        after = await execute(ws, "22", "{ viewer { id } }")
    assert refused["id"] == "21"
    assert refused["type"] == "error"
    assert [error["message"] for error in refused["payload"]] == ["Subscription limit reached"]
    assert without_cost(after) == {"data": {"viewer": {"id": member.global_id}}}


# --- origins ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "https://hub.example.org.evil.example"]
)
async def test_a_handshake_from_a_disallowed_origin_is_refused(app, origin: str):
    # closed before being accepted (a server answers the handshake with 403)
    refused = pytest.RaisesExc(WebSocketDisconnect, check=lambda closed: closed.code == 1008)
    with pytest.RaisesGroup(refused, flatten_subgroups=True):
        async with socket(app, headers={"Origin": origin}):
            pass


@pytest.mark.parametrize("origin", [ALLOWED_ORIGIN, "http://testserver", None])
async def test_a_handshake_from_an_allowed_same_or_no_origin_is_accepted(app, origin: str | None):
    headers = {"Origin": origin} if origin else {}
    async with socket(app, headers=headers) as ws:
        assert (await init(ws))["type"] == "connection_ack"
        reply = await execute(ws, "1", "{ __typename }")
        assert without_cost(reply) == {"data": {"__typename": "Query"}}


# --- limits and errors apply over the socket too ---------------------------------------------------


async def test_too_many_aliases_over_the_socket_are_an_error_message(app):
    query = "{ " + " ".join(f"a{index}: __typename" for index in range(16)) + " }"
    async with socket(app) as ws:
        await init(ws)
        await send(ws, subscribe("1", query))
        error = await receive(ws)
    assert error["type"] == "error"
    assert [e["extensions"]["code"] for e in error["payload"]] == ["GRAPHQL_VALIDATION_FAILED"]


async def test_a_document_that_does_not_parse_is_an_error_and_the_socket_stays_open(app):
    async with socket(app) as ws:
        await init(ws)
        await send(ws, subscribe("1", "{ gcmObjectives { number }"))
        error = await receive(ws)
        after = await execute(ws, "2", "{ __typename }")
    assert error["id"] == "1"
    assert error["type"] == "error"
    assert [e["extensions"]["code"] for e in error["payload"]] == ["GRAPHQL_PARSE_FAILED"]
    assert without_cost(after) == {"data": {"__typename": "Query"}}


async def test_introspection_over_the_socket_follows_the_production_policy(
    database_url, db: Database, factory: Factory
):
    # given
    app = create_app(make_settings(database_url, env="production"), db)
    moderator = await factory.member(role=Role.MODERATOR)
    query = "{ __schema { queryType { name } } }"
    # when
    async with socket(app) as ws:
        await init(ws)
        await send(ws, subscribe("1", query))
        anonymous = await receive(ws)
    async with socket(app) as ws:
        await init(ws, {"token": moderator.token})
        staff = await execute(ws, "1", query)
    # then
    assert anonymous["type"] == "error"
    assert {e["extensions"]["code"] for e in anonymous["payload"]} == {"INTROSPECTION_DISABLED"}
    assert without_cost(staff) == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_internal_errors_over_the_socket_are_masked_in_production(
    database_url, tmp_path: Path
):
    # given: production, with a database that cannot be opened
    settings = make_settings(unreachable_database_url(database_url, tmp_path), env="production")
    app = create_app(settings)
    try:
        async with socket(app) as ws:
            await init(ws)
            # when
            result = await execute(ws, "1", "{ members(first: 1) { totalCount } }")
    finally:
        await app.state.db.dispose()
    # then
    assert result["data"] is None
    [error] = result["errors"]
    request_id = error["extensions"].pop("requestId")  # the socket's, quoted for the logs
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert result["errors"] == [
        {
            "message": "Internal server error.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["members"],
            "extensions": {"code": "INTERNAL_SERVER_ERROR"},
        }
    ]


async def test_an_empty_query_over_the_socket_is_a_client_error_even_in_production(
    database_url, db: Database
):
    app = create_app(make_settings(database_url, env="production"), db)
    async with socket(app) as ws:
        await init(ws)
        await send(ws, subscribe("1", ""))
        answer = await receive(ws)
    assert answer["type"] in ("error", "next")
    errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    assert errors[0]["message"] != "Internal server error."


async def test_a_message_with_a_lone_surrogate_closes_the_socket_as_invalid(app):
    async with socket(app) as ws:
        await init(ws)
        await ws.send_text(
            '{"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { id } }",'
            ' "variables": {"x": "\\ud800"}}}'
        )
        assert await close_code(ws) == 4400
