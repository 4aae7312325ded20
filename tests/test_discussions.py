"""Communities, threads and posts through the API."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from models.thread import Post
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


def reused(body: dict) -> list[dict]:
    """The createPost payload's errors, once checked that nothing came back with them."""
    payload = body["data"]["createPost"]
    assert payload["post"] is None, payload
    return [{"field": e["field"], "code": e["code"]} for e in payload["errors"]]


REUSED = [{"field": "idempotencyKey", "code": "IDEMPOTENCY_KEY_REUSED"}]


async def test_an_idempotency_key_reused_with_other_input_is_refused_and_writes_nothing(
    client, factory, db
):
    # given a reply written with a key, and a second thread
    community_id, moderator = await community(client, factory)
    first_thread = await thread(client, community_id, moderator)
    other_thread = await thread(client, community_id, moderator, title="Visa costs")
    first = await post(client, first_thread, moderator, "once", idempotencyKey="k-1")
    # when the key comes back with another thread, another body, or as an answer to a post
    others = [
        {"threadId": other_thread, "body": "once"},
        {"threadId": first_thread, "body": "twice"},
        {"threadId": first_thread, "body": "once", "replyToId": first["id"]},
    ]
    answers = [
        await gql(client, CREATE_POST, {"input": {**o, "idempotencyKey": "k-1"}}, member=moderator)
        for o in others
    ]
    # then each is refused with IDEMPOTENCY_KEY_REUSED, and nothing was written
    assert [reused(a) for a in answers] == [REUSED] * 3
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 1
    for thread_id, replies in ((first_thread, 1), (other_thread, 0)):
        page = (await gql(client, THREAD_PAGE, {"id": thread_id}, member=moderator))["data"]
        assert page["thread"]["replyCount"] == replies
        assert len(page["thread"]["posts"]["nodes"]) == replies


async def test_the_same_key_with_the_same_input_returns_the_first_post_even_once_edited(
    client, factory
):
    # given a reply written with a key, then edited
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    variables = {"input": {"threadId": thread_id, "body": "once", "idempotencyKey": "k-1"}}
    first = (await ok(client, CREATE_POST, variables, moderator))["post"]
    await ok(
        client,
        EDIT,
        {"input": {"postId": first["id"], "body": "edited", "expectedVersion": 1}},
        moderator,
    )
    # when the first request is retried as it was sent
    again = await ok(client, CREATE_POST, variables, moderator)
    # then its answer is the first post (as it is now), and no second one
    assert again["post"]["id"] == first["id"]
    assert again["post"]["body"] == "edited"
    page = (await gql(client, THREAD_PAGE, {"id": thread_id}, member=moderator))["data"]
    assert page["thread"]["replyCount"] == 1


async def test_one_key_sent_to_several_threads_at_once_writes_one_post(client, factory, db):
    # given five threads
    community_id, moderator = await community(client, factory)
    threads = [await thread(client, community_id, moderator, title=f"T{i}") for i in range(5)]
    # when one key is sent with each of them at the same moment
    answers = await asyncio.gather(
        *(
            gql(
                client,
                CREATE_POST,
                {"input": {"threadId": t, "body": "once", "idempotencyKey": "k-1"}},
                member=moderator,
            )
            for t in threads
        )
    )
    # then one of them wrote the post, the others are refused
    written = [a["data"]["createPost"] for a in answers if a["data"]["createPost"]["post"]]
    assert len(written) == 1
    assert written[0]["errors"] == []
    refused = [reused(a) for a in answers if a["data"]["createPost"]["post"] is None]
    assert refused == [REUSED] * 4
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Post)) == 1


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
