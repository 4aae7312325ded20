"""Live thread updates: replay after a cursor, then live; nothing lost, nothing twice."""

from __future__ import annotations

from tests.discussions import community, post, thread
from tests.live import THREAD_EVENTS, connect


async def test_a_subscriber_receives_new_posts_live(app, client, factory):
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id})
        await post(client, thread_id, moderator, "first")
        await post(client, thread_id, moderator, "second")
        events = await socket.next_payloads(2)
    assert [e["threadEvents"]["post"]["body"] for e in events] == ["first", "second"]
    assert [e["threadEvents"]["kind"] for e in events] == ["POST_CREATED", "POST_CREATED"]


async def test_resuming_from_a_cursor_replays_what_was_missed_then_goes_live(app, client, factory):
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id})
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
