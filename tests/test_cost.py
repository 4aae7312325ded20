"""The per-operation cost cap: computed before anything runs, reported in `extensions.cost`,
and an operation above the maximum refused without touching the database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.main import create_app
from models.db import Database
from tests.conftest import api_client, gql, make_settings

# members: 1 + 5 x (edges: 1 + node: 1 + id, name: 2) = 21
FIVE_MEMBERS = "{ members(first: 5) { edges { node { id name } } } }"
# The default page is 20 items: 1 + 20 x 4 = 81
DEFAULT_PAGE = "{ members { edges { node { id name } } } }"
BY_VARIABLE = "query($n: Int) { members(first: $n) { edges { node { id name } } } }"
# Two IDs: 1 + 2 x (__typename: 1) = 3
TWO_NODES = '{ nodes(ids: ["a", "b"]) { __typename } }'
# 100 communities x 100 members: 1 + 100 x (edges 1 + node 1 + members (1 + 100 x 6)) = 60,301
NESTED = """
{ communities(first: 100) { edges { node {
    members(first: 100) { edges { node { role member { id name } } } } } } } }
"""


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables or {}})


@pytest.mark.parametrize(
    ("query", "variables", "cost"),
    [
        (FIVE_MEMBERS, None, 21),
        (DEFAULT_PAGE, None, 81),
        (BY_VARIABLE, {"n": 3}, 13),
        (BY_VARIABLE, {}, 81),
        (TWO_NODES, None, 3),
    ],
    ids=["first", "default page", "variable", "variable left out", "nodes"],
)
async def test_every_query_reports_its_cost(client, query, variables, cost):
    response = await post(client, query, variables)
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    assert body["extensions"] == {"cost": {"requested": cost, "maximum": 10_000}}


async def test_fragments_count_like_the_fields_they_stand_for(client):
    query = """
    { members(first: 5) { edges { node { ...Card } } } }
    fragment Card on Member { id name }
    """
    body = (await post(client, query)).json()
    assert body["extensions"]["cost"]["requested"] == 21


async def test_an_operation_above_the_maximum_is_refused_before_it_runs(client, statements):
    statements.reset()
    response = await post(client, NESTED)
    body = response.json()
    assert response.status_code == 400
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert "may cost 60301, above the maximum of 10000" in error["message"]
    assert statements.count == 0


async def test_the_maximum_is_a_setting(database_url: str, db: Database):
    app = create_app(make_settings(database_url, max_query_cost=100), db)
    async with api_client(app) as client:
        within = (await post(client, DEFAULT_PAGE)).json()
        beyond = await post(client, BY_VARIABLE, {"n": 30})
    assert within["extensions"]["cost"] == {"requested": 81, "maximum": 100}
    assert beyond.status_code == 400
    assert beyond.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_a_document_sent_again_is_costed_with_its_new_variables(client):
    # the costs of a document are kept per process: keyed by what of the variables they read
    query = "query($n: Int, $ids: [ID!]!) { members(first: $n) { nodes { id } } nodes(ids: $ids) { id } }"
    sent = [(7, 1), (70, 1), (7, 1), (7, 30)]
    costs = []
    for n, ids in sent:
        body = await gql(client, query, {"n": n, "ids": ["x"] * ids})
        costs.append(body["extensions"]["cost"]["requested"])
    assert costs[0] == costs[2] < costs[1]
    assert costs[0] < costs[3]
