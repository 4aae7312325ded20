"""Communities, threads and posts through the API."""

from __future__ import annotations

import asyncio

from tests.conftest import gql
from tests.discussions import CREATE_COMMUNITY, CREATE_POST, community, join, ok, post, thread

EDIT = """
mutation($input: EditPostInput!) {
  editPost(input: $input) { post { body version } currentVersion errors { field code message } }
}
"""
THREAD_PAGE = """
query($id: ID!) {
  thread(id: $id) {
    title replyCount unreadCount tags objectives { number } participants { name }
    posts(first: 50) { nodes { body isDeleted version author { name } reactions { kind count reactedByViewer } } }
  }
}
"""


async def test_a_member_joins_a_public_community_opens_a_thread_and_replies(client, factory):
    # given
    community_id, _ = await community(client, factory)
    alice = await factory.member(name="Alice")
    bob = await factory.member(name="Bob")
    assert (await join(client, community_id, alice))["joined"] is True
    await join(client, community_id, bob)
    # when
    thread_id = await thread(client, community_id, alice)
    first = await post(client, thread_id, bob, "I think **employers** should.")
    # then
    assert first["bodyHtml"] == "<p>I think <strong>employers</strong> should.</p>\n"
    page = (await gql(client, THREAD_PAGE, {"id": thread_id}, member=alice))["data"]["thread"]
    assert page["replyCount"] == 1
    assert page["unreadCount"] == 1
    assert page["tags"] == ["fees"]
    assert page["participants"] == [{"name": "Bob"}]
    assert [p["author"]["name"] for p in page["posts"]["nodes"]] == ["Bob"]


async def test_outsiders_cannot_post_and_anonymous_readers_can_read_public_threads(client, factory):
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    outsider = await factory.member()
    body = await gql(
        client, CREATE_POST, {"input": {"threadId": thread_id, "body": "hi"}}, member=outsider
    )
    assert body["data"]["createPost"]["errors"][0]["code"] == "NOT_ALLOWED"
    public = await gql(client, THREAD_PAGE, {"id": thread_id})
    assert public["data"]["thread"]["title"] == "Fair recruitment fees"


async def test_edit_conflict_returns_the_current_version(client, factory):
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    created = await post(client, thread_id, moderator, "v1")
    await ok(
        client,
        EDIT,
        {"input": {"postId": created["id"], "body": "v2", "expectedVersion": 1}},
        moderator,
    )
    stale = await gql(
        client,
        EDIT,
        {"input": {"postId": created["id"], "body": "v2b", "expectedVersion": 1}},
        member=moderator,
    )
    payload = stale["data"]["editPost"]
    assert payload["errors"][0]["code"] == "EDIT_CONFLICT"
    assert payload["currentVersion"] == 2
    assert payload["post"] is None


async def test_retrying_a_create_with_the_same_idempotency_key_returns_the_same_post(
    client, factory
):
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    variables = {"input": {"threadId": thread_id, "body": "once", "idempotencyKey": "k-1"}}
    results = await asyncio.gather(
        *(gql(client, CREATE_POST, variables, member=moderator) for _ in range(5))
    )
    ids = {r["data"]["createPost"]["post"]["id"] for r in results}
    assert len(ids) == 1
    page = (await gql(client, THREAD_PAGE, {"id": thread_id}, member=moderator))["data"]["thread"]
    assert page["replyCount"] == 1


MARK_READ = """
mutation($id: ID!) { markThreadRead(input: {threadId: $id}) { thread { unreadCount } errors { code } } }
"""


async def test_unread_count_counts_replies_after_the_read_mark(client, factory):
    community_id, moderator = await community(client, factory)
    reader = await factory.member()
    await join(client, community_id, reader)
    thread_id = await thread(client, community_id, moderator)
    await post(client, thread_id, moderator, "one")
    await post(client, thread_id, moderator, "two")
    unread = "query($id: ID!) { thread(id: $id) { unreadCount } }"
    assert (await gql(client, unread, {"id": thread_id}, member=reader))["data"]["thread"] == {
        "unreadCount": 2
    }
    marked = await ok(client, MARK_READ, {"id": thread_id}, reader)
    assert marked["thread"]["unreadCount"] == 0
    await post(client, thread_id, moderator, "three")
    assert (await gql(client, unread, {"id": thread_id}, member=reader))["data"]["thread"] == {
        "unreadCount": 1
    }


MOVE = """
mutation($t: ID!, $c: ID!) { moveThread(input: {threadId: $t, toCommunityId: $c, reason: "Fits better"}) {
  ok errors { code } } }
"""


async def test_a_moved_thread_belongs_to_its_new_community(client, factory):
    source_id, moderator = await community(client, factory, slug="source")
    target_id = (
        await ok(
            client,
            CREATE_COMMUNITY,
            {"input": {"slug": "target", "name": "Target", "visibility": "PUBLIC"}},
            moderator,
        )
    )["community"]["id"]
    thread_id = await thread(client, source_id, moderator)
    await ok(client, MOVE, {"t": thread_id, "c": target_id}, moderator)
    listed = "query($c: ID!) { threads(communityId: $c) { totalCount } }"
    assert (await gql(client, listed, {"c": source_id}))["data"]["threads"]["totalCount"] == 0
    assert (await gql(client, listed, {"c": target_id}))["data"]["threads"]["totalCount"] == 1
    audit = "{ auditLog { nodes { action reason } } }"
    entries = (await gql(client, audit, member=moderator))["data"]["auditLog"]["nodes"]
    assert entries[0] == {"action": "MOVE_THREAD", "reason": "Fits better"}
