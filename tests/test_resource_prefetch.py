"""A page of resources loads its nodes' organisations, objectives and relations in one batch
each (schema/resource_prefetch.py): each node answers as it answers alone, without a task per
resource."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from strawberry.dataloader import DataLoader

from tests.conftest import gql
from tests.knowledge import cast, draft, published
from tests.test_resource_relations import confirmed

FIELDS = (
    "id title kind publishedOn objectives { number shortTitle } organization { id name kind } "
    "supersedes { id title } supersededBy { title } contradictedBy { note resource { id title } } "
    "contradicts { note resource { title } }"
)
PAGE = (
    "query($objective: Int!) { resources(first: 50, filter: {objectives: [$objective]}) { "
    "edges { cursor node { " + FIELDS + " } } } }"
)
ONE = "query($id: ID!) { resource(id: $id) { " + FIELDS + " } }"


@pytest.fixture
def lone_loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The keys of `DataLoader.load` calls not made by `load_many`: one per resolver that
    loads its own value (and awaits it)."""
    keys: list[Any] = []
    original = DataLoader.load

    def counting(self: DataLoader[Any, Any], key: Any) -> Any:
        if sys._getframe(1).f_code.co_name != "load_many":
            keys.append(key)
        return original(self, key)

    monkeypatch.setattr(DataLoader, "load", counting)
    return keys


async def _library(client, factory):
    people = await cast(factory)
    old = await published(client, people, title="Old", objectives=[6, 2])
    new = await published(client, people, title="New", objectives=[6])
    rebuttal = await published(client, people, title="Rebuttal", objectives=[6, 23])
    await published(client, people, title="Other", objectives=[6])
    await draft(client, people.author, title="Draft", objectives=[6])  # not listed
    await confirmed(client, people, new, old, "SUPERSEDES")
    await confirmed(client, people, rebuttal, new, "CONTRADICTS", "Smaller sample.")
    return people


async def test_a_page_of_resources_answers_each_node_as_it_answers_alone(client, factory):
    # given published resources with objectives, an organisation and relations, and a draft
    people = await _library(client, factory)
    for viewer in (None, people.author, people.moderator):
        # when
        page = await gql(client, PAGE, {"objective": 6}, member=viewer)
        # then
        nodes = [e["node"] for e in page["data"]["resources"]["edges"]]
        alone = [
            (await gql(client, ONE, {"id": n["id"]}, member=viewer))["data"]["resource"]
            for n in nodes
        ]
        assert nodes == alone
        assert sorted(n["title"] for n in nodes) == ["New", "Old", "Other", "Rebuttal"]
        new = next(n for n in nodes if n["title"] == "New")
        assert [r["title"] for r in new["supersedes"]] == ["Old"]
        assert new["contradictedBy"][0]["note"] == "Smaller sample."
        assert new["organization"]["name"] == "Migrants' Voice"


async def test_a_page_of_resources_loads_nothing_per_resource(client, factory, lone_loads):
    # given
    await _library(client, factory)
    lone_loads.clear()
    # when
    page = await gql(client, PAGE, {"objective": 6})
    # then: the request's own loads, not one per resource and field (there were six per
    # resource: objectives, organisation, four relation fields)
    assert len(page["data"]["resources"]["edges"]) == 4
    assert len(lone_loads) < 4, lone_loads
