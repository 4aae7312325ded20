"""The event log and the unit of work: events are written with the change, in order, and
published only after the commit."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models.base import utcnow
from models.event import Event, StoredEvent, append_event, events_after, prune_events
from resolvers.unit_of_work import Refused, unit_of_work
from subscriptions.events import EventPublisher
from subscriptions.streams import ResyncRequired, follow


async def count_events(db, stream: str) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).where(Event.stream == stream)) or 0)


async def emit_then_fail(db, broadcast) -> None:
    async with unit_of_work(db.sessions, EventPublisher(broadcast)) as work:
        await work.emit("thread:1", "POST_CREATED", {"thread": 1})
        raise Refused()


async def append_unserializable(db) -> None:
    async with db.sessions.begin() as session:
        await append_event(session, "member:1", "BAD", {"when": object()})


async def test_events_of_a_rolled_back_unit_of_work_are_never_published(db, broadcast):
    # given: a subscriber on the stream
    async with broadcast.subscribe("thread:1") as subscriber:
        # when: a unit of work emits, then fails
        with pytest.raises(Refused):
            await emit_then_fail(db, broadcast)
        # and a later one commits
        async with unit_of_work(db.sessions, EventPublisher(broadcast)) as work:
            await work.emit("thread:1", "POST_EDITED", {"thread": 1})
        # then: only the committed event arrives, and only it is in the log
        async with asyncio.timeout(5):
            received = StoredEvent.from_json((await subscriber.get()).message)
    assert received.kind == "POST_EDITED"
    assert received.seq == 1  # the rolled-back append did not use up a number
    assert await count_events(db, "thread:1") == 1


async def test_concurrent_appends_get_consecutive_sequence_numbers(db):
    async def append_one(i: int) -> None:
        async with db.sessions.begin() as session:
            await append_event(session, "thread:7", "POST_CREATED", {"i": i})

    await asyncio.gather(*(append_one(i) for i in range(20)))
    async with db.sessions() as session:
        events = await events_after(session, "thread:7", 0, 100)
    assert [e.seq for e in events] == list(range(1, 21))


async def test_payloads_round_trip_through_json(db):
    async with db.sessions.begin() as session:
        event = await append_event(session, "member:1", "NOTIFICATION", {"post": 3, "tags": ("a",)})
    assert event.payload == {"post": 3, "tags": ["a"]}
    assert StoredEvent.from_json(event.to_json()) == event
    with pytest.raises(TypeError):
        await append_unserializable(db)
    assert json.loads(event.to_json())["seq"] == 1


async def test_a_cursor_older_than_retention_yields_resync_required(db, broadcast):
    # given: three events, then everything older than now pruned
    async with db.sessions.begin() as session:
        for _ in range(3):
            await append_event(session, "thread:9", "POST_CREATED", {"thread": 9})
    async with db.sessions.begin() as session:
        assert await prune_events(session, utcnow() + timedelta(seconds=1)) == 3
    # when: a client resumes from seq 1
    stream = follow(db.sessions, broadcast, "thread:9", 1)
    first = await anext(stream)
    await stream.aclose()
    # then
    assert isinstance(first, ResyncRequired)
    assert first.retained_from_seq == 4


async def test_a_cursor_at_the_retention_edge_still_resumes(db, broadcast):
    async with db.sessions.begin() as session:
        for _ in range(3):
            await append_event(session, "thread:10", "POST_CREATED", {"thread": 10})
    async with db.sessions.begin() as session:
        await prune_events(session, utcnow() + timedelta(seconds=1))
        await append_event(session, "thread:10", "POST_CREATED", {"thread": 10})
    stream = follow(db.sessions, broadcast, "thread:10", 3)
    first = await anext(stream)
    await stream.aclose()
    assert isinstance(first, StoredEvent)
    assert first.seq == 4


async def test_an_event_too_large_for_the_broker_still_reaches_subscribers(db, broadcast):
    big = {"thread": 1, "text": "x" * 20_000}
    stream = follow(db.sessions, broadcast, "thread:11", 0)
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.05)  # the follower is subscribed and has replayed the (empty) log
    async with unit_of_work(db.sessions, EventPublisher(broadcast)) as work:
        await work.emit("thread:11", "POST_CREATED", big)
    async with asyncio.timeout(5):
        received = await pending
    await stream.aclose()
    assert isinstance(received, StoredEvent)
    assert received.payload == big
