"""A write the database committed is answered as a success, even if the database goes away
right after the commit (issue 12, found by bench/faults.py `database-down`): `createPost`
used to read its post back in a new transaction after the commit, and a database that had
just gone answered INTERNAL_SERVER_ERROR for a post that was stored. A client retrying
without an idempotency key then makes a duplicate. The post is now read back in the
transaction that writes it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from models.db import Database
from models.member import Role
from models.thread import Post
from tests.conftest import Factory, gql
from tests.discussions import community, join, post, thread
from tests.knowledge import draft, ok, resource_input
from tests.search_knowledge import CREATE_INITIATIVE
from tests.support import government, moderator, request_input, submit
from tests.test_support_practice import completed_request
from tests.webinars import ask, in_hours, live_webinar, register, say, set_status, staff, webinar

if TYPE_CHECKING:  # imported by name, pytest would try to collect it as a test class
    from tests.conftest import TestMember

# What the post's own row holds (its author would be another read, failing alike).
CREATE_POST = """
mutation($input: CreatePostInput!) {
  createPost(input: $input) { post { id body version } errors { field code message } }
}
"""


@contextmanager
def database_gone_after_commit(db: Database) -> Iterator[None]:
    """Fault injection at the pool's boundary: once a transaction has committed, every new
    checkout is refused, as a database that has just gone away refuses connections."""
    gone = False

    def committed(_session: Session) -> None:
        nonlocal gone
        gone = True

    def checkout(*_: Any) -> None:
        if gone:
            raise ConnectionRefusedError("the database went away")

    pool = db.engine.sync_engine.pool
    event.listen(Session, "after_commit", committed)
    event.listen(pool, "checkout", checkout)
    try:
        yield
    finally:
        event.remove(pool, "checkout", checkout)
        event.remove(Session, "after_commit", committed)


async def test_a_reply_stored_as_the_database_goes_away_is_answered_as_stored(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given
    community_id, _ = await community(client, factory)
    author = await factory.member()
    await join(client, community_id, author)
    thread_id = await thread(client, community_id, author)
    variables = {"input": {"threadId": thread_id, "body": "Stored, then the database went."}}
    # when: the database goes away right after the reply's commit
    with database_gone_after_commit(db):
        body = await gql(client, CREATE_POST, variables, member=author)
    # then: the answer says what the database holds
    async with db.sessions() as session:
        stored = await session.scalar(
            select(func.count()).where(Post.body == "Stored, then the database went.")
        )
    assert stored == 1
    assert "errors" not in body, body
    assert body["data"]["createPost"]["errors"] == []
    assert body["data"]["createPost"]["post"]["body"] == "Stored, then the database went."


@dataclass(frozen=True)
class Case:
    """One mutation whose answer is its own row, and what that row must say."""

    query: str
    variables: dict[str, Any]
    member: TestMember
    expected: dict[str, Any]


def answered(name: str, payload: str, selection: str, input_type: str = "") -> str:
    """A mutation `name` asked for its `payload` field's `selection`: fields of its own row.
    A field read through a loader (a related row, or a translated text, which loads the
    viewer's languages) would be another read after the commit, failing alike."""
    input_type = input_type or name[0].upper() + name[1:] + "Input"
    return f"""
mutation($input: {input_type}!) {{
  {name}(input: $input) {{ {payload} {{ {selection} }} errors {{ field code message }} }}
}}
"""


# What an initiative's author writes first (the fields an initiative needs).
INITIATIVE = {
    "title": "Skills partnership",
    "status": "ONGOING",
    "summary": "Training before departure.",
    "objectives": [18],
    "principles": ["d"],
    "countries": ["PH"],
}

CREATE_THREAD = answered("createThread", "thread", "title body")
EDIT_POST = answered("editPost", "post", "id body version")
REACT_TO_POST = answered("reactToPost", "post", "id body version")


async def a_thread(client: httpx.AsyncClient, factory: Factory) -> Case:
    community_id, moderator = await community(client, factory)
    variables = {"input": {"communityId": community_id, "title": "Gone", "body": "Stored."}}
    return Case(CREATE_THREAD, variables, moderator, {"title": "Gone", "body": "Stored."})


async def an_edit(client: httpx.AsyncClient, factory: Factory) -> Case:
    community_id, moderator = await community(client, factory)
    reply = await post(client, await thread(client, community_id, moderator), moderator)
    variables = {"input": {"postId": reply["id"], "body": "Edited.", "expectedVersion": 1}}
    return Case(
        EDIT_POST, variables, moderator, {"id": reply["id"], "body": "Edited.", "version": 2}
    )


async def a_reaction(client: httpx.AsyncClient, factory: Factory) -> Case:
    community_id, moderator = await community(client, factory)
    reply = await post(client, await thread(client, community_id, moderator), moderator)
    reader = await factory.member()
    await join(client, community_id, reader)
    variables = {"input": {"postId": reply["id"], "kind": "LIKE"}}
    return Case(REACT_TO_POST, variables, reader, {"id": reply["id"], "body": reply["body"]})


async def a_read_mark(client: httpx.AsyncClient, factory: Factory) -> Case:
    community_id, moderator = await community(client, factory)
    values = {"threadId": await thread(client, community_id, moderator, title="Gone")}
    query = answered("markThreadRead", "thread", "title")
    return Case(query, {"input": values}, moderator, {"title": "Gone"})


async def a_community(client: httpx.AsyncClient, factory: Factory) -> Case:
    moderator = await factory.member(role=Role.MODERATOR)
    values = {"slug": "gone", "name": "Gone", "visibility": "PRIVATE", "objectives": [6]}
    query = answered("createCommunity", "community", "slug visibility")
    return Case(query, {"input": values}, moderator, {"slug": "gone", "visibility": "PRIVATE"})


async def an_organization(client: httpx.AsyncClient, factory: Factory) -> Case:
    admin = await factory.member(role=Role.ADMIN)
    values = {"name": "Gone", "kind": "CIVIL_SOCIETY"}
    query = answered("createOrganization", "organization", "name")
    return Case(query, {"input": values}, admin, {"name": "Gone"})


async def a_call(client: httpx.AsyncClient, factory: Factory) -> Case:
    moderator = await factory.member(role=Role.MODERATOR)
    values = {"theme": "Gone", "deadline": in_hours(48)}
    query = answered("createCallForPractices", "call", "isOpen")
    return Case(query, {"input": values}, moderator, {"isOpen": True})


async def an_initiative(client: httpx.AsyncClient, factory: Factory) -> Case:
    author = await factory.member(organization_id=await factory.organization())
    values = {"initiative": {**INITIATIVE, "title": "Gone"}}
    query = answered("createInitiative", "initiative", "state status")
    return Case(query, {"input": values}, author, {"state": "DRAFT", "status": "ONGOING"})


async def an_initiative_edit(client: httpx.AsyncClient, factory: Factory) -> Case:
    author = await factory.member(organization_id=await factory.organization())
    created = await ok(client, CREATE_INITIATIVE, {"input": {"initiative": INITIATIVE}}, author)
    values = {"initiativeId": created["initiative"]["id"], "initiative": {"status": "COMPLETED"}}
    query = answered("updateInitiative", "initiative", "state status")
    expected = {"state": "DRAFT", "status": "COMPLETED"}
    return Case(query, {"input": values}, author, expected)


async def a_resource(client: httpx.AsyncClient, factory: Factory) -> Case:
    author = await factory.member(organization_id=await factory.organization())
    values = {"resource": resource_input("Gone")}
    query = answered("createResource", "resource", "state publisher")
    return Case(query, {"input": values}, author, {"state": "DRAFT", "publisher": "ILO"})


async def a_resource_edit(client: httpx.AsyncClient, factory: Factory) -> Case:
    author = await factory.member(organization_id=await factory.organization())
    values = {"resourceId": await draft(client, author), "resource": {"publisher": "Gone"}}
    query = answered("updateResource", "resource", "state publisher kind")
    expected = {"state": "DRAFT", "publisher": "Gone", "kind": "TOOL"}
    return Case(query, {"input": values}, author, expected)


async def a_webinar(client: httpx.AsyncClient, factory: Factory) -> Case:
    organiser = await staff(factory)
    values = {"title": "Gone", "startsAt": in_hours(48), "endsAt": in_hours(49), "capacity": 9}
    query = answered("createWebinar", "webinar", "status capacity")
    return Case(query, {"input": values}, organiser, {"status": "SCHEDULED", "capacity": 9})


async def a_webinar_edit(client: httpx.AsyncClient, factory: Factory) -> Case:
    organiser = await staff(factory)
    values = {"webinarId": await webinar(client, organiser), "capacity": 9}
    query = answered("updateWebinar", "webinar", "status capacity")
    return Case(query, {"input": values}, organiser, {"status": "SCHEDULED", "capacity": 9})


async def a_webinar_status(client: httpx.AsyncClient, factory: Factory) -> Case:
    organiser = await staff(factory)
    values = {"webinarId": await webinar(client, organiser), "status": "CANCELLED"}
    query = answered("setWebinarStatus", "webinar", "status capacity")
    return Case(query, {"input": values}, organiser, {"status": "CANCELLED", "capacity": 100})


async def a_profile(client: httpx.AsyncClient, factory: Factory) -> Case:
    member = await factory.member(name="Before")
    query = answered("updateProfile", "member", "id name")
    return Case(
        query, {"input": {"name": "Gone"}}, member, {"id": member.global_id, "name": "Gone"}
    )


async def a_role(client: httpx.AsyncClient, factory: Factory) -> Case:
    admin = await factory.member(role=Role.ADMIN)
    member = await factory.member()
    values = {"memberId": member.global_id, "role": "REVIEWER"}
    query = answered("setMemberRole", "member", "id role")
    return Case(query, {"input": values}, admin, {"id": member.global_id, "role": "REVIEWER"})


async def an_affiliation(client: httpx.AsyncClient, factory: Factory) -> Case:
    admin = await factory.member(role=Role.ADMIN)
    member = await factory.member(organization_id=await factory.organization())
    values = {"memberId": member.global_id, "organizationId": None}
    query = answered("assignMemberOrganization", "member", "id")
    return Case(query, {"input": values}, admin, {"id": member.global_id})


async def a_support_request(client: httpx.AsyncClient, factory: Factory) -> Case:
    requester = (await government(factory)).requester
    query = answered("submitSupportRequest", "supportRequest", "status category")
    expected = {"status": "SUBMITTED", "category": "DATA_AND_EVIDENCE"}
    return Case(query, {"input": request_input()}, requester, expected)


async def a_triage(client: httpx.AsyncClient, factory: Factory) -> Case:
    request_id = await submit(client, (await government(factory)).requester)
    query = answered("triageSupportRequest", "supportRequest", "id status")
    expected = {"id": request_id, "status": "TRIAGED"}
    return Case(query, {"input": {"requestId": request_id}}, await moderator(factory), expected)


async def a_support_message(client: httpx.AsyncClient, factory: Factory) -> Case:
    requester = (await government(factory)).requester
    values = {"requestId": await submit(client, requester), "body": "Gone"}
    query = answered("postSupportMessage", "message", "body")
    return Case(query, {"input": values}, requester, {"body": "Gone"})


async def a_relation(client: httpx.AsyncClient, factory: Factory) -> Case:
    author = await factory.member(organization_id=await factory.organization())
    old, new = await draft(client, author, "Old"), await draft(client, author, "New")
    values = {"fromId": new, "toId": old, "kind": "UPDATES"}
    query = answered("proposeRelation", "relation", "id kind status")
    return Case(query, {"input": values}, author, {"kind": "UPDATES", "status": "PROPOSED"})


async def a_relation_decision(client: httpx.AsyncClient, factory: Factory) -> Case:
    relation = await a_relation(client, factory)
    proposed = await ok(client, relation.query, relation.variables, relation.member)
    values = {"relationId": proposed["relation"]["id"], "confirm": False}
    query = answered("decideRelation", "relation", "kind status")
    expected = {"kind": "UPDATES", "status": "REJECTED"}
    return Case(query, {"input": values}, await staff(factory), expected)


async def a_webinar_record(client: httpx.AsyncClient, factory: Factory) -> Case:
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, starts_in_hours=0.1)
    await set_status(client, webinar_id, organiser, "LIVE")
    await set_status(client, webinar_id, organiser, "ENDED")
    recording = {"webinarId": webinar_id, "recordingUrl": "https://video.example.org/gone"}
    await ok(client, answered("updateWebinar", "webinar", "id"), {"input": recording}, organiser)
    query = answered("fileWebinarRecord", "resource", "state link")
    expected = {"state": "DRAFT", "link": recording["recordingUrl"]}
    return Case(query, {"input": {"webinarId": webinar_id, "language": "en"}}, organiser, expected)


SUBMIT_FOR_REVIEW = answered(
    "submitForReview", "item", "... on Resource { state } ... on Initiative { state }", "ItemInput"
)


async def a_resource_submission(client: httpx.AsyncClient, factory: Factory) -> Case:
    author = await factory.member(organization_id=await factory.organization())
    values = {"itemId": await draft(client, author)}
    return Case(SUBMIT_FOR_REVIEW, {"input": values}, author, {"state": "SUBMITTED"})


async def an_initiative_submission(client: httpx.AsyncClient, factory: Factory) -> Case:
    author = await factory.member(organization_id=await factory.organization())
    created = await ok(client, CREATE_INITIATIVE, {"input": {"initiative": INITIATIVE}}, author)
    values = {"itemId": created["initiative"]["id"]}
    return Case(SUBMIT_FOR_REVIEW, {"input": values}, author, {"state": "SUBMITTED"})


async def a_join(client: httpx.AsyncClient, factory: Factory) -> Case:
    community_id, _ = await community(client, factory)
    query = answered("joinCommunity", "community", "id slug")
    newcomer = await factory.member()
    return Case(query, {"input": {"communityId": community_id}}, newcomer, {"id": community_id})


REGISTRATION = "registeredCount capacity"


async def a_registration(client: httpx.AsyncClient, factory: Factory) -> Case:
    webinar_id = await webinar(client, await staff(factory), capacity=9)
    query = answered("registerForWebinar", "webinar", REGISTRATION, "WebinarRegistrationInput")
    expected = {"registeredCount": 1, "capacity": 9}
    return Case(query, {"input": {"webinarId": webinar_id}}, await factory.member(), expected)


async def a_cancellation(client: httpx.AsyncClient, factory: Factory) -> Case:
    webinar_id = await webinar(client, await staff(factory), capacity=9)
    member = await factory.member()
    assert await register(client, webinar_id, member) == "REGISTERED"
    query = answered("cancelRegistration", "webinar", REGISTRATION, "WebinarRegistrationInput")
    expected = {"registeredCount": 0, "capacity": 9}
    return Case(query, {"input": {"webinarId": webinar_id}}, member, expected)


async def a_chat_message(client: httpx.AsyncClient, factory: Factory) -> Case:
    webinar_id, _, [participant] = await live_webinar(client, factory, "Pat Participant")
    query = answered("sendChatMessage", "message", "body")
    values = {"webinarId": webinar_id, "body": "Gone"}
    return Case(query, {"input": values}, participant, {"body": "Gone"})


async def a_chat_deletion(client: httpx.AsyncClient, factory: Factory) -> Case:
    webinar_id, organiser, [participant] = await live_webinar(client, factory, "Pat Participant")
    message = await say(client, webinar_id, participant, "Deleted")
    query = answered("deleteChatMessage", "message", "id")
    values = {"messageId": message["id"], "reason": "Off topic"}
    return Case(query, {"input": values}, organiser, {"id": message["id"]})


async def a_question(client: httpx.AsyncClient, factory: Factory) -> Case:
    webinar_id, _, [participant] = await live_webinar(client, factory, "Pat Participant")
    query = answered("askQuestion", "question", "body anonymous voteCount")
    values = {"webinarId": webinar_id, "body": "Gone?", "anonymous": False}
    expected = {"body": "Gone?", "anonymous": False, "voteCount": 0}
    return Case(query, {"input": values}, participant, expected)


async def an_upvote(client: httpx.AsyncClient, factory: Factory) -> Case:
    webinar_id, _, [asker, voter] = await live_webinar(client, factory, "Ann Asker", "Val Voter")
    question_id = await ask(client, webinar_id, asker, "Counted?")
    query = answered("upvoteQuestion", "question", "voteCount", "QuestionInput")
    return Case(query, {"input": {"questionId": question_id}}, voter, {"voteCount": 1})


async def an_answer(client: httpx.AsyncClient, factory: Factory) -> Case:
    webinar_id, organiser, [asker] = await live_webinar(client, factory, "Ann Asker")
    question_id = await ask(client, webinar_id, asker, "Answered?")
    query = answered("answerQuestion", "question", "status answer answeredLive")
    values = {"questionId": question_id, "answer": "Yes.", "live": False}
    expected = {"status": "ANSWERED", "answer": "Yes.", "answeredLive": False}
    return Case(query, {"input": values}, organiser, expected)


async def a_documented_request(client: httpx.AsyncClient, factory: Factory) -> Case:
    done = await completed_request(client, factory)
    query = """
mutation($input: DocumentSupportRequestInput!) {
  documentSupportRequest(input: $input) {
    initiative { state status } supportRequest { id status } errors { field code message }
  }
}
"""
    values = {"requestId": done.request_id}
    return Case(query, {"input": values}, done.focal, {"state": "DRAFT", "status": "COMPLETED"})


CASES = [
    a_thread,
    an_edit,
    a_reaction,
    a_read_mark,
    a_community,
    an_organization,
    a_call,
    an_initiative,
    an_initiative_edit,
    a_resource,
    a_resource_edit,
    a_webinar,
    a_webinar_edit,
    a_webinar_status,
    a_profile,
    a_role,
    an_affiliation,
    a_support_request,
    a_triage,
    a_support_message,
    a_relation,
    a_relation_decision,
    a_webinar_record,
    a_resource_submission,
    an_initiative_submission,
    a_join,
    a_registration,
    a_cancellation,
    a_chat_message,
    a_chat_deletion,
    a_question,
    an_upvote,
    an_answer,
    a_documented_request,
]


@pytest.mark.parametrize("arrange", CASES)
async def test_a_change_stored_as_the_database_goes_away_is_answered_as_stored(
    client: httpx.AsyncClient,
    factory: Factory,
    db: Database,
    arrange: Callable[[httpx.AsyncClient, Factory], Awaitable[Case]],
) -> None:
    # given
    case = await arrange(client, factory)
    # when: the database goes away right after the change's commit
    with database_gone_after_commit(db):
        body = await gql(client, case.query, case.variables, member=case.member)
    # then: the answer is the stored row
    assert "errors" not in body, body
    payload = next(iter(body["data"].values()))
    assert payload["errors"] == []
    row = next(value for key, value in payload.items() if key != "errors")
    assert {key: row[key] for key in case.expected} == case.expected
