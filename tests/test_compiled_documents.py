"""Compiled trusted documents (app/compiled.py, schema/compiled*.py, resolvers/compiled/) answer
exactly what the executor answers: for every document of a corpus (the page benchmarks' thread
queries, and variations over the supported fields: aliases, fragments, skip/include, literals,
first/after, several roots), every viewer of the visibility matrix and every kind of thread
(public, private, deleted, missing, not a thread's ID), the bodies are the same bytes; and a
compiled answer runs one statement per `thread` root field. Requests the compiled path must not
answer (bad arguments, wrong operation name, costs above the maximum, unsupported fields) are
answered by the executor, with its errors, byte for byte too."""

from __future__ import annotations

import enum
import itertools
import json
import logging
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from starlette.applications import Starlette

from app.compiled import CompiledAnswers
from app.main import create_app
from app.settings import Settings
from models.db import Database
from models.member import Role
from resolvers.documents import NewDocument, register_document
from resolvers.pagination import encode_cursor
from schema import Limits, limit_rules, schema
from schema.relay import decode_int_id, encode_id
from subscriptions.broadcast import HubBroadcast
from tests.conftest import Factory, StatementCounter, api_client, make_settings
from tests.conftest import TestMember as Person
from tests.discussions import community, join, ok, post, thread
from tests.test_logs import json_lines
from tests.test_visibility_matrix import INVITE, MAKE_MODERATOR

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from postgraphile import HUB_COMMON_QUERY
from thread_page import QUERY as THREAD_PAGE_QUERY

REACT = "mutation($p: ID!, $k: ReactionKind!) { reactToPost(input: {postId: $p, kind: $k}) { errors { code } } }"
T = TypeVar("T")
DELETE = (
    'mutation($p: ID!) { deletePost(input: {postId: $p, reason: "spam"}) { ok errors { code } } }'
)


class V(enum.Enum):
    ANONYMOUS = "anonymous"
    MEMBER = "plain member"
    PRIVATE_MEMBER = "member of the private community"
    AUTHOR = "author"
    COMMUNITY_MODERATOR = "community moderator"
    GLOBAL_MODERATOR = "global moderator"
    ADMIN = "admin"


FULL = """
query Full($id: ID!, $n: Int, $after: String, $authors: Boolean!, $skipReactions: Boolean = false) {
  __typename
  t: thread(id: $id) {
    __typename ...Head
    posts(first: $n, after: $after) {
      __typename
      pageInfo { ...Info }
      edges {
        c: cursor
        node {
          ... on Post { id isDeleted version editedAt createdAt }
          body
          author @include(if: $authors) { __typename name n2: name id }
          reactions @skip(if: $skipReactions) { kind count reactedByViewer __typename }
        }
      }
    }
  }
}
fragment Head on Thread { id title replyCount }
fragment Info on PageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
"""
MERGED = """
query Merged($id: ID!) {
  thread(id: $id) {
    posts(first: 5) { edges { node { id } } }
    ... { posts(first: 5) { edges { node { body author { id } } } pageInfo { endCursor } } }
    title @skip(if: true) replyCount @include(if: false) id
  }
}
"""
TWO_ROOTS = """
query Two($a: ID!, $b: ID!) {
  a: thread(id: $a) { title }
  b: thread(id: $b) { id title posts(first: 3) { edges { node { body reactions { kind } } } } }
}
"""
PAGE_INFO_ONLY = """
query Info($id: ID!, $first: Int = 2) {
  thread(id: $id) { posts(first: $first) { pageInfo { hasNextPage endCursor startCursor } } }
}
"""
TYPENAME = "{ __typename }"
# Not in the supported set: the executor answers them.
UNSUPPORTED = {
    "community": "query($id: ID!) { thread(id: $id) { title community { name } } }",
    "last": "query($id: ID!) { thread(id: $id) { posts(last: 2) { edges { cursor } } } }",
    "nodes": "query($id: ID!) { thread(id: $id) { posts { nodes { id } } } }",
    "two-pages": (
        "query($id: ID!) { thread(id: $id) { a: posts(first: 1) { edges { cursor } } "
        "b: posts(first: 2) { edges { cursor } } } }"
    ),
}
DOCUMENTS = {
    "thread-page": THREAD_PAGE_QUERY,
    "common": HUB_COMMON_QUERY,
    "full": FULL,
    "merged": MERGED,
    "two-roots": TWO_ROOTS,
    "page-info": PAGE_INFO_ONLY,
    "typename": TYPENAME,
}


@dataclass
class World:
    people: dict[V, Person | None]
    public_thread: str
    private_thread: str
    deleted_thread: str
    a_post: str

    def headers(self, viewer: V) -> dict[str, str]:
        person = self.people[viewer]
        return person.headers if person is not None else {}


@asynccontextmanager
async def compiling_and_executing(
    database_url: str, db: Database, broadcast: HubBroadcast
) -> AsyncIterator[tuple[Starlette, Starlette]]:
    """The hub compiling trusted documents, and the hub running them through the executor,
    on one database (response caches off: every answer is computed)."""
    made = [
        create_app(settings(database_url, compile_trusted_documents=on), db, broadcast)
        for on in (True, False)
    ]
    for application in made:
        await application.state.response_cache.ready(db.sessions)
    yield made[0], made[1]
    for application in made:
        await application.state.response_cache.close()
        await application.state.compiled_front.close()


@pytest.fixture
async def apps(
    database_url: str, db: Database, broadcast: HubBroadcast
) -> AsyncIterator[tuple[Starlette, Starlette]]:
    async with compiling_and_executing(database_url, db, broadcast) as made:
        yield made


def settings(database_url: str, **overrides: Any) -> Settings:
    return make_settings(database_url, response_cache_max_bytes=0, **overrides)


async def people(factory: Factory) -> dict[V, Person | None]:
    return {
        V.ANONYMOUS: None,
        V.MEMBER: await factory.member(name="Plain Member"),
        V.PRIVATE_MEMBER: await factory.member(name="Zoë Ñandú-Łukasz"),
        V.AUTHOR: await factory.member(name="Ауторка 🌍", is_expert=True),
        V.COMMUNITY_MODERATOR: await factory.member(name="Community Moderator"),
        V.GLOBAL_MODERATOR: await factory.member(name="Global Moderator", role=Role.MODERATOR),
        V.ADMIN: await factory.member(name="Admin", role=Role.ADMIN),
    }


async def build_world(client: httpx.AsyncClient, factory: Factory, db: Database) -> World:
    crowd = await people(factory)
    member = {v: p for v, p in crowd.items() if p is not None}
    public_id, founder = await community(client, factory)
    for viewer in (V.AUTHOR, V.PRIVATE_MEMBER, V.COMMUNITY_MODERATOR, V.MEMBER):
        await join(client, public_id, member[viewer])
    await ok(
        client,
        MAKE_MODERATOR,
        {"c": public_id, "m": member[V.COMMUNITY_MODERATOR].global_id},
        founder,
    )
    public_thread = await thread(client, public_id, member[V.AUTHOR], "Wages «fair» — 公平")
    writers = [member[V.AUTHOR], member[V.MEMBER], member[V.PRIVATE_MEMBER], founder]
    posts = []
    for i in range(9):
        posts.append(await post(client, public_thread, writers[i % 4], f"Reply {i} ✓ «{i}»"))
    kinds = ["LIKE", "THANKS", "AGREE", "QUESTION", "INSIGHTFUL"]
    for i, (p, who) in enumerate(itertools.product(posts[:5], writers)):
        await ok(client, REACT, {"p": p["id"], "k": kinds[i % 5]}, who)
    await ok(client, DELETE, {"p": posts[2]["id"]}, founder)
    private_id, private_founder = await community(client, factory, private=True, slug="closed")
    for viewer in (V.PRIVATE_MEMBER, V.AUTHOR, V.COMMUNITY_MODERATOR):
        await ok(client, INVITE, {"c": private_id, "m": member[viewer].global_id}, private_founder)
        await join(client, private_id, member[viewer])
    await ok(
        client,
        MAKE_MODERATOR,
        {"c": private_id, "m": member[V.COMMUNITY_MODERATOR].global_id},
        private_founder,
    )
    private_thread = await thread(client, private_id, member[V.AUTHOR], "Closed circle")
    hidden = await post(client, private_thread, member[V.PRIVATE_MEMBER], "Inside")
    await ok(client, REACT, {"p": hidden["id"], "k": "LIKE"}, member[V.AUTHOR])
    await ok(client, DELETE, {"p": hidden["id"]}, member[V.COMMUNITY_MODERATOR])
    deleted_thread = await thread(client, public_id, member[V.MEMBER], "Gone")
    await post(client, deleted_thread, member[V.MEMBER], "Soon gone")
    async with db.sessions.begin() as session:
        await session.execute(
            text("UPDATE thread SET deleted_at = created_at WHERE title = 'Gone'")
        )
    return World(crowd, public_thread, private_thread, deleted_thread, posts[0]["id"])


async def push(db: Database, documents: dict[str, str]) -> None:
    async with db.sessions.begin() as session:
        for document_id, body in documents.items():
            await register_document(session, NewDocument(document_id, body, None, "query"))


async def read_once(apps: tuple[Starlette, Starlette], documents: dict[str, str]) -> None:
    """Each process reads (and compiles) each document once: later requests count only
    their own statements."""
    for document_id in documents:
        await both(apps, {"documentId": document_id, "variables": {}}, {})


def variable_sets(world: World, document_id: str) -> list[dict[str, Any]]:
    """The variables each document is sent with: every kind of thread, and page arguments."""
    ids = [
        world.public_thread, world.private_thread, world.deleted_thread,
        encode_id("Thread", 999_999), world.a_post, "not-an-id",
    ]  # fmt: skip
    first_post = decode_int_id(world.a_post, "Post")
    assert first_post is not None
    after = encode_cursor("posts", (first_post,))
    if document_id == "full":
        pages = [
            {"n": None, "after": None, "authors": True},
            {"n": 3, "after": None, "authors": False, "skipReactions": True},
            {"n": 0, "after": None, "authors": True},
            {"n": 100, "after": after, "authors": True, "skipReactions": False},
        ]
        return [{"id": i, **p} for i in ids for p in pages]
    if document_id == "two-roots":
        return [{"a": a, "b": b} for a, b in itertools.product(ids[:3], ids[:4])]
    if document_id == "page-info":
        return [{"id": i} for i in ids] + [{"id": world.public_thread, "first": 8}]
    if document_id == "typename":
        return [{}]
    return [{"id": i} for i in ids]


async def both(
    apps: tuple[Starlette, Starlette],
    body: dict[str, Any],
    headers: dict[str, str],
    method: str = "POST",
) -> tuple[httpx.Response, httpx.Response]:
    """The request's answers from each app (a GET sends the body as query parameters)."""
    answers = []
    for application in apps:
        async with api_client(application) as client:
            if method == "POST":
                answers.append(await client.post("/graphql", json=body, headers=headers))
            else:
                query = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in body.items()}
                answers.append(await client.get("/graphql", params=query, headers=headers))
    return answers[0], answers[1]


async def answered_fast(application: Starlette, requests: Awaitable[T]) -> tuple[int, T]:
    """How many requests the compiled fast path answered while `requests` ran, and their
    result."""
    front = application.state.compiled_front
    before = front.answered
    result = await requests
    return front.answered - before, result


async def test_compiled_answers_are_the_executors_bytes_for_every_viewer(
    apps: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given: the visibility matrix's viewers, public, private and deleted threads with deleted
    # posts, reactions and non-ASCII text, and the corpus pushed as trusted documents (each
    # process has read them once)
    async with api_client(apps[1]) as client:
        world = await build_world(client, factory, db)
    await push(db, DOCUMENTS)
    for document_id in DOCUMENTS:
        await both(
            apps, {"documentId": document_id, "variables": {"id": "x", "a": "x", "b": "x"}}, {}
        )
    compared = 0
    for viewer in V:
        headers = world.headers(viewer)
        # what signing in costs per request through the view (the fast path checks the token
        # in each request's statement)
        await count(apps[0], {"documentId": "typename"}, headers, statements)
        sign_in = await count(apps[0], {"documentId": "typename"}, headers, statements)
        for document_id in DOCUMENTS:
            for variables in variable_sets(world, document_id):
                body = {"documentId": document_id, "variables": variables}
                # when
                fast = apps[0].state.compiled_front.answered
                compiled, executed = await both(apps, body, headers)
                fast = apps[0].state.compiled_front.answered - fast
                reads = await count(apps[0], body, headers, statements)
                # then: on PostgreSQL the fast path answered (app/compiled_front.py)
                assert fast == (0 if db.is_sqlite else 1), (viewer, document_id, variables)
                assert compiled.status_code == executed.status_code == 200
                assert compiled.content == executed.content, (viewer, document_id, variables)
                assert "errors" not in compiled.json(), compiled.json()
                wanted = expected(document_id, variables)
                if fast and viewer is not V.ANONYMOUS:
                    # the token is checked inside the data's statement, or alone when none
                    assert reads == max(wanted, 1), (viewer, document_id, variables)
                else:
                    assert reads - sign_in == wanted, (viewer, document_id, variables)
                compared += 1
    assert compared == len(V) * sum(len(variable_sets(world, d)) for d in DOCUMENTS)


async def count(
    application: Starlette,
    body: dict[str, Any],
    headers: dict[str, str],
    statements: StatementCounter,
    *,
    any_status: bool = False,
) -> int:
    """The statements one request runs (the engine's, and the compiled fast path's on its own
    pool)."""
    statements.reset()
    front = application.state.compiled_front
    before = front.statements
    async with api_client(application) as client:
        response = await client.post("/graphql", json=body, headers=headers)
    assert any_status or response.status_code == 200
    return statements.count + front.statements - before


def expected(document_id: str, variables: dict[str, Any]) -> int:
    """One statement per `thread` root field whose ID is a thread's ID."""
    values = [variables[k] for k in ("id", "a", "b") if k in variables]
    return sum(1 for v in values if decode_int_id(v, "Thread") is not None)


TOO_MANY_ALIASES = (
    "query($id: ID!) { thread(id: $id) { " + " ".join(f"t{i}: title" for i in range(16)) + " } }"
)


def test_only_the_supported_set_compiles() -> None:
    # given
    answers = CompiledAnswers(schema._schema, Limits(), limit_rules(Limits()), record=False)
    # when / then
    for document_id, body in DOCUMENTS.items():
        assert answers.compile(body) is not None, document_id
    for document_id, body in {**UNSUPPORTED, "aliases": TOO_MANY_ALIASES}.items():
        # two pages of one thread may be one after skip/include: refused per request
        assert (answers.compile(body) is None) == (document_id != "two-pages"), document_id
    assert answers.compile("mutation { logout { ok } }") is None
    assert answers.compile("{ thread(id: 1) }") is None  # not valid


def fallbacks(world: World) -> list[tuple[str, dict[str, Any]]]:
    """Requests of compiled documents that must run through the executor (it answers errors)."""
    thread_id = world.public_thread
    return [
        ("thread-page", {"documentId": "thread-page", "variables": {}}),
        ("thread-page", {"documentId": "thread-page", "variables": {"id": 3}}),
        ("thread-page", {"documentId": "thread-page", "variables": {"id": "a\x00"}}),
        (
            "thread-page",
            {"documentId": "thread-page", "variables": {"id": thread_id}, "operationName": "Other"},
        ),
        ("full", {"documentId": "full", "variables": {"id": thread_id, "n": 101, "authors": True}}),
        ("full", {"documentId": "full", "variables": {"id": thread_id, "n": -1, "authors": True}}),
        (
            "full",
            {
                "documentId": "full",
                "variables": {"id": thread_id, "after": "bm90IGEgY3Vyc29y", "authors": True},
            },
        ),
        ("full", {"documentId": "full", "variables": {"id": thread_id, "authors": "yes"}}),
    ] + [(d, {"documentId": d, "variables": {"id": thread_id}}) for d in UNSUPPORTED]


async def test_requests_the_compiled_path_must_not_answer_get_the_executors_errors(
    apps: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given
    async with api_client(apps[1]) as client:
        world = await build_world(client, factory, db)
    await push(db, {**DOCUMENTS, **UNSUPPORTED})
    for document_id in {**DOCUMENTS, **UNSUPPORTED}:
        await both(apps, {"documentId": document_id, "variables": {"id": "x"}}, {})
    for viewer in (V.ANONYMOUS, V.COMMUNITY_MODERATOR):
        headers = world.headers(viewer)
        typename = {"documentId": "typename"}
        sign_in = [await count(a, typename, headers, statements) for a in apps for _ in (1, 2)]
        for document_id, body in fallbacks(world):
            # when
            fast = apps[0].state.compiled_front.answered
            compiled, executed = await both(apps, body, headers)
            fast = apps[0].state.compiled_front.answered - fast
            reads = [await count(a, body, headers, statements, any_status=True) for a in apps]
            # then: the same bytes; the fast path answered only compiled documents without
            # error (a number is an ID: `thread(id: "3")` is null); else the executor ran
            assert compiled.status_code == executed.status_code, body
            assert compiled.content == executed.content, body
            answerable = document_id in DOCUMENTS and "errors" not in compiled.json()
            assert fast == (1 if answerable and not db.is_sqlite else 0), body
            if fast:
                assert reads[0] - sign_in[1] == reads[1] - sign_in[3], (document_id, body, reads)
            else:
                assert reads[0] == reads[1], (document_id, body, reads)
        assert json.loads(compiled.content).get("data") is not None


async def test_a_costlier_document_than_the_maximum_is_refused_alike(
    database_url: str, db: Database, broadcast: HubBroadcast, factory: Factory
) -> None:
    # given: a maximum cost below the thread page's (657)
    made = [
        create_app(settings(database_url, compile_trusted_documents=on, max_query_cost=600), db,
                   broadcast)
        for on in (True, False)
    ]  # fmt: skip
    async with api_client(made[1]) as client:
        world = await build_world(client, factory, db)
    await push(db, {"thread-page": THREAD_PAGE_QUERY})
    body = {"documentId": "thread-page", "variables": {"id": world.public_thread}}
    # when
    compiled, executed = await both((made[0], made[1]), body, {})
    # then
    assert compiled.content == executed.content
    assert compiled.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_get_by_document_id_is_cached_with_the_same_etag(
    database_url: str, db: Database, broadcast: HubBroadcast, factory: Factory
) -> None:
    # given: response caches on (the default), anonymous GETs of a compiled document
    made = [
        create_app(make_settings(database_url, compile_trusted_documents=on), db, broadcast)
        for on in (True, False)
    ]
    for application in made:
        await application.state.response_cache.ready(db.sessions)
    try:
        async with api_client(made[1]) as client:
            world = await build_world(client, factory, db)
        # the common query: the thread page's `reactedByViewer` makes its answers the viewer's
        await push(db, {"common": HUB_COMMON_QUERY})
        variables = json.dumps({"id": world.public_thread})
        url = f"/graphql?documentId=common&variables={variables}"
        answers = []
        for application in made:
            async with api_client(application) as client:
                first = await client.get(url)
                again = await client.get(url, headers={"If-None-Match": first.headers["etag"]})
                answers.append((first, again))
        # then
        (compiled, compiled_again), (executed, executed_again) = answers
        assert compiled.content == executed.content
        assert compiled.headers["etag"] == executed.headers["etag"]
        assert compiled.headers["cache-control"] == executed.headers["cache-control"]
        assert compiled_again.status_code == executed_again.status_code == 304
    finally:
        for application in made:
            await application.state.response_cache.close()


async def test_the_log_line_and_the_counter_say_which_answers_were_compiled(
    apps: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given
    caplog.set_level(logging.INFO, logger="hub.request")
    async with api_client(apps[1]) as client:
        world = await build_world(client, factory, db)
    await push(db, {"thread-page": THREAD_PAGE_QUERY, **UNSUPPORTED})
    caplog.clear()
    counted = {"operation": "thread-page", "type": "query", "outcome": "ok"}
    before = REGISTRY.get_sample_value("hub_graphql_operations_total", counted) or 0
    # when: a compiled document, then one the compiler does not support
    async with api_client(apps[0]) as client:
        for document_id in ("thread-page", "community"):
            body = {"documentId": document_id, "variables": {"id": world.public_thread}}
            assert (await client.post("/graphql", json=body)).status_code == 200
    # then
    lines = [line for line in json_lines(caplog) if line["logger"] == "hub.request"]
    described = [(line["operation_name"], line["compiled"], line["statements"]) for line in lines]
    assert described[0] == ("thread-page", True, 1)
    assert described[1][:2] == ("community", False)
    assert REGISTRY.get_sample_value("hub_graphql_operations_total", counted) == before + 1
    messages = [r.getMessage() for r in caplog.records if r.name == "hub.request"]
    assert "compiled=true" in messages[0]
    assert "compiled=true" not in messages[1]
