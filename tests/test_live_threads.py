"""Live thread updates: replay after a cursor, then live; nothing lost, nothing twice."""

from __future__ import annotations

from tests.discussions import community, join, ok, post, thread
from tests.live import THREAD_EVENTS, connect, thread_cursor

INVITE = """
mutation($c: ID!, $m: ID!) {
  inviteToCommunity(input: {communityId: $c, memberId: $m}) { ok errors { code } }
}
"""


async def test_a_subscriber_receives_new_posts_live(app, client, factory):
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    after = await thread_cursor(client, thread_id)
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": after})
        await post(client, thread_id, moderator, "first")
        await post(client, thread_id, moderator, "second")
        events = await socket.next_payloads(2)
    assert [e["threadEvents"]["post"]["body"] for e in events] == ["first", "second"]
    assert [e["threadEvents"]["kind"] for e in events] == ["POST_CREATED", "POST_CREATED"]


async def test_resuming_from_a_cursor_replays_what_was_missed_then_goes_live(app, client, factory):
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    after = await thread_cursor(client, thread_id)
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": after})
        await post(client, thread_id, moderator, "seen")
        [seen] = await socket.next_payloads(1)
    cursor = seen["threadEvents"]["cursor"]
    await post(client, thread_id, moderator, "missed 1")
    await post(client, thread_id, moderator, "missed 2")
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": cursor})
        replayed = await socket.next_payloads(2)
        await post(client, thread_id, moderator, "live")
        [live] = await socket.next_payloads(1)
    bodies = [e["threadEvents"]["post"]["body"] for e in [*replayed, live]]
    assert bodies == ["missed 1", "missed 2", "live"]


REMOVE = """
mutation($c: ID!, $m: ID!) {
  removeCommunityMember(input: {communityId: $c, memberId: $m, reason: "Off topic"}) {
    ok errors { code }
  }
}
"""


async def test_a_member_removed_from_a_private_community_receives_nothing_after_removal(
    app, client, factory
):
    # given: a private community; a member subscribed to one of its threads
    community_id, moderator = await community(client, factory, private=True)
    member = await factory.member(name="Soon Removed")
    await ok(client, INVITE, {"c": community_id, "m": member.global_id}, moderator)
    assert (await join(client, community_id, member))["joined"] is True
    thread_id = await thread(client, community_id, moderator)
    after = await thread_cursor(client, thread_id, member.token)
    async with connect(app, member.token) as socket:
        op = await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": after})
        await post(client, thread_id, moderator, "before removal")
        [before] = await socket.next_payloads(1)
        # when: the member is removed, then more is posted
        await ok(client, REMOVE, {"c": community_id, "m": member.global_id}, moderator)
        await post(client, thread_id, moderator, "after removal")
        # then: the subscription completes without delivering anything more
        message = await socket.receive()
    assert before["threadEvents"]["post"]["body"] == "before removal"
    assert message == {"id": op, "type": "complete"}


async def test_subscribing_to_a_thread_you_may_not_read_is_refused_like_a_missing_one(
    app, client, factory
):
    community_id, moderator = await community(client, factory, private=True)
    thread_id = await thread(client, community_id, moderator)
    outsider = await factory.member()
    async with connect(app, outsider.token) as socket:
        await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id})
        refused, refused_end = await socket.receive(), await socket.receive()
        await socket.subscribe(THREAD_EVENTS, {"threadId": "VGhyZWFkOjk5OTk5"})  # Thread:99999
        missing, missing_end = await socket.receive(), await socket.receive()
    assert refused["type"] == missing["type"] == "next"
    assert refused_end["type"] == missing_end["type"] == "complete"
    assert refused["payload"]["errors"][0]["message"] == missing["payload"]["errors"][0]["message"]
    assert refused["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
