"""Search obeys the same visibility as every other path: 0 leaks in hits, snippets, facet counts
and totals, for anonymous visitors, signed-in outsiders, members of a private community and
global moderators; deleted posts and threads are found by nobody."""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from models.member import Role
from tests.conftest import Factory, gql
from tests.conftest import TestMember as Person  # (a name pytest does not collect)
from tests.discussions import join, ok
from tests.search_corpus import create_community, create_post, create_thread, profile, run_search

INVITE = """
mutation($c: ID!, $m: ID!) {
  inviteToCommunity(input: {communityId: $c, memberId: $m}) { ok errors { code } }
}
"""
DELETE_POST = "mutation($id: ID!) { deletePost(input: {postId: $id}) { errors { code } } }"
DELETE_THREAD = """
mutation($id: ID!) {
  moderateThread(input: {threadId: $id, action: DELETE, reason: "Spam."}) { errors { code } }
}
"""


class Viewer(enum.Enum):
    ANONYMOUS = "anonymous"
    OUTSIDER = "signed-in outsider"
    INSIDER = "member of the private community"
    MODERATOR = "global moderator"


@dataclass
class World:
    people: dict[Viewer, Person | None]
    items: dict[str, str]


# Which items each viewer finds for "visa quotas".
FINDS = {
    Viewer.ANONYMOUS: {"public thread", "public post", "expert"},
    Viewer.OUTSIDER: {"public thread", "public post", "expert", "non-expert"},
    Viewer.INSIDER: {
        "public thread",
        "public post",
        "expert",
        "non-expert",
        "private thread",
        "private post",
    },
    Viewer.MODERATOR: {
        "public thread",
        "public post",
        "expert",
        "non-expert",
        "private thread",
        "private post",
    },
}
SECRET_WORDS = ("confidential", "whispered", "erased", "removed")


async def build_world(client: httpx.AsyncClient, factory: Factory) -> World:
    moderator = await factory.member(role=Role.MODERATOR, name="Global Moderator")
    insider = await factory.member(name="Insider")
    outsider = await factory.member(name="Outsider")
    public = await create_community(client, moderator, "open-forum")
    private = await create_community(client, moderator, "closed-room", private=True)
    await ok(client, INVITE, {"c": private, "m": insider.global_id}, moderator)
    await join(client, private, insider)
    await join(client, public, insider)
    items = {
        "public thread": await create_thread(
            client, public, insider, "Visa quotas in the open", "Public talk of visa quotas."
        ),
        "private thread": await create_thread(
            client, private, insider, "Visa quotas consultation", "Confidential visa quotas."
        ),
    }
    items["public post"] = await create_post(
        client, items["public thread"], insider, "A public reply on visa quotas."
    )
    items["private post"] = await create_post(
        client, items["private thread"], insider, "A whispered reply about visa quotas."
    )
    deleted = await create_post(client, items["public thread"], insider, "Erased visa quotas.")
    await ok(client, DELETE_POST, {"id": deleted}, insider)
    gone = await create_thread(client, public, insider, "Removed visa quotas", "Visa quotas.")
    await ok(client, DELETE_THREAD, {"id": gone}, moderator)
    expert = await factory.member(is_expert=True)
    await profile(client, expert, name="Ela Expert", bio="Researches visa quotas.", country="KE")
    hidden = await factory.member()
    await profile(client, hidden, name="Nia Member", bio="Writes on visa quotas.", country="BR")
    items["expert"], items["non-expert"] = expert.global_id, hidden.global_id
    people: dict[Viewer, Person | None] = {
        Viewer.ANONYMOUS: None,
        Viewer.OUTSIDER: outsider,
        Viewer.INSIDER: insider,
        Viewer.MODERATOR: moderator,
    }
    return World(people, items)


def _facet_total(facets: dict[str, Any], dimension: str) -> Counter[str]:
    key = {"kinds": "kind", "countries": "code", "regions": "region", "languages": "tag"}
    return Counter({str(f[key[dimension]]): f["count"] for f in facets[dimension]})


async def test_search_finds_exactly_what_each_viewer_may_see(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    world = await build_world(client, factory)
    names = {global_id: name for name, global_id in world.items.items()}
    wrong = []
    for viewer, member in world.people.items():
        result = await run_search(client, "visa quotas", member, first=100)
        found = {names.get(e["node"]["id"], e["node"]["id"]) for e in result["edges"]}
        if found != FINDS[viewer]:
            wrong.append(f"{viewer.value}: found {sorted(found)}, not {sorted(FINDS[viewer])}")
        if result["totalCount"] != len(FINDS[viewer]):
            wrong.append(f"{viewer.value}: totalCount {result['totalCount']}")
        kinds = _facet_total(result["facets"], "kinds")
        expected_kinds = Counter(name.split()[-1] for name in FINDS[viewer])
        expected_kinds = Counter(
            {
                "THREAD": expected_kinds["thread"],
                "POST": expected_kinds["post"],
                "MEMBER": expected_kinds["expert"] + expected_kinds["non-expert"],
            }
        )
        if kinds != +expected_kinds:
            wrong.append(f"{viewer.value}: kind facets {kinds}, not {+expected_kinds}")
        countries = _facet_total(result["facets"], "countries")
        expected_countries = Counter({"KE": 1, "BR": 1 if "non-expert" in FINDS[viewer] else 0})
        if countries != +expected_countries:
            wrong.append(f"{viewer.value}: country facets {countries}")
        languages = _facet_total(result["facets"], "languages")
        texts = sum(1 for name in FINDS[viewer] if name.endswith(("thread", "post")))
        if languages != Counter({"en": texts}):
            wrong.append(f"{viewer.value}: language facets {languages}")
        for edge in result["edges"]:
            private_text = names.get(edge["node"]["id"], "").startswith("private")
            for word in SECRET_WORDS:
                if word in edge["snippet"].lower() and not (
                    private_text
                    and viewer
                    in (
                        Viewer.INSIDER,
                        Viewer.MODERATOR,
                    )
                ):
                    wrong.append(f"{viewer.value}: snippet leaks {word!r}: {edge['snippet']}")
    assert wrong == []


async def test_a_query_only_hidden_items_match_answers_like_a_query_nothing_matches(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    world = await build_world(client, factory)
    wrong = []
    for viewer in (Viewer.ANONYMOUS, Viewer.OUTSIDER):
        member = world.people[viewer]
        for query in ("confidential", "whispered", "erased", "removed", "Nia", "Confidential visa"):
            if viewer is Viewer.OUTSIDER and query == "Nia":
                continue  # signed-in members see the whole directory
            hidden = await run_search(client, query, member)
            nothing = await run_search(client, "xylophonic", member)
            if hidden != nothing:
                wrong.append(f"{viewer.value} / {query!r}: {hidden}")
    # deleted content is found by nobody, moderators included
    for viewer, member in world.people.items():
        for query in ("erased", "removed"):
            result = await run_search(client, query, member)
            if result["totalCount"] or result["edges"]:
                wrong.append(f"{viewer.value} finds deleted {query!r}: {result}")
    assert wrong == []


async def test_leaving_a_private_community_takes_its_threads_out_of_one_s_results(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    world = await build_world(client, factory)
    insider = world.people[Viewer.INSIDER]
    assert insider is not None
    before = await run_search(client, "confidential", insider)
    assert before["totalCount"] == 1
    communities = await gql(client, '{ community(slug: "closed-room") { id } }', member=insider)
    community_id = communities["data"]["community"]["id"]
    leave = "mutation($id: ID!) { leaveCommunity(input: {communityId: $id}) { errors { code } } }"
    await ok(client, leave, {"id": community_id}, insider)
    after = await run_search(client, "confidential", insider)
    assert (after["totalCount"], after["edges"]) == (0, [])


async def test_replies_of_a_deleted_thread_leave_the_index_with_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    moderator = await factory.member(role=Role.MODERATOR)
    author = await factory.member()
    public = await create_community(client, moderator, "open-forum")
    await join(client, public, author)
    thread_id = await create_thread(client, public, author, "Quarantine rules", "Ports.")
    reply = await create_post(client, thread_id, author, "Zanzibar ferry quarantine notes.")
    assert [e["node"]["id"] for e in (await run_search(client, "Zanzibar", author))["edges"]] == [
        reply
    ]
    # when
    await ok(client, DELETE_THREAD, {"id": thread_id}, moderator)
    # then: nobody finds the thread or its reply, staff included
    for viewer in (None, author, moderator):
        for query in ("Zanzibar", "quarantine"):
            result = await run_search(client, query, viewer)
            assert (result["totalCount"], result["edges"]) == (0, [])


async def test_a_thread_moved_into_a_private_community_is_found_only_by_its_members(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    moderator = await factory.member(role=Role.MODERATOR)
    author = await factory.member()
    outsider = await factory.member()
    public = await create_community(client, moderator, "open-forum")
    private = await create_community(client, moderator, "closed-room", private=True)
    await join(client, public, author)
    thread_id = await create_thread(client, public, author, "Harvest visas", "Orchard work.")
    await create_post(client, thread_id, author, "Orchard contracts in spring.")
    assert (await run_search(client, "orchard", outsider))["totalCount"] == 2
    # when
    move = """mutation($t: ID!, $c: ID!) { moveThread(input: {threadId: $t, toCommunityId: $c,
      reason: "Belongs there."}) { errors { code } } }"""
    await ok(client, move, {"t": thread_id, "c": private}, moderator)
    # then
    hidden = await run_search(client, "orchard", outsider)
    assert (hidden["totalCount"], hidden["edges"], hidden["facets"]["kinds"]) == (0, [], [])
    assert (await run_search(client, "orchard", moderator))["totalCount"] == 2
