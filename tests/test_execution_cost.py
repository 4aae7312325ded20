"""What an uncached read costs the server, in counts that do not depend on the machine: how
often a document is validated, how many asyncio tasks a page of posts makes. A page's nodes
answer from what the page loaded for them, and the same as each node loaded alone."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Coroutine, Generator
from typing import Any

import pytest
import strawberry.schema.schema as strawberry_schema
from graphql import validate

from models.member import Role
from schema.encoding import json_bytes
from schema.relay import decode_int_id
from tests.conftest import gql
from tests.discussions import community, join, ok, post, thread

REACT = """
mutation($id: ID!, $kind: ReactionKind!) {
  reactToPost(input: {postId: $id, kind: $kind}) { errors { code } }
}
"""
DELETE_POST = """
mutation($id: ID!) { deletePost(input: {postId: $id, reason: "spam"}) { ok errors { code } } }
"""
POST_FIELDS = "id body createdAt author { id name } reactions { kind count reactedByViewer }"
PAGE = (
    "query($id: ID!) { thread(id: $id) { posts(first: 50) { edges { cursor node { "
    + POST_FIELDS
    + " } } } } }"
)
ONE_POST = "query($id: ID!) { node(id: $id) { ... on Post { " + POST_FIELDS + " } } }"


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts graphql-core's document validations (what strawberry calls, cached or not)."""
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return validate(*args, **kwargs)

    monkeypatch.setattr(strawberry_schema, "validate", counting)
    return calls


@pytest.fixture
async def tasks() -> AsyncIterator[list[str]]:
    """Names the coroutine of every asyncio task created on the test's loop."""
    loop = asyncio.get_running_loop()
    created: list[str] = []
    previous = loop.get_task_factory()

    def counting(
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
        **kwargs: Any,
    ) -> asyncio.Future[Any]:
        created.append(getattr(coro, "__qualname__", repr(coro)))
        if previous is not None:
            return previous(loop, coro, **kwargs)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting)  # type: ignore[arg-type]
    yield created
    loop.set_task_factory(previous)


async def test_a_document_sent_again_is_not_validated_again(client, validations):
    # given: a document no other test sends (the validation cache lives as long as the process)
    query = f"{{ a{uuid.uuid4().hex}: __typename }}"
    # when
    for _ in range(3):
        assert "errors" not in await gql(client, query)
    # then: validated once, by the cache's first miss
    assert len(validations) == 1


async def _discussion(client, factory, posts: int) -> tuple[str, list[str], Any]:
    community_id, moderator = await community(client, factory)
    authors = [await factory.member(name=f"Author {i}", is_expert=i % 2 == 0) for i in range(3)]
    for author in authors:
        await join(client, community_id, author)
    thread_id = await thread(client, community_id, moderator)
    post_ids = []
    for i in range(posts):
        created = await post(client, thread_id, authors[i % 3], f"Reply {i}")
        post_ids.append(created["id"])
        kind = ("LIKE", "THANKS")[i % 2]
        await ok(client, REACT, {"id": created["id"], "kind": kind}, authors[(i + 1) % 3])
    return thread_id, post_ids, moderator


async def test_a_page_of_posts_answers_each_node_as_it_answers_alone(client, factory):
    # given: posts by visible and hidden authors (anonymous readers see experts only), with
    # reactions, one deleted
    thread_id, post_ids, moderator = await _discussion(client, factory, posts=6)
    await ok(client, DELETE_POST, {"id": post_ids[2]}, moderator)
    for viewer in (None, moderator):
        # when
        page = await gql(client, PAGE, {"id": thread_id}, member=viewer)
        # then
        nodes = [e["node"] for e in page["data"]["thread"]["posts"]["edges"]]
        alone = [
            (await gql(client, ONE_POST, {"id": i}, member=viewer))["data"]["node"]
            for i in post_ids
        ]
        assert nodes == alone
        assert None in [n["author"] for n in nodes] or viewer is moderator
        assert nodes[2]["body"] == (None if viewer is None else "Reply 2")


async def test_fragments_and_nodes_select_what_the_page_prefetches(client, factory):
    # given
    thread_id, _, _ = await _discussion(client, factory, posts=3)
    through_fragment = """
    query($id: ID!) { thread(id: $id) { posts(first: 50) {
      nodes { ...P } edges { node { ... on Post { id } } } } } }
    fragment P on Post { id author { name } reactions { kind count } }
    """
    # when
    body = await gql(client, through_fragment, {"id": thread_id})
    # then
    nodes = body["data"]["thread"]["posts"]["nodes"]
    assert [n["reactions"] for n in nodes] == [
        [{"kind": "LIKE", "count": 1}],
        [{"kind": "THANKS", "count": 1}],
        [{"kind": "LIKE", "count": 1}],
    ]
    assert [n["author"]["name"] if n["author"] else None for n in nodes] == [
        "Author 0",
        None,
        "Author 2",
    ]


async def test_a_page_of_posts_takes_no_task_per_post(client, factory, tasks):
    # given
    thread_id, _, _ = await _discussion(client, factory, posts=12)
    await gql(client, PAGE, {"id": thread_id})  # warm: nothing below depends on a first time
    tasks.clear()
    # when
    page = await gql(client, PAGE, {"id": thread_id})
    # then: the loader batches (thread, page, authors, reactions) and the request's own, not
    # one or more per post (there were about four per post)
    assert len(page["data"]["thread"]["posts"]["edges"]) == 12
    assert len(tasks) < 12, tasks


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "Zoë Ñúñez",
        "emoji 😀",
        "\u2028 separator",
        "tab\tnew\nline\x00\x1f",
        "del\x7f",
        'quote" back\\slash \\xe9',
    ],
)
def test_answers_are_encoded_as_json_dumps_encoded_them(text):
    # orjson, with the escapes json.dumps wrote: the same bytes as before
    value = {"data": {text: [text, 1, -2, None, True, 0.5, {"nested": text}]}}
    assert json_bytes(value) == json.dumps(value, separators=(",", ":")).encode()


def test_an_integer_orjson_refuses_is_encoded_by_the_standard_library():
    assert json_bytes({"n": 2**70}) == b'{"n":1180591620717411303424}'


MEMBER_FIELDS = "id name isExpert organization { id name kind }"
MEMBERS = "{ members(first: 50) { nodes { " + MEMBER_FIELDS + " } } }"
ONE_MEMBER = "query($id: ID!) { node(id: $id) { ... on Member { " + MEMBER_FIELDS + " } } }"
NEW_ORGANIZATION = """
mutation($name: String!) {
  createOrganization(input: {name: $name, kind: ACADEMIA}) { organization { id } errors { code } }
}
"""


async def test_a_page_of_members_answers_each_node_as_it_answers_alone(client, factory, db):
    # given: members of two organisations and members of none
    admin = await factory.member(role=Role.ADMIN, name="Admin", is_expert=True)
    organizations = []
    for name in ("IOM", "ILO"):
        created = await ok(client, NEW_ORGANIZATION, {"name": name}, admin)
        organizations.append(decode_int_id(created["organization"]["id"], "Organization"))
    for i in range(6):
        await factory.member(
            name=f"Expert {i}",
            is_expert=True,
            organization_id=organizations[i % 3 - 1] if i % 3 else None,
        )
    # when
    page = (await gql(client, MEMBERS))["data"]["members"]["nodes"]
    # then
    alone = [(await gql(client, ONE_MEMBER, {"id": m["id"]}))["data"]["node"] for m in page]
    assert page == alone
    assert {m["organization"]["name"] for m in page if m["organization"]} == {"IOM", "ILO"}
    assert any(m["organization"] is None for m in page)
