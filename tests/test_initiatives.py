"""Initiatives through the API: reviewed by the same mechanism as resources, featured by
moderators, answering calls for practices until their deadline; discovery and visibility."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from models.base import utcnow
from models.initiative import (
    CallForPractices,
    Initiative,
    InitiativeCountry,
    InitiativeObjective,
    InitiativePartner,
    InitiativeStatus,
)
from models.review import ReviewAssignment, ReviewItemKind, ReviewState
from schema.relay import decode_int_id, encode_id
from tests.conftest import gql, refusals
from tests.knowledge import (
    ARCHIVE,
    ASSIGN,
    DECIDE,
    SUBMIT,
    assign,
    call,
    cast,
    codes,
    draft,
    ok,
    published,
    review,
)

CREATE = """
mutation($input: CreateInitiativeInput!) {
  createInitiative(input: $input) {
    initiative { id title state status featured call { theme } }
    errors { field code message }
  }
}
"""
UPDATE = """
mutation($input: UpdateInitiativeInput!) {
  updateInitiative(input: $input) { initiative { id title } errors { field code message } }
}
"""
FEATURE = """
mutation($id: ID!, $featured: Boolean!) {
  setInitiativeFeatured(input: {initiativeId: $id, featured: $featured}) {
    initiative { featured } errors { code message }
  }
}
"""
CREATE_CALL = """
mutation($input: CreateCallForPracticesInput!) {
  createCallForPractices(input: $input) {
    call { id theme isOpen objectives { number } } errors { field code message }
  }
}
"""
DETAIL = """
query($id: ID!) {
  initiative(id: $id) {
    title summary status startsOn endsOn results replicability isGlobal featured state
    leadOrganization { name } partners { name } objectives { number } principles
    countries { code } regions { region } resources { title } author { name }
    reviews { decision } reviewers { name }
  }
}
"""
LIST = """
query($filter: InitiativeFilterInput, $order: InitiativeOrder!) {
  initiatives(filter: $filter, orderBy: $order, first: 50) { totalCount nodes { title } }
}
"""


def initiative_input(title: str = "Skills partnership", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": title,
        "status": "ONGOING",
        "summary": "Training before departure.",
        "startsOn": "2022-01-01",
        "results": "1,200 workers placed.",
        "replicability": "Bilateral agreement template.",
        "objectives": [18],
        "principles": ["d"],
        "countries": ["PH"],
    }
    values.update(overrides)
    return values


async def create(
    client: Any, member: Any, call_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    variables = {"input": {"initiative": initiative_input(**extra), "callId": call_id}}
    return await call(client, CREATE, variables, member)


async def approved_initiative(client: Any, people: Any, **extra: Any) -> str:
    initiative_id = str((await create(client, people.author, **extra))["initiative"]["id"])
    await ok(client, SUBMIT, {"id": initiative_id}, people.author)
    await assign(client, people.moderator, initiative_id, people.un_reviewer, people.un_reviewer_2)
    await review(client, people.un_reviewer, initiative_id)
    assert (await review(client, people.un_reviewer_2, initiative_id))["state"] == "APPROVED"
    return initiative_id


async def titles(
    client: Any, member: Any = None, order: str = "NEWEST", **filter: Any
) -> list[str]:
    body = await gql(client, LIST, {"filter": filter or None, "order": order}, member=member)
    assert "errors" not in body, body
    return [n["title"] for n in body["data"]["initiatives"]["nodes"]]


async def test_an_initiative_is_reviewed_like_a_resource_and_then_published(client, factory):
    # given
    people = await cast(factory)
    lead = await factory.organization(name="Lead agency")
    partner = await factory.organization(name="Partner NGO")
    toolkit = await published(client, people, title="Pre-departure toolkit")
    created = await create(
        client,
        people.author,
        leadOrganizationId=encode_id("Organization", lead),
        partnerIds=[encode_id("Organization", partner)],
        resourceIds=[toolkit],
        regions=["ASIA"],
    )
    initiative_id = created["initiative"]["id"]
    assert created["initiative"]["state"] == "DRAFT"
    assert (await gql(client, DETAIL, {"id": initiative_id}))["data"]["initiative"] is None
    # when
    await ok(client, SUBMIT, {"id": initiative_id}, people.author)
    variables = {"id": initiative_id, "reviewer": people.colleague_reviewer.global_id}
    conflict = await call(client, ASSIGN, variables, people.moderator)
    await assign(client, people.moderator, initiative_id, people.un_reviewer, people.cso_reviewer)
    await review(client, people.cso_reviewer, initiative_id)
    final = await review(client, people.un_reviewer, initiative_id)
    # then
    assert codes(conflict) == ["CONFLICT_OF_INTEREST"]
    assert final["state"] == "APPROVED"
    public = (await gql(client, DETAIL, {"id": initiative_id}))["data"]["initiative"]
    assert public["leadOrganization"] == {"name": "Lead agency"}
    assert public["partners"] == [{"name": "Partner NGO"}]
    assert public["resources"] == [{"title": "Pre-departure toolkit"}]
    assert public["regions"] == [{"region": "ASIA"}]
    assert public["status"] == "ONGOING"
    assert public["reviews"] == []
    own = (await gql(client, DETAIL, {"id": initiative_id}, member=people.author))["data"]
    assert [r["decision"] for r in own["initiative"]["reviews"]] == ["APPROVE", "APPROVE"]
    notes = await gql(
        client, "{ notifications { nodes { kind initiative { title } } } }", member=people.author
    )
    assert notes["data"]["notifications"]["nodes"][0] == {
        "kind": "REVIEW_DECISION",
        "initiative": {"title": "Skills partnership"},
    }
    queue = await gql(
        client,
        "{ reviewQueue { initiatives(first: 5) { nodes { id } } } }",
        member=people.moderator,
    )
    assert queue["data"]["reviewQueue"]["initiatives"]["nodes"] == []


async def test_an_initiative_needs_objectives_and_a_scope_and_real_partners(client, factory):
    people = await cast(factory)
    missing = await create(client, people.author, objectives=[], countries=[])
    assert sorted((e["field"], e["code"]) for e in missing["errors"]) == [
        ("countries", "REQUIRED"),
        ("objectives", "REQUIRED"),
    ]
    unknown = await create(client, people.author, partnerIds=[encode_id("Organization", 999)])
    assert codes(unknown) == ["NOT_FOUND"]
    backwards = await create(client, people.author, startsOn="2024-01-01", endsOn="2023-01-01")
    assert [e["field"] for e in backwards["errors"]] == ["endsOn"]


async def test_moderators_feature_published_initiatives(client, factory):
    people = await cast(factory)
    initiative_id = await approved_initiative(client, people, title="Flagship")
    await approved_initiative(client, people, title="Ordinary")
    draft_id = (await create(client, people.author, title="Draft"))["initiative"]["id"]
    refused = await call(client, FEATURE, {"id": initiative_id, "featured": True}, people.author)
    assert codes(refused) == ["NOT_ALLOWED"]
    on_draft = await call(client, FEATURE, {"id": draft_id, "featured": True}, people.moderator)
    assert codes(on_draft) == ["INVALID_TRANSITION"]
    featured = await ok(client, FEATURE, {"id": initiative_id, "featured": True}, people.moderator)
    assert featured["initiative"]["featured"] is True
    assert await titles(client, featured=True) == ["Flagship"]
    assert await titles(client, featured=False) == ["Ordinary"]


async def test_a_call_for_practices_takes_submissions_until_its_deadline(client, factory, db):
    # given
    people = await cast(factory)
    deadline = (utcnow() + timedelta(days=30)).isoformat()
    call_input = {"theme": "Skills mobility", "objectives": [18], "deadline": deadline}
    assert codes(await call(client, CREATE_CALL, {"input": call_input}, people.member)) == [
        "NOT_ALLOWED"
    ]
    opened = (await ok(client, CREATE_CALL, {"input": call_input}, people.moderator))["call"]
    assert opened["isOpen"] is True
    # when: one answer submitted in time, one draft left for after the deadline
    answered = await create(client, people.author, opened["id"], title="In time")
    assert answered["initiative"]["call"] == {"theme": "Skills mobility"}
    late_draft = (await create(client, people.author, opened["id"], title="Late"))["initiative"]
    await ok(client, SUBMIT, {"id": answered["initiative"]["id"]}, people.author)
    async with db.sessions.begin() as session:
        await session.execute(
            update(CallForPractices)
            .where(CallForPractices.id == decode_int_id(opened["id"], "CallForPractices"))
            .values(deadline=utcnow() - timedelta(minutes=1))
        )
    # then: no new submissions after it
    late_submit = await call(client, SUBMIT, {"id": late_draft["id"]}, people.author)
    assert codes(late_submit) == ["CLOSED"]
    late_create = await create(client, people.author, opened["id"], title="Too late")
    assert codes(late_create) == ["CLOSED"]
    calls = await gql(client, "{ callsForPractices(openOnly: true) { nodes { id } } }")
    assert calls["data"]["callsForPractices"]["nodes"] == []
    every = await gql(client, "{ callsForPractices { nodes { theme isOpen } } }")
    assert every["data"]["callsForPractices"]["nodes"] == [
        {"theme": "Skills mobility", "isOpen": False}
    ]


async def test_initiatives_are_filtered_and_counted_on_their_objectives_page(client, factory):
    people = await cast(factory)
    await approved_initiative(client, people, title="Philippines skills")
    await approved_initiative(
        client,
        people,
        title="Sahel returns",
        objectives=[21],
        countries=[],
        regions=["AFRICA"],
        status="COMPLETED",
        principles=["a"],
    )
    await create(client, people.author, title="Unpublished")
    assert await titles(client, order="TITLE") == ["Philippines skills", "Sahel returns"]
    assert await titles(client, objectives=[21]) == ["Sahel returns"]
    assert await titles(client, statuses=["ONGOING"]) == ["Philippines skills"]
    assert await titles(client, regions=["AFRICA"]) == ["Sahel returns"]
    assert await titles(client, countries=["PH"]) == ["Philippines skills"]
    assert await titles(client, principles=["a"]) == ["Sahel returns"]
    page = await gql(
        client,
        "{ gcmObjective(number: 18) { initiativeCount initiatives(first: 5) { nodes { title } } } }",
    )
    objective = page["data"]["gcmObjective"]
    assert objective["initiativeCount"] == 1
    assert objective["initiatives"]["nodes"] == [{"title": "Philippines skills"}]


async def test_only_the_author_edits_a_draft_initiative(client, factory):
    people = await cast(factory)
    initiative_id = (await create(client, people.author))["initiative"]["id"]
    edit = {"initiativeId": initiative_id, "initiative": initiative_input("Renamed")}
    assert (await ok(client, UPDATE, {"input": edit}, people.author))["initiative"]["title"] == (
        "Renamed"
    )
    assert codes(await call(client, UPDATE, {"input": edit}, people.moderator)) == ["NOT_ALLOWED"]
    await ok(client, SUBMIT, {"id": initiative_id}, people.author)
    assert codes(await call(client, UPDATE, {"input": edit}, people.author)) == [
        "INVALID_TRANSITION"
    ]


# --- partial edits: left out keeps, null clears a nullable field, null for a required one is
# refused ----------------------------------------------------------------------------------

CONTENT = """
query($id: ID!) {
  initiative(id: $id) {
    title summary status startsOn endsOn results replicability isGlobal
    leadOrganization { name } partners { name } objectives { number } principles
    countries { code } regions { region } resources { title }
  }
}
"""


async def every_field(client: Any, factory: Any, people: Any) -> dict[str, Any]:
    """What `create` needs besides its defaults to fill in every field of an initiative."""
    lead = await factory.organization(name="Lead agency")
    partner = await factory.organization(name="Partner NGO")
    toolkit = await published(client, people, title="Pre-departure toolkit")
    return {
        "leadOrganizationId": encode_id("Organization", lead),
        "partnerIds": [encode_id("Organization", partner)],
        "resourceIds": [toolkit],
        "regions": ["ASIA"],
        "endsOn": "2025-12-31",
    }


async def content(client: Any, initiative_id: str, member: Any = None) -> dict[str, Any]:
    body = await gql(client, CONTENT, {"id": initiative_id}, member=member)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["initiative"]
    return found


def filled_in(initiative: dict[str, Any]) -> bool:
    return all(value not in (None, "", []) for value in initiative.values())


async def test_an_edit_sending_one_field_keeps_every_other_field(client, factory):
    # given a draft with every field filled in
    people = await cast(factory)
    fields = await every_field(client, factory, people)
    initiative_id = (await create(client, people.author, **fields))["initiative"]["id"]
    before = await content(client, initiative_id, people.author)
    assert filled_in(before), before
    # when its author sends only a new title
    edit = {"initiativeId": initiative_id, "initiative": {"title": "Skills partnership II"}}
    await ok(client, UPDATE, {"input": edit}, people.author)
    # then the title changed and nothing else
    after = await content(client, initiative_id, people.author)
    assert after == {**before, "title": "Skills partnership II"}


async def test_an_explicit_null_clears_a_nullable_field_of_an_initiative(client, factory):
    people = await cast(factory)
    fields = await every_field(client, factory, people)
    initiative_id = (await create(client, people.author, **fields))["initiative"]["id"]
    before = await content(client, initiative_id, people.author)
    edit = {
        "initiativeId": initiative_id,
        "initiative": {"leadOrganizationId": None, "endsOn": None},
    }
    await ok(client, UPDATE, {"input": edit}, people.author)
    after = await content(client, initiative_id, people.author)
    assert after == {**before, "leadOrganization": None, "endsOn": None}


async def test_a_null_for_a_required_field_of_an_initiative_is_refused_and_changes_nothing(
    client, factory
):
    people = await cast(factory)
    fields = await every_field(client, factory, people)
    initiative_id = (await create(client, people.author, **fields))["initiative"]["id"]
    before = await content(client, initiative_id, people.author)
    changes = {"title": None, "objectives": None, "summary": "Changed as well."}
    edit = {"initiativeId": initiative_id, "initiative": changes}
    refused = await call(client, UPDATE, {"input": edit}, people.author)
    assert refusals(refused) == [("objectives", "REQUIRED"), ("title", "REQUIRED")]
    assert await content(client, initiative_id, people.author) == before


async def test_a_partial_edit_keeps_a_linked_resource_its_author_no_longer_sees(client, factory):
    # given a draft linking another member's published resource, since archived
    people = await cast(factory)
    resource_id = await draft(client, people.member, title="Archived toolkit")
    await ok(client, SUBMIT, {"id": resource_id}, people.member)
    decision = {"id": resource_id, "decision": "APPROVE", "reason": "Well sourced."}
    await ok(client, DECIDE, decision, people.moderator)
    created = await create(client, people.author, resourceIds=[resource_id])
    initiative_id = created["initiative"]["id"]
    await ok(client, ARCHIVE, {"id": resource_id}, people.moderator)
    # when its author sends only a new title
    edit = {"initiativeId": initiative_id, "initiative": {"title": "Renamed"}}
    await ok(client, UPDATE, {"input": edit}, people.author)
    # then the link is kept, for those who may see the resource
    linked = await content(client, initiative_id, people.moderator)
    assert linked["resources"] == [{"title": "Archived toolkit"}]


# --- the visibility matrix, for initiatives --------------------------------------------------

EVERYTHING = {s.value for s in ReviewState}
EXPECTED = {
    "anonymous": {"APPROVED"},
    "member": {"APPROVED"},
    "author": EVERYTHING,
    "colleague": {"APPROVED"},
    "assigned_reviewer": EVERYTHING,
    "unassigned_reviewer": {"APPROVED"},
    "moderator": EVERYTHING,
}
NODE = "query($id: ID!) { node(id: $id) { ... on Initiative { title } } }"
COUNT = "{ gcmObjective(number: 18) { initiativeCount } }"


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
async def test_each_viewer_sees_exactly_the_initiatives_it_may(client, factory, db, viewer):
    # given one initiative in each state, assigned to one reviewer
    people = await cast(factory)
    ids = {}
    for state in EVERYTHING:
        ids[state] = (await create(client, people.author, title=state))["initiative"]["id"]
    async with db.sessions.begin() as session:
        for state, global_id in ids.items():
            key = decode_int_id(global_id, "Initiative")
            assert key is not None
            (await session.get_one(Initiative, key)).state = ReviewState(state)
            session.add(
                ReviewAssignment(
                    item_kind=ReviewItemKind.INITIATIVE,
                    item_id=key,
                    reviewer_id=people.un_reviewer.id,
                )
            )
    member = {
        "anonymous": None,
        "member": people.member,
        "author": people.author,
        "colleague": people.colleague,
        "assigned_reviewer": people.un_reviewer,
        "unassigned_reviewer": people.cso_reviewer,
        "moderator": people.moderator,
    }[viewer]
    # then
    expected = EXPECTED[viewer]
    assert set(await titles(client, member, states=sorted(EVERYTHING))) == expected
    for state in EVERYTHING:
        listed = await gql(
            client, LIST, {"filter": {"states": [state]}, "order": "NEWEST"}, member=member
        )
        assert listed["data"]["initiatives"]["totalCount"] == (state in expected)
        node = (await gql(client, NODE, {"id": ids[state]}, member=member))["data"]["node"]
        assert (node is not None) == (state in expected), state
    count = (await gql(client, COUNT, member=member))["data"]["gcmObjective"]["initiativeCount"]
    assert count == 1


INITIATIVE_PAGE = """
query($first: Int!) {
  initiatives(first: $first) {
    nodes {
      title objectives { number } countries { code } leadOrganization { name }
      partners { name } resources { title } call { theme }
    }
  }
}
"""


async def test_a_page_of_initiatives_runs_the_same_statements_for_5_and_50(
    client, factory, db, statements
):
    # given 60 published initiatives with objectives, countries, partners and a call
    lead = await factory.organization(name="Lead")
    partner = await factory.organization(name="Partner")
    author = await factory.member(organization_id=lead)
    async with db.sessions.begin() as session:
        call_row = CallForPractices(theme="Skills", deadline=utcnow() + timedelta(days=9))
        session.add(call_row)
        await session.flush()
        rows = [
            Initiative(
                title=f"Initiative {i:02}",
                status=InitiativeStatus.ONGOING,
                state=ReviewState.APPROVED,
                author_id=author.id,
                lead_organization_id=lead,
                call_id=call_row.id,
            )
            for i in range(60)
        ]
        session.add_all(rows)
        await session.flush()
        for row in rows:
            session.add_all(
                [
                    InitiativeObjective(initiative_id=row.id, objective_number=18),
                    InitiativeCountry(initiative_id=row.id, code="PH"),
                    InitiativePartner(initiative_id=row.id, organization_id=partner),
                ]
            )
    counts = {}
    for size in (5, 50):
        statements.reset()
        body = await gql(client, INITIATIVE_PAGE, {"first": size})
        assert "errors" not in body, body
        nodes = body["data"]["initiatives"]["nodes"]
        assert len(nodes) == size
        assert all(n["partners"] == [{"name": "Partner"}] for n in nodes)
        counts[size] = statements.count
    assert counts[5] == counts[50], counts
