"""Regression tests for four paths that reached people who may not see the subject (issue 11):
following a private community one is not in, mentions of non-members, a private community's
activity cursor, and counts that did not say which rule they follow. Each ran on SQLite and on
PostgreSQL + Redis, and failed, before the fix."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from models.member import Role
from schema.relay import encode_id
from tests import knowledge
from tests.conftest import Factory, gql
from tests.conftest import TestMember as Person
from tests.discussions import community, join, ok, post, thread
from tests.live import connect

FOLLOW = """
mutation($t: ID!) { follow(input: {targetId: $t, level: WATCHING}) { level errors { field code message } } }
"""
INVITE = """
mutation($c: ID!, $m: ID!) { inviteToCommunity(input: {communityId: $c, memberId: $m}) { ok errors { code } } }
"""
LEAVE = "mutation($c: ID!) { leaveCommunity(input: {communityId: $c}) { errors { code } } }"
NOTIFICATIONS = """
{ unreadNotificationCount
  notifications { totalCount nodes { kind actor { name } community { name } thread { title } } } }
"""
RECEIVED = """
subscription { notificationReceived {
  __typename ... on NotificationEvent { notification { kind thread { title } } } } }
"""
RECEIVED_AFTER = """
subscription($after: String) { notificationReceived(after: $after) {
  __typename ... on NotificationEvent { notification { kind thread { title } } } } }
"""
CURSOR = "query($c: ID!) { node(id: $c) { ... on Community { name eventCursor } } }"
NOWHERE = encode_id("Community", 999_999)


async def private_community(
    client: httpx.AsyncClient, factory: Factory, *members: Person
) -> tuple[str, Person]:
    community_id, founder = await community(client, factory, private=True, slug="private-circle")
    for member in members:
        await ok(client, INVITE, {"c": community_id, "m": member.global_id}, founder)
        assert (await join(client, community_id, member))["joined"] is True
    return community_id, founder


async def notifications_of(client: httpx.AsyncClient, member: Person) -> dict[str, Any]:
    body = await gql(client, NOTIFICATIONS, member=member)
    assert "errors" not in body, body
    return dict(body["data"])


async def test_following_a_private_community_one_is_not_in_answers_like_a_missing_id(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
) -> None:
    outsider = await factory.member(name="Outsider")
    community_id, founder = await private_community(client, factory)
    public_id, _ = await community(client, factory, slug="open-forum")
    public_thread = await thread(client, public_id, founder, "Open to all")

    refused = (await gql(client, FOLLOW, {"t": community_id}, member=outsider))["data"]
    missing = (await gql(client, FOLLOW, {"t": NOWHERE}, member=outsider))["data"]
    assert refused == missing
    assert refused["follow"]["errors"][0]["code"] == "NOT_FOUND"

    await ok(client, FOLLOW, {"t": public_thread}, outsider)
    async with connect(app, outsider.token) as socket:
        await socket.subscribe(RECEIVED, {})
        await thread(client, community_id, founder, "Budget of the private circle")
        # Something the outsider may see, after: the first thing they receive must be it.
        await post(client, public_thread, founder, "A public reply")
        [event] = await socket.next_payloads(1)
    assert event["notificationReceived"]["notification"]["thread"] == {"title": "Open to all"}
    seen = await notifications_of(client, outsider)
    assert [n["kind"] for n in seen["notifications"]["nodes"]] == ["REPLY"]
    assert seen["unreadNotificationCount"] == seen["notifications"]["totalCount"] == 1


async def test_a_follower_who_left_a_private_community_hears_nothing_more_from_it(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
) -> None:
    member = await factory.member(name="Former Member")
    community_id, founder = await private_community(client, factory, member)
    public_id, _ = await community(client, factory, slug="open-forum")
    public_thread = await thread(client, public_id, founder, "Open to all")
    await ok(client, FOLLOW, {"t": public_thread}, member)
    await ok(client, FOLLOW, {"t": community_id}, member)
    before = (await gql(client, "{ notificationCursor }", member=member))["data"]
    await thread(client, community_id, founder, "While a member")
    kinds = [n["kind"] for n in (await notifications_of(client, member))["notifications"]["nodes"]]
    assert kinds == ["NEW_THREAD"]

    await ok(client, LEAVE, {"c": community_id}, member)
    await thread(client, community_id, founder, "After leaving")
    # Neither the new thread nor, now, the old one: a notification about what one may no
    # longer see reads as gone, in the list, its count and the unread count...
    assert await notifications_of(client, member) == {
        "unreadNotificationCount": 0,
        "notifications": {"totalCount": 0, "nodes": []},
    }
    # ... and live: replaying from before it, the first notification sent is the next visible one.
    async with connect(app, member.token) as socket:
        await socket.subscribe(RECEIVED_AFTER, {"after": before["notificationCursor"]})
        await post(client, public_thread, founder, "A public reply")
        [event] = await socket.next_payloads(1)
    assert event["notificationReceived"]["notification"]["thread"] == {"title": "Open to all"}


async def test_mentioning_a_non_member_in_a_private_community_tells_them_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    author = await factory.member(name="Author")
    colleague = await factory.member(name="Colleague")
    stranger = await factory.member(name="Stranger")
    community_id, _ = await private_community(client, factory, author, colleague)
    thread_id = await thread(client, community_id, author)
    await post(
        client,
        thread_id,
        author,
        f"@[Colleague]({colleague.global_id}) and @[Stranger]({stranger.global_id}), see this.",
    )
    assert [
        n["kind"] for n in (await notifications_of(client, colleague))["notifications"]["nodes"]
    ] == ["MENTION"]
    assert await notifications_of(client, stranger) == {
        "unreadNotificationCount": 0,
        "notifications": {"totalCount": 0, "nodes": []},
    }


async def test_a_private_communitys_event_cursor_is_for_those_who_may_watch_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    member = await factory.member(name="Member")
    outsider = await factory.member(name="Outsider")
    global_moderator = await factory.member(name="Global", role=Role.MODERATOR)
    community_id, founder = await private_community(client, factory, member)

    async def cursor(viewer: Person) -> Any:
        body = await gql(client, CURSOR, {"c": community_id}, member=viewer)
        assert "errors" not in body, body
        return body["data"]["node"]

    before = await cursor(outsider)
    assert before == {"name": "Private Circle", "eventCursor": None}
    await thread(client, community_id, founder, "Activity")
    assert await cursor(outsider) == before  # nothing in it moves with the activity
    for reader in (member, founder, global_moderator):
        assert (await cursor(reader))["eventCursor"] is not None
    # Anonymous readers do not see the private community at all.
    assert (await gql(client, CURSOR, {"c": community_id}))["data"] == {"node": None}


OBJECTIVE_COUNTS = """
query($n: Int!) { gcmObjective(number: $n) {
  resourceCount initiativeCount expertCount
  resources { totalCount } initiatives { totalCount } experts { totalCount } } }
"""
RESOURCES = """
query($n: Int!) { resources(filter: {objectives: [$n]}) { totalCount }
  initiatives(filter: {objectives: [$n]}) { totalCount } }
"""


async def test_an_objectives_counts_are_the_totals_of_its_lists_for_every_viewer(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    """The rule: a count is the `totalCount` of the list it summarises, for the same viewer. An
    objective's lists (and so its counts) are its published record: a draft or an item in
    review counts for nobody there, not its author, reviewer or a moderator, just as it is in
    none of those lists (`resources(filter: {states: ...})` is where they find their own)."""
    people = await knowledge.cast(factory)
    await factory.member(name="Expert", is_expert=True, expertise=(5,))
    await factory.member(name="Quiet", expertise=(5,))
    await knowledge.published(client, people, objectives=[5])
    await knowledge.draft(client, people.author, "Draft on remittances", objectives=[5])
    in_review = await knowledge.submitted(client, people.author, objectives=[5])
    await knowledge.assign(client, people.moderator, in_review, people.cso_reviewer)

    viewers = {
        "anonymous": None,
        "member": people.member,
        "author": people.author,
        "reviewer": people.cso_reviewer,
        "moderator": people.moderator,
    }
    seen: dict[str, tuple[int, ...]] = {}
    for name, viewer in viewers.items():
        body = await gql(client, OBJECTIVE_COUNTS, {"n": 5}, member=viewer)
        lists = (await gql(client, RESOURCES, {"n": 5}, member=viewer))["data"]
        objective = body["data"]["gcmObjective"]
        assert objective["resourceCount"] == objective["resources"]["totalCount"], name
        assert objective["resourceCount"] == lists["resources"]["totalCount"], name
        assert objective["initiativeCount"] == objective["initiatives"]["totalCount"], name
        assert objective["initiativeCount"] == lists["initiatives"]["totalCount"], name
        assert objective["expertCount"] == objective["experts"]["totalCount"], name
        seen[name] = (objective["resourceCount"], objective["initiativeCount"])
    assert set(seen.values()) == {(1, 0)}, seen
