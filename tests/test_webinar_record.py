"""A webinar's lasting record, through the API: filing the recording and answered questions as
a resource draft that goes through the normal review, and the resources linked to a webinar."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select

from models.member import Role
from models.organization import OrganizationKind
from models.resource import Resource
from models.webinar_record import WebinarRecord
from resolvers import webinar_record
from resolvers.resources import MAX_BODY
from tests.conftest import Factory, gql
from tests.discussions import community, join
from tests.knowledge import (
    ARCHIVE,
    SUBMIT,
    Cast,
    assign,
    cast,
    codes,
    draft,
    published,
    review,
)
from tests.knowledge import call as kcall
from tests.knowledge import ok as kok
from tests.webinars import (
    ANSWER,
    UPVOTE,
    ask,
    register,
    set_status,
    webinar,
)

FILE = """
mutation($input: FileWebinarRecordInput!) {
  fileWebinarRecord(input: $input) {
    alreadyFiled
    resource {
      id title summary body bodyHtml kind link language otherLanguages publisher publishedOn
      isGlobal isGeneral state sourceType objectives { number } author { name }
    }
    webinar { id }
    errors { field code message }
  }
}
"""
UPDATE = """
mutation($id: ID!, $url: String!) {
  updateWebinar(input: {webinarId: $id, recordingUrl: $url}) {
    webinar { recordingUrl } errors { field code }
  }
}
"""
DISMISS = """
mutation($id: ID!) { dismissQuestion(input: {questionId: $id}) { errors { code } } }
"""
LINK = """
mutation($webinar: ID!, $resource: ID!) {
  linkWebinarResource(input: {webinarId: $webinar, resourceId: $resource}) {
    webinar { resources { nodes { id } } } resource { id } errors { field code message }
  }
}
"""
UNLINK = """
mutation($webinar: ID!, $resource: ID!) {
  unlinkWebinarResource(input: {webinarId: $webinar, resourceId: $resource}) {
    webinar { resources { nodes { id } } } errors { field code message }
  }
}
"""
RECORD = """
query($id: ID!) {
  webinar(id: $id) {
    record { id state title }
    resources { totalCount nodes { id title state kind } }
  }
}
"""
RESOURCE = "query($id: ID!) { resource(id: $id) { id state body bodyHtml } }"
if TYPE_CHECKING:
    from tests.conftest import TestMember

INVITE = """
mutation($c: ID!, $m: ID!) {
  inviteToCommunity(input: {communityId: $c, memberId: $m}) { ok errors { code } }
}
"""
RECORDING = "https://video.example.org/fair-recruitment"


async def file(
    client: httpx.AsyncClient, member: TestMember | None, webinar_id: str, **extra: Any
) -> dict[str, Any]:
    return await kcall(client, FILE, {"input": {"webinarId": webinar_id, **extra}}, member)


async def record_view(
    client: httpx.AsyncClient, webinar_id: str, member: TestMember | None
) -> dict[str, Any]:
    body = await gql(client, RECORD, {"id": webinar_id}, member=member)
    assert "errors" not in body, body
    view: dict[str, Any] = body["data"]["webinar"]
    return view


async def organisers(factory: Factory, people: Cast) -> tuple[TestMember, TestMember, TestMember]:
    """A moderator who schedules, and two co-organisers (ordinary members) of an NGO."""
    ngo = await factory.organization(OrganizationKind.CIVIL_SOCIETY, name="Fair Work Alliance")
    lead = await factory.member(role=Role.MODERATOR, name="Lead Organiser")
    co = await factory.member(name="Co Organiser", organization_id=ngo)
    other = await factory.member(name="Other Organiser", organization_id=ngo)
    return lead, co, other


async def scheduled(
    client: httpx.AsyncClient, lead: TestMember, *co: TestMember, starts_in_hours: float = 0.1
) -> str:
    return await webinar(
        client,
        lead,
        starts_in_hours=starts_in_hours,
        description="How recruitment fees **hurt** migrant workers.",
        objectives=[6, 2],
        languages=["en"],
        interpretationLanguages=["fr"],
        organisers=[{"memberId": m.global_id} for m in co],
    )


async def test_the_whole_path_from_live_q_and_a_to_a_published_record(client, factory, db):
    people = await cast(factory)
    lead, co, other = await organisers(factory, people)
    alice = await factory.member(name="Alice Asker")
    bob = await factory.member(name="Bob Hidden")
    carol = await factory.member(name="Carol Dismissed")
    dave = await factory.member(name="Dave Unanswered")
    webinar_id = await scheduled(client, lead, co, other)
    for member in (alice, bob, carol, dave):
        assert await register(client, webinar_id, member) == "REGISTERED"
    await set_status(client, webinar_id, lead, "LIVE")
    # the Q&A: a named question with a written answer, an anonymous one, one answered live,
    # one dismissed, one never answered
    named = await ask(client, webinar_id, alice, "How do fees hurt workers?")
    hidden = await ask(client, webinar_id, bob, "Can I report my agency safely?", anonymous=True)
    spoken = await ask(client, webinar_id, alice, "Will slides be shared?")
    dismissed = await ask(client, webinar_id, carol, "Buy cheap watches here")
    await ask(client, webinar_id, dave, "A question nobody answered")
    await kok(client, UPVOTE, {"id": hidden}, alice)
    await kok(client, UPVOTE, {"id": hidden}, carol)
    await kok(client, UPVOTE, {"id": named}, bob)
    await kok(client, ANSWER, {"id": named, "answer": "Debt bondage.", "live": False}, co)
    await kok(client, ANSWER, {"id": hidden, "answer": "Yes, via the hotline.", "live": False}, co)
    await kok(client, ANSWER, {"id": spoken, "answer": None, "live": True}, lead)
    await kok(client, DISMISS, {"id": dismissed}, co)

    # filing while LIVE is refused
    payload = await file(client, co, webinar_id)
    assert codes(payload) == ["INVALID_TRANSITION"]
    assert payload["resource"] is None

    await set_status(client, webinar_id, lead, "ENDED")
    await kok(client, UPDATE, {"id": webinar_id, "url": RECORDING}, co)

    # when a co-organiser files it
    payload = await file(client, co, webinar_id)

    # then a MULTIMEDIA draft of theirs, from the webinar
    assert payload["errors"] == []
    assert payload["alreadyFiled"] is False
    record = payload["resource"]
    assert record["state"] == "DRAFT"
    assert record["kind"] == "MULTIMEDIA"
    assert record["link"] == RECORDING
    assert record["title"] == "Fair recruitment in practice (recording)"
    assert record["language"] == "en"
    assert record["otherLanguages"] == ["fr"]
    assert [o["number"] for o in record["objectives"]] == [2, 6]
    assert record["isGeneral"] is False
    assert record["isGlobal"] is True
    assert record["publisher"] == "Fair Work Alliance"
    assert record["author"] == {"name": "Co Organiser"}
    assert record["publishedOn"] is not None
    body = record["body"]
    assert body.startswith("How recruitment fees **hurt** migrant workers.")
    # answered questions with their answers, most votes first
    assert body.index("Can I report my agency safely?") < body.index("How do fees hurt workers?")
    assert body.index("How do fees hurt workers?") < body.index("Will slides be shared?")
    assert "Yes, via the hotline." in body
    assert "Debt bondage." in body
    assert "Answered live during the webinar by Lead Organiser" in body
    assert "Asked by Alice Asker" in body
    assert "Asked anonymously" in body
    # the anonymous asker is not named, dismissed and unanswered questions are left out
    for absent in ("Bob", "Buy cheap watches", "Carol", "A question nobody answered", "Dave"):
        assert absent not in body
        assert absent not in record["bodyHtml"]
    assert "<strong>hurt</strong>" in record["bodyHtml"]

    # a draft: the author sees it as the record, nobody else does, and it is not listed
    assert (await record_view(client, webinar_id, co))["record"]["id"] == record["id"]
    for outsider in (None, alice, other):
        view = await record_view(client, webinar_id, outsider)
        assert view["record"] is None
        assert view["resources"] == {"totalCount": 0, "nodes": []}
    assert (await record_view(client, webinar_id, co))["resources"]["nodes"] == []
    body = await gql(client, RESOURCE, {"id": record["id"]})
    assert body["data"]["resource"] is None

    # the normal review: submit, two UN reviewers approve
    await kok(client, SUBMIT, {"id": record["id"]}, co)
    await assign(client, people.moderator, record["id"], people.un_reviewer, people.un_reviewer_2)
    await review(client, people.un_reviewer, record["id"])
    view = await record_view(client, webinar_id, None)
    assert view["record"] is None
    assert view["resources"]["nodes"] == []
    item = await review(client, people.un_reviewer_2, record["id"])
    assert item["state"] == "APPROVED"

    # then everyone reads it, as the webinar's record and among its resources
    for reader in (None, alice, other):
        view = await record_view(client, webinar_id, reader)
        assert view["record"] == {
            "id": record["id"],
            "state": "APPROVED",
            "title": "Fair recruitment in practice (recording)",
        }
        assert [n["id"] for n in view["resources"]["nodes"]] == [record["id"]]
        assert view["resources"]["totalCount"] == 1
    public = await gql(client, RESOURCE, {"id": record["id"]})
    assert public["data"]["resource"]["state"] == "APPROVED"
    assert "Bob Hidden" not in public["data"]["resource"]["bodyHtml"]

    # filing again changes nothing
    again = await file(client, co, webinar_id)
    assert again["alreadyFiled"] is True
    assert again["resource"]["id"] == record["id"]
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(WebinarRecord)) == 1


async def ended_with_recording(client: httpx.AsyncClient, lead: TestMember, *co: TestMember) -> str:
    webinar_id = await scheduled(client, lead, *co)
    await set_status(client, webinar_id, lead, "LIVE")
    await set_status(client, webinar_id, lead, "ENDED")
    await kok(client, UPDATE, {"id": webinar_id, "url": RECORDING}, lead)
    return webinar_id


async def test_every_refusal_of_filing_has_its_typed_error(client, factory, db):
    people = await cast(factory)
    lead, co, _ = await organisers(factory, people)
    participant = await factory.member(name="Participant")
    speaker = await factory.member(name="Speaker")
    webinar_id = await webinar(
        client,
        lead,
        starts_in_hours=0.1,
        objectives=[6],
        languages=["en"],
        organisers=[{"memberId": co.global_id}],
        speakers=[{"memberId": speaker.global_id}],
    )
    assert await register(client, webinar_id, participant) == "REGISTERED"
    # SCHEDULED, LIVE: not ended
    assert codes(await file(client, co, webinar_id)) == ["INVALID_TRANSITION"]
    await set_status(client, webinar_id, lead, "LIVE")
    assert codes(await file(client, co, webinar_id)) == ["INVALID_TRANSITION"]
    await set_status(client, webinar_id, lead, "ENDED")
    # ended without a recording
    payload = await file(client, co, webinar_id)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("recordingUrl", "REQUIRED")]
    await kok(client, UPDATE, {"id": webinar_id, "url": RECORDING}, lead)
    # not an organiser: a participant, a speaker, a member; not signed in; not a webinar
    for member in (participant, speaker, people.member):
        assert codes(await file(client, member, webinar_id)) == ["NOT_ALLOWED"]
    assert codes(await file(client, None, webinar_id)) == ["UNAUTHENTICATED"]
    assert codes(await file(client, co, people.author.global_id)) == ["NOT_FOUND"]
    # invalid details are the resource's own validation
    payload = await file(client, co, webinar_id, countries=["XX"], title="")
    assert {e["field"] for e in payload["errors"]} == {"countries", "title"}
    # nothing was filed by any of these
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Resource)) == 0
    # a cancelled webinar is never filed
    cancelled = await scheduled(client, lead, co, starts_in_hours=24)
    await set_status(client, cancelled, lead, "CANCELLED")
    assert codes(await file(client, co, cancelled)) == ["INVALID_TRANSITION"]


async def test_a_moderator_who_is_not_an_organiser_files_it_as_author(client, factory):
    # global moderators moderate every webinar: they file without being an organiser
    people = await cast(factory)
    lead, co, _ = await organisers(factory, people)
    webinar_id = await ended_with_recording(client, lead, co)
    payload = await file(
        client, people.moderator, webinar_id, title="Fees: the recording", countries=["KE"]
    )
    assert payload["errors"] == []
    assert payload["resource"]["title"] == "Fees: the recording"
    assert payload["resource"]["isGlobal"] is False
    assert payload["resource"]["author"] == {"name": "Moderator"}


async def test_filing_is_idempotent_per_webinar_even_at_the_same_time(client, factory, db):
    people = await cast(factory)
    lead, co, other = await organisers(factory, people)
    webinar_id = await ended_with_recording(client, lead, co, other)
    # when the same organiser files three times at once (each filing waits for the webinar's
    # row lock: a few, not dozens, stay within the statement timeout on a loaded machine)
    results = await asyncio.gather(*(file(client, co, webinar_id) for _ in range(3)))
    # then one draft, the same for every answer, made by exactly one of them
    assert all(r["errors"] == [] for r in results), results
    assert len({r["resource"]["id"] for r in results}) == 1
    assert sorted(r["alreadyFiled"] for r in results) == [False, True, True]
    # a moderator (who sees drafts) gets the same one; another organiser is told it exists
    by_staff = await file(client, lead, webinar_id)
    assert by_staff["alreadyFiled"] is True
    assert by_staff["resource"]["id"] == results[0]["resource"]["id"]
    by_other = await file(client, other, webinar_id)
    assert codes(by_other) == ["CONFLICT"]
    assert by_other["resource"] is None
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Resource)) == 1
        assert await session.scalar(select(func.count()).select_from(WebinarRecord)) == 1


async def test_organisers_link_published_resources_before_and_after_the_event(client, factory):
    people = await cast(factory)
    lead, co, _ = await organisers(factory, people)
    guide = await published(client, people)
    toolkit = await published(client, people, title="Second toolkit")
    unpublished = await draft(client, people.author, title="Still a draft")
    webinar_id = await scheduled(client, lead, co, starts_in_hours=24)

    # before the event, a co-organiser links a published resource (twice: no duplicate)
    payload = await kok(client, LINK, {"webinar": webinar_id, "resource": guide}, co)
    assert payload["webinar"]["resources"]["nodes"] == [{"id": guide}]
    payload = await kok(client, LINK, {"webinar": webinar_id, "resource": guide}, co)
    assert payload["webinar"]["resources"]["nodes"] == [{"id": guide}]

    # refusals
    variables = {"webinar": webinar_id, "resource": toolkit}
    assert codes(await kcall(client, LINK, variables, people.member)) == ["NOT_ALLOWED"]
    assert codes(await kcall(client, LINK, variables, None)) == ["UNAUTHENTICATED"]
    own_draft = {"webinar": webinar_id, "resource": unpublished}
    # a draft the organiser cannot see is missing; one they can see is not published yet
    assert codes(await kcall(client, LINK, own_draft, co)) == ["NOT_FOUND"]
    assert codes(await kcall(client, LINK, own_draft, lead)) == ["INVALID_TRANSITION"]
    not_a_resource = {"webinar": webinar_id, "resource": webinar_id}
    assert codes(await kcall(client, LINK, not_a_resource, co)) == ["NOT_FOUND"]

    # after the event, another one; everyone reads them in the order linked
    await set_status(client, webinar_id, lead, "LIVE")
    await set_status(client, webinar_id, lead, "ENDED")
    await kok(client, LINK, variables, lead)
    for reader in (None, people.member):
        nodes = (await record_view(client, webinar_id, reader))["resources"]["nodes"]
        assert [n["id"] for n in nodes] == [guide, toolkit]

    # an archived resource is no longer listed
    await kok(client, ARCHIVE, {"id": guide}, people.moderator)
    nodes = (await record_view(client, webinar_id, None))["resources"]["nodes"]
    assert [n["id"] for n in nodes] == [toolkit]

    # unlinking: organisers only, and only what is linked
    assert codes(await kcall(client, UNLINK, variables, people.member)) == ["NOT_ALLOWED"]
    payload = await kok(client, UNLINK, variables, co)
    assert payload["webinar"]["resources"]["nodes"] == []
    assert codes(await kcall(client, UNLINK, variables, co)) == ["NOT_FOUND"]


PAGES = """
query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  webinar(id: $id) {
    resources(first: $first, after: $after, last: $last, before: $before) {
      totalCount pageInfo { hasNextPage hasPreviousPage endCursor startCursor }
      nodes { title }
    }
  }
}
"""


async def test_webinar_resources_page_by_keyset_cursors(client, factory):
    people = await cast(factory)
    lead, _, _ = await organisers(factory, people)
    webinar_id = await scheduled(client, lead, starts_in_hours=24)
    titles = [f"Resource {i}" for i in range(5)]
    for title in titles:
        resource_id = await published(client, people, title=title)
        await kok(client, LINK, {"webinar": webinar_id, "resource": resource_id}, lead)

    async def page(**arguments: Any) -> dict[str, Any]:
        body = await gql(client, PAGES, {"id": webinar_id, **arguments})
        assert "errors" not in body, body
        connection: dict[str, Any] = body["data"]["webinar"]["resources"]
        return connection

    first = await page(first=2)
    assert [n["title"] for n in first["nodes"]] == titles[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["totalCount"] == 5
    second = await page(first=2, after=first["pageInfo"]["endCursor"])
    assert [n["title"] for n in second["nodes"]] == titles[2:4]
    third = await page(first=2, after=second["pageInfo"]["endCursor"])
    assert [n["title"] for n in third["nodes"]] == titles[4:]
    assert third["pageInfo"]["hasNextPage"] is False
    back = await page(last=2, before=third["pageInfo"]["startCursor"])
    assert [n["title"] for n in back["nodes"]] == titles[2:4]
    assert back["pageInfo"]["hasPreviousPage"] is True
    body = await gql(client, PAGES, {"id": webinar_id, "first": 2, "after": "bm90LWEtY3Vyc29y"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_answered_questions_beyond_the_body_limit_are_counted_not_cut():
    # the resource body holds at most MAX_BODY characters: whole questions that fit, then a note
    sections = [f"### Question {i}\n\n" + "x" * 20_000 for i in range(1, 5)]
    body = webinar_record._body("The description.", sections)
    assert len(body) <= MAX_BODY
    assert "### Question 2" in body
    assert "### Question 3" not in body
    assert body.endswith("*2 more answered questions are in the webinar's Q&A.*")
    assert webinar_record._body("", []) == ""


async def test_a_community_webinars_resources_and_record_stay_in_the_community(client, factory):
    # given a community-only webinar, filed and published, with a linked resource
    people = await cast(factory)
    community_id, creator = await community(client, factory, private=True)
    insider = await factory.member(name="Insider")
    await kok(client, INVITE, {"c": community_id, "m": insider.global_id}, creator)
    await join(client, community_id, insider)
    webinar_id = await webinar(
        client,
        creator,
        starts_in_hours=0.1,
        objectives=[6],
        languages=["en"],
        communityId=community_id,
        visibility="COMMUNITY",
    )
    await set_status(client, webinar_id, creator, "LIVE")
    await set_status(client, webinar_id, creator, "ENDED")
    await kok(client, UPDATE, {"id": webinar_id, "url": RECORDING}, creator)
    filed = (await file(client, creator, webinar_id))["resource"]["id"]
    await kok(client, SUBMIT, {"id": filed}, creator)
    await assign(client, people.moderator, filed, people.un_reviewer, people.un_reviewer_2)
    await review(client, people.un_reviewer, filed)
    await review(client, people.un_reviewer_2, filed)
    guide = await published(client, people)
    await kok(client, LINK, {"webinar": webinar_id, "resource": guide}, creator)
    # a member of the community who is no organiser does not link
    variables = {"webinar": webinar_id, "resource": guide}
    assert codes(await kcall(client, UNLINK, variables, insider)) == ["NOT_ALLOWED"]
    # then the community's members read them through the webinar
    view = await record_view(client, webinar_id, insider)
    assert view["record"]["id"] == filed
    assert [n["id"] for n in view["resources"]["nodes"]] == [filed, guide]
    # outsiders find no webinar (the published resources stay public on their own)
    for outsider in (None, people.member):
        body = await gql(client, RECORD, {"id": webinar_id}, member=outsider)
        assert body["data"]["webinar"] is None
    assert codes(await kcall(client, LINK, variables, people.member)) == ["NOT_FOUND"]
