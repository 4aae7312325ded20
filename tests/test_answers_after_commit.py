"""A write the database committed is answered as a success, even if the database goes away
right after the commit (issue 12, found by bench/faults.py `database-down`): `createPost`
used to read its post back in a new transaction after the commit, and a database that had
just gone answered INTERNAL_SERVER_ERROR for a post that was stored. A client retrying
without an idempotency key then makes a duplicate. The post is now read back in the
transaction that writes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from models.db import Database
from models.thread import Post
from tests.conftest import Factory, gql
from tests.discussions import community, join, post, thread

if TYPE_CHECKING:  # imported by name, pytest would try to collect it as a test class
    from tests.conftest import TestMember

# What the post's own row holds (its author would be another read, failing alike).
CREATE_POST = """
mutation($input: CreatePostInput!) {
  createPost(input: $input) { post { id body version } errors { field code message } }
}
"""


@contextmanager
def database_gone_after_commit(db: Database) -> Iterator[None]:
    """Fault injection at the pool's boundary: once a transaction has committed, every new
    checkout is refused, as a database that has just gone away refuses connections."""
    gone = False

    def committed(_session: Session) -> None:
        nonlocal gone
        gone = True

    def checkout(*_: Any) -> None:
        if gone:
            raise ConnectionRefusedError("the database went away")

    pool = db.engine.sync_engine.pool
    event.listen(Session, "after_commit", committed)
    event.listen(pool, "checkout", checkout)
    try:
        yield
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(Session, "after_commit", committed)


async def test_a_reply_stored_as_the_database_goes_away_is_answered_as_stored(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given
    community_id, _ = await community(client, factory)
    author = await factory.member()
    await join(client, community_id, author)
    thread_id = await thread(client, community_id, author)
    variables = {"input": {"threadId": thread_id, "body": "Stored, then the database went."}}
    # when: the database goes away right after the reply's commit
    with database_gone_after_commit(db):
        body = await gql(client, CREATE_POST, variables, member=author)
    # then: the answer says what the database holds
    async with db.sessions() as session:
        stored = await session.scalar(
            select(func.count()).where(Post.body == "Stored, then the database went.")
        )
    assert stored == 1
    assert "errors" not in body, body
    assert body["data"]["createPost"]["errors"] == []
    assert body["data"]["createPost"]["post"]["body"] == "Stored, then the database went."


@dataclass(frozen=True)
class Case:
    """One mutation whose answer is its own row, and what that row must say."""

    query: str
    variables: dict[str, Any]
    member: TestMember
    expected: dict[str, Any]


CREATE_THREAD = """
mutation($input: CreateThreadInput!) {
  createThread(input: $input) { thread { title body } errors { field code message } }
}
"""
EDIT_POST = """
mutation($input: EditPostInput!) {
  editPost(input: $input) { post { id body version } errors { field code message } }
}
"""
REACT_TO_POST = """
mutation($input: ReactToPostInput!) {
  reactToPost(input: $input) { post { id body version } errors { field code message } }
}
"""


async def a_thread(client: httpx.AsyncClient, factory: Factory) -> Case:
    community_id, moderator = await community(client, factory)
    variables = {"input": {"communityId": community_id, "title": "Gone", "body": "Stored."}}
    return Case(CREATE_THREAD, variables, moderator, {"title": "Gone", "body": "Stored."})


async def an_edit(client: httpx.AsyncClient, factory: Factory) -> Case:
    community_id, moderator = await community(client, factory)
    reply = await post(client, await thread(client, community_id, moderator), moderator)
    variables = {"input": {"postId": reply["id"], "body": "Edited.", "expectedVersion": 1}}
    return Case(
        EDIT_POST, variables, moderator, {"id": reply["id"], "body": "Edited.", "version": 2}
    )


async def a_reaction(client: httpx.AsyncClient, factory: Factory) -> Case:
    community_id, moderator = await community(client, factory)
    reply = await post(client, await thread(client, community_id, moderator), moderator)
    reader = await factory.member()
    await join(client, community_id, reader)
    variables = {"input": {"postId": reply["id"], "kind": "LIKE"}}
    return Case(REACT_TO_POST, variables, reader, {"id": reply["id"], "body": reply["body"]})


@pytest.mark.parametrize("arrange", [a_thread, an_edit, a_reaction])
async def test_a_change_stored_as_the_database_goes_away_is_answered_as_stored(
    client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    arrange: Callable[[httpx.AsyncClient, Factory], Awaitable[Case]],
) -> None:
    # given
    case = await arrange(client, factory)
    # when: the database goes away right after the change's commit
    with database_gone_after_commit(db):
        body = await gql(client, case.query, case.variables, member=case.member)
    # then: the answer is the stored row
    assert "errors" not in body, body
    payload = next(iter(body["data"].values()))
    assert payload["errors"] == []
    row = next(value for key, value in payload.items() if key != "errors")
    assert {key: row[key] for key in case.expected} == case.expected
