"""While the database is down, every client gets its protocol's own answer (issue 12, point
4): a GraphQL JSON error with `SERVICE_UNAVAILABLE` and `Retry-After` over HTTP, a close code
and reason over WebSocket — never a bare `500 Internal Server Error` or a dropped socket."""

from __future__ import annotations

import json
from pathlib import Path

from app.main import create_app
from tests.conftest import Factory, api_client, make_settings
from tests.test_websocket import (
    close_code,
    init,
    receive,
    send,
    socket,
    subscribe,
    unreachable_database_url,
)


async def test_a_signed_in_request_is_told_the_service_is_unavailable(
    database_url: str, tmp_path: Path, factory: Factory
) -> None:
    member = await factory.member()
    app = create_app(make_settings(unreachable_database_url(database_url, tmp_path)))
    try:
        async with api_client(app) as client:
            response = await client.post(
                "/graphql", json={"query": "{ viewer { name } }"}, headers=member.headers
            )
    finally:
        await app.state.db.dispose()
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"


async def test_a_socket_signing_in_is_closed_with_try_again_later(
    database_url: str, tmp_path: Path, factory: Factory
) -> None:
    member = await factory.member()
    app = create_app(make_settings(unreachable_database_url(database_url, tmp_path)))
    try:
        async with socket(app) as ws:
            init = {"type": "connection_init", "payload": {"token": member.token}}
            await ws.send_text(json.dumps(init))
            code = await close_code(ws)
    finally:
        await app.state.db.dispose()
    assert code == 1013  # Try Again Later


async def test_an_anonymous_subscription_is_answered_with_an_error_message(
    database_url: str, tmp_path: Path
) -> None:
    # given: an anonymous socket, acknowledged without asking the database
    app = create_app(make_settings(unreachable_database_url(database_url, tmp_path)))
    query = "subscription($id: ID!) { threadEvents(threadId: $id) { __typename } }"
    try:
        async with socket(app) as ws:
            assert (await init(ws))["type"] == "connection_ack"
            # when: it subscribes while the database is down
            await send(ws, subscribe("1", query, {"id": "VGhyZWFkOjE="}))
            answer = await receive(ws)
            # then: the protocol's `error` message, and nothing after it for that operation
            await send(ws, {"type": "ping"})
            after = await receive(ws)
    finally:
        await app.state.db.dispose()
    assert answer["type"] == "error", answer
    assert answer["id"] == "1"
    [error] = answer["payload"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert after == {"type": "pong"}
