"""Stored counters hold under simultaneous writers (issue 12): each test sends N real API
requests at once, each its own request, then compares the counter the API shows with a COUNT
of the rows it stands for. On SQLite the same requests run too; its writes take turns."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select

from models.db import Database
from models.thread import Post, Reaction, ThreadRead
from models.webinar import RegistrationStatus, WebinarQuestionVote, WebinarRegistration
from schema.relay import decode_int_id
from tests.conftest import Factory, gql
from tests.discussions import CREATE_POST, community, join, post, thread
from tests.webinars import CANCEL, REGISTER, UPVOTE, ask, live_webinar, register, staff, webinar

if TYPE_CHECKING:  # imported by name, pytest would try to collect it as a test class
    from tests.conftest import TestMember

# Requests at once. The app's pool (15 connections) bounds what reaches the database, so the
# shared PostgreSQL server sees at most that many of this test's connections. Writers of one
# thread queue on its row: kept at 20, so that on a loaded machine the last of them does not
# wait past the 5 s statement timeout (at 50 it did, once, beside two other test runs).
N = 20

REPLY_COUNT = "query($id: ID!) { thread(id: $id) { replyCount unreadCount } }"
DELETE_POST = """
mutation($p: ID!, $r: String!) { deletePost(input: {postId: $p, reason: $r}) { ok errors { code } } }
"""
REACT = """
mutation($id: ID!) {
  reactToPost(input: {postId: $id, kind: LIKE}) { post { reactions { kind count } } errors { code } }
}
"""
REACTIONS = "query($id: ID!) { node(id: $id) { ... on Post { reactions { kind count } } } }"
QUESTION_VOTES = "query($id: ID!) { node(id: $id) { ... on WebinarQuestion { voteCount } } }"
SEATS = "query($id: ID!) { webinar(id: $id) { registeredCount capacity } }"
MARK_READ = """
mutation($id: ID!) { markThreadRead(input: {threadId: $id}) { thread { unreadCount } errors { code } } }
"""


async def at_once(requests: Iterable[Awaitable[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Send every request at the same time; each answer's single payload, in order."""
    bodies = await asyncio.gather(*requests)
    for body in bodies:
        assert "errors" not in body, body
    return [next(iter(body["data"].values())) for body in bodies]


async def read_int(db: Database, statement: Any) -> int:
    """The one number `statement` selects (a COUNT, an id)."""
    async with db.sessions() as session:
        return int(await session.scalar(statement) or 0)


async def members_of(
    client: httpx.AsyncClient, factory: Factory, community_id: str, n: int
) -> list[TestMember]:
    members = [await factory.member() for _ in range(n)]
    for member in members:
        await join(client, community_id, member)
    return members


def key(global_id: str, type_name: str) -> int:
    found = decode_int_id(global_id, type_name)
    assert found is not None
    return found


async def reply_count(client: httpx.AsyncClient, thread_id: str) -> int:
    body = await gql(client, REPLY_COUNT, {"id": thread_id})
    return int(body["data"]["thread"]["replyCount"])


def live_replies(thread_id: str) -> Any:
    return select(func.count()).where(
        Post.thread_id == key(thread_id, "Thread"), Post.deleted_at.is_(None)
    )


async def test_replies_posted_at_once_are_each_counted(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given a thread and N members of its community
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    members = await members_of(client, factory, community_id, N)
    # when each posts a reply, all at the same moment
    payloads = await at_once(
        gql(client, CREATE_POST, {"input": {"threadId": thread_id, "body": f"r{i}"}}, member=m)
        for i, m in enumerate(members)
    )
    # then every reply is written and counted once
    assert [p["errors"] for p in payloads] == [[]] * N
    assert await read_int(db, live_replies(thread_id)) == N
    assert await reply_count(client, thread_id) == N


async def test_replies_posted_and_deleted_at_once_leave_the_count_of_live_replies(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given N/2 replies, each by its own author
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    authors = await members_of(client, factory, community_id, N // 2)
    replies = [(await post(client, thread_id, a, f"old {i}"))["id"] for i, a in enumerate(authors)]
    newcomers = await members_of(client, factory, community_id, N // 2)
    # when, at once: each author deletes their reply, the moderator deletes the same replies
    # too (two deletions of one post), and N/2 other members post new ones
    deletions = [
        gql(client, DELETE_POST, {"p": reply, "r": ""}, member=author)
        for reply, author in zip(replies, authors, strict=True)
    ] + [
        gql(client, DELETE_POST, {"p": reply, "r": "off topic"}, member=moderator)
        for reply in replies
    ]
    posts = [
        gql(client, CREATE_POST, {"input": {"threadId": thread_id, "body": f"new {i}"}}, member=m)
        for i, m in enumerate(newcomers)
    ]
    payloads = await at_once([*deletions, *posts])
    # then each old reply was deleted by exactly one of its two deletions
    by_author, by_moderator = payloads[: N // 2], payloads[N // 2 : N]
    for own, moderated in zip(by_author, by_moderator, strict=True):
        assert sorted([own["ok"], moderated["ok"]]) == [False, True], (own, moderated)
        assert (own["errors"] + moderated["errors"]) == [{"code": "NOT_FOUND"}]
    assert [p["errors"] for p in payloads[N:]] == [[]] * (N // 2)
    # and the count is that of the live replies: the new ones
    assert await read_int(db, live_replies(thread_id)) == N // 2
    assert await reply_count(client, thread_id) == N // 2


async def test_reactions_given_at_once_are_each_counted(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given a reply and N members
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    reply = (await post(client, thread_id, moderator))["id"]
    members = await members_of(client, factory, community_id, N)
    # when each likes it at the same moment
    payloads = await at_once(gql(client, REACT, {"id": reply}, member=m) for m in members)
    # then every like is kept and counted (reaction counts are counted from the rows)
    assert [p["errors"] for p in payloads] == [[]] * N
    rows = select(func.count()).where(Reaction.post_id == key(reply, "Post"))
    assert await read_int(db, rows) == N
    shown = (await gql(client, REACTIONS, {"id": reply}))["data"]["node"]["reactions"]
    assert shown == [{"kind": "LIKE", "count": N}]


async def test_votes_cast_at_once_are_each_counted(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given a live webinar with N participants and one question
    names = [f"P{i}" for i in range(N)]
    webinar_id, _, members = await live_webinar(client, factory, *names)
    question = await ask(client, webinar_id, members[0], "Who pays the fees?")
    # when each upvotes it at the same moment
    payloads = await at_once(gql(client, UPVOTE, {"id": question}, member=m) for m in members)
    # then every vote is kept and counted once
    assert [p["errors"] for p in payloads] == [[]] * N
    rows = select(func.count()).where(
        WebinarQuestionVote.question_id == key(question, "WebinarQuestion")
    )
    assert await read_int(db, rows) == N
    body = await gql(client, QUESTION_VOTES, {"id": question}, member=members[0])
    assert body["data"]["node"]["voteCount"] == N


async def test_seats_taken_and_given_back_at_once_match_the_registrations(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given a webinar of N/2 seats, all taken
    organiser = await staff(factory)
    capacity = N // 2
    webinar_id = await webinar(client, organiser, capacity=capacity)
    seated = [await factory.member() for _ in range(capacity)]
    for member in seated:
        assert await register(client, webinar_id, member) == "REGISTERED"
    newcomers = [await factory.member() for _ in range(N)]
    # when, at once: half of the seated cancel and N others register
    payloads = await at_once(
        [gql(client, CANCEL, {"id": webinar_id}, member=m) for m in seated[::2]]
        + [gql(client, REGISTER, {"id": webinar_id}, member=m) for m in newcomers]
    )
    # then the seats shown are the registrations that hold one, and no more than the capacity
    assert [p["errors"] for p in payloads] == [[]] * len(payloads)
    holding = select(func.count()).where(
        WebinarRegistration.webinar_id == key(webinar_id, "Webinar"),
        WebinarRegistration.status == RegistrationStatus.REGISTERED,
    )
    assert await read_int(db, holding) == capacity  # the waitlist fills every freed seat
    seats = (await gql(client, SEATS, {"id": webinar_id}))["data"]["webinar"]
    assert seats == {"registeredCount": capacity, "capacity": capacity}


async def test_a_thread_marked_read_from_several_devices_at_once_reads_as_read(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given a thread with replies a member has not read
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    for i in range(3):
        await post(client, thread_id, moderator, f"r{i}")
    reader = (await members_of(client, factory, community_id, 1))[0]
    # when the member's devices mark it read at the same moment, for the first time
    payloads = await at_once(
        gql(client, MARK_READ, {"id": thread_id}, member=reader) for _ in range(N)
    )
    # then every request is answered as read, and one read mark holds the last reply
    assert payloads == [{"thread": {"unreadCount": 0}, "errors": []}] * N
    marks = select(func.count()).where(ThreadRead.thread_id == key(thread_id, "Thread"))
    assert await read_int(db, marks) == 1
    body = await gql(client, REPLY_COUNT, {"id": thread_id}, member=reader)
    assert body["data"]["thread"] == {"replyCount": 3, "unreadCount": 0}
    newest = select(func.max(Post.id)).where(Post.thread_id == key(thread_id, "Thread"))
    mark = select(ThreadRead.last_read_post_id).where(
        ThreadRead.thread_id == key(thread_id, "Thread")
    )
    assert await read_int(db, mark) == await read_int(db, newest)
