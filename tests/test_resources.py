"""Resources through the API: their content, discovery (filters, orders, an objective's page),
revisions of published resources, and freshness (review-by dates, stale content, re-review)."""

from __future__ import annotations

from typing import Any

from models.member import Role
from tests.conftest import gql, refusals
from tests.knowledge import (
    CREATE_RESOURCE,
    DECIDE,
    SEND_BACK,
    SET_REVIEW_BY,
    SUBMIT,
    UPDATE_RESOURCE,
    approve,
    assign,
    call,
    cast,
    codes,
    draft,
    ok,
    published,
    resource_input,
    review,
    submitted,
)

FULL = """
query($id: ID!) {
  resource(id: $id) {
    title summary body bodyHtml kind link publisher publishedOn language sourceType doi
    isGlobal isGeneral principles themes otherLanguages state
    objectives { number } countries { code name } regions { region m49 }
    author { name } organization { name }
  }
}
"""
LIST = """
query($filter: ResourceFilterInput, $order: ResourceOrder!, $first: Int, $after: String) {
  resources(filter: $filter, orderBy: $order, first: $first, after: $after) {
    totalCount nodes { title } pageInfo { hasNextPage endCursor }
  }
}
"""


async def publish(client: Any, moderator: Any, author: Any, title: str, **extra: Any) -> str:
    """A resource published by a moderator's decision (the review itself is tested apart)."""
    resource_id = await submitted(client, author, title=title, **extra)
    variables = {"id": resource_id, "decision": "APPROVE", "reason": "Seeding the test."}
    await ok(client, DECIDE, variables, moderator)
    return resource_id


async def titles(
    client: Any, member: Any = None, order: str = "NEWEST", **filter: Any
) -> list[str]:
    body = await gql(client, LIST, {"filter": filter or None, "order": order}, member=member)
    assert "errors" not in body, body
    return [n["title"] for n in body["data"]["resources"]["nodes"]]


async def test_a_draft_keeps_every_field_and_renders_its_body_safely(client, factory):
    people = await cast(factory)
    resource_id = await draft(
        client,
        people.author,
        body="Fees <script>alert(1)</script> **never**",
        regions=["AFRICA"],
        doi="10.1000/xyz123",
        otherLanguages=["fr", "es-MX"],
        themes=["Fees", "fees", "Gender"],
        principles=["E", "c"],
    )
    item = (await gql(client, FULL, {"id": resource_id}, member=people.author))["data"]["resource"]
    assert (
        item["bodyHtml"]
        == "<p>Fees &lt;script&gt;alert(1)&lt;/script&gt; <strong>never</strong></p>\n"
    )
    assert item["kind"] == "TOOL"
    assert item["sourceType"] == "INTERNATIONAL_ORGANIZATION_REPORT"
    assert item["doi"] == "10.1000/xyz123"
    assert item["publishedOn"] == "2024-05-01"
    assert item["principles"] == ["c", "e"]
    assert item["themes"] == ["fees", "gender"]
    assert item["otherLanguages"] == ["es-MX", "fr"]
    assert item["regions"] == [{"region": "AFRICA", "m49": "002"}]
    assert item["countries"] == [{"code": "KE", "name": "Kenya"}]
    assert item["objectives"] == [{"number": 6}]
    assert item["organization"] == {"name": "Migrants' Voice"}
    assert item["state"] == "DRAFT"


async def test_a_resource_needs_an_objective_or_general_and_a_scope(client, factory):
    people = await cast(factory)

    async def create(**overrides: Any) -> dict[str, Any]:
        variables = {"input": {"resource": resource_input(**overrides)}}
        return await call(client, CREATE_RESOURCE, variables, people.author)

    no_objective = await create(objectives=[])
    assert [(e["field"], e["code"]) for e in no_objective["errors"]] == [("objectives", "REQUIRED")]
    general = await create(objectives=[], isGeneral=True, countries=[], isGlobal=True)
    assert general["errors"] == []
    no_scope = await create(countries=[])
    assert [(e["field"], e["code"]) for e in no_scope["errors"]] == [("countries", "REQUIRED")]
    bad = await create(link="javascript:alert(1)", principles=["z"], objectives=[24])
    assert sorted(e["field"] for e in bad["errors"]) == ["link", "objectives", "principles"]
    anonymous = await call(client, CREATE_RESOURCE, {"input": {"resource": resource_input()}}, None)
    assert codes(anonymous) == ["UNAUTHENTICATED"]


async def test_resources_are_filtered_by_every_criterion(client, factory):
    # given
    people = await cast(factory)
    mod, author = people.moderator, people.author
    await publish(client, mod, author, "Kenya tool", countries=["KE"], publisher="ILO")
    await publish(
        client,
        mod,
        author,
        "Mexico guidance",
        kind="GUIDANCE",
        countries=["MX"],
        objectives=[2, 23],
        principles=["a"],
        language="es",
        otherLanguages=[],
        publisher="Gobierno de México",
        publishedOn="2021-02-01",
    )
    await publish(
        client,
        mod,
        author,
        "Africa dataset",
        kind="DATASET",
        countries=[],
        regions=["AFRICA"],
        objectives=[1],
        otherLanguages=["ar"],
        publisher="UNHCR",
        publishedOn="2019-07-01",
    )
    await draft(client, author, title="Unpublished draft")
    # then
    assert await titles(client) == ["Africa dataset", "Mexico guidance", "Kenya tool"]
    assert await titles(client, objectives=[23]) == ["Mexico guidance"]
    assert await titles(client, objectives=[6, 1]) == ["Africa dataset", "Kenya tool"]
    assert await titles(client, principles=["a"]) == ["Mexico guidance"]
    assert await titles(client, kinds=["DATASET", "TOOL"]) == ["Africa dataset", "Kenya tool"]
    assert await titles(client, countries=["mx"]) == ["Mexico guidance"]
    assert await titles(client, regions=["AFRICA"]) == ["Africa dataset"]
    assert await titles(client, languages=["ar"]) == ["Africa dataset"]
    assert await titles(client, languages=["es"]) == ["Mexico guidance"]
    assert await titles(client, publisher="ilo") == ["Kenya tool"]
    assert await titles(client, publishedFrom="2020-01-01", publishedUntil="2022-01-01") == [
        "Mexico guidance"
    ]
    # ordered by title, and paged with cursors
    assert await titles(client, order="TITLE") == [
        "Africa dataset",
        "Kenya tool",
        "Mexico guidance",
    ]
    first = await gql(client, LIST, {"order": "TITLE", "first": 2})
    page = first["data"]["resources"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    rest = await gql(client, LIST, {"order": "TITLE", "first": 2, "after": after})
    assert [n["title"] for n in rest["data"]["resources"]["nodes"]] == ["Mexico guidance"]


async def test_recently_reviewed_orders_by_the_last_decision(client, factory):
    people = await cast(factory)
    older = await submitted(client, people.author, title="Submitted first, decided last")
    await publish(client, people.moderator, people.author, "Submitted last, decided first")
    await ok(client, DECIDE, {"id": older, "decision": "APPROVE", "reason": "ok"}, people.moderator)
    assert await titles(client, order="RECENTLY_REVIEWED") == [
        "Submitted first, decided last",
        "Submitted last, decided first",
    ]
    assert await titles(client, order="NEWEST") == [
        "Submitted last, decided first",
        "Submitted first, decided last",
    ]


async def test_states_beyond_approved_list_only_what_the_viewer_may_see(client, factory):
    people = await cast(factory)
    await draft(client, people.author, title="Author's draft")
    await draft(client, people.colleague, title="Colleague's draft")
    await publish(client, people.moderator, people.author, "Published")
    every = ["DRAFT", "SUBMITTED", "IN_REVIEW", "APPROVED"]
    assert await titles(client, people.author, order="TITLE", states=every) == [
        "Author's draft",
        "Published",
    ]
    assert await titles(client, None, order="TITLE", states=every) == ["Published"]
    assert await titles(client, people.moderator, order="TITLE", states=["DRAFT"]) == [
        "Author's draft",
        "Colleague's draft",
    ]


OBJECTIVE_PAGE = """
query($n: Int!) {
  gcmObjective(number: $n) {
    number resourceCount expertCount
    resources(first: 10) { nodes { title } }
    experts(first: 10) { nodes { name } }
  }
}
"""


async def test_an_objectives_page_counts_and_lists_its_resources_and_experts(client, factory):
    # given
    people = await cast(factory)
    await publish(client, people.moderator, people.author, "On objective 6")
    await publish(client, people.moderator, people.author, "On objective 2", objectives=[2])
    await submitted(client, people.author, title="Pending on objective 6")
    await factory.member(name="Expert Six", is_expert=True, expertise=(6,))
    await factory.member(name="Not an expert", is_expert=False, expertise=(6,))
    # when
    body = await gql(client, OBJECTIVE_PAGE, {"n": 6})
    # then
    page = body["data"]["gcmObjective"]
    assert page["resourceCount"] == 1
    assert [n["title"] for n in page["resources"]["nodes"]] == ["On objective 6"]
    assert page["expertCount"] == 1
    assert [n["name"] for n in page["experts"]["nodes"]] == ["Expert Six"]


REVISIONS = """
query($id: ID!) {
  resource(id: $id) {
    title
    revisions(first: 10) { nodes { title state mergedAt revisionOf { id } } }
  }
}
"""


async def test_editing_a_published_resource_creates_a_revision_reviewed_before_it_replaces_it(
    client, factory
):
    # given
    people = await cast(factory)
    resource_id = await published(client, people)
    # when
    edit = {"resourceId": resource_id, "resource": resource_input("Toolkit, 2025 edition")}
    revision = (await ok(client, UPDATE_RESOURCE, {"input": edit}, people.author))["resource"]
    # then: a separate draft, the public one unchanged
    assert revision["id"] != resource_id
    assert revision["state"] == "DRAFT"
    assert revision["revisionOf"] == {"id": resource_id}
    public = (await gql(client, REVISIONS, {"id": resource_id}))["data"]["resource"]
    assert public == {"title": "Fair recruitment toolkit", "revisions": {"nodes": []}}
    assert await titles(client) == ["Fair recruitment toolkit"]
    # when the revision passes review
    await ok(client, SUBMIT, {"id": revision["id"]}, people.author)
    await assign(client, people.moderator, revision["id"], people.un_reviewer, people.un_reviewer_2)
    await review(client, people.un_reviewer, revision["id"])
    assert (await review(client, people.un_reviewer_2, revision["id"]))["state"] == "APPROVED"
    # then it replaces the public content, and the history shows it
    public = (await gql(client, REVISIONS, {"id": resource_id}))["data"]["resource"]
    assert public["title"] == "Toolkit, 2025 edition"
    [merged] = public["revisions"]["nodes"]
    assert merged["title"] == "Toolkit, 2025 edition"
    assert merged["state"] == "APPROVED"
    assert merged["mergedAt"] is not None
    assert await titles(client) == ["Toolkit, 2025 edition"]  # revisions never list apart


async def test_only_the_author_edits_and_never_while_in_review(client, factory):
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    edit = {"resourceId": resource_id, "resource": resource_input("Changed")}
    assert codes(await call(client, UPDATE_RESOURCE, {"input": edit}, people.author)) == [
        "INVALID_TRANSITION"
    ]
    assert codes(await call(client, UPDATE_RESOURCE, {"input": edit}, people.moderator)) == [
        "NOT_ALLOWED"
    ]
    assert codes(await call(client, UPDATE_RESOURCE, {"input": edit}, people.colleague)) == [
        "NOT_FOUND"
    ]


# --- partial edits: left out keeps, null clears a nullable field, null for a required one is
# refused ----------------------------------------------------------------------------------

EVERY_FIELD = {
    "regions": ["AFRICA"],
    "doi": "10.1000/xyz123",
    "principles": ["c", "e"],
    "isGeneral": True,
}


async def full(client: Any, resource_id: str, member: Any = None) -> dict[str, Any]:
    """Everything the API says about a resource's content (its state left out)."""
    body = await gql(client, FULL, {"id": resource_id}, member=member)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["resource"]
    return {name: value for name, value in found.items() if name != "state"}


def filled_in(resource: dict[str, Any]) -> bool:
    return all(value not in (None, "", []) for value in resource.values())


def edit(resource_id: str, **changes: Any) -> dict[str, Any]:
    return {"input": {"resourceId": resource_id, "resource": changes}}


async def test_an_edit_sending_one_field_keeps_every_other_field_of_a_resource(client, factory):
    # given a draft with every field filled in
    people = await cast(factory)
    resource_id = await draft(client, people.author, **EVERY_FIELD)
    before = await full(client, resource_id, people.author)
    assert filled_in(before), before
    # when its author sends only a new summary
    await ok(client, UPDATE_RESOURCE, edit(resource_id, summary="Shorter."), people.author)
    # then the summary changed and nothing else
    assert await full(client, resource_id, people.author) == {**before, "summary": "Shorter."}


async def test_an_explicit_null_clears_a_nullable_field_of_a_resource(client, factory):
    people = await cast(factory)
    resource_id = await draft(client, people.author, **EVERY_FIELD)
    before = await full(client, resource_id, people.author)
    changes = edit(resource_id, link=None, doi=None, publishedOn=None)
    await ok(client, UPDATE_RESOURCE, changes, people.author)
    after = await full(client, resource_id, people.author)
    assert after == {**before, "link": None, "doi": None, "publishedOn": None}


async def test_a_null_for_a_required_field_of_a_resource_is_refused_and_changes_nothing(
    client, factory
):
    people = await cast(factory)
    resource_id = await draft(client, people.author, **EVERY_FIELD)
    before = await full(client, resource_id, people.author)
    changes = edit(resource_id, title=None, themes=None, body="Changed as well.")
    refused = await call(client, UPDATE_RESOURCE, changes, people.author)
    assert refusals(refused) == [("themes", "REQUIRED"), ("title", "REQUIRED")]
    assert await full(client, resource_id, people.author) == before


async def test_a_partial_edit_of_a_published_resource_keeps_every_field_not_sent(client, factory):
    # given a published resource with every field filled in
    people = await cast(factory)
    resource_id = await published(client, people, **EVERY_FIELD)
    before = await full(client, resource_id, people.author)
    assert filled_in(before), before
    # when its author sends only a new title
    changed = await ok(
        client, UPDATE_RESOURCE, edit(resource_id, title="Toolkit, 2025"), people.author
    )
    revision = changed["resource"]["id"]
    # then the revision is the published content with that title
    expected = {**before, "title": "Toolkit, 2025"}
    assert await full(client, revision, people.author) == expected
    # when the author then sends only a new publisher, to the same revision
    again = await ok(client, UPDATE_RESOURCE, edit(resource_id, publisher="IOM"), people.author)
    assert again["resource"]["id"] == revision
    # then the revision keeps the first edit and everything else
    expected["publisher"] = "IOM"
    assert await full(client, revision, people.author) == expected
    # and once approved, the published resource reads exactly so
    await approve(client, people, revision)
    assert await full(client, resource_id, people.author) == expected


STALE = "{ staleContent(first: 10) { nodes { title isStale underReReview } } }"
FRESHNESS = "query($id: ID!) { resource(id: $id) { state isStale underReReview reviewBy } }"


async def test_stale_resources_are_listed_flagged_and_re_reviewed_while_staying_visible(
    client, factory
):
    # given a published resource past its review-by date
    people = await cast(factory)
    resource_id = await published(client, people)
    fresh = await published(client, people, title="Fresh")
    variables = {"id": resource_id, "at": "2020-01-01T00:00:00Z"}
    await ok(client, SET_REVIEW_BY, variables, people.moderator)
    # then it is listed and flagged
    stale = (await gql(client, STALE))["data"]["staleContent"]["nodes"]
    assert stale == [{"title": "Fair recruitment toolkit", "isStale": True, "underReReview": False}]
    assert (await gql(client, FRESHNESS, {"id": fresh}))["data"]["resource"]["isStale"] is False
    # when a moderator sends it back to review
    assert codes(await call(client, SEND_BACK, {"id": resource_id}, people.author)) == [
        "NOT_ALLOWED"
    ]
    sent = await ok(client, SEND_BACK, {"id": resource_id}, people.moderator)
    # then it stays visible, "under re-review"
    assert sent["item"]["underReReview"] is True
    public = (await gql(client, FRESHNESS, {"id": resource_id}))["data"]["resource"]
    assert public["state"] == "APPROVED"
    assert public["underReReview"] is True
    # when the re-review approves it, it is fresh again
    await review(client, people.un_reviewer, resource_id)
    renewed = await review(client, people.un_reviewer_2, resource_id)
    assert renewed["underReReview"] is False
    assert renewed["reviewBy"] > "2027"
    assert (await gql(client, STALE))["data"]["staleContent"]["nodes"] == []


async def test_a_re_review_that_rejects_takes_the_resource_down(client, factory):
    people = await cast(factory)
    resource_id = await published(client, people)
    await ok(client, SEND_BACK, {"id": resource_id}, people.moderator)
    await review(client, people.un_reviewer, resource_id, "REJECT")
    assert (await review(client, people.un_reviewer_2, resource_id, "REJECT"))["state"] == (
        "REJECTED"
    )
    assert (await gql(client, FRESHNESS, {"id": resource_id}))["data"]["resource"] is None


async def test_review_by_is_only_for_moderators(client, factory):
    people = await cast(factory)
    resource_id = await published(client, people)
    reviewer = await factory.member(role=Role.REVIEWER)
    variables = {"id": resource_id, "at": "2030-01-01T00:00:00Z"}
    assert codes(await call(client, SET_REVIEW_BY, variables, reviewer)) == ["NOT_ALLOWED"]


async def test_one_revision_at_a_time(client, factory):
    # given a published resource with a revision being written
    people = await cast(factory)
    resource_id = await published(client, people)
    first = {"resourceId": resource_id, "resource": resource_input("Draft edit 1")}
    revision = (await ok(client, UPDATE_RESOURCE, {"input": first}, people.author))["resource"]
    # when the author edits again, the same revision changes
    second = {"resourceId": resource_id, "resource": resource_input("Draft edit 2")}
    again = (await ok(client, UPDATE_RESOURCE, {"input": second}, people.author))["resource"]
    assert again["id"] == revision["id"]
    assert again["title"] == "Draft edit 2"
    # when it is in review, further edits wait
    await ok(client, SUBMIT, {"id": revision["id"]}, people.author)
    third = {"resourceId": resource_id, "resource": resource_input("Draft edit 3")}
    assert codes(await call(client, UPDATE_RESOURCE, {"input": third}, people.author)) == [
        "CONFLICT"
    ]
    history = (await gql(client, REVISIONS, {"id": resource_id}, member=people.author))["data"]
    assert [n["title"] for n in history["resource"]["revisions"]["nodes"]] == ["Draft edit 2"]
