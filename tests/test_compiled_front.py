"""The compiled fast path (app/compiled_front.py): what it answers is what the view answers,
headers and observability included; what it must not answer reaches the view. On PostgreSQL it
answers; on SQLite everything goes to the view (and these tests check that it stays so)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text, update
from starlette.applications import Starlette

from models.auth import AuthToken
from models.base import utcnow
from models.db import Database
from tests.conftest import Factory, api_client
from tests.test_compiled_documents import DOCUMENTS, V, World, build_world, push
from tests.test_logs import json_lines

pytest_plugins = ["tests.test_compiled_documents"]  # its `apps` fixture


async def _world(apps: tuple[Starlette, Starlette], factory: Factory, db: Database) -> World:
    async with api_client(apps[1]) as client:
        world = await build_world(client, factory, db)
    await push(db, DOCUMENTS)
    for application in apps:  # each process reads each document once (the view does)
        async with api_client(application) as client:
            for document_id in DOCUMENTS:
                await client.post("/graphql", json={"documentId": document_id})
    return world


async def _send(
    application: Starlette, method: str, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    async with api_client(application) as client:
        if method == "POST":
            return await client.post("/graphql", json=body, headers=headers)
        query = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in body.items()}
        return await client.get("/graphql", params=query, headers=headers)


def _answered(application: Starlette) -> int:
    answered: int = application.state.compiled_front.answered
    return answered


async def test_the_fast_paths_answers_carry_the_views_headers(
    apps: tuple[Starlette, Starlette], db: Database, factory: Factory
) -> None:
    # given
    world = await _world(apps, factory, db)
    body = {"documentId": "thread-page", "variables": {"id": world.public_thread}}
    for viewer in (V.ANONYMOUS, V.MEMBER):
        for method in ("POST", "GET"):
            headers = {**world.headers(viewer), "X-Request-ID": "req-42"}
            before = _answered(apps[0])
            # when
            fast = await _send(apps[0], method, body, headers)
            executed = await _send(apps[1], method, body, headers)
            # then: the same status, bytes, and headers in the same order
            assert _answered(apps[0]) - before == (0 if db.is_sqlite else 1), (viewer, method)
            assert fast.status_code == executed.status_code == 200
            assert fast.content == executed.content
            assert fast.headers.multi_items() == executed.headers.multi_items(), (viewer, method)
            assert fast.headers["x-request-id"] == "req-42"


async def test_the_log_line_and_the_counters_of_a_fast_answer(
    apps: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given
    world = await _world(apps, factory, db)
    member = world.people[V.MEMBER]
    assert member is not None
    counted = {"operation": "thread-page", "type": "query", "outcome": "ok"}
    before = REGISTRY.get_sample_value("hub_graphql_operations_total", counted) or 0
    caplog.set_level(logging.INFO, logger="hub.request")
    caplog.clear()
    # when
    body = {"documentId": "thread-page", "variables": {"id": world.public_thread}}
    assert (await _send(apps[0], "POST", body, member.headers)).status_code == 200
    # then: one line, as the view writes it, with the fast path's one statement
    lines = [line for line in json_lines(caplog) if line["logger"] == "hub.request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["operation_name"], line["compiled"], line["outcome"]) == (
        "thread-page",
        True,
        "ok",
    )
    assert (line["viewer_id"], line["statements"], line["status"]) == (member.id, 1, 200)
    assert "compiled=true" in caplog.records[-1].getMessage()
    assert REGISTRY.get_sample_value("hub_graphql_operations_total", counted) == before + 1


@pytest.mark.parametrize("ended", ["revoked_at", "expires_at"])
async def test_a_token_revoked_or_expired_after_its_first_use_is_refused_at_once(
    apps: tuple[Starlette, Starlette], db: Database, factory: Factory, ended: str
) -> None:
    # given: a member whose token the fast path has seen (its hint is kept)
    world = await _world(apps, factory, db)
    member = world.people[V.AUTHOR]
    assert member is not None
    body = {"documentId": "thread-page", "variables": {"id": world.private_thread}}
    seen = await _send(apps[0], "POST", body, member.headers)
    assert seen.json()["data"]["thread"] is not None
    # when: the token ends in the database (another process's logout, or time)
    async with db.sessions.begin() as session:
        await session.execute(
            update(AuthToken)
            .where(AuthToken.member_id == member.id)
            .values({ended: utcnow() - timedelta(seconds=1)})
        )
    # (first a document that reads nothing: `{ __typename }`, then a thread ID that is not one)
    not_a_thread = {"documentId": "thread-page", "variables": {"id": world.a_post}}
    for request in ({"documentId": "typename"}, not_a_thread, body):
        before = _answered(apps[0])
        refused = await _send(apps[0], "POST", request, member.headers)
        executed = await _send(apps[1], "POST", request, member.headers)
        # then: the view's 401, from the very next request
        assert refused.status_code == executed.status_code == 401, request
        assert refused.content == executed.content
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert _answered(apps[0]) == before


async def test_a_changed_member_is_looked_up_again(
    apps: tuple[Starlette, Starlette], db: Database, factory: Factory
) -> None:
    # given: a token seen as a plain member's, then the member made admin without revoking
    # the token (the statement checks the hint: it answers NULL, the view runs)
    world = await _world(apps, factory, db)
    member = world.people[V.MEMBER]
    assert member is not None
    body = {"documentId": "thread-page", "variables": {"id": world.private_thread}}
    assert (await _send(apps[0], "POST", body, member.headers)).json()["data"]["thread"] is None
    async with db.sessions.begin() as session:
        await session.execute(
            text("UPDATE member SET role = 'ADMIN' WHERE id = :m"), {"m": member.id}
        )
    # when
    answers = [await _send(apps[0], "POST", body, member.headers) for _ in range(2)]
    executed = await _send(apps[1], "POST", body, member.headers)
    # then: an admin sees the private thread, at once
    assert answers[0].content == answers[1].content == executed.content
    assert executed.json()["data"]["thread"] is not None


async def test_unknown_documents_and_bad_requests_reach_the_view(
    apps: tuple[Starlette, Starlette], db: Database, factory: Factory
) -> None:
    # given
    world = await _world(apps, factory, db)
    thread_id = world.public_thread
    requests: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"documentId": "no-such-document", "variables": {"id": thread_id}}, {}),
        ({"documentId": "thread-page", "variables": {"id": None}}, {}),
        ({"documentId": "thread-page", "variables": {"id": thread_id}}, {"Accept": "text/csv"}),
        ({"documentId": "thread-page", "variables": {"id": thread_id}},
         {"Authorization": "Basic x"}),
        ({"documentId": "thread-page", "variables": {"id": thread_id}},
         {"Authorization": "Bearer hub_not-a-token"}),
        ({"documentId": "thread-page", "query": "{ __typename }"}, {}),
        ({"extensions": {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}}}, {}),
    ]  # fmt: skip
    for body, headers in requests:
        before = _answered(apps[0])
        # when
        fast = await _send(apps[0], "POST", body, headers)
        executed = await _send(apps[1], "POST", body, headers)
        # then
        assert _answered(apps[0]) == before, body
        assert fast.status_code == executed.status_code != 200 or "errors" in fast.json(), body
        assert fast.content == executed.content, body
