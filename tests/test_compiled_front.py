"""The compiled fast path (app/compiled_front.py): what it answers is what the view answers,
headers and observability included; what it must not answer reaches the view. On PostgreSQL it
answers; on SQLite everything goes to the view (and these tests check that it stays so). It
answers trusted documents, plain texts this process has compiled, and, with the response cache
on, what the view's cache would answer and what it would not (app/cached_compiled.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text, update
from starlette.applications import Starlette

from app.cached_hits import RawRequests
from app.cached_responses import WRITE_VERSION_HEADER
from app.main import create_app
from models.auth import AuthToken
from models.base import utcnow
from models.db import Database
from subscriptions.broadcast import HubBroadcast
from tests.conftest import Factory, StatementCounter, api_client, make_settings
from tests.discussions import post
from tests.test_compiled_documents import DOCUMENTS, V, World, build_world, push
from tests.test_compiled_members import build_directory
from tests.test_compiled_resources import RESOURCES_DOCUMENTS, build_library
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


# --- plain texts, and the response cache on -------------------------------------------------

EXECUTOR = {"compile_trusted_documents": False, "compile_texts": False}
CACHE_RESULTS = ("hit", "miss", "uncacheable", "behind")


@asynccontextmanager
async def front_and_view(
    database_url: str, db: Database, broadcast: HubBroadcast, **overrides: Any
) -> AsyncIterator[tuple[Starlette, Starlette]]:
    """The hub compiling everything (the fast path on PostgreSQL), and the hub compiling
    nothing (every answer the view's), with `overrides`, on one database."""
    made = [
        create_app(make_settings(database_url, **overrides, **o), db, broadcast)
        for o in ({}, EXECUTOR)
    ]
    for application in made:
        await application.state.response_cache.ready(db.sessions)
    try:
        yield made[0], made[1]
    finally:
        for application in made:
            await application.state.response_cache.close()
            await application.state.compiled_front.close()


@dataclass
class Exchange:
    """One request's response and who answered it, with what."""

    response: httpx.Response
    front: int  # answered by the compiled fast path (0 or 1)
    cached_hits: int  # answered by app/cached_hits.py (0 or 1)
    statements: int
    cache: tuple[float, ...]  # hub_response_cache_total's moves, by CACHE_RESULTS

    @property
    def headers(self) -> list[tuple[str, str]]:
        return self.response.headers.multi_items()


def _cache_counts() -> tuple[float, ...]:
    return tuple(
        REGISTRY.get_sample_value("hub_response_cache_total", {"result": r}) or 0
        for r in CACHE_RESULTS
    )


async def _exchange(
    application: Starlette,
    statements: StatementCounter,
    method: str,
    body: dict[str, Any],
    headers: dict[str, str],
) -> Exchange:
    raw: RawRequests = application.state.raw_requests
    front = application.state.compiled_front
    before = (front.answered, raw.answered, front.statements, _cache_counts())
    statements.reset()
    response = await _send(application, method, body, {**headers, "X-Request-ID": "req-7"})
    return Exchange(
        response,
        front.answered - before[0],
        raw.answered - before[1],
        statements.count + front.statements - before[2],
        tuple(a - b for a, b in zip(_cache_counts(), before[3], strict=True)),
    )


async def _pair(
    apps: tuple[Starlette, Starlette],
    statements: StatementCounter,
    method: str,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> tuple[Exchange, Exchange]:
    """The same request to both hubs; the same status, bytes, headers and cache counts."""
    fast = await _exchange(apps[0], statements, method, body, headers or {})
    viewed = await _exchange(apps[1], statements, method, body, headers or {})
    assert fast.response.status_code == viewed.response.status_code, body
    assert fast.response.content == viewed.response.content, body
    assert fast.headers == viewed.headers, (method, body)
    assert fast.cache == viewed.cache, (method, body)
    return fast, viewed


def _on_pg(db: Database, count: int) -> int:
    return 0 if db.is_sqlite else count


async def test_a_plain_text_answered_once_is_answered_by_the_front_with_the_views_headers(
    database_url: str,
    db: Database,
    broadcast: HubBroadcast,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    async with front_and_view(database_url, db, broadcast, response_cache_max_bytes=0) as apps:
        async with api_client(apps[1]) as client:
            world = await build_world(client, factory, db)
        for viewer in (V.ANONYMOUS, V.MEMBER, V.ADMIN):
            for method in ("POST", "GET"):
                # given: a text this process has not answered yet
                text = f"# {viewer.name} {method}\n{DOCUMENTS['thread-page']}"
                body = {"query": text, "variables": {"id": world.public_thread}}
                headers = world.headers(viewer)
                # when: sent three times
                first, *again = [
                    (await _pair(apps, statements, method, body, headers))[0] for _ in range(3)
                ]
                # then: the view answers it first (and compiles it), the fast path from then
                # on, in one statement (the token checked in it, once it has looked it up),
                # with the view's headers
                assert first.front == 0, (viewer, method)
                assert [a.front for a in again] == [_on_pg(db, 1)] * 2, (viewer, method)
                if not db.is_sqlite:
                    looked_up = 0 if viewer is V.ANONYMOUS or method == "GET" else 1
                    wanted = [1 + looked_up, 1]
                    assert [a.statements for a in again] == wanted, (viewer, method)
                assert "errors" not in first.response.json()


async def test_a_plain_text_refused_to_its_viewer_reaches_the_view(
    database_url: str,
    db: Database,
    broadcast: HubBroadcast,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given: trusted documents only; a text an admin (who may send any) has had compiled
    async with (
        front_and_view(database_url, db, broadcast, response_cache_max_bytes=0) as apps,
        api_client(apps[1]) as client,
    ):
        world = await build_world(client, factory, db)
    async with front_and_view(
        database_url, db, broadcast, response_cache_max_bytes=0, trusted_documents_only=True
    ) as apps:
        body = {"query": DOCUMENTS["common"], "variables": {"id": world.public_thread}}
        admin = world.headers(V.ADMIN)
        answered = [(await _pair(apps, statements, "POST", body, admin))[0] for _ in range(2)]
        assert [a.front for a in answered] == [0, _on_pg(db, 1)]
        for viewer in (V.ANONYMOUS, V.MEMBER):
            # when
            fast, _ = await _pair(apps, statements, "POST", body, world.headers(viewer))
            # then: the view's 403, not an answer
            assert fast.front == 0
            assert fast.response.status_code == 403
            assert fast.response.json()["errors"][0]["extensions"]["code"] == (
                "TRUSTED_DOCUMENTS_ONLY"
            )


@pytest.fixture
async def cached(
    database_url: str, db: Database, broadcast: HubBroadcast
) -> AsyncIterator[tuple[Starlette, Starlette]]:
    """The pair of hubs with the response cache on (the default)."""
    async with front_and_view(database_url, db, broadcast) as made:
        yield made


async def _cached_world(apps: tuple[Starlette, Starlette], factory: Factory, db: Database) -> World:
    async with api_client(apps[1]) as client:
        world = await build_world(client, factory, db)
    await push(db, DOCUMENTS)
    for application in apps:  # each process reads each document once
        async with api_client(application) as client:
            for document_id in DOCUMENTS:
                await client.post("/graphql", json={"documentId": document_id})
    return world


def _hit() -> tuple[float, ...]:
    return (1, 0, 0, 0)


async def test_with_the_cache_on_a_miss_is_answered_by_the_front_kept_and_then_a_hit(
    cached: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given: the common page (no viewer-specific field: the public may share its answer)
    world = await _cached_world(cached, factory, db)
    body = {"documentId": "common", "variables": {"id": world.public_thread}}
    # when: a miss, the same bytes again, then the same request by GET
    miss, _ = await _pair(cached, statements, "POST", body)
    again, _ = await _pair(cached, statements, "POST", body)
    by_get, _ = await _pair(cached, statements, "GET", body)
    # then: the fast path answers the miss in one statement and keeps it, as the view does
    assert (miss.front, miss.cache) == (_on_pg(db, 1), (0, 1, 0, 0))
    assert "etag" in miss.response.headers
    if not db.is_sqlite:
        assert miss.statements == 1
    # the view's fast path for cached reads answers the same bytes (the front told it the key)
    assert (again.front, again.cached_hits, again.statements) == (0, 1, 0)
    # and the fast path answers a hit its raw bytes do not name, with the public headers
    assert (by_get.front, by_get.cache, by_get.statements) == (_on_pg(db, 1), _hit(), 0)
    assert by_get.response.headers["cache-control"].startswith("public, max-age=")
    assert by_get.response.headers["etag"] == miss.response.headers["etag"]


async def test_with_the_cache_on_a_write_gets_a_fresh_answer_and_a_client_ahead_its_own(
    cached: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given: the common page kept, as a plain text the front has compiled
    world = await _cached_world(cached, factory, db)
    text = DOCUMENTS["common"]
    await _pair(cached, statements, "POST", {"query": text, "variables": {"id": world.a_post}})
    body = {"query": text, "variables": {"id": world.public_thread}}
    kept, _ = await _pair(cached, statements, "POST", body)
    assert (kept.front, kept.cache) == (_on_pg(db, 1), (0, 1, 0, 0))
    author = world.people[V.AUTHOR]
    assert author is not None
    # when: a post is written (on the view's hub: the write is announced to both)
    async with api_client(cached[1]) as client:
        await post(client, world.public_thread, author, "Fresh news")
    # then: the next request is a miss, answered fresh by the front, and kept again
    fresh, _ = await _pair(cached, statements, "POST", body)
    assert (fresh.front, fresh.cache) == (_on_pg(db, 1), (0, 1, 0, 0))
    assert "Fresh news" in fresh.response.text
    assert "Fresh news" not in kept.response.text
    again, _ = await _pair(cached, statements, "POST", body)
    assert (again.cached_hits, again.statements) == (1, 0)


async def test_with_the_cache_on_read_your_writes_holds_on_the_front(
    cached: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given: the common page kept; a member's write, whose version both hubs have applied
    world = await _cached_world(cached, factory, db)
    body = {"documentId": "common", "variables": {"id": world.public_thread}}
    await _pair(cached, statements, "POST", body)
    author = world.people[V.AUTHOR]
    assert author is not None
    async with api_client(cached[1]) as client:
        written = await client.post(
            "/graphql",
            json={
                "query": "mutation($i: CreatePostInput!) { createPost(input: $i) { post { id } } }",
                "variables": {"i": {"threadId": world.public_thread, "body": "Mine"}},
            },
            headers=author.headers,
        )
    version = int(written.headers[WRITE_VERSION_HEADER])
    # when: the writer reads with the version it saw (app/cached_hits.py leaves it to the view)
    seen = {WRITE_VERSION_HEADER: str(version)}
    mine, _ = await _pair(cached, statements, "GET", body, seen)
    again, _ = await _pair(cached, statements, "GET", body, seen)
    # then: their write, answered by the front (a miss, then a hit)
    assert "Mine" in mine.response.text
    assert (mine.front, mine.cache) == (_on_pg(db, 1), (0, 1, 0, 0))
    assert (again.front, again.cached_hits, again.cache) == (_on_pg(db, 1), 0, _hit())
    # when: a client has seen a version this process has not applied yet
    ahead = {WRITE_VERSION_HEADER: str(version + 1000)}
    executed, _ = await _pair(cached, statements, "GET", body, ahead)
    # then: never from the cache: computed (by the front), and not kept
    assert (executed.front, executed.cache) == (_on_pg(db, 1), (0, 0, 0, 1))
    assert "etag" not in executed.response.headers
    assert executed.response.headers["cache-control"] == "no-store"
    if not db.is_sqlite:
        assert executed.statements == 1


async def test_with_the_cache_on_a_viewers_page_is_answered_by_the_front(
    cached: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given: the thread page, whose `reactedByViewer` makes every answer the viewer's own
    world = await _cached_world(cached, factory, db)
    text = DOCUMENTS["thread-page"]
    for viewer in (V.ANONYMOUS, V.MEMBER, V.AUTHOR):
        headers = world.headers(viewer)
        for body in (
            {"documentId": "thread-page", "variables": {"id": world.public_thread}},
            {"query": f"# {viewer.name}\n{text}", "variables": {"id": world.public_thread}},
        ):
            for method in ("POST", "GET"):
                # when
                answers = [
                    (await _pair(cached, statements, method, body, headers))[0] for _ in range(2)
                ]
                # then: never kept (as the view counts it), answered by the front once it knows
                # the document (a text: once answered by the view)
                assert [a.cache for a in answers] == [(0, 0, 1, 0)] * 2
                known = "documentId" in body or method == "GET"
                fronted = [_on_pg(db, 1) if known else 0, _on_pg(db, 1)]
                assert [a.front for a in answers] == fronted, (viewer, body, method)


async def test_with_the_cache_on_a_signed_in_hit_checks_the_token(
    cached: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given: a member reading a page every signed-in viewer shares (a thread's reads the
    # viewer's memberships: theirs alone): the view executes it first (it records what the
    # answer read of the viewer), and keeps it for their permission scope
    world = await _cached_world(cached, factory, db)
    member = world.people[V.MEMBER]
    assert member is not None
    body = {"documentId": "typename"}
    first, _ = await _pair(cached, statements, "POST", body, member.headers)
    # when
    hit, _ = await _pair(cached, statements, "POST", body, member.headers)
    # then: the view's miss, then the front's hit, after one statement (the token's)
    assert (first.front, first.cache) == (0, (0, 1, 0, 0))
    assert (hit.front, hit.cache) == (_on_pg(db, 1), _hit())
    if not db.is_sqlite:
        assert hit.statements == 1
    # when: the token is revoked (another process's logout)
    async with db.sessions.begin() as session:
        await session.execute(
            update(AuthToken)
            .where(AuthToken.member_id == member.id)
            .values(revoked_at=utcnow() - timedelta(seconds=1))
        )
    refused, _ = await _pair(cached, statements, "POST", body, member.headers)
    # then: the view's 401, never the kept answer
    assert (refused.front, refused.response.status_code) == (0, 401)


# The directory's page without a field the view keeps per viewer (`email`, `role`): an answer
# the public shares.
MEMBERS_SHARED = """
query Shared($n: Int) {
  members(first: $n) {
    nodes { id name isExpert country { code } organization { name kind } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


@pytest.mark.parametrize("page", ["members", "resources"])
async def test_with_the_cache_on_the_directory_and_library_misses_are_kept_as_the_view_keeps_them(
    cached: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
    page: str,
) -> None:
    # given: the directory's or the library's page, read once by each process with other
    # variables (kept under those)
    if page == "members":
        await build_directory(factory, db)
        document_id, documents = "members-shared", {"members-shared": MEMBERS_SHARED}
        first, then = {"n": 2}, {"n": 3}
    else:
        await build_library(factory, db)
        document_id, documents = "resources-page", RESOURCES_DOCUMENTS
        first, then = {"objective": 6}, {"objective": 5}
    await push(db, documents)
    for application in cached:
        async with api_client(application) as client:
            await client.post("/graphql", json={"documentId": document_id, "variables": first})
    body = {"documentId": document_id, "variables": then}
    # when: a miss, then the same request by POST and by GET
    miss, _ = await _pair(cached, statements, "POST", body)
    again, _ = await _pair(cached, statements, "POST", body)
    by_get, _ = await _pair(cached, statements, "GET", body)
    # then: the fast path answers the miss and keeps it exactly as the view does (the pair's
    # cache counts are equal: the fast statement's reads, the clock's included, decide alike)
    assert (miss.front, miss.cache) == (_on_pg(db, 1), (0, 1, 0, 0))
    assert "errors" not in miss.response.json()
    assert (again.front, again.cached_hits, again.statements) == (0, 1, 0)
    assert (by_get.front, by_get.cache, by_get.statements) == (_on_pg(db, 1), _hit(), 0)
