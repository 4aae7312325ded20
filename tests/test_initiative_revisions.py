"""Edits to a published initiative: a revision, reviewed by the same mechanism, that replaces
the public content once approved (as for resources); the public sees the published content
meanwhile, listings and counts never show revisions, and the history is queryable."""

from __future__ import annotations

from typing import Any

from schema.relay import encode_id
from tests.conftest import gql
from tests.knowledge import SUBMIT, approve, assign, call, cast, codes, ok, review
from tests.test_initiatives import (
    FEATURE,
    approved_initiative,
    content,
    every_field,
    filled_in,
    initiative_input,
)

UPDATE = """
mutation($input: UpdateInitiativeInput!) {
  updateInitiative(input: $input) {
    initiative { id title state revisionOf { id } } errors { field code message }
  }
}
"""
DETAIL = """
query($id: ID!) {
  initiative(id: $id) {
    title state featured objectives { number } partners { name } countries { code }
    revisionOf { title } mergedAt
    revisions(first: 10) { totalCount nodes { title state mergedAt } }
  }
}
"""
OBJECTIVE = """
query($n: Int!) {
  gcmObjective(number: $n) { initiativeCount initiatives(first: 10) { nodes { title } } }
}
"""
LISTED = "{ initiatives(first: 10) { totalCount nodes { title } } }"


async def detail(client: Any, item_id: str, member: Any = None) -> Any:
    body = await gql(client, DETAIL, {"id": item_id}, member=member)
    assert "errors" not in body, body
    return body["data"]["initiative"]


async def edit(client: Any, member: Any, item_id: str, title: str, **extra: Any) -> Any:
    variables = {"input": {"initiativeId": item_id, "initiative": initiative_input(title, **extra)}}
    return await call(client, UPDATE, variables, member)


async def test_an_edit_of_a_published_initiative_is_reviewed_before_it_replaces_it(client, factory):
    # given a published, featured initiative
    people = await cast(factory)
    partner = await factory.organization(name="New partner")
    published = await approved_initiative(client, people, title="Skills partnership")
    await ok(client, FEATURE, {"id": published, "featured": True}, people.moderator)
    # when its author edits it
    edited = await edit(
        client,
        people.author,
        published,
        "Skills partnership, second phase",
        objectives=[18, 5],
        countries=["PH", "KE"],
        partnerIds=[encode_id("Organization", partner)],
    )
    # then a revision is created, a draft of its own
    assert edited["errors"] == []
    revision = edited["initiative"]
    assert revision["state"] == "DRAFT"
    assert revision["revisionOf"] == {"id": published}
    assert revision["id"] != published
    # and the public still sees the published content, and no revision anywhere
    public = await detail(client, published)
    assert (public["title"], public["objectives"]) == ("Skills partnership", [{"number": 18}])
    assert public["revisions"] == {"totalCount": 0, "nodes": []}
    assert await detail(client, revision["id"]) is None
    assert (await gql(client, LISTED))["data"]["initiatives"]["totalCount"] == 1
    page = (await gql(client, OBJECTIVE, {"n": 18}))["data"]["gcmObjective"]
    assert page == {
        "initiativeCount": 1,
        "initiatives": {"nodes": [{"title": "Skills partnership"}]},
    }
    # and its author sees the revision in the history
    own = await detail(client, published, people.author)
    assert [n["title"] for n in own["revisions"]["nodes"]] == ["Skills partnership, second phase"]
    # when the revision is submitted and approved
    await ok(client, SUBMIT, {"id": revision["id"]}, people.author)
    await assign(client, people.moderator, revision["id"], people.un_reviewer, people.un_reviewer_2)
    await review(client, people.un_reviewer, revision["id"])
    assert (await review(client, people.un_reviewer_2, revision["id"]))["state"] == "APPROVED"
    # then the published initiative carries the new content, still featured and published
    public = await detail(client, published)
    assert public["title"] == "Skills partnership, second phase"
    assert public["state"] == "APPROVED"
    assert public["featured"] is True
    assert sorted(o["number"] for o in public["objectives"]) == [5, 18]
    assert public["countries"] == [{"code": "KE"}, {"code": "PH"}]
    assert public["partners"] == [{"name": "New partner"}]
    # and the merged revision is the public history, still out of every listing
    assert public["revisions"]["totalCount"] == 1
    merged = public["revisions"]["nodes"][0]
    assert merged["state"] == "APPROVED"
    assert merged["mergedAt"] is not None
    listed = (await gql(client, LISTED))["data"]["initiatives"]
    assert listed == {"totalCount": 1, "nodes": [{"title": "Skills partnership, second phase"}]}
    page = (await gql(client, OBJECTIVE, {"n": 5}))["data"]["gcmObjective"]
    assert page["initiativeCount"] == 1
    # and a merged revision is not featured nor edited any more
    assert codes(
        await call(client, FEATURE, {"id": revision["id"], "featured": True}, people.moderator)
    ) == ["INVALID_TRANSITION"]
    assert codes(await edit(client, people.author, revision["id"], "Again")) == [
        "INVALID_TRANSITION"
    ]


async def test_one_revision_at_a_time_and_only_by_the_author(client, factory):
    # given a published initiative with a draft revision
    people = await cast(factory)
    published = await approved_initiative(client, people, title="Skills partnership")
    first = (await edit(client, people.author, published, "First wording"))["initiative"]
    # when the author edits again, the same draft revision changes
    again = (await edit(client, people.author, published, "Second wording"))["initiative"]
    assert again["id"] == first["id"]
    assert again["title"] == "Second wording"
    # when the revision is in review, further edits wait
    await ok(client, SUBMIT, {"id": first["id"]}, people.author)
    assert codes(await edit(client, people.author, published, "Third wording")) == ["CONFLICT"]
    # and nobody else edits a published initiative
    assert codes(await edit(client, people.moderator, published, "Moderated")) == ["NOT_ALLOWED"]
    assert codes(await edit(client, people.colleague, published, "Colleague's")) == ["NOT_ALLOWED"]
    own = await detail(client, published, people.author)
    assert own["revisions"]["totalCount"] == 1


async def test_a_rejected_revision_leaves_the_published_initiative_as_it_was(client, factory):
    people = await cast(factory)
    published = await approved_initiative(client, people, title="Skills partnership")
    revision = (await edit(client, people.author, published, "Overstated results"))["initiative"]
    await ok(client, SUBMIT, {"id": revision["id"]}, people.author)
    await assign(client, people.moderator, revision["id"], people.un_reviewer, people.un_reviewer_2)
    await review(client, people.un_reviewer, revision["id"], "REJECT")
    assert (await review(client, people.un_reviewer_2, revision["id"], "REJECT"))["state"] == (
        "REJECTED"
    )
    public = await detail(client, published)
    assert public["title"] == "Skills partnership"
    assert public["state"] == "APPROVED"
    assert public["revisions"]["totalCount"] == 0
    # and a new edit opens a new revision
    again = (await edit(client, people.author, published, "Measured results"))["initiative"]
    assert again["id"] not in (revision["id"], published)


async def test_a_partial_edit_of_a_published_initiative_keeps_every_field_not_sent(client, factory):
    # given a published initiative with every field filled in
    people = await cast(factory)
    fields = await every_field(client, factory, people)
    published = await approved_initiative(client, people, **fields)
    before = await content(client, published)
    assert filled_in(before), before

    async def change(**changes: Any) -> str:
        variables = {"input": {"initiativeId": published, "initiative": changes}}
        payload = await ok(client, UPDATE, variables, people.author)
        return str(payload["initiative"]["id"])

    # when its author sends only a new title
    revision = await change(title="Skills partnership, second phase")
    # then the revision is the published content with that title
    expected = {**before, "title": "Skills partnership, second phase"}
    assert await content(client, revision, people.author) == expected
    # when the author then sends only an end date, to the same revision
    assert await change(endsOn="2026-06-30") == revision
    # then the revision keeps the first edit and everything else
    expected["endsOn"] = "2026-06-30"
    assert await content(client, revision, people.author) == expected
    # and once approved, the published initiative reads exactly so
    await approve(client, people, revision)
    assert await content(client, published) == expected
