"""Helpers shared by the discussion tests: set up communities and threads through the API."""

from __future__ import annotations

from typing import Any

import httpx

from models.member import Role
from tests.conftest import Factory, TestMember, gql

CREATE_COMMUNITY = """
mutation($input: CreateCommunityInput!) {
  createCommunity(input: $input) { community { id slug } errors { field code message } }
}
"""
JOIN = """
mutation($id: ID!) { joinCommunity(input: {communityId: $id}) { joined pending errors { code } } }
"""
CREATE_THREAD = """
mutation($input: CreateThreadInput!) {
  createThread(input: $input) { thread { id title } errors { field code message } }
}
"""
CREATE_POST = """
mutation($input: CreatePostInput!) {
  createPost(input: $input) {
    post { id body bodyHtml version author { id } }
    errors { field code message }
  }
}
"""


async def ok(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], member: TestMember
) -> dict[str, Any]:
    """Run a mutation that must succeed; returns its payload."""
    body = await gql(client, query, variables, member=member)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    assert payload.get("errors", []) == [], payload
    return payload


async def community(
    client: httpx.AsyncClient,
    factory: Factory,
    *,
    private: bool = False,
    slug: str = "labour-migration",
) -> tuple[str, TestMember]:
    """A community and the global moderator who opened it (its first moderator)."""
    moderator = await factory.member(role=Role.MODERATOR, name="Mod Erator")
    payload = await ok(
        client,
        CREATE_COMMUNITY,
        {
            "input": {
                "slug": slug,
                "name": slug.replace("-", " ").title(),
                "visibility": "PRIVATE" if private else "PUBLIC",
                "objectives": [6],
                "languages": ["en", "fr"],
            }
        },
        moderator,
    )
    return payload["community"]["id"], moderator


async def join(client: httpx.AsyncClient, community_id: str, member: TestMember) -> dict[str, Any]:
    return await ok(client, JOIN, {"id": community_id}, member)


async def thread(
    client: httpx.AsyncClient,
    community_id: str,
    author: TestMember,
    title: str = "Fair recruitment fees",
) -> str:
    payload = await ok(
        client,
        CREATE_THREAD,
        {
            "input": {
                "communityId": community_id,
                "title": title,
                "body": "Who pays the fees?",
                "tags": ["Fees"],
                "objectives": [6],
            }
        },
        author,
    )
    return str(payload["thread"]["id"])


async def post(
    client: httpx.AsyncClient,
    thread_id: str,
    author: TestMember,
    body: str = "Employers should.",
    **extra: Any,
) -> dict[str, Any]:
    payload = await ok(
        client, CREATE_POST, {"input": {"threadId": thread_id, "body": body, **extra}}, author
    )
    return dict(payload["post"])
