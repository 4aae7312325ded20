"""The permission matrix of communities of practice, proving 0 leaks.

Six viewers (anonymous, an outsider who is signed in but not a member, a member, the author of
the thread and its posts, a community moderator who is a plain member of the hub, and a global
moderator who never joined) meet a PUBLIC and a PRIVATE community on every read path and every
write path. The tables below are the rules; each test walks its table and lists every cell the
app gets wrong. A denied read must look exactly like a missing object: null, absent from lists,
the same counts, the same error; a denied write must change nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from typing import Any, TypeAlias, TypeVar

import httpx
import pytest
from starlette.applications import Starlette

from models.db import Database
from models.event import stream_position
from models.member import Role
from schema.events import encode_event_cursor
from schema.relay import decode_int_id, encode_id
from subscriptions.events import thread_stream
from tests.conftest import Factory, gql
from tests.conftest import TestMember as Person  # (a name pytest does not collect)
from tests.discussions import CREATE_POST, CREATE_THREAD, community, join, ok, post, thread
from tests.live import Socket, connect


class Viewer(enum.Enum):
    ANONYMOUS = "anonymous"
    OUTSIDER = "outsider"
    MEMBER = "member"
    AUTHOR = "author"
    COMMUNITY_MODERATOR = "community moderator"
    GLOBAL_MODERATOR = "global moderator"


class Visibility(enum.Enum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


class Outcome(enum.Enum):
    """What a write does for a viewer. AS_MISSING: the whole answer equals the answer for an ID
    that exists nowhere (for anonymous viewers both say "sign in")."""

    DONE = "done"
    SIGN_IN = "refused: UNAUTHENTICATED"
    NOT_ALLOWED = "refused: NOT_ALLOWED"
    AS_MISSING = "refused exactly as for a nonexistent object"

    @property
    def code(self) -> str | None:
        """The error code of a plain refusal."""
        return {"SIGN_IN": "UNAUTHENTICATED", "NOT_ALLOWED": "NOT_ALLOWED"}.get(self.name)


T = TypeVar("T")
#: viewer -> (cell for a PUBLIC community, cell for a PRIVATE community)
Table: TypeAlias = dict[Viewer, tuple[T, T]]


def cell(table: Table[T], viewer: Viewer, visibility: Visibility) -> T:
    public, private = table[viewer]
    return public if visibility is Visibility.PUBLIC else private


YES, NO = True, False
DONE, SIGN_IN = Outcome.DONE, Outcome.SIGN_IN
NOT_ALLOWED, AS_MISSING = Outcome.NOT_ALLOWED, Outcome.AS_MISSING

# fmt: off

# --- The rules: reading ------------------------------------------------------------------------

#: That the community exists, its name and description (so signed-in members can ask to join).
SEES_COMMUNITY: Table[bool] = {
    #                            PUBLIC  PRIVATE
    Viewer.ANONYMOUS:           (YES,    NO),
    Viewer.OUTSIDER:            (YES,    YES),
    Viewer.MEMBER:              (YES,    YES),
    Viewer.AUTHOR:              (YES,    YES),
    Viewer.COMMUNITY_MODERATOR: (YES,    YES),
    Viewer.GLOBAL_MODERATOR:    (YES,    YES),
}

#: Its threads, posts, member list and live thread events.
READS_DISCUSSION: Table[bool] = {
    #                            PUBLIC  PRIVATE
    Viewer.ANONYMOUS:           (YES,    NO),
    Viewer.OUTSIDER:            (YES,    NO),
    Viewer.MEMBER:              (YES,    YES),
    Viewer.AUTHOR:              (YES,    YES),
    Viewer.COMMUNITY_MODERATOR: (YES,    YES),
    Viewer.GLOBAL_MODERATOR:    (YES,    YES),
}

#: The text (and earlier versions) of a deleted post; others see a placeholder, if anything.
READS_DELETED_TEXT: Table[bool] = {
    #                            PUBLIC  PRIVATE
    Viewer.ANONYMOUS:           (NO,     NO),
    Viewer.OUTSIDER:            (NO,     NO),
    Viewer.MEMBER:              (NO,     NO),
    Viewer.AUTHOR:              (NO,     NO),   # not even the one who wrote it
    Viewer.COMMUNITY_MODERATOR: (YES,    YES),
    Viewer.GLOBAL_MODERATOR:    (YES,    YES),
}

# --- The rules: writing ------------------------------------------------------------------------

#: createThread in the community.
CREATES_THREAD: Table[Outcome] = {
    #                            PUBLIC        PRIVATE
    Viewer.ANONYMOUS:           (SIGN_IN,     AS_MISSING),
    Viewer.OUTSIDER:            (NOT_ALLOWED, NOT_ALLOWED),  # it sees the community exists
    Viewer.MEMBER:              (DONE,        DONE),
    Viewer.AUTHOR:              (DONE,        DONE),
    Viewer.COMMUNITY_MODERATOR: (DONE,        DONE),
    Viewer.GLOBAL_MODERATOR:    (DONE,        DONE),
}

#: createPost in a thread of the community.
CREATES_POST: Table[Outcome] = {
    #                            PUBLIC        PRIVATE
    Viewer.ANONYMOUS:           (SIGN_IN,     AS_MISSING),
    Viewer.OUTSIDER:            (NOT_ALLOWED, AS_MISSING),
    Viewer.MEMBER:              (DONE,        DONE),
    Viewer.AUTHOR:              (DONE,        DONE),
    Viewer.COMMUNITY_MODERATOR: (DONE,        DONE),
    Viewer.GLOBAL_MODERATOR:    (DONE,        DONE),
}

#: editPost on the author's post: authors only; moderators delete, they do not rewrite.
EDITS_POST: Table[Outcome] = {
    #                            PUBLIC        PRIVATE
    Viewer.ANONYMOUS:           (SIGN_IN,     AS_MISSING),
    Viewer.OUTSIDER:            (NOT_ALLOWED, AS_MISSING),
    Viewer.MEMBER:              (NOT_ALLOWED, NOT_ALLOWED),
    Viewer.AUTHOR:              (DONE,        DONE),
    Viewer.COMMUNITY_MODERATOR: (NOT_ALLOWED, NOT_ALLOWED),
    Viewer.GLOBAL_MODERATOR:    (NOT_ALLOWED, NOT_ALLOWED),
}

#: deletePost on the author's post: the author, or a moderator (with a reason).
DELETES_POST: Table[Outcome] = {
    #                            PUBLIC        PRIVATE
    Viewer.ANONYMOUS:           (SIGN_IN,     AS_MISSING),
    Viewer.OUTSIDER:            (NOT_ALLOWED, AS_MISSING),
    Viewer.MEMBER:              (NOT_ALLOWED, NOT_ALLOWED),
    Viewer.AUTHOR:              (DONE,        DONE),
    Viewer.COMMUNITY_MODERATOR: (DONE,        DONE),
    Viewer.GLOBAL_MODERATOR:    (DONE,        DONE),
}

#: moderateThread (PIN) on the author's thread: moderators of the community, or global ones.
MODERATES_THREAD: Table[Outcome] = {
    #                            PUBLIC        PRIVATE
    Viewer.ANONYMOUS:           (SIGN_IN,     AS_MISSING),
    Viewer.OUTSIDER:            (NOT_ALLOWED, AS_MISSING),
    Viewer.MEMBER:              (NOT_ALLOWED, NOT_ALLOWED),
    Viewer.AUTHOR:              (NOT_ALLOWED, NOT_ALLOWED),
    Viewer.COMMUNITY_MODERATOR: (DONE,        DONE),
    Viewer.GLOBAL_MODERATOR:    (DONE,        DONE),
}

# fmt: on


# --- The world: one community, its people, a thread with a live and a deleted reply --------------

LIVE_REPLY = "Employers should pay the fees."
FIRST_THOUGHTS = "Workers should pay, I think."
SECOND_THOUGHTS = "On reflection: nobody should."
MEMBER_COUNT = 4  # the founding moderator, the member, the author, the community moderator
NOWHERE = 999_999  # a key no object has

INVITE = """
mutation($c: ID!, $m: ID!) {
  inviteToCommunity(input: {communityId: $c, memberId: $m}) { ok errors { code } }
}
"""
MAKE_MODERATOR = """
mutation($c: ID!, $m: ID!) {
  setCommunityRole(input: {communityId: $c, memberId: $m, role: MODERATOR}) { ok errors { code } }
}
"""
EDIT_POST = """
mutation($input: EditPostInput!) {
  editPost(input: $input) { post { id body version } currentVersion errors { field code message } }
}
"""
DELETE_POST = """
mutation($input: DeletePostInput!) { deletePost(input: $input) { ok errors { field code message } } }
"""
MODERATE_THREAD = """
mutation($input: ModerateThreadInput!) {
  moderateThread(input: $input) { ok errors { field code message } }
}
"""


@dataclass(frozen=True)
class World:
    visibility: Visibility
    community_id: str
    slug: str
    name: str
    thread_id: str
    post_id: str  # a live reply by the author
    deleted_post_id: str  # a reply the author edited, then deleted
    people: dict[Viewer, Person | None]

    def who(self, viewer: Viewer) -> Person | None:
        return self.people[viewer]

    @property
    def author(self) -> Person:
        return _signed_in(self.people[Viewer.AUTHOR])

    @property
    def global_moderator(self) -> Person:
        return _signed_in(self.people[Viewer.GLOBAL_MODERATOR])

    def missing(self) -> World:
        """The same world with every object replaced by one that does not exist."""
        return replace(
            self,
            community_id=encode_id("Community", NOWHERE),
            slug="no-such-community",
            thread_id=encode_id("Thread", NOWHERE),
            post_id=encode_id("Post", NOWHERE),
            deleted_post_id=encode_id("Post", NOWHERE - 1),
        )


def _signed_in(member: Person | None) -> Person:
    assert member is not None
    return member


async def build_world(client: httpx.AsyncClient, factory: Factory, visibility: Visibility) -> World:
    private = visibility is Visibility.PRIVATE
    slug = f"{visibility.value.lower()}-labour-migration"
    community_id, founder = await community(client, factory, private=private, slug=slug)
    people: dict[Viewer, Person | None] = {
        Viewer.ANONYMOUS: None,
        Viewer.OUTSIDER: await factory.member(name="Outsider"),
        Viewer.MEMBER: await factory.member(name="Member"),
        Viewer.AUTHOR: await factory.member(name="Author"),
        Viewer.COMMUNITY_MODERATOR: await factory.member(name="Community Moderator"),
        Viewer.GLOBAL_MODERATOR: await factory.member(name="Global Moderator", role=Role.MODERATOR),
    }
    for viewer in (Viewer.MEMBER, Viewer.AUTHOR, Viewer.COMMUNITY_MODERATOR):
        member = _signed_in(people[viewer])
        if private:
            await ok(client, INVITE, {"c": community_id, "m": member.global_id}, founder)
        assert (await join(client, community_id, member))["joined"] is True
    moderator = _signed_in(people[Viewer.COMMUNITY_MODERATOR])
    await ok(client, MAKE_MODERATOR, {"c": community_id, "m": moderator.global_id}, founder)
    author = _signed_in(people[Viewer.AUTHOR])
    thread_id = await thread(client, community_id, author)
    reply = await post(client, thread_id, author, LIVE_REPLY)
    regretted = await post(client, thread_id, author, FIRST_THOUGHTS)
    edit = {"postId": regretted["id"], "body": SECOND_THOUGHTS, "expectedVersion": 1}
    await ok(client, EDIT_POST, {"input": edit}, author)
    await ok(client, DELETE_POST, {"input": {"postId": regretted["id"]}}, author)
    return World(
        visibility=visibility,
        community_id=community_id,
        slug=slug,
        name=slug.replace("-", " ").title(),
        thread_id=thread_id,
        post_id=reply["id"],
        deleted_post_id=regretted["id"],
        people=people,
    )


def where(visibility: Visibility, viewer: Viewer) -> str:
    return f"{viewer.value} on {visibility.value}"


def assert_no_wrong_cells(what: str, wrong: list[str]) -> None:
    assert len(wrong) == 0, f"{len(wrong)} wrong cell(s) in {what}:\n  " + "\n  ".join(wrong)


VISIBILITIES = pytest.mark.parametrize("visibility", list(Visibility), ids=lambda v: v.value)


# --- Reading -------------------------------------------------------------------------------------


def reads(viewer: Viewer, world: World) -> bool:
    return cell(READS_DISCUSSION, viewer, world.visibility)


def reads_deleted(viewer: Viewer, world: World) -> bool:
    return cell(READS_DELETED_TEXT, viewer, world.visibility)


def deleted_text(viewer: Viewer, world: World, text: str) -> str | None:
    return text if reads_deleted(viewer, world) else None


@dataclass(frozen=True)
class ReadPath:
    """One way to read. An allowed viewer gets `shown`; any other gets what the same query
    answers for objects that do not exist (or `hidden`, for a list without the object)."""

    name: str
    query: str
    rule: Table[bool]
    variables: Callable[[World], dict[str, Any]]
    shown: Callable[[World, Viewer], dict[str, Any]]
    hidden: dict[str, Any] | None = None


def _typed(type_name: str, global_id: str) -> dict[str, str]:
    return {"__typename": type_name, "id": global_id}


NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
READ_PATHS = [
    ReadPath(
        "community(id:)",
        """query($id: ID!) {
          community(id: $id) { id name description visibility members { totalCount } }
        }""",
        SEES_COMMUNITY,
        lambda w: {"id": w.community_id},
        lambda w, v: {
            "community": {
                "id": w.community_id,
                "name": w.name,
                "description": "",
                "visibility": w.visibility.value,
                "members": {"totalCount": MEMBER_COUNT if reads(v, w) else 0},
            }
        },
    ),
    ReadPath(
        "community(slug:)",
        "query($slug: String!) { community(slug: $slug) { id name } }",
        SEES_COMMUNITY,
        lambda w: {"slug": w.slug},
        lambda w, v: {"community": {"id": w.community_id, "name": w.name}},
    ),
    ReadPath(
        "node(id:) of the Community",
        NODE,
        SEES_COMMUNITY,
        lambda w: {"id": w.community_id},
        lambda w, v: {"node": _typed("Community", w.community_id)},
    ),
    ReadPath(
        "communities",
        "{ communities(first: 100) { totalCount nodes { id } } }",
        SEES_COMMUNITY,
        lambda w: {},
        lambda w, v: {"communities": {"totalCount": 1, "nodes": [{"id": w.community_id}]}},
        hidden={"communities": {"totalCount": 0, "nodes": []}},
    ),
    ReadPath(
        "thread(id:)",
        "query($id: ID!) { thread(id: $id) { id title replyCount community { id } } }",
        READS_DISCUSSION,
        lambda w: {"id": w.thread_id},
        lambda w, v: {
            "thread": {
                "id": w.thread_id,
                "title": "Fair recruitment fees",
                "replyCount": 1,
                "community": {"id": w.community_id},
            }
        },
    ),
    ReadPath(
        "node(id:) of the Thread",
        NODE,
        READS_DISCUSSION,
        lambda w: {"id": w.thread_id},
        lambda w, v: {"node": _typed("Thread", w.thread_id)},
    ),
    ReadPath(
        "node(id:) of a Post",
        NODE,
        READS_DISCUSSION,
        lambda w: {"id": w.post_id},
        lambda w, v: {"node": _typed("Post", w.post_id)},
    ),
    ReadPath(
        "nodes(ids:) of the Thread and a Post",
        "query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }",
        READS_DISCUSSION,
        lambda w: {"ids": [w.thread_id, w.post_id]},
        lambda w, v: {"nodes": [_typed("Thread", w.thread_id), _typed("Post", w.post_id)]},
    ),
    ReadPath(
        "threads(communityId:) and its totalCount",
        """query($c: ID!) {
          threads(communityId: $c) {
            totalCount nodes { id } pageInfo { hasNextPage hasPreviousPage }
          }
        }""",
        READS_DISCUSSION,
        lambda w: {"c": w.community_id},
        lambda w, v: {
            "threads": {
                "totalCount": 1,
                "nodes": [{"id": w.thread_id}],
                "pageInfo": {"hasNextPage": False, "hasPreviousPage": False},
            }
        },
    ),
    ReadPath(
        "thread.posts (with the deleted placeholder)",
        """query($id: ID!) {
          thread(id: $id) { posts(first: 50) { totalCount nodes { id isDeleted body } } }
        }""",
        READS_DISCUSSION,
        lambda w: {"id": w.thread_id},
        lambda w, v: {
            "thread": {
                "posts": {
                    "totalCount": 2,
                    "nodes": [
                        {"id": w.post_id, "isDeleted": False, "body": LIVE_REPLY},
                        {
                            "id": w.deleted_post_id,
                            "isDeleted": True,
                            "body": deleted_text(v, w, SECOND_THOUGHTS),
                        },
                    ],
                }
            }
        },
    ),
    ReadPath(
        "node(id:) of the deleted Post: its text and revisions",
        """query($id: ID!) {
          node(id: $id) { ... on Post { isDeleted body bodyHtml revisions { body } } }
        }""",
        READS_DISCUSSION,
        lambda w: {"id": w.deleted_post_id},
        lambda w, v: {
            "node": {
                "isDeleted": True,
                "body": deleted_text(v, w, SECOND_THOUGHTS),
                "bodyHtml": deleted_text(v, w, f"<p>{SECOND_THOUGHTS}</p>\n"),
                "revisions": [{"body": FIRST_THOUGHTS}] if reads_deleted(v, w) else [],
            }
        },
    ),
]


async def data_of(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], member: Person | None
) -> Any:
    body = await gql(client, query, variables, member=member)
    return body if "errors" in body else body["data"]


@VISIBILITIES
@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in READ_PATHS])
async def test_each_viewer_reads_exactly_what_the_rules_allow(
    client: httpx.AsyncClient, factory: Factory, path: ReadPath, visibility: Visibility
) -> None:
    world = await build_world(client, factory, visibility)
    nowhere = world.missing()
    wrong = []
    for viewer in Viewer:
        member = world.who(viewer)
        actual = await data_of(client, path.query, path.variables(world), member)
        if cell(path.rule, viewer, visibility):
            expected = path.shown(world, viewer)
            if actual != expected:
                wrong.append(f"{where(visibility, viewer)}: WRONG: got {actual}, not {expected}")
            continue
        expected = path.hidden or await data_of(client, path.query, path.variables(nowhere), member)
        if actual != expected:
            wrong.append(f"{where(visibility, viewer)}: LEAK: got {actual}, not {expected}")
    assert_no_wrong_cells(path.name, wrong)


# --- Live: threadEvents ----------------------------------------------------------------------------

THREAD_EVENTS = """
subscription($threadId: ID!, $after: String) {
  threadEvents(threadId: $threadId, after: $after) {
    __typename ... on ThreadEvent { kind post { id isDeleted body } }
  }
}
"""


async def cursor_of_now(db: Database, thread_id: str) -> str:
    """The cursor of the thread's latest event: subscribing after it starts the stream now,
    with no race between the subscription starting and the next post."""
    stream = thread_stream(decode_int_id(thread_id, "Thread") or 0)
    async with db.sessions() as session:
        seq, _ = await stream_position(session, stream)
    return encode_event_cursor(stream, seq)


async def refusal(socket: Socket, thread_id: str) -> list[dict[str, Any]]:
    """The two messages a refused subscription gets (an error, then complete), without ids."""
    await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id})
    messages = [await socket.receive(2), await socket.receive(2)]
    return [{k: v for k, v in m.items() if k != "id"} for m in messages]


async def next_event(socket: Socket) -> Any:
    try:
        message = await socket.receive()
    except TimeoutError:
        return "nothing within 5 s"
    if message["type"] != "next" or "errors" in message["payload"]:
        return message
    return message["payload"]["data"]["threadEvents"]


@VISIBILITIES
async def test_thread_events_reach_readers_and_are_refused_to_others_like_a_missing_thread(
    app: Starlette,
    client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    visibility: Visibility,
) -> None:
    world = await build_world(client, factory, visibility)
    now = await cursor_of_now(db, world.thread_id)
    wrong = []
    async with AsyncExitStack() as stack:
        watching: dict[Viewer, Socket] = {}
        for viewer in Viewer:
            member = world.who(viewer)
            socket = await stack.enter_async_context(connect(app, member.token if member else None))
            if reads(viewer, world):
                await socket.subscribe(THREAD_EVENTS, {"threadId": world.thread_id, "after": now})
                watching[viewer] = socket
                continue
            try:
                refused = await refusal(socket, world.thread_id)
                missing = await refusal(socket, world.missing().thread_id)
            except TimeoutError:
                wrong.append(f"{where(visibility, viewer)}: LEAK: the subscription started")
                continue
            if refused != missing:
                wrong.append(f"{where(visibility, viewer)}: LEAK: got {refused}, not {missing}")

        # when: the author replies, then deletes the reply
        reply = await post(client, world.thread_id, world.author, "Said live.")
        for viewer, socket in watching.items():
            created = {"id": reply["id"], "isDeleted": False, "body": "Said live."}
            expected = {"__typename": "ThreadEvent", "kind": "POST_CREATED", "post": created}
            if (event := await next_event(socket)) != expected:
                wrong.append(f"{where(visibility, viewer)}: WRONG: got {event}, not {expected}")
        await ok(client, DELETE_POST, {"input": {"postId": reply["id"]}}, world.author)
        for viewer, socket in watching.items():
            text = deleted_text(viewer, world, "Said live.")
            deleted = {"id": reply["id"], "isDeleted": True, "body": text}
            expected = {"__typename": "ThreadEvent", "kind": "POST_DELETED", "post": deleted}
            if (event := await next_event(socket)) != expected:
                kind = "LEAK" if text is None else "WRONG"
                wrong.append(f"{where(visibility, viewer)}: {kind}: got {event}, not {expected}")
    assert_no_wrong_cells("threadEvents", wrong)


# --- Writing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WritePath:
    """One way to write: each viewer acts on a target of its own (`target`), with a `marker` of
    its own; `took_effect` asks the global moderator whether anything changed."""

    name: str
    mutation: str
    rule: Table[Outcome]
    target: Callable[[httpx.AsyncClient, World, Viewer], Awaitable[str]]
    input: Callable[[str, str], dict[str, Any]]
    missing: Callable[[World], str]
    took_effect: Callable[[httpx.AsyncClient, World, str, str], Awaitable[bool]]


async def read_as_global_moderator(
    client: httpx.AsyncClient, world: World, query: str, variables: dict[str, Any]
) -> Any:
    body = await gql(client, query, variables, member=world.global_moderator)
    assert "errors" not in body, body
    return body["data"]


async def _community(client: httpx.AsyncClient, world: World, viewer: Viewer) -> str:
    return world.community_id


async def _thread(client: httpx.AsyncClient, world: World, viewer: Viewer) -> str:
    return world.thread_id


async def _own_post(client: httpx.AsyncClient, world: World, viewer: Viewer) -> str:
    """A fresh post of the author's, for this viewer to act on."""
    return str((await post(client, world.thread_id, world.author, f"For the {viewer.value}"))["id"])


async def _own_thread(client: httpx.AsyncClient, world: World, viewer: Viewer) -> str:
    """A fresh thread of the author's, for this viewer to act on."""
    return await thread(client, world.community_id, world.author, f"For the {viewer.value}")


async def _thread_titled(
    client: httpx.AsyncClient, world: World, community_id: str, marker: str
) -> bool:
    query = "query($c: ID!) { threads(communityId: $c, first: 100) { nodes { title } } }"
    data = await read_as_global_moderator(client, world, query, {"c": community_id})
    return marker in [t["title"] for t in data["threads"]["nodes"]]


async def _post_written(
    client: httpx.AsyncClient, world: World, thread_id: str, marker: str
) -> bool:
    query = "query($t: ID!) { thread(id: $t) { posts(first: 100) { nodes { body } } } }"
    data = await read_as_global_moderator(client, world, query, {"t": thread_id})
    return marker in [p["body"] for p in data["thread"]["posts"]["nodes"]]


async def _post_state(client: httpx.AsyncClient, world: World, post_id: str) -> dict[str, Any]:
    query = "query($p: ID!) { node(id: $p) { ... on Post { body isDeleted } } }"
    data = await read_as_global_moderator(client, world, query, {"p": post_id})
    state: dict[str, Any] = data["node"]
    return state


async def _post_rewritten(
    client: httpx.AsyncClient, world: World, post_id: str, marker: str
) -> bool:
    return bool((await _post_state(client, world, post_id))["body"] == marker)


async def _post_deleted(client: httpx.AsyncClient, world: World, post_id: str, _: str) -> bool:
    return bool((await _post_state(client, world, post_id))["isDeleted"])


async def _thread_pinned(client: httpx.AsyncClient, world: World, thread_id: str, _: str) -> bool:
    query = "query($t: ID!) { node(id: $t) { ... on Thread { pinned } } }"
    data = await read_as_global_moderator(client, world, query, {"t": thread_id})
    return bool(data["node"]["pinned"])


WRITE_PATHS = [
    WritePath(
        "createThread",
        CREATE_THREAD,
        CREATES_THREAD,
        _community,
        lambda target, marker: {"communityId": target, "title": marker, "body": "Opening."},
        lambda w: w.missing().community_id,
        _thread_titled,
    ),
    WritePath(
        "createPost",
        CREATE_POST,
        CREATES_POST,
        _thread,
        lambda target, marker: {"threadId": target, "body": marker},
        lambda w: w.missing().thread_id,
        _post_written,
    ),
    WritePath(
        "editPost",
        EDIT_POST,
        EDITS_POST,
        _own_post,
        lambda target, marker: {"postId": target, "body": marker, "expectedVersion": 1},
        lambda w: w.missing().post_id,
        _post_rewritten,
    ),
    WritePath(
        "deletePost",
        DELETE_POST,
        DELETES_POST,
        _own_post,
        lambda target, marker: {"postId": target, "reason": "Off topic"},
        lambda w: w.missing().post_id,
        _post_deleted,
    ),
    WritePath(
        "moderateThread (PIN)",
        MODERATE_THREAD,
        MODERATES_THREAD,
        _own_thread,
        lambda target, marker: {"threadId": target, "action": "PIN", "reason": "Important"},
        lambda w: w.missing().thread_id,
        _thread_pinned,
    ),
]


async def payload_of(
    client: httpx.AsyncClient, mutation: str, input: dict[str, Any], member: Person | None
) -> dict[str, Any]:
    body = await gql(client, mutation, {"input": input}, member=member)
    if "errors" in body:
        return {"request errors": body["errors"]}
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


def verdict(
    expected: Outcome, payload: dict[str, Any], missing_payload: Any, took_effect: bool
) -> str | None:
    """None when the write went as the rule says; else what went wrong, labelled."""
    if "errors" not in payload:
        return f"WRONG: a request error {payload}"
    codes = [e["code"] for e in payload["errors"]]
    changed = "changed something" if took_effect else "changed nothing"
    story = f"{changed} and answered {payload}; the rule says {expected.value}"
    if expected is DONE:
        return None if codes == [] and took_effect else f"WRONG REFUSAL: {story}"
    if expected is AS_MISSING:
        if took_effect or payload != missing_payload:
            return f"LEAK: {story}, answered for a missing one: {missing_payload}"
        return None
    if took_effect:
        return f"LEAK: {story}"
    return None if codes == [expected.code] else f"WRONG CODE: {story}"


@VISIBILITIES
@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in WRITE_PATHS])
async def test_each_viewer_writes_exactly_what_the_rules_allow(
    client: httpx.AsyncClient, factory: Factory, path: WritePath, visibility: Visibility
) -> None:
    world = await build_world(client, factory, visibility)
    wrong = []
    for viewer in Viewer:
        member, rule = world.who(viewer), cell(path.rule, viewer, visibility)
        target, marker = await path.target(client, world, viewer), f"By the {viewer.value}"
        nowhere = path.input(path.missing(world), marker)
        as_missing = await payload_of(client, path.mutation, nowhere, member)
        answer = await payload_of(client, path.mutation, path.input(target, marker), member)
        took_effect = await path.took_effect(client, world, target, marker)
        if (problem := verdict(rule, answer, as_missing, took_effect)) is not None:
            wrong.append(f"{where(visibility, viewer)}: {problem}")
    assert_no_wrong_cells(path.name, wrong)
