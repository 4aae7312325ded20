"""The response cache (app/response_cache.py, app/cached_responses.py): public answers kept per
process, dropped by writes to what they read (on the writer's process at once, on the others
through the broker), never older than a write the client has seen, with ETag and Cache-Control.

"Another process" is a second application with its own engine, pool and cache on the same
database; with `HUB_BROADCAST_URL=redis://...` each has its own broker connection."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from starlette.applications import Starlette

from app.cached_responses import WRITE_VERSION_HEADER
from app.main import create_app
from app.response_cache import CHANNEL, ResponseCache
from models.db import Database, create_database
from subscriptions.broadcast import HubBroadcast, create_broadcast
from tests.conftest import Factory, api_client, broadcast_url_for_tests, make_settings
from tests.discussions import community, join, post, thread

PAGE = (
    "query Page($id: ID!) { thread(id: $id) { title replyCount posts(first: 10) "
    "{ nodes { body author { name } } } } }"
)
WITH_FLAG = (
    "query Page($id: ID!) { thread(id: $id) { title posts(first: 10) "
    "{ nodes { body reactions { kind count reactedByViewer } } } } }"
)


class Counter:
    def __init__(self, db: Database) -> None:
        self.count = 0
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.count += 1


WRITE_POST = "mutation($i: CreatePostInput!) { createPost(input: $i) { errors { code } } }"


async def get(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    params = {"query": query, "variables": json.dumps(variables)}
    return await client.get("/graphql", params=params, headers=headers or {})


async def write_post(
    client: httpx.AsyncClient, thread_id: str, body: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A post written over HTTP: the response, for its headers (the write's version)."""
    return await client.post(
        "/graphql",
        json={"query": WRITE_POST, "variables": {"i": {"threadId": thread_id, "body": body}}},
        headers=headers or {},
    )


async def statements_of(counter: Counter, request: Any) -> tuple[int, httpx.Response]:
    before = counter.count
    response = await request
    return counter.count - before, response


@pytest.fixture
async def other(database_url: str, broadcast: HubBroadcast) -> AsyncIterator[Starlette]:
    """Another process: its own database engine and cache; the same broker (its own connection
    to it, unless the broker is memory://, which is one process's)."""
    settings = make_settings(database_url)
    database = create_database(database_url, pool_size=2, max_overflow=0)
    if broadcast_url_for_tests().startswith("memory"):
        app = create_app(settings, database, broadcast)
        yield app
        await app.state.response_cache.close()
    else:
        own = create_broadcast(broadcast_url_for_tests(), namespace=settings.broadcast_namespace)
        await own.connect()
        app = create_app(settings, database, own)
        yield app
        await app.state.response_cache.close()
        await own.disconnect()
    await database.dispose()


async def until(condition: Any) -> None:
    """Wait for `condition()` (the broker's latency); bounded, never a timed assertion."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never held")


async def public_thread(client: httpx.AsyncClient, factory: Factory) -> tuple[str, Any]:
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    await post(client, thread_id, moderator, "first")
    return thread_id, moderator


async def test_a_repeated_public_read_runs_no_sql(
    app: Starlette, client: httpx.AsyncClient, factory: Factory, db: Database
):
    # given a public thread, read once by an anonymous client
    thread_id, _ = await public_thread(client, factory)
    counter = Counter(db)
    ran, first = await statements_of(counter, get(client, PAGE, {"id": thread_id}))
    assert first.status_code == 200
    assert ran > 0
    assert first.json()["data"]["thread"]["posts"]["nodes"][0]["body"] == "first"
    # when the same read comes again
    ran, second = await statements_of(counter, get(client, PAGE, {"id": thread_id}))
    # then it is answered from the cache: no statement, the same bytes
    assert ran == 0
    assert second.content == first.content
    assert len(app.state.response_cache) == 1
    # and POST is answered from it too
    ran, posted = await statements_of(
        counter, client.post("/graphql", json={"query": PAGE, "variables": {"id": thread_id}})
    )
    assert ran == 0
    assert posted.content == first.content
    assert "cache-control" not in posted.headers


async def test_the_key_holds_variables_and_languages(
    client: httpx.AsyncClient, factory: Factory, db: Database
):
    thread_id, _ = await public_thread(client, factory)
    counter = Counter(db)
    await get(client, PAGE, {"id": thread_id})
    ran, _ = await statements_of(
        counter, get(client, PAGE, {"id": thread_id}, {"Accept-Language": "fr"})
    )
    assert ran > 0  # another language, another answer
    ran, response = await statements_of(counter, get(client, PAGE, {"id": "VGhyZWFkOjk5OTk="}))
    assert ran > 0
    assert response.json()["data"]["thread"] is None


async def test_a_write_on_this_process_drops_what_read_its_tables(
    client: httpx.AsyncClient, factory: Factory, db: Database
):
    # given a cached page
    thread_id, moderator = await public_thread(client, factory)
    await get(client, PAGE, {"id": thread_id})
    # when a post is written through the same process
    await post(client, thread_id, moderator, "second")
    # then the next read computes the page again, with the post
    counter = Counter(db)
    ran, response = await statements_of(counter, get(client, PAGE, {"id": thread_id}))
    bodies = [n["body"] for n in response.json()["data"]["thread"]["posts"]["nodes"]]
    assert ran > 0
    assert bodies == ["first", "second"]


async def test_a_write_on_another_process_drops_the_answer_here(
    client: httpx.AsyncClient, other: Starlette, factory: Factory
):
    # given a page cached by the other process
    thread_id, moderator = await public_thread(client, factory)
    cache: ResponseCache = other.state.response_cache
    counter = Counter(other.state.db)
    async with api_client(other) as reader:
        await get(reader, PAGE, {"id": thread_id})
        ran, _ = await statements_of(counter, get(reader, PAGE, {"id": thread_id}))
        assert ran == 0
        # when a post is written through this process
        response = await write_post(client, thread_id, "second", moderator.headers)
        version = int(response.headers[WRITE_VERSION_HEADER])
        # then, once the broker brought the write, the other answers with the post
        await until(lambda: cache.applied is not None and cache.applied >= version)
        ran, page = await statements_of(counter, get(reader, PAGE, {"id": thread_id}))
    bodies = [n["body"] for n in page.json()["data"]["thread"]["posts"]["nodes"]]
    assert ran > 0
    assert bodies == ["first", "second"]


async def test_a_client_that_saw_a_write_is_never_answered_from_before_it(
    client: httpx.AsyncClient, database_url: str, factory: Factory
):
    # given another process whose broker never brings this one's writes (its own memory://)
    settings = make_settings(database_url, broadcast_url="memory://")
    database = create_database(database_url, pool_size=2, max_overflow=0)
    deaf = create_broadcast("memory://")
    await deaf.connect()
    other = create_app(settings, database, deaf)
    thread_id, moderator = await public_thread(client, factory)
    try:
        async with api_client(other) as reader:
            await get(reader, PAGE, {"id": thread_id})
            # when the client writes through this process and gets the write's version
            response = await write_post(client, thread_id, "mine", moderator.headers)
            seen = {WRITE_VERSION_HEADER: response.headers[WRITE_VERSION_HEADER]}
            stale = await get(reader, PAGE, {"id": thread_id})
            fresh = await get(reader, PAGE, {"id": thread_id}, seen)
    finally:
        await other.state.response_cache.close()
        await deaf.disconnect()
        await database.dispose()
    # then whoever has not seen it may get the kept page; the client that has, never
    assert "mine" not in stale.text
    bodies = [n["body"] for n in fresh.json()["data"]["thread"]["posts"]["nodes"]]
    assert bodies == ["first", "mine"]
    assert fresh.headers["cache-control"] == "no-store"


async def test_read_your_writes_through_the_shared_broker(
    client: httpx.AsyncClient, other: Starlette, factory: Factory
):
    # given a page kept by the other process, which hears this one's writes through the broker
    thread_id, moderator = await public_thread(client, factory)
    async with api_client(other) as reader:
        await get(reader, PAGE, {"id": thread_id})
        # when the client writes here and reads there at once, sending the version it got
        response = await write_post(client, thread_id, "mine", moderator.headers)
        seen = {WRITE_VERSION_HEADER: response.headers[WRITE_VERSION_HEADER]}
        page = await get(reader, PAGE, {"id": thread_id}, seen)
    # then it reads its post, whether or not the broker has brought the write yet
    bodies = [n["body"] for n in page.json()["data"]["thread"]["posts"]["nodes"]]
    assert bodies == ["first", "mine"]


async def test_a_broker_gap_drops_the_whole_cache(
    other: Starlette, client: httpx.AsyncClient, factory: Factory
):
    thread_id, _ = await public_thread(client, factory)
    cache: ResponseCache = other.state.response_cache
    counter = Counter(other.state.db)
    async with api_client(other) as reader:
        await get(reader, PAGE, {"id": thread_id})
        assert len(cache) == 1
        epoch = cache.epoch
        # when the broker says messages may have been lost
        broadcast: HubBroadcast = other.state.broadcast
        broadcast.repair(CHANNEL, 0)
        await until(lambda: cache.epoch > epoch and cache.applied is not None)
        # then nothing kept before is served
        assert len(cache) == 0
        ran, _ = await statements_of(counter, get(reader, PAGE, {"id": thread_id}))
    assert ran > 0


async def test_documents_with_a_viewer_specific_field_are_never_kept(
    client: httpx.AsyncClient, factory: Factory, db: Database
):
    thread_id, _ = await public_thread(client, factory)
    counter = Counter(db)
    await get(client, WITH_FLAG, {"id": thread_id})
    ran, response = await statements_of(counter, get(client, WITH_FLAG, {"id": thread_id}))
    assert ran > 0
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


async def test_signed_in_answers_are_private_and_never_reach_the_public(
    client: httpx.AsyncClient, factory: Factory, db: Database
):
    # given a private community's thread, read by a member
    community_id, moderator = await community(client, factory, private=True, slug="closed")
    thread_id = await thread(client, community_id, moderator)
    await post(client, thread_id, moderator, "members only")
    member_view = await get(client, PAGE, {"id": thread_id}, moderator.headers)
    assert "members only" in member_view.text
    assert member_view.headers["cache-control"] == "private, no-store"
    assert "etag" not in member_view.headers
    # when the public asks the same
    counter = Counter(db)
    ran, public = await statements_of(counter, get(client, PAGE, {"id": thread_id}))
    # then it is computed for the public, and shows nothing
    assert ran > 0
    assert public.json()["data"]["thread"] is None


async def test_get_answers_carry_an_etag_and_304_on_if_none_match(
    client: httpx.AsyncClient, factory: Factory, settings: Any
):
    thread_id, _ = await public_thread(client, factory)
    first = await get(client, PAGE, {"id": thread_id})
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == (
        f"public, max-age={settings.response_cache_max_age_seconds}, "
        f"stale-while-revalidate={settings.response_cache_stale_seconds}"
    )
    assert "Accept-Language" in first.headers["vary"]
    again = await get(client, PAGE, {"id": thread_id}, {"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other_tag = await get(client, PAGE, {"id": thread_id}, {"If-None-Match": '"nope"'})
    assert other_tag.status_code == 200
    assert other_tag.content == first.content


async def test_mutations_answer_with_their_write_version(
    client: httpx.AsyncClient, factory: Factory
):
    community_id, moderator = await community(client, factory)
    member = await factory.member(name="Joiner")
    thread_id = await thread(client, community_id, moderator)
    first = await write_post(client, thread_id, "a", moderator.headers)
    await join(client, community_id, member)
    second = await write_post(client, thread_id, "b", member.headers)
    assert int(second.headers[WRITE_VERSION_HEADER]) > int(first.headers[WRITE_VERSION_HEADER])
    refused = await write_post(client, thread_id, "c")  # signed out
    assert WRITE_VERSION_HEADER not in refused.headers  # nothing written


async def test_the_cache_can_be_turned_off(
    database_url: str, db: Database, broadcast: HubBroadcast, factory: Factory
):
    app = create_app(make_settings(database_url, response_cache_max_bytes=0), db, broadcast)
    async with api_client(app) as client:
        thread_id, _ = await public_thread(client, factory)
        counter = Counter(db)
        await get(client, PAGE, {"id": thread_id})
        ran, response = await statements_of(counter, get(client, PAGE, {"id": thread_id}))
    await app.state.response_cache.close()
    assert ran > 0
    assert "etag" not in response.headers


async def test_a_transaction_that_changed_no_row_takes_no_version_on_postgresql(db: Database):
    from sqlalchemy import update

    from models.outbox import Delivery
    from models.writes import read_write_version

    if db.is_sqlite:
        pytest.skip("SQLite cannot tell: any write statement takes a version there")
    async with db.sessions() as session:
        before = await read_write_version(session)
    # when a worker's claim finds nothing due
    async with db.sessions.begin() as session:
        await session.execute(
            update(Delivery).where(Delivery.id == -1).values(attempts=Delivery.attempts + 1)
        )
    async with db.sessions() as session:
        assert await read_write_version(session) == before
