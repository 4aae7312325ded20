"""Freshness of every approved item, resources and initiatives alike: review-by dates, the
`staleContent` listing (both kinds, most overdue first, superseded resources after their
successors, keyset pages), `isStale`, and re-review while staying visible."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models.base import utcnow
from models.initiative import Initiative, InitiativeCountry, InitiativeStatus
from models.resource import Resource, ResourceKind, ResourceObjective, SourceType
from models.review import ReviewState
from tests.conftest import gql
from tests.knowledge import (
    ARCHIVE,
    SEND_BACK,
    SET_REVIEW_BY,
    call,
    cast,
    codes,
    ok,
    published,
    review,
)
from tests.test_initiatives import approved_initiative
from tests.test_resource_relations import confirmed

STALE = """
query($first: Int, $after: String, $last: Int, $before: String) {
  staleContent(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
    nodes {
      __typename title isStale underReReview reviewBy
      ... on Initiative { status }
      ... on Resource { kind isSuperseded }
    }
  }
}
"""
INITIATIVE = """
query($id: ID!) { initiative(id: $id) { title state isStale underReReview reviewBy } }
"""
QUEUE = "{ reviewQueue { initiatives(first: 10) { nodes { title underReReview } } } }"


async def stale(client: Any, member: Any = None, **variables: Any) -> dict[str, Any]:
    body = await gql(client, STALE, {"first": 10, **variables}, member=member)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["staleContent"]
    return result


def titles(page: dict[str, Any]) -> list[str]:
    return [n["title"] for n in page["nodes"]]


async def overdue(client: Any, people: Any, item_id: str, at: str) -> None:
    await ok(client, SET_REVIEW_BY, {"id": item_id, "at": at}, people.moderator)


async def test_stale_resources_and_initiatives_are_listed_together_most_overdue_first(
    client, factory
):
    # given two stale resources (the more overdue one superseded), two stale initiatives,
    # and one fresh item of each kind
    people = await cast(factory)
    old = await published(client, people, title="Old edition")
    new = await published(client, people, title="New edition")
    await published(client, people, title="Fresh resource")
    skills = await approved_initiative(client, people, title="Skills partnership")
    corridor = await approved_initiative(client, people, title="Safe corridor")
    await approved_initiative(client, people, title="Fresh initiative")
    await overdue(client, people, old, "2019-01-01T00:00:00Z")
    await overdue(client, people, skills, "2020-01-01T00:00:00Z")
    await overdue(client, people, new, "2021-01-01T00:00:00Z")
    await overdue(client, people, corridor, "2022-01-01T00:00:00Z")
    # then both kinds are listed, most overdue first, flagged stale
    page = await stale(client)
    assert titles(page) == ["Old edition", "Skills partnership", "New edition", "Safe corridor"]
    assert page["totalCount"] == 4
    assert [n["__typename"] for n in page["nodes"]] == [
        "Resource",
        "Initiative",
        "Resource",
        "Initiative",
    ]
    assert all(n["isStale"] for n in page["nodes"])
    assert page["nodes"][1]["status"] == "ONGOING"
    assert page["nodes"][0]["kind"] == "TOOL"
    # and an initiative reads as stale on its own too
    detail = (await gql(client, INITIATIVE, {"id": skills}))["data"]["initiative"]
    assert detail["isStale"] is True
    assert detail["reviewBy"].startswith("2020-01-01")
    # when the newer edition supersedes the old one, the old one ranks after everything fresh
    await confirmed(client, people, new, old, "SUPERSEDES")
    page = await stale(client)
    assert titles(page) == ["Skills partnership", "New edition", "Safe corridor", "Old edition"]
    assert page["nodes"][-1]["isSuperseded"] is True


async def test_stale_content_pages_forwards_and_backwards_across_kinds(client, factory):
    # given three stale resources and three stale initiatives, interleaved by overdue date
    people = await cast(factory)
    expected = []
    for year in range(2014, 2020):
        title = f"Item {year}"
        if year % 2:
            item = await published(client, people, title=title)
        else:
            item = await approved_initiative(client, people, title=title)
        await overdue(client, people, item, f"{year}-06-01T00:00:00Z")
        expected.append(title)
    # when paging forwards two at a time
    seen: list[str] = []
    after = None
    while True:
        page = await stale(client, first=2, after=after)
        seen += titles(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then every item comes once, in order
    assert seen == expected
    # and backwards from the end too
    last = await stale(client, first=None, last=4)
    assert titles(last) == expected[2:]
    assert last["pageInfo"]["hasPreviousPage"] is True
    before = await stale(client, first=None, last=4, before=last["pageInfo"]["startCursor"])
    assert titles(before) == expected[:2]


async def test_a_stale_initiative_goes_back_to_review_and_stays_visible(client, factory):
    # given a stale published initiative
    people = await cast(factory)
    initiative = await approved_initiative(client, people, title="Skills partnership")
    await overdue(client, people, initiative, "2020-01-01T00:00:00Z")
    # when someone other than a moderator sends it back, or sets its date
    assert codes(await call(client, SEND_BACK, {"id": initiative}, people.author)) == [
        "NOT_ALLOWED"
    ]
    variables = {"id": initiative, "at": "2030-01-01T00:00:00Z"}
    assert codes(await call(client, SET_REVIEW_BY, variables, people.un_reviewer)) == [
        "NOT_ALLOWED"
    ]
    # when a moderator sends it back to review
    sent = await ok(client, SEND_BACK, {"id": initiative}, people.moderator)
    assert sent["item"]["underReReview"] is True
    assert codes(await call(client, SEND_BACK, {"id": initiative}, people.moderator)) == [
        "INVALID_TRANSITION"
    ]
    # then the public still sees it, published and "under re-review", still stale
    public = (await gql(client, INITIATIVE, {"id": initiative}))["data"]["initiative"]
    assert public == {
        "title": "Skills partnership",
        "state": "APPROVED",
        "isStale": True,
        "underReReview": True,
        "reviewBy": public["reviewBy"],
    }
    assert [n["underReReview"] for n in (await stale(client))["nodes"]] == [True]
    # and it waits in the moderators' queue
    queue = (await gql(client, QUEUE, member=people.moderator))["data"]["reviewQueue"]
    assert queue["initiatives"]["nodes"] == [{"title": "Skills partnership", "underReReview": True}]
    # when the re-review approves it, it is fresh for another 24 months
    await review(client, people.un_reviewer, initiative)
    renewed = await review(client, people.un_reviewer_2, initiative)
    assert renewed["underReReview"] is False
    assert renewed["reviewBy"] > str(utcnow().year + 1)
    assert (await stale(client))["nodes"] == []
    detail = (await gql(client, INITIATIVE, {"id": initiative}))["data"]["initiative"]
    assert detail["isStale"] is False


async def test_moderators_set_an_initiatives_review_by_date(client, factory):
    people = await cast(factory)
    initiative = await approved_initiative(client, people)
    # a fresh initiative is not listed
    assert (await stale(client))["nodes"] == []
    # when a moderator moves its date into the past, it is stale; back into the future, fresh
    await overdue(client, people, initiative, "2020-01-01T00:00:00Z")
    assert titles(await stale(client)) == ["Skills partnership"]
    await overdue(client, people, initiative, "2099-01-01T00:00:00Z")
    assert (await stale(client))["nodes"] == []


async def test_only_published_items_are_stale_and_nobody_sees_more_than_published(client, factory):
    # given a stale initiative and a stale resource, then both archived by a moderator
    people = await cast(factory)
    initiative = await approved_initiative(client, people, title="Archived initiative")
    resource = await published(client, people, title="Archived resource")
    kept = await approved_initiative(client, people, title="Kept")
    for item in (initiative, resource, kept):
        await overdue(client, people, item, "2020-01-01T00:00:00Z")
    assert len((await stale(client))["nodes"]) == 3
    for item in (initiative, resource):
        await ok(client, ARCHIVE, {"id": item}, people.moderator)
    # then no viewer finds them among stale content, nor counts them (the author and the
    # moderator, who may still read them, included)
    for viewer in (None, people.member, people.author, people.un_reviewer, people.moderator):
        page = await stale(client, viewer)
        assert titles(page) == ["Kept"], viewer
        assert page["totalCount"] == 1, viewer


STALE_PAGE = """
query($first: Int!) {
  staleContent(first: $first) {
    nodes {
      __typename title isStale
      ... on Resource { objectives { number } supersededBy { title } }
      ... on Initiative { countries { code } }
    }
  }
}
"""


async def test_a_page_of_stale_content_runs_the_same_statements_for_5_and_50(
    client, factory, db, statements
):
    # given 30 stale resources and 30 stale initiatives, interleaved by date, with objectives
    # (resources) and countries (initiatives)
    author = await factory.member(name="Author")
    start = utcnow() - timedelta(days=1000)
    async with db.sessions.begin() as session:
        resources = [
            Resource(
                title=f"Resource {i:02}",
                kind=ResourceKind.PUBLICATION,
                language="en",
                source_type=SourceType.ACADEMIC_ARTICLE,
                state=ReviewState.APPROVED,
                author_id=author.id,
                review_by=start + timedelta(days=2 * i),
            )
            for i in range(30)
        ]
        initiatives = [
            Initiative(
                title=f"Initiative {i:02}",
                status=InitiativeStatus.ONGOING,
                state=ReviewState.APPROVED,
                author_id=author.id,
                review_by=start + timedelta(days=2 * i + 1),
            )
            for i in range(30)
        ]
        session.add_all([*resources, *initiatives])
        await session.flush()
        session.add_all(ResourceObjective(resource_id=r.id, objective_number=6) for r in resources)
        session.add_all(InitiativeCountry(initiative_id=i.id, code="PH") for i in initiatives)
    counts = {}
    for size in (5, 50):
        # when
        statements.reset()
        body = await gql(client, STALE_PAGE, {"first": size})
        # then
        assert "errors" not in body, body
        nodes = body["data"]["staleContent"]["nodes"]
        assert len(nodes) == size
        assert {n["__typename"] for n in nodes} == {"Resource", "Initiative"}
        assert nodes[0]["title"] == "Resource 00"
        assert nodes[1]["title"] == "Initiative 00"
        assert all(n["isStale"] for n in nodes)
        assert all(
            n["objectives"] == [{"number": 6}]
            if n["__typename"] == "Resource"
            else n["countries"] == [{"code": "PH"}]
            for n in nodes
        )
        counts[size] = statements.count
    assert counts[5] == counts[50], counts
