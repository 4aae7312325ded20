"""No N+1: webinars with their linked resources (and those resources' nested fields) run the
same number of SQL statements whatever the number of webinars and the size of each page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.organization import OrganizationKind
from models.resource import (
    Resource,
    ResourceCountry,
    ResourceKind,
    ResourceObjective,
    SourceType,
)
from models.review import ReviewState
from models.webinar import Webinar, WebinarStatus, WebinarVisibility
from models.webinar_record import WebinarRecord, WebinarResource
from tests.conftest import gql

# `record` asks for no nested resource fields: those would share the resources' loaders, and
# whether they land in the same batch depends on which query answers first (not an N+1, but a
# count that would vary from run to run).
PAGE = """
query($webinars: Int!, $resources: Int!) {
  webinars(first: $webinars) {
    nodes {
      title
      record { title }
      resources(first: $resources) {
        totalCount
        nodes {
          title objectives { number shortTitle } countries { code }
          organization { name } author { name }
        }
      }
    }
  }
}
"""


async def test_webinars_with_their_resources_run_the_same_statements_whatever_the_sizes(
    client, factory, db, statements
):
    # given 6 ended public webinars, each with 30 published linked resources (the first one
    # its filed record) and an unpublished one linked that nobody but staff should count
    organization = await factory.organization(OrganizationKind.UN_SYSTEM, name="IOM")
    author = await factory.member(name="Author", organization_id=organization)
    reader = await factory.member(name="Reader")
    start = datetime.now(UTC) - timedelta(days=2)
    async with db.sessions.begin() as session:
        webinars = [
            Webinar(
                title=f"Webinar {w}",
                starts_at=start + timedelta(hours=w),
                ends_at=start + timedelta(hours=w, minutes=90),
                visibility=WebinarVisibility.PUBLIC,
                status=WebinarStatus.ENDED,
                capacity=100,
                recording_url=f"https://video.example.org/{w}",
            )
            for w in range(6)
        ]
        session.add_all(webinars)
        await session.flush()
        for webinar in webinars:
            resources = [
                Resource(
                    title=f"{webinar.title} resource {i:02}",
                    kind=ResourceKind.MULTIMEDIA,
                    language="en",
                    source_type=SourceType.OTHER,
                    state=ReviewState.APPROVED if i < 30 else ReviewState.DRAFT,
                    author_id=author.id,
                    organization_id=organization,
                )
                for i in range(31)
            ]
            session.add_all(resources)
            await session.flush()
            session.add(WebinarRecord(webinar_id=webinar.id, resource_id=resources[0].id))
            for resource in resources:
                session.add_all(
                    [
                        WebinarResource(webinar_id=webinar.id, resource_id=resource.id),
                        ResourceObjective(resource_id=resource.id, objective_number=6),
                        ResourceObjective(resource_id=resource.id, objective_number=2),
                        ResourceCountry(resource_id=resource.id, code="KE"),
                    ]
                )
    counts = {}
    for webinar_count, page_size in ((2, 3), (6, 30)):
        # when
        statements.reset()
        body = await gql(
            client, PAGE, {"webinars": webinar_count, "resources": page_size}, member=reader
        )
        # then
        assert "errors" not in body, body
        nodes = body["data"]["webinars"]["nodes"]
        assert len(nodes) == webinar_count
        for node in nodes:
            assert node["record"]["title"] == f"{node['title']} resource 00"
            listed = node["resources"]
            assert listed["totalCount"] == 30
            assert [n["title"] for n in listed["nodes"]] == [
                f"{node['title']} resource {i:02}" for i in range(page_size)
            ]
            assert all(n["organization"] == {"name": "IOM"} for n in listed["nodes"])
            assert all(len(n["objectives"]) == 2 for n in listed["nodes"])
        counts[(webinar_count, page_size)] = statements.count
    assert counts[(2, 3)] == counts[(6, 30)], counts
