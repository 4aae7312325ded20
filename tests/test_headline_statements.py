"""No N+1 with headlines: a page of notifications read with their headlines (each naming a
translated resource and the member who acted) runs the same number of SQL statements whatever
its size: titles, translations and actors load through the request's loaders."""

from __future__ import annotations

from models.notification import Notification, NotificationKind
from models.organization import OrganizationKind
from models.translation import TranslatableKind, Translation, TranslationStatus
from tests.conftest import gql
from tests.knowledge import published_resources

PAGE = "query($first: Int!) { notifications(first: $first) { nodes { headline } } }"


async def test_a_page_of_headlines_runs_the_same_statements_for_5_and_50(
    client, factory, db, statements
):
    # given 60 review decisions on the reader's published resources, each translated into
    # French, told to a French-speaking reader
    organization = await factory.organization(OrganizationKind.UN_SYSTEM, name="IOM")
    reader = await factory.member(name="Lectrice", languages=("fr",), organization_id=organization)
    reviewer = await factory.member(name="Relecteur")
    async with db.sessions.begin() as session:
        resources = published_resources(reader.id, organization)
        session.add_all(resources)
        await session.flush()
        for resource in resources:
            session.add(
                Translation(
                    kind=TranslatableKind.RESOURCE,
                    item_id=resource.id,
                    field="title",
                    language="fr",
                    text=f"Ressource {resource.title[-2:]}",
                    status=TranslationStatus.HUMAN,
                    translator_id=reviewer.id,
                )
            )
            session.add(
                Notification(
                    member_id=reader.id,
                    kind=NotificationKind.REVIEW_DECISION,
                    actor_id=reviewer.id,
                    subject={"item_kind": "RESOURCE", "item": resource.id, "state": "APPROVED"},
                )
            )
    counts = {}
    for size in (5, 50):
        # when
        statements.reset()
        body = await gql(client, PAGE, {"first": size}, member=reader)
        # then
        assert "errors" not in body, body
        headlines = [node["headline"] for node in body["data"]["notifications"]["nodes"]]
        assert len(headlines) == size
        assert headlines[0] == "Décision d\u2019examen sur « Ressource 59 »"
        assert all(h.startswith("Décision d\u2019examen sur « Ressource ") for h in headlines)
        counts[size] = statements.count
    assert counts[5] == counts[50], counts
