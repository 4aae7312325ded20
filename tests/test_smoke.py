from tests.conftest import gql


async def test_objectives_are_seeded_from_the_reference(client):
    body = await gql(client, "{ gcmObjectives { number shortTitle } guidingPrinciples { letter } }")
    assert [o["number"] for o in body["data"]["gcmObjectives"]] == list(range(1, 24))
    assert len(body["data"]["guidingPrinciples"]) == 10
