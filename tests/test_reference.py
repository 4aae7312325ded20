from tests.conftest import gql


async def test_objectives_are_seeded_from_the_reference(client):
    body = await gql(client, "{ gcmObjectives { number shortTitle } guidingPrinciples { letter } }")
    assert [o["number"] for o in body["data"]["gcmObjectives"]] == list(range(1, 24))
    assert len(body["data"]["guidingPrinciples"]) == 10


async def test_un_regions_and_official_languages_are_listed(client):
    body = await gql(client, "{ unRegions { region m49 } officialLanguages }")
    assert [r["m49"] for r in body["data"]["unRegions"]] == ["002", "019", "142", "150", "009"]
    assert body["data"]["officialLanguages"] == ["ar", "en", "es", "fr", "ru", "zh"]
