"""Structured logs (issue 16): one line per request with what an operator needs, one line per
WebSocket connection and per operation on it, and never a token, a password or an email."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from starlette.applications import Starlette

from app.logs import JsonFormatter, LogContext, log_config
from tests.conftest import PASSWORD, Factory
from tests.live import THREAD_EVENTS, connect, thread_cursor

REQUEST_FIELDS = {
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "trace_id",
    "method",
    "path",
    "status",
    "duration_ms",
    "client",
}
OPERATION_FIELDS = {"operation_name", "operation_type", "outcome", "statements", "viewer_id"}
LOGIN = """mutation SignIn($input: LoginInput!) {
  login(input: $input) { token errors { code } viewer { id } }
}"""


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="hub")
    caplog.handler.addFilter(LogContext())
    return caplog


def json_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    """Every captured record as production writes it."""
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records]


async def test_every_request_is_one_line_with_its_operation_and_no_secret(
    client: httpx.AsyncClient, factory: Factory, logs: pytest.LogCaptureFixture
) -> None:
    # given a member
    member = await factory.member()
    # when they sign in, then ask who they are with their token, and a stranger sends junk
    login = await client.post(
        "/graphql",
        json={
            "query": LOGIN,
            "variables": {"input": {"email": member.email, "password": PASSWORD}},
        },
        headers={"X-Request-ID": "sign-in-1"},
    )
    new_token = login.json()["data"]["login"]["token"]
    assert new_token
    me = await client.post(
        "/graphql",
        json={"query": "query Me { viewer { id name } }"},
        headers={**member.headers, "X-Request-ID": "me-1"},
    )
    assert me.status_code == 200, me.text
    await client.post("/graphql", json={"query": "{ viewer { "})
    await client.get("/livez")
    # then each request is one line with every field, in production's JSON
    lines = json_lines(logs)
    requests = [line for line in lines if line["logger"] == "hub.request"]
    assert [(r["path"], r["status"]) for r in requests] == [
        ("/graphql", 200),
        ("/graphql", 200),
        ("/graphql", 400),
        ("/livez", 200),
    ]
    for line in requests:
        assert set(line) >= REQUEST_FIELDS, line
        assert line["level"] == "INFO"
        assert isinstance(line["duration_ms"], float)
    sign_in, me_line, junk, _ = requests
    assert {k: sign_in[k] for k in OPERATION_FIELDS} == {
        "operation_name": "SignIn",
        "operation_type": "mutation",
        "outcome": "ok",
        "statements": sign_in["statements"],
        "viewer_id": None,
    }
    assert isinstance(sign_in["statements"], int)
    assert sign_in["statements"] > 0
    assert sign_in["request_id"] == "sign-in-1"
    assert (me_line["operation_name"], me_line["viewer_id"]) == ("Me", member.id)
    assert me_line["request_id"] == "me-1"
    assert (junk["operation_type"], junk["outcome"]) == ("unknown", "request_error")
    # and nothing anywhere holds a secret or an email
    everything = "\n".join(json.dumps(line) for line in lines)
    for secret in (member.token, new_token, PASSWORD, member.email, "Bearer"):
        assert secret not in everything


async def test_a_socket_is_one_line_and_so_is_each_operation_start_and_end(
    app: Starlette, client: httpx.AsyncClient, factory: Factory, logs: pytest.LogCaptureFixture
) -> None:
    from tests.discussions import community, post, thread

    # given a thread its moderator follows live
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    cursor = await thread_cursor(client, thread_id, moderator.token)
    logs.clear()
    async with connect(app, moderator.token) as socket:
        op_id = await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": cursor})
        await post(client, thread_id, moderator, "Seen live")
        await socket.next_payloads(1)
        await socket.ws.send_text(json.dumps({"id": op_id, "type": "complete"}))
    # then the socket's lines: the operation started, ended, and the connection closed
    lines = [line for line in json_lines(logs) if line["logger"] == "hub.websocket"]
    events = [(line["event"], line.get("ending")) for line in lines]
    assert events == [
        ("websocket_operation_started", None),
        ("websocket_operation_ended", "closed"),
        ("websocket_connection", None),
    ]
    assert lines[0]["viewer_id"] == moderator.id
    assert lines[0]["operation_name"] == lines[1]["operation_name"]
    assert lines[2]["close_code"] in (1000, 1005)
    everything = "\n".join(json.dumps(line) for line in lines)
    assert moderator.token not in everything


def test_production_logs_json_and_development_readable_lines() -> None:
    production = log_config(production=True)
    development = log_config(production=False)
    assert production["formatters"]["hub"] == {"()": "app.logs.JsonFormatter"}
    assert "%(request_id)s %(trace_id)s" in development["formatters"]["hub"]["format"]
    # uvicorn's access lines give way to the request line
    assert production["loggers"]["uvicorn.access"]["handlers"] == []
