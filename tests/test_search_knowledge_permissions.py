"""Search over curated knowledge obeys the domains' own visibility: resources in every review
state x anonymous visitor, member, author, assigned reviewer and moderator (hits, snippets,
facets, totalCount: 0 leaks); community webinars for their community only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import Factory
from tests.conftest import TestMember as Person  # (a name pytest does not collect)
from tests.discussions import join
from tests.knowledge import ARCHIVE, SUBMIT, WITHDRAW, Cast, cast, ok
from tests.search_corpus import create_community
from tests.search_knowledge import (
    assign,
    decide,
    ids,
    resource_draft,
    run_search,
)
from tests.webinars import CREATE_WEBINAR, in_hours


@dataclass(frozen=True)
class Item:
    state: str
    secret: str
    objective: int
    principle: str
    country: str
    assigned: bool


ITEMS = (
    Item("DRAFT", "quillwort", 1, "a", "KE", assigned=False),
    Item("SUBMITTED", "saxifrage", 2, "b", "SN", assigned=False),
    Item("IN_REVIEW", "edelweiss", 3, "c", "MX", assigned=True),
    Item("CHANGES_REQUESTED", "foxglove", 4, "d", "PH", assigned=True),
    Item("APPROVED", "bluebell", 5, "e", "FJ", assigned=True),
    Item("REJECTED", "hemlock", 6, "f", "NP", assigned=True),
    Item("WITHDRAWN", "yarrow", 7, "g", "GH", assigned=True),
    Item("ARCHIVED", "tansy", 8, "h", "LB", assigned=True),
)
VIEWERS = ("anonymous", "member", "author", "assigned reviewer", "moderator")


def sees(viewer: str, item: Item) -> bool:
    """The resources policy: the public sees published items; authors their own; assigned
    reviewers what they review; moderators everything."""
    return (
        item.state == "APPROVED"
        or viewer in ("author", "moderator")
        or (viewer == "assigned reviewer" and item.assigned)
    )


async def _in_state(client: httpx.AsyncClient, people: Cast, item: Item) -> str:
    resource_id = await resource_draft(
        client,
        people.author,
        f"Lighthouse {item.secret} guide",
        f"Keeping the {item.secret} lighthouse lit.",
        f"The {item.secret} notes.",
        objectives=[item.objective],
        principles=[item.principle],
        countries=[item.country],
    )
    if item.state != "DRAFT":
        await ok(client, SUBMIT, {"id": resource_id}, people.author)
    if item.assigned:
        await assign(client, people, resource_id)
    if item.state in ("CHANGES_REQUESTED", "APPROVED", "REJECTED", "ARCHIVED"):
        decision = {"CHANGES_REQUESTED": "REQUEST_CHANGES", "REJECTED": "REJECT"}.get(
            item.state, "APPROVE"
        )
        await decide(client, people.moderator, resource_id, decision)
    if item.state == "WITHDRAWN":
        await ok(client, WITHDRAW, {"id": resource_id}, people.author)
    if item.state == "ARCHIVED":
        await ok(client, ARCHIVE, {"id": resource_id}, people.moderator)
    return resource_id


def _counts(facets: list[dict[str, Any]], key: str) -> Counter[str]:
    return Counter({str(f[key]): f["count"] for f in facets})


async def test_resources_in_every_review_state_are_found_by_exactly_who_may_see_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    people = await cast(factory)
    made = {item: await _in_state(client, people, item) for item in ITEMS}
    # the states are the ones meant (read by the moderator, who sees everything)
    states = await run_search(client, "lighthouse", people.moderator, first=100)
    by_id = {e["node"]["id"]: e["node"]["state"] for e in states["edges"]}
    assert {by_id[made[item]] for item in ITEMS} == {item.state for item in ITEMS}
    assert all(by_id[made[item]] == item.state for item in ITEMS)
    members: dict[str, Person | None] = {
        "anonymous": None,
        "member": people.member,
        "author": people.author,
        "assigned reviewer": people.un_reviewer,
        "moderator": people.moderator,
    }
    nothing = {viewer: await run_search(client, "xylophonic", m) for viewer, m in members.items()}
    wrong = []
    for viewer, member in members.items():
        visible = [item for item in ITEMS if sees(viewer, item)]
        hidden = [item for item in ITEMS if not sees(viewer, item)]
        result = await run_search(client, "lighthouse", member, first=100)
        if set(ids(result)) != {made[item] for item in visible}:
            wrong.append(f"{viewer}: found {sorted(by_id.get(i, i) for i in ids(result))}")
        if result["totalCount"] != len(visible):
            wrong.append(f"{viewer}: totalCount {result['totalCount']} != {len(visible)}")
        facets = result["facets"]
        expected = {
            "kinds": Counter({"RESOURCE": len(visible)}),
            "objectives": Counter(str(item.objective) for item in visible),
            "principles": Counter(item.principle for item in visible),
            "countries": Counter(item.country for item in visible),
            "languages": Counter({"en": len(visible)}),
        }
        got = {
            "kinds": _counts(facets["kinds"], "kind"),
            "objectives": _counts(facets["objectives"], "number"),
            "principles": _counts(facets["principles"], "letter"),
            "countries": _counts(facets["countries"], "code"),
            "languages": _counts(facets["languages"], "tag"),
        }
        for dimension, counts in expected.items():
            if got[dimension] != counts:
                wrong.append(f"{viewer}: {dimension} facet {got[dimension]} != {counts}")
        for edge in result["edges"]:
            for item in hidden:
                if item.secret in edge["snippet"]:
                    wrong.append(f"{viewer}: snippet leaks {item.secret}")
        # a query only hidden items match answers exactly like one nothing matches
        for item in hidden:
            alone = await run_search(client, item.secret, member, first=100)
            if alone != nothing[viewer]:
                wrong.append(f"{viewer}: {item.state} leaks through {item.secret!r}: {alone}")
            mixed = await run_search(client, f"{item.secret} or bluebell", member, first=100)
            if ids(mixed) != [made[ITEMS[4]]] or mixed["totalCount"] != 1:
                wrong.append(f"{viewer}: {item.state} leaks into an `or`: {ids(mixed)}")
        for item in visible:
            alone = await run_search(client, item.secret, member)
            if ids(alone) != [made[item]] or f"<mark>{item.secret}" not in (
                alone["edges"][0]["snippet"].lower()
            ):
                wrong.append(f"{viewer}: {item.state} not found by its own word")
    assert wrong == []


async def test_community_webinars_are_found_by_their_community_and_hosts_only(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    moderator = await factory.member(role=__import__("models.member").member.Role.MODERATOR)
    insider = await factory.member(name="Insider")
    outsider = await factory.member(name="Outsider")
    community = await create_community(client, moderator, "returnee-network")
    await join(client, community, insider)
    values = {
        "title": "Peer support for returnees",
        "description": "A closed session of the returnee network.",
        "startsAt": in_hours(24),
        "endsAt": in_hours(25),
        "capacity": 30,
        "visibility": "COMMUNITY",
        "communityId": community,
        "objectives": [21],
        "languages": ["en"],
    }
    payload = await ok(client, CREATE_WEBINAR, {"input": values}, moderator)
    webinar_id = payload["webinar"]["id"]
    nothing = await run_search(client, "xylophonic", None)
    for member in (None, outsider):
        result = await run_search(client, "returnees peer support", member)
        expected = nothing if member is None else await run_search(client, "xylophonic", member)
        assert result == expected
    for member in (insider, moderator):
        result = await run_search(client, "returnees peer support", member)
        assert (ids(result), result["totalCount"]) == ([webinar_id], 1)
        assert result["facets"]["objectives"] == [{"number": 21, "count": 1}]
