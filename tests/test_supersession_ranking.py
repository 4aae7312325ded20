"""Superseded resources rank below their successors in every listing of resources: discovery
orders, an objective's page, the resources an initiative links to, the review queue, and the
relation lists of a resource. Each scenario makes the superseded resource come first by every
other criterion (created later, titled earlier, linked first, submitted first)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import gql
from tests.knowledge import SEND_BACK, cast, ok, published
from tests.test_initiatives import approved_initiative
from tests.test_resource_relations import confirmed

OBJECTIVE_PAGE = """
{ gcmObjective(number: 6) { resourceCount resources(first: 10) { nodes { title } } } }
"""
LISTING = """
query($order: ResourceOrder!) {
  resources(orderBy: $order, first: 10, filter: {objectives: [6]}) { nodes { title } }
}
"""
LINKED = "query($id: ID!) { initiative(id: $id) { resources { title isSuperseded } } }"
QUEUE = "{ reviewQueue { resources(first: 10) { nodes { title underReReview } } } }"
TRANSLATIONS = "query($id: ID!) { resource(id: $id) { translations { title } } }"


def titles(nodes: list[dict[str, Any]]) -> list[str]:
    return [n["title"] for n in nodes]


async def superseded_pair(
    client: Any, people: Any, successor_first: bool = True
) -> tuple[str, str]:
    """'B successor' and 'A superseded' (first by title), published in the order asked:
    successor first makes the superseded one the newest; the other way, the lowest id."""
    if successor_first:
        successor = await published(client, people, title="B successor")
        superseded = await published(client, people, title="A superseded")
    else:
        superseded = await published(client, people, title="A superseded")
        successor = await published(client, people, title="B successor")
    return successor, superseded


async def test_an_objectives_page_and_every_order_rank_superseded_resources_last(client, factory):
    people = await cast(factory)
    successor, superseded = await superseded_pair(client, people)
    page = (await gql(client, OBJECTIVE_PAGE))["data"]["gcmObjective"]
    assert titles(page["resources"]["nodes"]) == ["A superseded", "B successor"]
    # when
    await confirmed(client, people, successor, superseded, "SUPERSEDES")
    # then
    page = (await gql(client, OBJECTIVE_PAGE))["data"]["gcmObjective"]
    assert titles(page["resources"]["nodes"]) == ["B successor", "A superseded"]
    assert page["resourceCount"] == 2
    for order in ("NEWEST", "RECENTLY_REVIEWED", "TITLE"):
        body = await gql(client, LISTING, {"order": order})
        assert titles(body["data"]["resources"]["nodes"]) == ["B successor", "A superseded"], order


async def test_an_initiatives_linked_resources_rank_superseded_ones_last(client, factory):
    # given an initiative linking two resources, the superseded one created first
    people = await cast(factory)
    successor, superseded = await superseded_pair(client, people, successor_first=False)
    initiative = await approved_initiative(client, people, resourceIds=[successor, superseded])
    linked = (await gql(client, LINKED, {"id": initiative}))["data"]["initiative"]["resources"]
    assert titles(linked) == ["A superseded", "B successor"]
    # when
    await confirmed(client, people, successor, superseded, "SUPERSEDES")
    # then
    linked = (await gql(client, LINKED, {"id": initiative}))["data"]["initiative"]["resources"]
    assert linked == [
        {"title": "B successor", "isSuperseded": False},
        {"title": "A superseded", "isSuperseded": True},
    ]


async def test_the_review_queue_ranks_superseded_resources_last(client, factory):
    # given a superseded resource and its successor, both sent back to review, the superseded
    # one first (the queue is oldest submission first)
    people = await cast(factory)
    successor, superseded = await superseded_pair(client, people)
    await confirmed(client, people, successor, superseded, "SUPERSEDES")
    for item in (superseded, successor):
        await ok(client, SEND_BACK, {"id": item}, people.moderator)
    # then
    queue = (await gql(client, QUEUE, member=people.moderator))["data"]["reviewQueue"]
    assert titles(queue["resources"]["nodes"]) == ["B successor", "A superseded"]


@pytest.mark.parametrize("field", ["translations", "supersededBy"])
async def test_a_resources_relation_lists_rank_superseded_resources_last(client, factory, field):
    # given a resource related to two others, the first related of which is superseded by
    # the second
    people = await cast(factory)
    center = await published(client, people, title="Center")
    first = await published(client, people, title="First related")
    second = await published(client, people, title="Second related")
    kind = "TRANSLATION_OF" if field == "translations" else "SUPERSEDES"
    for other in (first, second):
        await confirmed(client, people, other, center, kind)
    query = f"query($id: ID!) {{ resource(id: $id) {{ {field} {{ title }} }} }}"
    before = (await gql(client, query, {"id": center}))["data"]["resource"][field]
    assert titles(before) == ["First related", "Second related"]
    # when
    await confirmed(client, people, second, first, "SUPERSEDES")
    # then
    after = (await gql(client, query, {"id": center}))["data"]["resource"][field]
    assert titles(after) == ["Second related", "First related"]
