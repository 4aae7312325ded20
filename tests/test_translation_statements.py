"""No N+1 with translations: a page of resources read in French, with every field's best text,
its language and status, and the list of translations with their translators, runs the same
number of SQL statements whatever its size (translations load in one query per batch)."""

from __future__ import annotations

from models.member import Role
from models.organization import OrganizationKind
from models.resource import ResourceObjective
from models.translation import TranslatableKind, Translation, TranslationStatus
from tests.conftest import gql
from tests.knowledge import published_resources

PAGE = """
query($first: Int!) {
  resources(first: $first, filter: {objectives: [6]}) {
    nodes {
      title summary bodyHtml
      titleText { text language status direction }
      summaryText(language: "es") { text language status }
      textTranslations(first: 10) {
        totalCount nodes { field language status updatedAt translator { name } }
      }
      objectives { number title titleText { language } }
    }
  }
}
"""


async def test_a_page_of_translated_resources_runs_the_same_statements_for_5_and_50(
    client, factory, db, statements
):
    # given 60 published resources, each with a French title (HUMAN) and a French summary
    # (MACHINE, verified) by one translator
    organization = await factory.organization(OrganizationKind.UN_SYSTEM, name="IOM")
    author = await factory.member(name="Author", organization_id=organization)
    translator = await factory.member(name="Traducteur", languages=("fr",))
    reader = await factory.member(name="Lectrice", languages=("fr",), role=Role.MEMBER)
    async with db.sessions.begin() as session:
        resources = published_resources(author.id, organization)
        session.add_all(resources)
        await session.flush()
        for resource in resources:
            session.add(ResourceObjective(resource_id=resource.id, objective_number=6))
            for field, status in (
                ("title", TranslationStatus.HUMAN),
                ("summary", TranslationStatus.VERIFIED),
            ):
                session.add(
                    Translation(
                        kind=TranslatableKind.RESOURCE,
                        item_id=resource.id,
                        field=field,
                        language="fr",
                        text=f"{field} fr {resource.title}",
                        status=status,
                        translator_id=translator.id,
                    )
                )
    counts = {}
    for size in (5, 50):
        # when
        statements.reset()
        body = await gql(client, PAGE, {"first": size}, member=reader)
        # then
        assert "errors" not in body, body
        nodes = body["data"]["resources"]["nodes"]
        assert len(nodes) == size
        assert all(n["title"].startswith("title fr ") for n in nodes)
        assert all(n["summary"].startswith("summary fr ") for n in nodes)
        assert all(n["titleText"]["status"] == "HUMAN" for n in nodes)
        assert all(n["summaryText"]["language"] == "en" for n in nodes)
        assert all(n["textTranslations"]["totalCount"] == 2 for n in nodes)
        assert all(
            t["translator"] == {"name": "Traducteur"}
            for n in nodes
            for t in n["textTranslations"]["nodes"]
        )
        counts[size] = statements.count
    assert counts[5] == counts[50], counts
