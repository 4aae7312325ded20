"""Many subscribers of one thread: each event is executed once per operation and permission
scope, not once per subscriber; viewer-specific selections are never shared."""

from __future__ import annotations

from contextlib import AsyncExitStack

from schema.fanout import SHARED_RESULTS
from tests.discussions import community, join, post, thread
from tests.live import THREAD_EVENTS, connect, thread_cursor

WITH_VIEWER_FIELD = """
subscription($threadId: ID!, $after: String) {
  threadEvents(threadId: $threadId, after: $after) {
    ... on ThreadEvent { cursor post { body reactions { kind reactedByViewer } } }
  }
}
"""


async def watch_three_posts(app, client, factory, query: str, viewers: int, anonymous: int):
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    members = [await factory.member() for _ in range(viewers)]
    for member in members:
        await join(client, community_id, member)
    async with AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connect(app, m.token)) for m in members]
        sockets += [await stack.enter_async_context(connect(app)) for _ in range(anonymous)]
        after = await thread_cursor(client, thread_id)
        for socket in sockets:
            await socket.subscribe(query, {"threadId": thread_id, "after": after})
        before = SHARED_RESULTS.executions
        for body in ("a", "b", "c"):
            await post(client, thread_id, moderator, body)
        received = [await socket.next_payloads(3) for socket in sockets]
    return SHARED_RESULTS.executions - before, received


async def test_subscribers_in_one_scope_share_one_execution_per_event(app, client, factory):
    executions, received = await watch_three_posts(
        app, client, factory, THREAD_EVENTS, viewers=8, anonymous=0
    )
    assert executions == 3  # 3 events x 1 scope, for 8 subscribers
    bodies = {tuple(e["threadEvents"]["post"]["body"] for e in events) for events in received}
    assert bodies == {("a", "b", "c")}


async def test_members_and_anonymous_readers_are_different_scopes(app, client, factory):
    executions, _ = await watch_three_posts(
        app, client, factory, THREAD_EVENTS, viewers=3, anonymous=3
    )
    assert executions == 6  # 3 events x 2 scopes


async def test_a_viewer_specific_selection_is_executed_per_viewer(app, client, factory):
    executions, _ = await watch_three_posts(
        app, client, factory, WITH_VIEWER_FIELD, viewers=4, anonymous=0
    )
    assert executions == 12  # 3 events x 4 viewers
