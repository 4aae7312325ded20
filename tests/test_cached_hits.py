"""The response cache's fast path (app/cached_hits.py): repeated anonymous reads answered in
front of the middleware and the GraphQL view, with the view's bytes and headers, and only
while the view itself would answer them from the cache."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import REGISTRY
from starlette.applications import Starlette

from app.cached_hits import RawRequests
from app.cached_responses import WRITE_VERSION_HEADER
from app.main import create_app
from models.db import Database
from subscriptions.broadcast import HubBroadcast
from tests.conftest import Factory, api_client, make_settings
from tests.discussions import post
from tests.test_response_cache import PAGE, Counter, get, public_thread, statements_of


def headers_but_the_id(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k != "x-request-id"]


def answered(app: Starlette) -> int:
    raw_requests: RawRequests = app.state.raw_requests
    return raw_requests.answered


async def test_a_repeated_read_is_answered_in_front_of_the_view_with_its_headers(
    app: Starlette, client: httpx.AsyncClient, factory: Factory, db: Database
):
    # given a public page the view has answered and kept, by GET and by POST
    thread_id, _ = await public_thread(client, factory)
    by_view = await get(client, PAGE, {"id": thread_id})
    body = {"query": PAGE, "variables": {"id": thread_id}}
    posted_by_view = await client.post("/graphql", json=body)  # a hit, by the view
    assert answered(app) == 0
    # when the same bytes come again
    counter = Counter(db)
    ran, fast = await statements_of(counter, get(client, PAGE, {"id": thread_id}))
    posted_fast = await client.post("/graphql", json=body, headers={"X-Request-ID": "mine-1"})
    # then the fast path answers both, with no statement, the same bytes and the same headers
    assert answered(app) == 2
    assert ran == 0
    assert fast.content == by_view.content
    assert headers_but_the_id(fast) == headers_but_the_id(by_view)
    assert posted_fast.content == by_view.content
    assert headers_but_the_id(posted_fast) == headers_but_the_id(posted_by_view)
    assert "cache-control" not in posted_fast.headers
    assert posted_fast.headers["x-request-id"] == "mine-1"
    assert len(fast.headers["x-request-id"]) == 32


async def test_a_write_sends_the_same_bytes_back_to_the_view(
    app: Starlette, client: httpx.AsyncClient, factory: Factory, db: Database
):
    # given a page answered by the fast path
    thread_id, moderator = await public_thread(client, factory)
    await get(client, PAGE, {"id": thread_id})
    await get(client, PAGE, {"id": thread_id})
    assert answered(app) == 1
    # when a post is written
    await post(client, thread_id, moderator, "second")
    # then the same request is executed again, and shows it; then answered fast again
    counter = Counter(db)
    ran, response = await statements_of(counter, get(client, PAGE, {"id": thread_id}))
    assert ran > 0
    assert answered(app) == 1
    assert [n["body"] for n in response.json()["data"]["thread"]["posts"]["nodes"]] == [
        "first",
        "second",
    ]
    ran, again = await statements_of(counter, get(client, PAGE, {"id": thread_id}))
    assert (ran, answered(app)) == (0, 2)
    assert again.content == response.content


async def test_requests_with_a_viewer_an_origin_a_version_or_a_condition_go_to_the_view(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
):
    thread_id, moderator = await public_thread(client, factory)
    first = await get(client, PAGE, {"id": thread_id})
    await get(client, PAGE, {"id": thread_id})
    assert answered(app) == 1
    for headers in (
        moderator.headers,
        {"Origin": "http://elsewhere.example"},
        {WRITE_VERSION_HEADER: "1"},
        {"If-None-Match": first.headers["etag"]},
        {"Cookie": "a=b"},
    ):
        await get(client, PAGE, {"id": thread_id}, headers)
    assert answered(app) == 1


async def test_with_the_cache_off_anonymous_reads_count_nothing(
    database_url: str, db: Database, broadcast: HubBroadcast, factory: Factory
):
    def uncacheable() -> float:
        return REGISTRY.get_sample_value("hub_response_cache_total", {"result": "uncacheable"}) or 0

    app = create_app(make_settings(database_url, response_cache_max_bytes=0), db, broadcast)
    async with api_client(app) as client:
        thread_id, _ = await public_thread(client, factory)
        before = uncacheable()
        responses: list[Any] = [await get(client, PAGE, {"id": thread_id}) for _ in range(3)]
    await app.state.response_cache.close()
    assert all(r.status_code == 200 for r in responses)
    assert uncacheable() == before
    assert answered(app) == 0
