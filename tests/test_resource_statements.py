"""No N+1: a page of resources with their objectives, countries, organisation and relations runs
the same number of SQL statements whatever its size."""

from __future__ import annotations

import itertools

from models.organization import OrganizationKind
from models.resource import (
    RelationKind,
    RelationStatus,
    ResourceCountry,
    ResourceObjective,
    ResourceRelation,
)
from tests.conftest import gql
from tests.knowledge import published_resources

PAGE = """
query($first: Int!) {
  resources(first: $first, filter: {objectives: [6]}) {
    nodes {
      title isStale objectives { number shortTitle } countries { code name }
      organization { name kind } author { name }
      supersededBy { title } supersedes { title } contradictedBy { note resource { title } }
      translations { title } relations { kind }
    }
  }
}
"""


async def test_a_page_of_resources_runs_the_same_statements_for_5_and_50(
    client, factory, db, statements
):
    # given 60 published resources, each with objectives, countries, an organisation, and
    # each one superseding the one before it
    organization = await factory.organization(OrganizationKind.UN_SYSTEM, name="IOM")
    author = await factory.member(name="Author", organization_id=organization)
    async with db.sessions.begin() as session:
        resources = published_resources(author.id, organization)
        session.add_all(resources)
        await session.flush()
        for resource in resources:
            session.add_all(
                [
                    ResourceObjective(resource_id=resource.id, objective_number=6),
                    ResourceObjective(resource_id=resource.id, objective_number=2),
                    ResourceCountry(resource_id=resource.id, code="KE"),
                    ResourceCountry(resource_id=resource.id, code="MX"),
                ]
            )
        session.add_all(
            ResourceRelation(
                from_id=newer.id,
                to_id=older.id,
                kind=kind,
                status=RelationStatus.CONFIRMED,
                note="n",
            )
            for older, newer in itertools.pairwise(resources)
            for kind in (RelationKind.SUPERSEDES, RelationKind.CONTRADICTS)
        )
    counts = {}
    for size in (5, 50):
        # when
        statements.reset()
        body = await gql(client, PAGE, {"first": size}, member=author)
        # then
        assert "errors" not in body, body
        nodes = body["data"]["resources"]["nodes"]
        assert len(nodes) == size
        assert all(n["organization"] == {"name": "IOM", "kind": "UN_SYSTEM"} for n in nodes)
        assert sum(len(n["supersededBy"]) for n in nodes) >= size - 1
        counts[size] = statements.count
    assert counts[5] == counts[50], counts
