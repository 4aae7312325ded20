"""Moderators pin, lock, move and delete with a reason in the audit log; members flag posts."""

from __future__ import annotations

from tests.conftest import gql
from tests.discussions import CREATE_POST, community, join, ok, post, thread

MODERATE = """
mutation($t: ID!, $a: ThreadModeration!) {
  moderateThread(input: {threadId: $t, action: $a, reason: "Keeps the discussion useful"}) {
    ok errors { code }
  }
}
"""
DELETE = """
mutation($p: ID!, $r: String!) { deletePost(input: {postId: $p, reason: $r}) { ok errors { code } } }
"""
FLAG = """
mutation($p: ID!) { flagContent(input: {postId: $p, reason: "Spam"}) { ok errors { code } } }
"""
QUEUE = "{ moderationQueue { nodes { reason post { id } flaggedBy { name } } } }"
AUDIT = "query($c: ID) { auditLog(communityId: $c) { nodes { action reason subjectType actor { name } } } }"
POST_BODY = "query($id: ID!) { node(id: $id) { ... on Post { body bodyHtml isDeleted } } }"
THREAD = "query($id: ID!) { thread(id: $id) { pinned locked replyCount } }"


async def test_pin_and_lock_are_audited_and_a_locked_thread_refuses_replies(client, factory):
    community_id, moderator = await community(client, factory)
    member = await factory.member()
    await join(client, community_id, member)
    thread_id = await thread(client, community_id, member)
    await ok(client, MODERATE, {"t": thread_id, "a": "PIN"}, moderator)
    await ok(client, MODERATE, {"t": thread_id, "a": "LOCK"}, moderator)
    state = (await gql(client, THREAD, {"id": thread_id}))["data"]["thread"]
    assert (state["pinned"], state["locked"]) == (True, True)
    refused = await gql(
        client, CREATE_POST, {"input": {"threadId": thread_id, "body": "hi"}}, member=member
    )
    assert refused["data"]["createPost"]["errors"][0]["code"] == "LOCKED"
    await post(client, thread_id, moderator, "Moderators may still post.")
    log = (await gql(client, AUDIT, {"c": community_id}, member=moderator))["data"]["auditLog"][
        "nodes"
    ]
    assert [e["action"] for e in log] == ["LOCK_THREAD", "PIN_THREAD"]
    assert log[0]["reason"] == "Keeps the discussion useful"
    assert log[0]["subjectType"] == "Thread"


async def test_members_cannot_moderate_or_read_the_audit_log(client, factory):
    community_id, _ = await community(client, factory)
    member = await factory.member()
    await join(client, community_id, member)
    thread_id = await thread(client, community_id, member)
    body = await gql(client, MODERATE, {"t": thread_id, "a": "PIN"}, member=member)
    assert body["data"]["moderateThread"]["errors"][0]["code"] == "NOT_ALLOWED"
    assert (await gql(client, AUDIT, {"c": community_id}, member=member))["data"][
        "auditLog"
    ] is None


async def test_a_deleted_post_is_a_placeholder_whose_text_only_moderators_read(client, factory):
    community_id, moderator = await community(client, factory)
    member = await factory.member()
    await join(client, community_id, member)
    thread_id = await thread(client, community_id, moderator)
    created = await post(client, thread_id, member, "Something regrettable")
    # a moderator must give a reason
    no_reason = await gql(client, DELETE, {"p": created["id"], "r": ""}, member=moderator)
    assert no_reason["data"]["deletePost"]["errors"][0]["code"] == "REQUIRED"
    await ok(client, DELETE, {"p": created["id"], "r": "Personal data"}, moderator)
    as_member = (await gql(client, POST_BODY, {"id": created["id"]}, member=member))["data"]["node"]
    as_public = (await gql(client, POST_BODY, {"id": created["id"]}))["data"]["node"]
    as_moderator = (await gql(client, POST_BODY, {"id": created["id"]}, member=moderator))["data"][
        "node"
    ]
    assert as_member == as_public == {"body": None, "bodyHtml": None, "isDeleted": True}
    assert as_moderator["body"] == "Something regrettable"
    assert (await gql(client, THREAD, {"id": thread_id}))["data"]["thread"]["replyCount"] == 0


async def test_flags_appear_in_the_moderation_queue_of_the_communitys_moderators(client, factory):
    community_id, moderator = await community(client, factory)
    member = await factory.member(name="Careful Reader")
    outsider_moderator = await factory.member(name="Other Mod")
    await join(client, community_id, member)
    thread_id = await thread(client, community_id, moderator)
    created = await post(client, thread_id, moderator, "Buy cheap visas here")
    await ok(client, FLAG, {"p": created["id"]}, member)
    await ok(client, FLAG, {"p": created["id"]}, member)  # twice is once
    queue = (await gql(client, QUEUE, member=moderator))["data"]["moderationQueue"]["nodes"]
    assert queue == [
        {"reason": "Spam", "post": {"id": created["id"]}, "flaggedBy": {"name": "Careful Reader"}}
    ]
    others = (await gql(client, QUEUE, member=outsider_moderator))["data"]["moderationQueue"]
    assert others == {"nodes": []}


async def test_deleting_a_flagged_post_resolves_its_open_flags(client, factory):
    # given two flagged posts, each flagged by two members
    community_id, moderator = await community(client, factory)
    readers = [await factory.member(name=f"Reader {n}") for n in (1, 2)]
    for reader in readers:
        await join(client, community_id, reader)
    thread_id = await thread(client, community_id, moderator)
    spam = await post(client, thread_id, readers[0], "Buy cheap visas here")
    other = await post(client, thread_id, readers[0], "Also flagged, still up")
    for reader in readers:
        await ok(client, FLAG, {"p": spam["id"]}, reader)
        await ok(client, FLAG, {"p": other["id"]}, reader)
    # when a moderator deletes one of the posts
    await ok(client, DELETE, {"p": spam["id"], "r": "Fraud"}, moderator)
    # then its flags leave the queue (resolved), the other post's stay
    queue = (await gql(client, QUEUE, member=moderator))["data"]["moderationQueue"]["nodes"]
    assert [flag["post"]["id"] for flag in queue] == [other["id"], other["id"]]


async def test_an_author_deleting_their_flagged_post_resolves_its_flags(client, factory):
    community_id, moderator = await community(client, factory)
    author, reader = await factory.member(), await factory.member()
    for member in (author, reader):
        await join(client, community_id, member)
    thread_id = await thread(client, community_id, moderator)
    regretted = await post(client, thread_id, author, "Something regrettable")
    await ok(client, FLAG, {"p": regretted["id"]}, reader)
    await ok(client, DELETE, {"p": regretted["id"], "r": ""}, author)
    queue = (await gql(client, QUEUE, member=moderator))["data"]["moderationQueue"]["nodes"]
    assert queue == []


async def test_deleting_a_thread_resolves_the_open_flags_of_its_posts(client, factory):
    community_id, moderator = await community(client, factory)
    reader = await factory.member()
    await join(client, community_id, reader)
    doomed = await thread(client, community_id, reader, title="Doomed")
    kept = await thread(client, community_id, reader, title="Kept")
    in_doomed = await post(client, doomed, reader, "Flagged in a doomed thread")
    in_kept = await post(client, kept, reader, "Flagged in a kept thread")
    await ok(client, FLAG, {"p": in_doomed["id"]}, moderator)
    await ok(client, FLAG, {"p": in_kept["id"]}, moderator)
    await ok(client, MODERATE, {"t": doomed, "a": "DELETE"}, moderator)
    queue = (await gql(client, QUEUE, member=moderator))["data"]["moderationQueue"]["nodes"]
    assert [flag["post"]["id"] for flag in queue] == [in_kept["id"]]
