"""Subscribers that disconnect at random points while posts are written concurrently: on
reconnecting with their last cursor, each receives every event exactly once, in order."""

from __future__ import annotations

import asyncio
import random

from tests.discussions import community, post, thread
from tests.live import THREAD_EVENTS, connect, thread_cursor

POSTS = 30
SUBSCRIBERS = 5


async def writer(client, thread_id, author) -> None:
    # Several posts in flight at once, as from several clients.
    for start in range(0, POSTS, 3):
        await asyncio.gather(
            *(post(client, thread_id, author, f"post {i}") for i in range(start, start + 3))
        )
        await asyncio.sleep(0.01)


async def test_random_disconnects_lose_nothing_and_duplicate_nothing(app, client, factory):
    # given
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    # the subscribers start from "now": a first cursor for each, before any post
    after = await thread_cursor(client, thread_id)
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": after})
        await post(client, thread_id, moderator, "opening")
        [opening] = await socket.next_payloads(1)
    start = opening["threadEvents"]["cursor"]

    async def subscriber(seed: int) -> list[str]:
        rng_delay = random.Random(seed).random() / 20
        await asyncio.sleep(rng_delay)
        return await flaky_subscriber_from(app, moderator.token, thread_id, seed, start)

    # when
    results = await asyncio.gather(
        writer(client, thread_id, moderator), *(subscriber(s) for s in range(SUBSCRIBERS))
    )
    # then: every subscriber saw every post once, in the order of the log
    expected = None
    for bodies in results[1:]:
        assert len(bodies) == POSTS
        assert len(set(bodies)) == POSTS
        expected = expected or bodies
        assert bodies == expected  # one order for everyone: the log's


async def flaky_subscriber_from(app, token, thread_id, seed, cursor) -> list[str]:
    """Receives until it has seen POSTS posts, hanging up after a random number each time and
    resuming from the last cursor it received."""
    rng = random.Random(seed)
    bodies: list[str] = []
    while len(bodies) < POSTS:
        async with connect(app, token) as socket:
            await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": cursor})
            for _ in range(rng.randint(1, 7)):
                if len(bodies) == POSTS:
                    break
                [event] = await socket.next_payloads(1, seconds=15)
                bodies.append(event["threadEvents"]["post"]["body"])
                cursor = event["threadEvents"]["cursor"]
    return bodies
