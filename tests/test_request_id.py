"""Every response carries a request id, each log line of the request names it, and a masked
internal error quotes it; a client's mistakes are one log line with their code, never a
traceback."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from app.main import create_app
from models.db import Database
from schema.request_id import RequestIdFilter
from tests.conftest import api_client, make_settings
from tests.test_websocket import unreachable_database_url

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="hub")
    caplog.handler.addFilter(RequestIdFilter())
    return caplog


async def test_a_request_id_is_taken_from_the_client_when_well_formed(
    client: httpx.AsyncClient,
) -> None:
    query = {"query": "{ __typename }"}
    given = await client.post("/graphql", json=query, headers={"X-Request-ID": "ticket-4711.a"})
    assert given.headers["x-request-id"] == "ticket-4711.a"
    for bad in ("", "a b", "x" * 129, "<script>"):
        made = await client.post("/graphql", json=query, headers={"X-Request-ID": bad})
        assert GENERATED.fullmatch(made.headers["x-request-id"]), bad
    first = await client.get("/livez")
    second = await client.get("/livez")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ members(first: "}, "GRAPHQL_PARSE_FAILED"),
        (
            {
                "query": "query($n: Int) { members(first: $n) { totalCount } }",
                "variables": {"n": "x"},
            },
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ({"query": '{ members(after: "not a cursor") { totalCount } }'}, "BAD_USER_INPUT"),
    ],
    ids=["syntax", "variables", "cursor"],
)
async def test_a_clients_mistake_is_one_log_line_with_its_code(
    client: httpx.AsyncClient, logs: pytest.LogCaptureFixture, body: dict[str, object], code: str
) -> None:
    response = await client.post("/graphql", json=body, headers={"X-Request-ID": "mistake-1"})
    assert response.json()["errors"][0]["extensions"]["code"] == code
    # (besides the request's own line, tests/test_logs.py)
    records = [r for r in logs.records if r.name.startswith("hub") and r.name != "hub.request"]
    assert [(r.levelno, r.exc_info) for r in records] == [(logging.INFO, None)]
    assert code in records[0].getMessage()
    assert records[0].request_id == "mistake-1"  # type: ignore[attr-defined]
    assert not any(r.exc_info for r in logs.records)


async def test_an_internal_error_is_logged_with_its_traceback_and_quotes_the_request_id(
    database_url: str, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(unreachable_database_url(database_url, tmp_path), env="production")
    app: Starlette = create_app(settings)
    try:
        async with api_client(app) as client:
            response = await client.post(
                "/graphql", json={"query": "{ members(first: 1) { totalCount } }"}
            )
    finally:
        await app.state.db.dispose()
    [error] = response.json()["errors"]
    request_id = response.headers["x-request-id"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    [record] = [r for r in logs.records if r.name == "hub.errors"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.request_id == request_id  # type: ignore[attr-defined]


async def test_a_websocket_handshake_answers_with_its_request_id(
    db: Database, app: Starlette
) -> None:
    from httpx_ws import aconnect_ws
    from httpx_ws.transport import ASGIWebSocketTransport

    async with (
        httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://testserver") as c,
        aconnect_ws(
            "/graphql",
            c,
            subprotocols=["graphql-transport-ws"],
            headers={"X-Request-ID": "socket-7"},
        ) as ws,
    ):
        assert ws.response is not None
        assert ws.response.headers["x-request-id"] == "socket-7"
