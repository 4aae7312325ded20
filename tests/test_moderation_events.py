"""`moderationEvents`: what arrives for moderators, live and resumable, scoped by the policy
(global staff everything; a community's moderators that community's flags and join requests;
nobody else anything)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from models.member import Role
from tests import knowledge, support
from tests.conftest import Factory, gql
from tests.discussions import community, join, ok, post, thread
from tests.live import Socket, connect

if TYPE_CHECKING:
    from tests.conftest import TestMember

MODERATION_EVENTS = """
subscription($after: String) {
  moderationEvents(after: $after) {
    __typename
    ... on ModerationEvent {
      cursor kind reason flagId joinRequestId
      community { name } member { name } post { body }
      reviewItem { title } supportRequest { title }
    }
    ... on ResyncRequired { message }
  }
}
"""
CURSOR = "{ moderationCursor }"
FLAG = "mutation($p: ID!, $r: String!) { flagContent(input: {postId: $p, reason: $r}) { ok errors { code } } }"
SET_COMMUNITY_ROLE = """
mutation($c: ID!, $m: ID!) {
  setCommunityRole(input: {communityId: $c, memberId: $m, role: MODERATOR}) { errors { code } }
}
"""
JOIN_PRIVATE = """
mutation($id: ID!) {
  joinCommunity(input: {communityId: $id, message: "I run the return programme"}) { pending errors { code } }
}
"""


async def cursor(client: httpx.AsyncClient, member: TestMember) -> str | None:
    body = await gql(client, CURSOR, member=member)
    value: str | None = body["data"]["moderationCursor"]
    return value


async def flagged_post(
    client: httpx.AsyncClient, community_id: str, author: TestMember, flagger: TestMember, text: str
) -> str:
    thread_id = await thread(client, community_id, author, title=f"About {text}")
    created = await post(client, thread_id, author, text)
    await ok(client, FLAG, {"p": created["id"], "r": f"Spam: {text}"}, flagger)
    return str(created["id"])


async def events(socket: Socket, count: int) -> list[dict[str, Any]]:
    return [p["moderationEvents"] for p in await socket.next_payloads(count)]


async def test_a_global_moderator_receives_every_kind_of_moderation_event(app, client, factory):
    # given a global moderator following moderation events from now on
    community_id, moderator = await community(client, factory)
    private_id, _ = await community(client, factory, private=True, slug="return-programme")
    member = await factory.member(name="Careful Reader")
    await join(client, community_id, member)
    people = await knowledge.cast(factory)
    government = await support.government(factory)
    after = await cursor(client, moderator)
    assert after is not None
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(MODERATION_EVENTS, {"after": after})
        # when a post is flagged, a member asks to join a private community, a resource is
        # submitted for review and a government asks for support
        await flagged_post(client, community_id, member, member, "cheap visas")
        asked = await gql(client, JOIN_PRIVATE, {"id": private_id}, member=member)
        assert asked["data"]["joinCommunity"]["pending"] is True
        await knowledge.submitted(client, people.author, title="Toolkit on fees")
        await support.submit(client, government.requester, title="Help with data")
        received = await events(socket, 4)
    # then each arrives, in order, with what the moderator needs to act on it
    assert [e["kind"] for e in received] == [
        "FLAG_RAISED",
        "JOIN_REQUESTED",
        "REVIEW_SUBMITTED",
        "SUPPORT_REQUESTED",
    ]
    flag, join_request, review, request = received
    assert flag["post"] == {"body": "cheap visas"}
    assert flag["reason"] == "Spam: cheap visas"
    assert flag["member"] == {"name": "Careful Reader"}
    assert flag["flagId"] is not None
    assert join_request["community"] == {"name": "Return Programme"}
    assert join_request["reason"] == "I run the return programme"
    assert join_request["joinRequestId"] is not None
    assert review["reviewItem"] == {"title": "Toolkit on fees"}
    assert request["supportRequest"] == {"title": "Help with data"}


async def test_a_community_moderator_receives_only_their_communitys_flags_and_join_requests(
    app, client, factory: Factory
):
    # given two communities, and a member who moderates only the first
    first_id, staff = await community(client, factory, slug="fair-recruitment")
    second_id, _ = await community(client, factory, slug="migration-data")
    local = await factory.member(name="Local Moderator")
    await join(client, first_id, local)
    await ok(client, SET_COMMUNITY_ROLE, {"c": first_id, "m": local.global_id}, staff)
    member = await factory.member(name="Careful Reader")
    await join(client, first_id, member)
    await join(client, second_id, member)
    government = await support.government(factory)
    after = await cursor(client, local)
    assert after is not None
    async with connect(app, local.token) as socket:
        await socket.subscribe(MODERATION_EVENTS, {"after": after})
        # when posts are flagged in both, and a government asks for support
        await flagged_post(client, second_id, member, member, "elsewhere")
        await support.submit(client, government.requester, title="Not for community moderators")
        await flagged_post(client, first_id, member, member, "here")
        received = await events(socket, 1)
    # then only their own community's flag arrives
    assert [(e["kind"], e["post"]) for e in received] == [("FLAG_RAISED", {"body": "here"})]


async def refusal(app: Any, token: str | None) -> str:
    """The error code a subscription to moderation events is refused with."""
    async with connect(app, token) as socket:
        await socket.subscribe(MODERATION_EVENTS, {"after": None})
        message = await socket.receive()
    assert message["payload"].get("data") is None, message
    (error,) = message["payload"]["errors"]
    return str(error["extensions"]["code"])


async def test_plain_members_and_reviewers_cannot_follow_moderation_events(app, client, factory):
    # given a flag already waiting in a community
    community_id, _ = await community(client, factory)
    member = await factory.member()
    await join(client, community_id, member)
    await flagged_post(client, community_id, member, member, "waiting")
    for role in (Role.MEMBER, Role.REVIEWER):
        viewer = await factory.member(role=role)
        # then they get no cursor, and the subscription reads like a missing one
        assert await cursor(client, viewer) is None
        assert await refusal(app, viewer.token) == "NOT_FOUND"
    assert await refusal(app, None) == "UNAUTHENTICATED"


async def test_moderation_events_resume_after_the_last_cursor_received(app, client, factory):
    # given a moderator who received one flag, then went away
    community_id, moderator = await community(client, factory)
    member = await factory.member()
    await join(client, community_id, member)
    start = await cursor(client, moderator)
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(MODERATION_EVENTS, {"after": start})
        await flagged_post(client, community_id, member, member, "first")
        (first,) = await events(socket, 1)
    # when two more flags are raised while they are away, and they come back with the cursor
    await flagged_post(client, community_id, member, member, "second")
    await flagged_post(client, community_id, member, member, "third")
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(MODERATION_EVENTS, {"after": first["cursor"]})
        resumed = await events(socket, 2)
    # then they receive exactly what they missed
    assert [e["post"]["body"] for e in resumed] == ["second", "third"]


async def test_flagging_a_post_twice_raises_one_moderation_event(app, client, factory):
    community_id, moderator = await community(client, factory)
    member = await factory.member()
    await join(client, community_id, member)
    start = await cursor(client, moderator)
    thread_id = await thread(client, community_id, member)
    created = await post(client, thread_id, member, "once")
    await ok(client, FLAG, {"p": created["id"], "r": "Spam"}, member)
    await ok(client, FLAG, {"p": created["id"], "r": "Spam"}, member)
    assert await cursor(client, moderator) != start
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(MODERATION_EVENTS, {"after": start})
        (only,) = await events(socket, 1)
        await flagged_post(client, community_id, member, member, "next")
        (following,) = await events(socket, 1)
    assert only["post"] == {"body": "once"}
    assert following["post"] == {"body": "next"}
