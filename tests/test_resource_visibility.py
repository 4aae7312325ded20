"""The visibility matrix: who sees a resource in each state, through every way of reading it
(list, totalCount, node, nodes, an objective's page, relations). A denied read looks exactly
like a missing resource: 0 leaks."""

from __future__ import annotations

from typing import Any

import pytest

from models.resource import RelationKind, RelationStatus, Resource, ResourceRelation
from models.review import ReviewAssignment, ReviewItemKind, ReviewState
from schema.relay import decode_int_id, encode_id
from tests.conftest import gql
from tests.knowledge import cast, draft

ALL_STATES = [s.value for s in ReviewState]
EVERYTHING = set(ALL_STATES)
PUBLISHED = {"APPROVED"}
# Who sees which states (every resource is by the author, assigned to the assigned reviewer).
EXPECTED = {
    "anonymous": PUBLISHED,
    "member": PUBLISHED,
    "author": EVERYTHING,
    "colleague": PUBLISHED,
    "assigned_reviewer": EVERYTHING,
    "unassigned_reviewer": PUBLISHED,
    "moderator": EVERYTHING,
}
LIST = """
query($states: [ReviewState!]) {
  resources(filter: {states: $states}, first: 50) { totalCount nodes { title } }
}
"""
NODE = "query($id: ID!) { node(id: $id) { ... on Resource { title } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Resource { title } } }"
OBJECTIVE = """
{ gcmObjective(number: 6) { resourceCount resources(first: 50) { nodes { title } } } }
"""
RELATIONS = "query($id: ID!) { resource(id: $id) { relations { kind } contradicts { note } } }"


@pytest.fixture
async def world(client, factory, db) -> dict[str, Any]:
    """One resource in each state, all by the author and assigned to one reviewer; the
    published one contradicts each of the others (a confirmed relation)."""
    people = await cast(factory)
    ids: dict[str, str] = {}
    for state in ALL_STATES:
        ids[state] = await draft(client, people.author, title=state)
    keys = {state: decode_int_id(global_id, "Resource") for state, global_id in ids.items()}
    async with db.sessions.begin() as session:
        for state, key in keys.items():
            resource = await session.get_one(Resource, key)
            resource.state = ReviewState(state)
            session.add(
                ReviewAssignment(
                    item_kind=ReviewItemKind.RESOURCE,
                    item_id=key,
                    reviewer_id=people.un_reviewer.id,
                )
            )
            if state != "APPROVED":
                session.add(
                    ResourceRelation(
                        from_id=keys["APPROVED"],
                        to_id=key,
                        kind=RelationKind.CONTRADICTS,
                        status=RelationStatus.CONFIRMED,
                        note=f"Contradicts the {state} one.",
                    )
                )
    viewers = {
        "anonymous": None,
        "member": people.member,
        "author": people.author,
        "colleague": people.colleague,
        "assigned_reviewer": people.un_reviewer,
        "unassigned_reviewer": people.cso_reviewer,
        "moderator": people.moderator,
    }
    return {"ids": ids, "viewers": viewers}


async def data(client: Any, query: str, variables: dict[str, Any], member: Any) -> dict[str, Any]:
    body = await gql(client, query, variables, member=member)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
async def test_each_viewer_sees_exactly_the_resources_it_may_in_every_read_path(
    client, world, viewer
):
    member = world["viewers"][viewer]
    ids: dict[str, str] = world["ids"]
    expected = EXPECTED[viewer]
    # list and its count, every state asked for
    listing = (await data(client, LIST, {"states": ALL_STATES}, member))["resources"]
    assert {n["title"] for n in listing["nodes"]} == expected
    assert listing["totalCount"] == len(expected)
    # one state at a time: the count never reveals a hidden item
    for state in ALL_STATES:
        one = (await data(client, LIST, {"states": [state]}, member))["resources"]
        assert one["totalCount"] == (1 if state in expected else 0), state
    # node and nodes
    for state, global_id in ids.items():
        node = (await data(client, NODE, {"id": global_id}, member))["node"]
        assert (node is not None) == (state in expected), state
    nodes = (await data(client, NODES, {"ids": list(ids.values())}, member))["nodes"]
    assert {n["title"] for n in nodes if n is not None} == expected
    # an objective's page lists and counts the published only, for everyone
    page = (await data(client, OBJECTIVE, {}, member))["gcmObjective"]
    assert page["resourceCount"] == 1
    assert [n["title"] for n in page["resources"]["nodes"]] == ["APPROVED"]
    # relations show only when both ends are visible
    related = (await data(client, RELATIONS, {"id": ids["APPROVED"]}, member))["resource"]
    assert len(related["relations"]) == len(expected) - 1
    assert {c["note"] for c in related["contradicts"]} == {
        f"Contradicts the {s} one." for s in expected - PUBLISHED
    }


async def test_a_hidden_resource_and_a_missing_one_read_the_same(client, world):
    member = world["viewers"]["member"]
    hidden = await data(client, NODE, {"id": world["ids"]["DRAFT"]}, member)
    missing = await data(client, NODE, {"id": encode_id("Resource", 999_999)}, member)
    assert hidden == missing == {"node": None}
