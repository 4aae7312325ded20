"""Relations between resources: proposed by any member, decided by reviewers or moderators,
shown on both resources, superseded resources ranked after their successors, no cycles."""

from __future__ import annotations

from typing import Any

from tests.conftest import gql
from tests.knowledge import (
    ARCHIVE,
    DECIDE,
    SET_REVIEW_BY,
    SUBMIT,
    call,
    cast,
    codes,
    draft,
    ok,
    published,
)

PROPOSE = """
mutation($input: ProposeRelationInput!) {
  proposeRelation(input: $input) {
    relation { id kind status note from { id } to { id } } errors { field code message }
  }
}
"""
DECIDE_RELATION = """
mutation($id: ID!, $confirm: Boolean!) {
  decideRelation(input: {relationId: $id, confirm: $confirm}) {
    relation { id status } errors { field code message }
  }
}
"""
RELATED = """
query($id: ID!) {
  resource(id: $id) {
    title isSuperseded
    supersededBy { title } supersedes { title }
    contradictedBy { resource { title } note } contradicts { resource { title } note }
    translations { title }
    relations { kind from { title } to { title } }
  }
}
"""
LIST = """
query($order: ResourceOrder!) { resources(orderBy: $order, first: 20) { nodes { title } } }
"""
PROPOSALS = "{ relationProposals(first: 10) { nodes { kind note } } }"


async def relate(
    client: Any, member: Any, from_id: str, to_id: str, kind: str, note: str = ""
) -> dict[str, Any]:
    variables = {"input": {"fromId": from_id, "toId": to_id, "kind": kind, "note": note}}
    return await call(client, PROPOSE, variables, member)


async def confirmed(
    client: Any, people: Any, from_id: str, to_id: str, kind: str, note: str = ""
) -> str:
    proposed = await relate(client, people.member, from_id, to_id, kind, note)
    assert proposed["errors"] == [], proposed
    relation_id = str(proposed["relation"]["id"])
    await ok(client, DECIDE_RELATION, {"id": relation_id, "confirm": True}, people.un_reviewer)
    return relation_id


async def view(client: Any, resource_id: str) -> dict[str, Any]:
    body = await gql(client, RELATED, {"id": resource_id})
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["resource"]
    return result


async def test_a_confirmed_supersession_shows_on_both_and_ranks_the_old_one_after_the_new(
    client, factory
):
    # given: the 2019 edition, then the 2024 edition
    people = await cast(factory)
    old = await published(client, people, title="A 2019 edition")
    new = await published(client, people, title="B 2024 edition")
    assert [
        n["title"]
        for n in (await gql(client, LIST, {"order": "TITLE"}))["data"]["resources"]["nodes"]
    ] == [
        "A 2019 edition",
        "B 2024 edition",
    ]
    # when a member proposes it, it changes nothing until a reviewer confirms
    proposed = await relate(client, people.member, new, old, "SUPERSEDES", "New data.")
    assert proposed["relation"]["status"] == "PROPOSED"
    assert (await view(client, old))["supersededBy"] == []
    proposals = (await gql(client, PROPOSALS, member=people.un_reviewer))["data"]
    assert proposals["relationProposals"]["nodes"] == [{"kind": "SUPERSEDES", "note": "New data."}]
    assert (await gql(client, PROPOSALS, member=people.member))["data"]["relationProposals"] is None
    relation_id = proposed["relation"]["id"]
    await ok(client, DECIDE_RELATION, {"id": relation_id, "confirm": True}, people.un_reviewer)
    # then
    superseded = await view(client, old)
    assert superseded["isSuperseded"] is True
    assert superseded["supersededBy"] == [{"title": "B 2024 edition"}]
    assert (await view(client, new))["supersedes"] == [{"title": "A 2019 edition"}]
    for order in ("TITLE", "NEWEST", "RECENTLY_REVIEWED"):
        listing = (await gql(client, LIST, {"order": order}))["data"]["resources"]["nodes"]
        assert [n["title"] for n in listing] == ["B 2024 edition", "A 2019 edition"], order


async def test_a_chain_of_supersessions_ranks_each_after_its_successor(client, factory):
    people = await cast(factory)
    first = await published(client, people, title="A first")
    second = await published(client, people, title="B second")
    third = await published(client, people, title="C third")
    await published(client, people, title="D unrelated")
    await confirmed(client, people, second, first, "SUPERSEDES")
    await confirmed(client, people, third, second, "SUPERSEDES")
    listing = (await gql(client, LIST, {"order": "TITLE"}))["data"]["resources"]["nodes"]
    assert [n["title"] for n in listing] == ["C third", "D unrelated", "B second", "A first"]


async def test_supersession_cycles_are_refused(client, factory):
    people = await cast(factory)
    first = await published(client, people, title="First")
    second = await published(client, people, title="Second")
    third = await published(client, people, title="Third")
    await confirmed(client, people, second, first, "SUPERSEDES")
    await confirmed(client, people, third, second, "SUPERSEDES")
    assert codes(await relate(client, people.member, first, third, "SUPERSEDES")) == [
        "SUPERSESSION_CYCLE"
    ]
    assert codes(await relate(client, people.member, first, second, "SUPERSEDES")) == [
        "SUPERSESSION_CYCLE"
    ]
    assert codes(await relate(client, people.member, first, first, "SUPERSEDES")) == ["INVALID"]
    # other kinds may point back
    assert (await relate(client, people.member, first, third, "RELATED"))["errors"] == []


async def test_contradictions_carry_their_note_and_translations_show_both_ways(client, factory):
    people = await cast(factory)
    study = await published(client, people, title="Study")
    rebuttal = await published(client, people, title="Rebuttal")
    french = await published(client, people, title="Étude", language="fr")
    await confirmed(client, people, rebuttal, study, "CONTRADICTS", "Different sample sizes.")
    await confirmed(client, people, french, study, "TRANSLATION_OF")
    contradicted = await view(client, study)
    assert contradicted["contradictedBy"] == [
        {"resource": {"title": "Rebuttal"}, "note": "Different sample sizes."}
    ]
    assert (await view(client, rebuttal))["contradicts"] == [
        {"resource": {"title": "Study"}, "note": "Different sample sizes."}
    ]
    assert contradicted["translations"] == [{"title": "Étude"}]
    assert (await view(client, french))["translations"] == [{"title": "Study"}]


async def test_only_reviewers_and_moderators_decide_and_only_once(client, factory):
    people = await cast(factory)
    first = await published(client, people, title="First")
    second = await published(client, people, title="Second")
    relation_id = (await relate(client, people.member, second, first, "UPDATES"))["relation"]["id"]
    by_member = await call(
        client, DECIDE_RELATION, {"id": relation_id, "confirm": True}, people.member
    )
    assert codes(by_member) == ["NOT_FOUND"]
    rejected = await ok(
        client, DECIDE_RELATION, {"id": relation_id, "confirm": False}, people.moderator
    )
    assert rejected["relation"]["status"] == "REJECTED"
    again = await call(
        client, DECIDE_RELATION, {"id": relation_id, "confirm": True}, people.moderator
    )
    assert codes(again) == ["INVALID_TRANSITION"]
    duplicate = await relate(client, people.member, second, first, "UPDATES")
    assert codes(duplicate) == ["CONFLICT"]
    assert (await view(client, first))["relations"] == []


async def test_relations_to_resources_the_proposer_cannot_see_are_refused(client, factory):
    people = await cast(factory)
    public = await published(client, people, title="Public")
    hidden = await draft(client, people.author, title="Hidden draft")
    assert codes(await relate(client, people.member, public, hidden, "RELATED")) == ["NOT_FOUND"]
    assert codes(await relate(client, None, public, hidden, "RELATED")) == ["UNAUTHENTICATED"]


async def test_superseded_resources_rank_last_among_stale_content_too(client, factory):
    # given two stale resources, the older one more overdue but superseded by the newer
    people = await cast(factory)
    old = await published(client, people, title="Old edition")
    new = await published(client, people, title="New edition")
    for resource_id, at in ((old, "2020-01-01T00:00:00Z"), (new, "2021-01-01T00:00:00Z")):
        await ok(client, SET_REVIEW_BY, {"id": resource_id, "at": at}, people.moderator)
    stale = "{ staleContent(first: 10) { nodes { title } } }"
    assert [n["title"] for n in (await gql(client, stale))["data"]["staleContent"]["nodes"]] == [
        "Old edition",
        "New edition",
    ]
    # when
    await confirmed(client, people, new, old, "SUPERSEDES")
    # then
    assert [n["title"] for n in (await gql(client, stale))["data"]["staleContent"]["nodes"]] == [
        "New edition",
        "Old edition",
    ]


async def test_only_a_published_successor_demotes_what_it_supersedes(client, factory):
    # given a published resource and its successor still in draft, the relation confirmed
    people = await cast(factory)
    old = await published(client, people, title="Old")
    successor = await draft(client, people.author, title="Successor")
    proposed = await relate(client, people.author, successor, old, "SUPERSEDES")
    await ok(
        client,
        DECIDE_RELATION,
        {"id": proposed["relation"]["id"], "confirm": True},
        people.moderator,
    )
    # then the old one is not demoted yet
    assert (await view(client, old))["isSuperseded"] is False
    # when the successor is published, it is
    await ok(client, SUBMIT, {"id": successor}, people.author)
    decide = {"id": successor, "decision": "APPROVE", "reason": "Checked."}
    await ok(client, DECIDE, decide, people.moderator)
    assert (await view(client, old))["isSuperseded"] is True
    assert (await view(client, old))["supersededBy"] == [{"title": "Successor"}]
    # when the successor is archived, the old one ranks as before
    await ok(client, ARCHIVE, {"id": successor}, people.moderator)
    assert (await view(client, old))["isSuperseded"] is False
    assert (await view(client, old))["supersededBy"] == []


async def test_a_reviewer_cannot_decide_a_relation_to_a_resource_they_cannot_see(client, factory):
    people = await cast(factory)
    public = await published(client, people, title="Public")
    hidden = await draft(client, people.author, title="Author's draft")
    proposed = await relate(client, people.author, hidden, public, "UPDATES")
    relation_id = proposed["relation"]["id"]
    variables = {"id": relation_id, "confirm": True}
    assert codes(await call(client, DECIDE_RELATION, variables, people.un_reviewer)) == [
        "NOT_FOUND"
    ]
    assert (await ok(client, DECIDE_RELATION, variables, people.moderator))["relation"] == {
        "id": relation_id,
        "status": "CONFIRMED",
    }
