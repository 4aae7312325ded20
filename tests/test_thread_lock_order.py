"""One lock order for a thread's writers (issue 12): replying and moderating a thread take the
thread's event-stream row first, then the thread's row. Replies used to lock the stream, then
the thread (the reply count); DELETE_THREAD the thread, then the stream: side by side they
waited for each other, and PostgreSQL broke the cycle by failing one of them (40P01), which
answered INTERNAL_SERVER_ERROR. PostgreSQL only: row locks are its."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, select, text

from models.db import Database
from models.event import Event, EventStream
from models.thread import Post, Thread
from schema.relay import decode_int_id
from subscriptions.events import thread_stream
from tests.conftest import Factory, gql
from tests.discussions import CREATE_POST, community, join, thread
from tests.test_review_races import WAITING

if TYPE_CHECKING:  # imported by name, pytest would try to collect it as a test class
    from tests.conftest import TestMember

REPLIES = 6  # replies sent at once beside the deletion
MODERATE_THREAD = """
mutation($input: ModerateThreadInput!) {
  moderateThread(input: $input) { ok errors { field code message } }
}
"""
Request = Callable[[], Coroutine[Any, Any, dict[str, Any]]]


async def wait_for_waiters(db: Database, blocker: Any, count: int) -> None:
    for _ in range(500):  # polled: the database tells nobody that a request now waits
        await blocker.execute(text("SELECT pg_stat_clear_snapshot()"))
        if await blocker.scalar(WAITING) >= count:
            return
        await asyncio.sleep(0.02)
    pytest.fail(f"fewer than {count} requests ever waited on the held stream")


async def replies_then_deletion(
    db: Database,
    stream: str,
    replies: list[Request],
    deletion: Request,
) -> list[dict[str, Any]]:
    """Hold the thread's stream row; let every reply queue on it, then the deletion; release."""
    async with db.engine.connect() as blocker:
        held = await blocker.begin()
        await blocker.execute(
            select(EventStream.name).where(EventStream.name == stream).with_for_update()
        )
        tasks = [asyncio.create_task(reply()) for reply in replies]
        await wait_for_waiters(db, blocker, len(replies))
        tasks.append(asyncio.create_task(deletion()))
        await wait_for_waiters(db, blocker, len(replies) + 1)
        await held.rollback()
    async with asyncio.timeout(60):  # bounded: a deadlock is broken by PostgreSQL in ~1 s
        return list(await asyncio.gather(*tasks))


async def stored(db: Database, thread_key: int) -> tuple[int, int, bool, list[str]]:
    """(reply count, live replies, deleted, the thread's event kinds in order)."""
    async with db.sessions() as session:
        row = await session.get_one(Thread, thread_key)
        live = await session.scalar(
            select(func.count()).where(Post.thread_id == thread_key, Post.deleted_at.is_(None))
        )
        kinds = await session.scalars(
            select(Event.kind).where(Event.stream == thread_stream(thread_key)).order_by(Event.seq)
        )
        return row.reply_count, int(live or 0), row.deleted_at is not None, list(kinds)


async def test_replies_beside_a_thread_deletion_neither_deadlock_nor_lie(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    if db.is_sqlite:
        pytest.skip("row locks and lock waits are PostgreSQL's")
    # given: a thread with a first reply (so its stream row exists), and members replying
    community_id, moderator = await community(client, factory)
    members: list[TestMember] = [await factory.member() for _ in range(REPLIES)]
    for member in members:
        await join(client, community_id, member)
    thread_id = await thread(client, community_id, members[0])
    thread_key = decode_int_id(thread_id, "Thread")
    assert thread_key is not None

    def reply(member: TestMember) -> Request:
        variables = {"input": {"threadId": thread_id, "body": f"From {member.email}."}}
        return lambda: gql(client, CREATE_POST, variables, member=member)

    await reply(members[0])()
    delete = {"input": {"threadId": thread_id, "action": "DELETE", "reason": "Spam."}}

    # when: the replies and the deletion meet on the thread's locks
    answers = await replies_then_deletion(
        db,
        thread_stream(thread_key),
        [reply(m) for m in members],
        lambda: gql(client, MODERATE_THREAD, delete, member=moderator),
    )

    # then: every request got an answer of its own (no deadlock victim answered an internal
    # error), the deletion happened, and the stored thread agrees with the answers
    assert [a for a in answers if "errors" in a] == []
    *posted, deleted = [next(iter(a["data"].values())) for a in answers]
    assert deleted == {"ok": True, "errors": []}
    accepted = [p for p in posted if p["post"] is not None]
    count, live, is_deleted, kinds = await stored(db, thread_key)
    assert is_deleted
    assert count == live == 1 + len(accepted)
    # no reply was accepted into a thread already deleted
    assert kinds[-1] == "THREAD_DELETED", kinds
    assert kinds.count("POST_CREATED") == 1 + len(accepted)
