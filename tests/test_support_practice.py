"""A completed support request documented as a practice, through the API: the prefilled
initiative draft, who may make it, once per request (also at the same time), the link read both
ways under each side's privacy, and the draft's way through the normal review into search."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from models.db import Database
from models.initiative import Initiative
from models.organization import OrganizationKind
from models.support import SupportRequest, SupportRequestPractice, SupportStatus
from schema.relay import decode_int_id, encode_id
from tests.conftest import Factory, StatementCounter, gql
from tests.discussions import ok
from tests.knowledge import SUBMIT as SUBMIT_FOR_REVIEW
from tests.knowledge import Cast, assign, cast, codes, review
from tests.knowledge import call as payload_of
from tests.live import connect
from tests.search_knowledge import ids, run_search
from tests.support import (
    CHANGE_STATUS,
    PROPOSE,
    RESPOND,
    SUPPORT_EVENTS,
    TRIAGE,
    Government,
    government,
    moderator,
    submit,
)

if TYPE_CHECKING:
    from tests.conftest import TestMember

DOCUMENT = """
mutation($input: DocumentSupportRequestInput!) {
  documentSupportRequest(input: $input) {
    alreadyDocumented
    initiative {
      id title summary status startsOn endsOn state isGlobal results
      leadOrganization { name } partners { name } objectives { number } countries { code }
      author { name } supportRequest { id }
    }
    supportRequest { id timeline { nodes { change status actor { name } } } }
    errors { field code message }
  }
}
"""
REQUEST = """
query($id: ID!) {
  supportRequest(id: $id) { id description documentedPractice { id title state } }
}
"""
INITIATIVE = """
query($id: ID!) {
  initiative(id: $id) { id title summary state supportRequest { id description status } }
}
"""
NOTIFICATIONS = "{ notifications { nodes { kind supportRequest { id } } } }"
DESCRIPTION = "Our ministry's **internal** plan: link records of 40,000 workers."


@dataclass
class Completed:
    gov: Government
    focal: TestMember
    expert: TestMember
    request_id: str


async def document(
    client: httpx.AsyncClient, member: TestMember | None, request_id: str, **overrides: Any
) -> dict[str, Any]:
    return await payload_of(
        client, DOCUMENT, {"input": {"requestId": request_id, **overrides}}, member
    )


async def read(
    client: httpx.AsyncClient, query: str, item_id: str, member: TestMember | None
) -> dict[str, Any] | None:
    body = await gql(client, query, {"id": item_id}, member=member)
    assert "errors" not in body, body
    value: dict[str, Any] | None = next(iter(body["data"].values()))
    return value


async def to_status(
    client: httpx.AsyncClient, focal: TestMember, request_id: str, *statuses: str
) -> None:
    for status in statuses:
        await ok(client, CHANGE_STATUS, {"id": request_id, "status": status}, focal)


async def completed_request(
    client: httpx.AsyncClient, factory: Factory, gov: Government | None = None, **overrides: Any
) -> Completed:
    """A request through the whole workflow: one expert (of a data NGO) accepted, another
    (of a university) declined, then IN_PROGRESS and COMPLETED."""
    gov = gov or await government(factory)
    focal = await moderator(factory)
    ngo = await factory.organization(OrganizationKind.CIVIL_SOCIETY, name="Data for Migrants")
    university = await factory.organization(OrganizationKind.ACADEMIA, name="Declining U")
    expert = await factory.member(name="Elena Expert", is_expert=True, organization_id=ngo)
    decliner = await factory.member(name="Dan Decliner", is_expert=True, organization_id=university)
    request_id = await submit(client, gov.requester, description=DESCRIPTION, **overrides)
    await ok(client, TRIAGE, {"id": request_id}, focal)
    for member in (expert, decliner):
        await ok(client, PROPOSE, {"id": request_id, "expert": member.global_id}, focal)
    await ok(client, RESPOND, {"id": request_id, "accept": True}, expert)
    await ok(client, RESPOND, {"id": request_id, "accept": False}, decliner)
    await to_status(client, focal, request_id, "IN_PROGRESS", "COMPLETED")
    return Completed(gov, focal, expert, request_id)


async def test_a_completed_request_becomes_a_prefilled_draft_linked_both_ways(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    done = await completed_request(client, factory)
    request_id, colleague = done.request_id, done.gov.colleague
    start = await read(
        client,
        "query($id: ID!) { supportRequest(id: $id) { eventCursor } }",
        request_id,
        done.gov.requester,
    )
    assert start is not None
    async with connect(app, done.gov.requester.token) as socket:
        await socket.subscribe(SUPPORT_EVENTS, {"id": request_id, "after": start["eventCursor"]})
        # when a colleague of the requester documents it
        payload = await document(client, colleague, request_id)
        # then the requester's live stream has the change
        (event,) = [p["supportRequestEvents"] for p in await socket.next_payloads(1)]
    assert event["change"] == "DOCUMENTED"
    assert event["supportRequest"] == {"status": "COMPLETED"}

    # a DRAFT of the colleague's, prefilled from the request
    assert payload["errors"] == []
    assert payload["alreadyDocumented"] is False
    practice = payload["initiative"]
    assert practice["state"] == "DRAFT"
    assert practice["title"] == "Labour migration data system"
    # the request's description is private: never copied into what will be public
    assert practice["summary"] == ""
    assert DESCRIPTION not in str(practice)
    assert practice["status"] == "COMPLETED"
    assert practice["startsOn"] is not None
    assert practice["endsOn"] is not None
    assert practice["startsOn"] <= practice["endsOn"]
    assert practice["leadOrganization"] == {"name": "Ministry of Labour, Mexico"}
    # the accepted expert's organisation is a partner, the one who declined is not
    assert practice["partners"] == [{"name": "Data for Migrants"}]
    assert [o["number"] for o in practice["objectives"]] == [1, 6]
    assert practice["countries"] == [{"code": "MX"}]
    assert practice["author"] == {"name": "Carlos Colleague"}
    assert practice["supportRequest"] == {"id": request_id}
    # the timeline says who documented it
    last = payload["supportRequest"]["timeline"]["nodes"][-1]
    assert last == {
        "change": "DOCUMENTED",
        "status": "COMPLETED",
        "actor": {"name": "Carlos Colleague"},
    }

    # the request shows its practice to the draft's author and to moderators (who see drafts)
    for member in (colleague, done.focal):
        seen = await read(client, REQUEST, request_id, member)
        assert seen is not None
        assert seen["documentedPractice"] == {
            "id": practice["id"],
            "title": practice["title"],
            "state": "DRAFT",
        }
    # a draft is its author's: the requester and the expert see the request, not the draft
    for member in (done.gov.requester, done.expert):
        seen = await read(client, REQUEST, request_id, member)
        assert seen is not None
        assert seen["documentedPractice"] is None

    # the requester is told, as for every change made by someone else
    notes = await gql(client, NOTIFICATIONS, member=done.gov.requester)
    assert notes["data"]["notifications"]["nodes"][0] == {
        "kind": "SUPPORT_REQUEST_UPDATE",
        "supportRequest": {"id": request_id},
    }


async def test_overrides_replace_the_prefill_and_go_through_the_initiatives_validation(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given a completed request with no objectives nor countries
    done = await completed_request(client, factory, objectives=[], countries=[])
    partner = await factory.organization(name="Chosen Partner")
    # when the prefill lacks what an initiative needs, or an override is wrong
    missing = await document(client, done.focal, done.request_id)
    wrong = await document(
        client,
        done.focal,
        done.request_id,
        objectives=[99],
        countries=["XX"],
        partnerIds=[encode_id("Organization", 10**6)],
        title="",
    )
    # then nothing is made, and the errors say what to give
    assert {(e["field"], e["code"]) for e in missing["errors"]} == {
        ("objectives", "REQUIRED"),
        ("countries", "REQUIRED"),
    }
    assert {e["field"] for e in wrong["errors"]} == {
        "objectives",
        "countries",
        "partnerIds",
        "title",
    }
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Initiative)) == 0
    # when the overrides are right
    payload = await document(
        client,
        done.focal,
        done.request_id,
        title="Linking labour-migration records",
        summary="A public account.",
        objectives=[1],
        isGlobal=True,
        partnerIds=[encode_id("Organization", partner)],
        status="ONGOING",
        startsOn="2027-01-01",
        endsOn="2027-06-30",
        results="Records linked.",
    )
    # then they are taken as given
    assert payload["errors"] == []
    practice = payload["initiative"]
    assert (practice["title"], practice["summary"]) == (
        "Linking labour-migration records",
        "A public account.",
    )
    assert (practice["status"], practice["startsOn"], practice["endsOn"]) == (
        "ONGOING",
        "2027-01-01",
        "2027-06-30",
    )
    assert practice["partners"] == [{"name": "Chosen Partner"}]
    assert practice["isGlobal"] is True
    assert practice["results"] == "Records linked."
    assert practice["author"] == {"name": "Fiona Focal"}


async def completed_in_the_database(db: Database, request_id: str) -> None:
    """Skip the workflow where it is not the point: mark a request COMPLETED directly."""
    async with db.sessions.begin() as session:
        await session.execute(
            update(SupportRequest)
            .where(SupportRequest.id == decode_int_id(request_id, "SupportRequest"))
            .values(status=SupportStatus.COMPLETED)
        )


async def test_nothing_private_is_submitted_for_review_without_a_summary_written_by_a_person(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given a request whose description holds what must stay private
    gov = await government(factory)
    secret = "(confidential: budget MXN 4M) " * 10
    request_id = await submit(client, gov.requester, description=secret)
    await completed_in_the_database(db, request_id)
    # when it is documented without a summary
    payload = await document(client, gov.requester, request_id)
    # then the draft's summary is empty, and it cannot go to review (and so to the public) so
    assert payload["errors"] == []
    assert payload["initiative"]["summary"] == ""
    assert "confidential" not in str(payload)
    refused = await payload_of(
        client, SUBMIT_FOR_REVIEW, {"id": payload["initiative"]["id"]}, gov.requester
    )
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("summary", "REQUIRED")]
    assert refused["item"] is None
    # dates default to the request's own when it never went IN_PROGRESS through the workflow
    assert payload["initiative"]["startsOn"] is not None


async def test_every_refusal_has_its_typed_error_and_makes_nothing(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given
    people = await cast(factory)
    gov = await government(factory)
    focal = await moderator(factory)
    expert = await factory.member(name="Elena Expert", is_expert=True)
    request_id = await submit(client, gov.requester)
    # not COMPLETED: SUBMITTED, TRIAGED, MATCHED, IN_PROGRESS
    assert codes(await document(client, gov.requester, request_id)) == ["INVALID_TRANSITION"]
    await ok(client, TRIAGE, {"id": request_id}, focal)
    assert codes(await document(client, focal, request_id)) == ["INVALID_TRANSITION"]
    await ok(client, PROPOSE, {"id": request_id, "expert": expert.global_id}, focal)
    await ok(client, RESPOND, {"id": request_id, "accept": True}, expert)
    assert codes(await document(client, gov.colleague, request_id)) == ["INVALID_TRANSITION"]
    await to_status(client, focal, request_id, "IN_PROGRESS")
    assert codes(await document(client, gov.requester, request_id)) == ["INVALID_TRANSITION"]
    # DECLINED is final and never documented
    declined = await submit(client, gov.requester, title="Declined one")
    variables = {"id": declined, "status": "DECLINED", "reason": "Out of scope."}
    await ok(client, CHANGE_STATUS, variables, focal)
    assert codes(await document(client, gov.requester, declined)) == ["INVALID_TRANSITION"]
    await to_status(client, focal, request_id, "COMPLETED")
    # the expert who helped sees the request but may not document it
    assert codes(await document(client, expert, request_id)) == ["NOT_ALLOWED"]
    # anyone who does not see the request, an unknown request, another kind of ID: NOT_FOUND
    for outsider in (people.member, people.un_reviewer, people.author):
        assert codes(await document(client, outsider, request_id)) == ["NOT_FOUND"]
    assert codes(await document(client, gov.requester, encode_id("SupportRequest", 10**6))) == [
        "NOT_FOUND"
    ]
    assert codes(await document(client, gov.requester, gov.requester.global_id)) == ["NOT_FOUND"]
    assert codes(await document(client, gov.requester, "not-an-id")) == ["NOT_FOUND"]
    assert codes(await document(client, None, request_id)) == ["UNAUTHENTICATED"]
    # none of them made anything, nor wrote in the timeline
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Initiative)) == 0
        assert await session.scalar(select(func.count()).select_from(SupportRequestPractice)) == 0
    timeline = await gql(
        client,
        "query($id: ID!) { supportRequest(id: $id) { timeline { nodes { change } } } }",
        {"id": request_id},
        member=focal,
    )
    changes = [n["change"] for n in timeline["data"]["supportRequest"]["timeline"]["nodes"]]
    assert "DOCUMENTED" not in changes


async def test_documenting_again_answers_the_same_draft(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given
    done = await completed_request(client, factory)
    first = await document(client, done.gov.colleague, done.request_id)
    practice_id = first["initiative"]["id"]
    # when the author asks again (even with other overrides), then the same draft, unchanged
    again = await document(client, done.gov.colleague, done.request_id, title="Another title")
    assert again["errors"] == []
    assert again["alreadyDocumented"] is True
    assert again["initiative"]["id"] == practice_id
    assert again["initiative"]["title"] == "Labour migration data system"
    # a moderator (who sees drafts) gets the same one
    by_staff = await document(client, done.focal, done.request_id)
    assert (by_staff["alreadyDocumented"], by_staff["initiative"]["id"]) == (True, practice_id)
    # the requester may document too, but this draft is the colleague's: CONFLICT, no second
    by_requester = await document(client, done.gov.requester, done.request_id)
    assert codes(by_requester) == ["CONFLICT"]
    assert by_requester["initiative"] is None
    assert by_requester["alreadyDocumented"] is True
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Initiative)) == 1
    timeline = again["supportRequest"]["timeline"]["nodes"]
    assert [n["change"] for n in timeline].count("DOCUMENTED") == 1


@pytest.mark.skipif(
    not os.environ.get("HUB_DATABASE_URL", "").startswith("postgresql"),
    reason="a race needs concurrent writers: PostgreSQL (SQLite serialises writes anyway)",
)
async def test_simultaneous_calls_make_one_draft(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given
    done = await completed_request(client, factory)
    # when the same member documents it several times at once (each waits for the request's
    # row lock: a few, not dozens, stay within the statement timeout on a loaded machine)
    results = await asyncio.gather(
        *(document(client, done.gov.colleague, done.request_id) for _ in range(4))
    )
    # then one draft, the same in every answer, made by exactly one of them
    assert all(r["errors"] == [] for r in results), results
    assert len({r["initiative"]["id"] for r in results}) == 1
    assert sorted(r["alreadyDocumented"] for r in results) == [False, True, True, True]
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Initiative)) == 1
        assert await session.scalar(select(func.count()).select_from(SupportRequestPractice)) == 1
    timeline = results[0]["supportRequest"]["timeline"]["nodes"]
    assert [n["change"] for n in timeline].count("DOCUMENTED") == 1


async def test_the_draft_is_reviewed_published_and_searchable_while_the_request_stays_private(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given a practice drafted by the requester, rewritten for the public
    people: Cast = await cast(factory)
    done = await completed_request(client, factory)
    author = done.gov.requester
    payload = await document(
        client,
        author,
        done.request_id,
        title="Interoperable labour migration records",
        summary="Linking records across ministries, with expert support.",
    )
    practice_id = payload["initiative"]["id"]
    query = "interoperable labour migration records"
    # a draft: found by nobody else, seen by nobody else
    for outsider in (None, people.member, done.expert):
        assert practice_id not in ids(await run_search(client, query, outsider))
        assert await read(client, INITIATIVE, practice_id, outsider) is None
    # when it goes through the normal review
    await ok(client, SUBMIT_FOR_REVIEW, {"id": practice_id}, author)
    await assign(client, people.moderator, practice_id, people.un_reviewer, people.un_reviewer_2)
    # an assigned reviewer reads the draft, but not the private request behind it
    in_review = await read(client, INITIATIVE, practice_id, people.un_reviewer)
    assert in_review is not None
    assert in_review["supportRequest"] is None
    await review(client, people.un_reviewer, practice_id)
    assert practice_id not in ids(await run_search(client, query))
    assert (await review(client, people.un_reviewer_2, practice_id))["state"] == "APPROVED"
    # then it is public and searchable
    assert practice_id in ids(await run_search(client, query))
    assert practice_id in ids(await run_search(client, query, people.member))
    public = await read(client, INITIATIVE, practice_id, None)
    assert public is not None
    assert public["state"] == "APPROVED"
    # and the request behind it stays private: null to whoever could not see it
    for stranger in (None, people.member, people.un_reviewer):
        seen = await read(client, INITIATIVE, practice_id, stranger)
        assert seen is not None
        assert seen["supportRequest"] is None
        assert DESCRIPTION not in str(seen)
    # while those who see the request find it from the practice, and the practice from it
    for insider in (author, done.gov.colleague, done.expert, done.focal):
        seen = await read(client, INITIATIVE, practice_id, insider)
        assert seen is not None
        assert seen["supportRequest"] == {
            "id": done.request_id,
            "description": DESCRIPTION,
            "status": "COMPLETED",
        }
        request = await read(client, REQUEST, done.request_id, insider)
        assert request is not None
        assert request["documentedPractice"]["id"] == practice_id


async def test_links_both_ways_load_in_batches(
    client: httpx.AsyncClient, factory: Factory, db: Database, statements: StatementCounter
) -> None:
    # given six documented requests
    gov = await government(factory)
    for number in range(6):
        request_id = await submit(client, gov.requester, title=f"Request {number}")
        await completed_in_the_database(db, request_id)
        assert (await document(client, gov.requester, request_id))["errors"] == []
    page = """query($first: Int!) { supportRequests(first: $first) { nodes {
      title documentedPractice { title supportRequest { title } } } } }"""
    counts = []
    for size in (2, 6):
        # when
        statements.reset()
        body = await gql(client, page, {"first": size}, member=gov.requester)
        # then every link is there, in the same number of statements
        nodes = body["data"]["supportRequests"]["nodes"]
        assert len(nodes) == size
        assert all(n["documentedPractice"]["supportRequest"]["title"] == n["title"] for n in nodes)
        counts.append(statements.count)
    assert counts[0] == counts[1]
