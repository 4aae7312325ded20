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
