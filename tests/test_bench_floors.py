"""The raw floors of the page benchmarks (bench/raw_floor.py, bench/raw_sql.py) answer byte
for byte what the hub answers, for the same query and viewer, so that the floor the
benchmarks measure against cannot silently drift from the hub. PostgreSQL only: the floors'
statements are PostgreSQL's (skipped on SQLite; a failure when HUB_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from starlette.applications import Starlette

from app.seed import seed_demo, seed_knowledge
from app.settings import Settings
from models.db import Database
from tests.conftest import api_client
from tests.services import postgres_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from discussion import VIEWER_EMAIL, seed_discussion
from floor import global_id
from harness import issue_tokens
from members_page import QUERY as MEMBERS_QUERY
from postgraphile import HUB_COMMON_QUERY
from raw_floor import RawFloor, create_app
from resources_page import OBJECTIVE
from resources_page import QUERY as RESOURCES_QUERY
from thread_page import QUERY as THREAD_QUERY

# A moderator sees deleted posts' text and every resource's relations: the staff branches.
VIEWERS = ["anonymous", "member", "moderator"]


@pytest.fixture
async def raw_floor_client(settings: Settings) -> AsyncIterator[tuple[RawFloor, httpx.AsyncClient]]:
    postgres_url()  # skips on SQLite
    floor = create_app("members", settings)
    await floor.open()
    try:
        transport = httpx.ASGITransport(app=floor)
        async with httpx.AsyncClient(transport=transport, base_url="http://floor") as client:
            yield floor, client
    finally:
        await floor.close()


async def both_answers(
    app: Starlette,
    floor: tuple[RawFloor, httpx.AsyncClient],
    page: str,
    body: dict[str, Any],
    token: str | None,
) -> tuple[bytes, bytes]:
    """The hub's body and the raw floor's, for the same request."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    floor[0].page = page
    async with api_client(app) as hub:
        hub_answer = await hub.post("/graphql", json=body, headers=headers)
    floor_answer = await floor[1].post("/graphql", json=body, headers=headers)
    assert hub_answer.status_code == floor_answer.status_code == 200
    return hub_answer.content, floor_answer.content


def difference(hub: bytes, floor: bytes) -> str:
    """Where the bodies part, with some context."""
    at = next((i for i, (a, b) in enumerate(zip(hub, floor, strict=False)) if a != b), None)
    at = min(len(hub), len(floor)) if at is None else at
    return f"at byte {at}: hub {hub[at - 80 : at + 80]!r} / floor {floor[at - 80 : at + 80]!r}"


async def viewer_token(db: Database, settings: Settings, viewer: str) -> str | None:
    """No token, or one for the benchmarks' viewer (made a global moderator if asked)."""
    if viewer == "anonymous":
        return None
    if viewer == "moderator":
        async with db.sessions.begin() as session:
            await session.execute(
                text("UPDATE member SET role = 'MODERATOR' WHERE email = :email"),
                {"email": VIEWER_EMAIL},
            )
    return (await issue_tokens(settings, [VIEWER_EMAIL]))[0]


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_the_raw_members_floor_answers_the_hubs_bytes(
    app: Starlette,
    db: Database,
    settings: Settings,
    raw_floor_client: tuple[RawFloor, httpx.AsyncClient],
    viewer: str,
) -> None:
    # given: a directory with more than a page of members, names with accents among them
    await seed_demo(settings, members=160)
    token = await viewer_token(db, settings, viewer)
    # when
    hub, floor = await both_answers(
        app, raw_floor_client, "members", {"query": MEMBERS_QUERY}, token
    )
    # then
    page = json.loads(hub)["data"]["members"]
    assert len(page["edges"]) == 50
    assert page["pageInfo"]["hasNextPage"]
    assert any(not e["node"]["name"].isascii() for e in page["edges"])
    assert floor == hub, difference(hub, floor)


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_the_raw_thread_floor_answers_the_hubs_bytes(
    app: Starlette,
    db: Database,
    settings: Settings,
    raw_floor_client: tuple[RawFloor, httpx.AsyncClient],
    viewer: str,
) -> None:
    # given: a long thread with reactions, one of its posts deleted
    await seed_demo(settings, members=60)
    discussion = await seed_discussion(settings, posts=60, members=20)
    async with db.sessions.begin() as session:
        await session.execute(
            text(
                "UPDATE post SET deleted_at = now() WHERE id = "
                "(SELECT min(id) + 3 FROM post WHERE thread_id = :thread)"
            ),
            {"thread": discussion.thread_id},
        )
    token = await viewer_token(db, settings, viewer)
    body = {"query": THREAD_QUERY, "variables": {"id": global_id("Thread", discussion.thread_id)}}
    # when
    hub, floor = await both_answers(app, raw_floor_client, "thread", body, token)
    # then
    thread = json.loads(hub)["data"]["thread"]
    nodes = [e["node"] for e in thread["posts"]["edges"]]
    assert len(nodes) == 50
    assert thread["posts"]["pageInfo"]["hasNextPage"]
    assert (nodes[3]["body"] is None) == (viewer != "moderator")
    assert all(n["reactions"] for n in nodes)
    assert any(n["author"] is None for n in nodes) == (viewer == "anonymous")
    assert floor == hub, difference(hub, floor)


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_the_raw_floor_of_the_common_query_answers_the_hubs_bytes(
    app: Starlette,
    db: Database,
    settings: Settings,
    raw_floor_client: tuple[RawFloor, httpx.AsyncClient],
    viewer: str,
) -> None:
    # given: the thread page's seed; the query the benchmark also sends to PostGraphile
    await seed_demo(settings, members=60)
    discussion = await seed_discussion(settings, posts=60, members=20)
    token = await viewer_token(db, settings, viewer)
    thread_id = global_id("Thread", discussion.thread_id)
    body = {"query": HUB_COMMON_QUERY, "variables": {"id": thread_id}}
    # when
    hub, floor = await both_answers(app, raw_floor_client, "thread-common", body, token)
    # then
    assert len(json.loads(hub)["data"]["thread"]["posts"]["edges"]) == 50
    assert floor == hub, difference(hub, floor)


async def test_the_raw_thread_floor_answers_null_for_a_thread_it_may_not_see(
    app: Starlette,
    db: Database,
    settings: Settings,
    raw_floor_client: tuple[RawFloor, httpx.AsyncClient],
) -> None:
    # given: a thread of a private community
    await seed_demo(settings, members=60)
    discussion = await seed_discussion(settings, posts=60, members=20)
    async with db.sessions.begin() as session:
        await session.execute(text("UPDATE community SET visibility = 'PRIVATE'"))
    body = {"query": THREAD_QUERY, "variables": {"id": global_id("Thread", discussion.thread_id)}}
    # when
    hub, floor = await both_answers(app, raw_floor_client, "thread", body, None)
    # then
    assert json.loads(hub)["data"] == {"thread": None}
    assert floor == hub, difference(hub, floor)


@pytest.mark.parametrize("viewer", VIEWERS)
async def test_the_raw_resources_floor_answers_the_hubs_bytes(
    app: Starlette,
    db: Database,
    settings: Settings,
    raw_floor_client: tuple[RawFloor, httpx.AsyncClient],
    viewer: str,
) -> None:
    # given: resources, some superseded or contradicted, some not published
    await seed_demo(settings, members=30)
    async with db.sessions.begin() as session:
        await seed_knowledge(session, random.Random(73195), 1_000, 0)
    token = await viewer_token(db, settings, viewer)
    body = {"query": RESOURCES_QUERY, "variables": {"objective": OBJECTIVE}}
    # when
    hub, floor = await both_answers(app, raw_floor_client, "resources", body, token)
    # then
    page = json.loads(hub)["data"]["resources"]
    nodes = [e["node"] for e in page["edges"]]
    assert len(nodes) == 50
    assert page["pageInfo"]["hasNextPage"]
    assert any(n["supersedes"] for n in nodes)
    assert any(n["contradictedBy"] for n in nodes)
    assert floor == hub, difference(hub, floor)
