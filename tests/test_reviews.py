"""Peer review through the API: lifecycle, every invalid transition, the publishing rule and its
escalation, conflicts of interest, moderators deciding alone, the queue, authors notified."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.main import create_app
from models.member import Role
from models.organization import OrganizationKind
from models.resource import Resource
from models.review import ReviewState
from resolvers.review_rules import ReviewRule, Tally, outcome
from tests.conftest import api_client, gql, make_settings
from tests.knowledge import (
    ARCHIVE,
    ASSIGN,
    DECIDE,
    DECLARE,
    REVIEW,
    SEND_BACK,
    SUBMIT,
    UPDATE_RESOURCE,
    WITHDRAW,
    assign,
    call,
    cast,
    codes,
    draft,
    ok,
    resource_input,
    review,
    review_input,
    submitted,
)
from tests.live import connect

NOTIFICATIONS = """
{ notifications(first: 50) { nodes { kind reviewDecision resource { id state } } } }
"""
ITEM = """
query($id: ID!) {
  resource(id: $id) {
    state reviewRound needsAdditionalReviewer reviewBy approvedAt
    reviews { round decision comment reviewer { name } principles { letter answer } }
    reviewers { name }
  }
}
"""
QUEUE = """
{
  reviewQueue {
    resources(first: 50) { nodes { id title state } }
    initiatives(first: 50) { nodes { id title state } }
    countsByState { state count }
  }
}
"""
AUDIT = "{ auditLog(first: 10) { nodes { action subjectType subjectId reason } } }"


async def read(client: httpx.AsyncClient, resource_id: str, member: Any) -> dict[str, Any] | None:
    body = await gql(client, ITEM, {"id": resource_id}, member=member)
    assert "errors" not in body, body
    result: dict[str, Any] | None = body["data"]["resource"]
    return result


async def test_a_resource_is_published_after_two_approvals_one_from_the_un_system(client, factory):
    # given
    people = await cast(factory)
    resource_id = await draft(client, people.author)
    assert (await read(client, resource_id, None)) is None  # drafts are not public
    # when
    submitted_item = (await ok(client, SUBMIT, {"id": resource_id}, people.author))["item"]
    await assign(client, people.moderator, resource_id, people.un_reviewer, people.cso_reviewer)
    after_first = await review(client, people.cso_reviewer, resource_id)
    after_second = await review(client, people.un_reviewer, resource_id)
    # then
    assert submitted_item["state"] == "SUBMITTED"
    assert after_first["state"] == "IN_REVIEW"
    assert after_second["state"] == "APPROVED"
    public = await read(client, resource_id, None)
    assert public is not None
    assert public["state"] == "APPROVED"
    assert public["reviews"] == []
    assert public["reviewers"] == []
    own = await read(client, resource_id, people.author)
    assert own is not None
    assert [r["decision"] for r in own["reviews"]] == ["APPROVE", "APPROVE"]
    assert len(own["reviews"][0]["principles"]) == 10
    assert own["reviewBy"] > own["approvedAt"]
    notes = (await gql(client, NOTIFICATIONS, member=people.author))["data"]["notifications"]
    assert [n["kind"] for n in notes["nodes"]] == ["REVIEW_DECISION", "REVIEW_DECISION"]
    assert {n["resource"]["id"] for n in notes["nodes"]} == {resource_id}


async def test_two_approvals_without_a_un_system_reviewer_do_not_publish(client, factory):
    people = await cast(factory)
    other_cso = await factory.organization(OrganizationKind.ACADEMIA, name="University")
    academic = await factory.member(role=Role.REVIEWER, organization_id=other_cso)
    resource_id = await submitted(client, people.author)
    await assign(client, people.moderator, resource_id, people.cso_reviewer, academic)
    await review(client, people.cso_reviewer, resource_id)
    item = await review(client, academic, resource_id)
    assert item["state"] == "IN_REVIEW"
    await assign(client, people.moderator, resource_id, people.un_reviewer)
    assert (await review(client, people.un_reviewer, resource_id))["state"] == "APPROVED"


async def test_an_approval_and_a_rejection_escalate_to_an_additional_reviewer(client, factory):
    # given
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    await assign(client, people.moderator, resource_id, people.un_reviewer, people.cso_reviewer)
    # when
    await review(client, people.un_reviewer, resource_id, "APPROVE")
    escalated = await review(client, people.cso_reviewer, resource_id, "REJECT")
    # then
    assert escalated["state"] == "IN_REVIEW"
    assert escalated["needsAdditionalReviewer"] is True
    # when the additional reviewer approves, the majority with a UN approval publishes
    await assign(client, people.moderator, resource_id, people.un_reviewer_2)
    settled = await review(client, people.un_reviewer_2, resource_id, "APPROVE")
    assert settled["state"] == "APPROVED"
    assert settled["needsAdditionalReviewer"] is False


async def test_an_escalation_settled_by_a_second_rejection_rejects(client, factory):
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    await assign(client, people.moderator, resource_id, people.un_reviewer, people.cso_reviewer)
    await review(client, people.un_reviewer, resource_id, "APPROVE")
    await review(client, people.cso_reviewer, resource_id, "REJECT")
    await assign(client, people.moderator, resource_id, people.un_reviewer_2)
    settled = await review(client, people.un_reviewer_2, resource_id, "REJECT")
    assert settled["state"] == "REJECTED"
    assert (await read(client, resource_id, None)) is None


async def test_a_rejection_waits_for_every_assigned_reviewer(client, factory):
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    await assign(client, people.moderator, resource_id, people.un_reviewer, people.cso_reviewer)
    waiting = await review(client, people.cso_reviewer, resource_id, "REJECT")
    assert waiting["state"] == "IN_REVIEW"
    assert (await review(client, people.un_reviewer, resource_id, "REJECT"))["state"] == "REJECTED"


async def test_changes_requested_go_back_to_the_author_and_a_resubmission_starts_a_new_round(
    client, factory
):
    # given
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    await assign(client, people.moderator, resource_id, people.un_reviewer, people.un_reviewer_2)
    # when
    sent_back = await review(client, people.un_reviewer, resource_id, "REQUEST_CHANGES")
    edit = {"resourceId": resource_id, "resource": resource_input("Fair recruitment toolkit, v2")}
    edited = await ok(client, UPDATE_RESOURCE, {"input": edit}, people.author)
    again = (await ok(client, SUBMIT, {"id": resource_id}, people.author))["item"]
    # then
    assert sent_back["state"] == "CHANGES_REQUESTED"
    assert edited["resource"]["id"] == resource_id  # edited in place, not a revision
    assert again["state"] == "SUBMITTED"
    assert again["reviewRound"] == 2
    # the first round's decisions do not count in the second
    assert (await review(client, people.un_reviewer, resource_id))["state"] == "IN_REVIEW"
    assert (await review(client, people.un_reviewer_2, resource_id))["state"] == "APPROVED"
    item = await read(client, resource_id, people.author)
    assert item is not None
    assert [(r["round"], r["decision"]) for r in item["reviews"]] == [
        (1, "REQUEST_CHANGES"),
        (2, "APPROVE"),
        (2, "APPROVE"),
    ]


async def test_a_reviewer_reviews_once_a_round_and_only_when_assigned(client, factory):
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    unassigned = await call(
        client, REVIEW, {"input": review_input(resource_id)}, people.cso_reviewer
    )
    assert codes(unassigned) == ["NOT_FOUND"]  # an unassigned reviewer does not even see it
    await assign(client, people.moderator, resource_id, people.un_reviewer, people.cso_reviewer)
    await review(client, people.un_reviewer, resource_id, "APPROVE")
    twice = await call(client, REVIEW, {"input": review_input(resource_id)}, people.un_reviewer)
    assert codes(twice) == ["CONFLICT"]


async def test_a_review_must_answer_every_guiding_principle(client, factory):
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    await assign(client, people.moderator, resource_id, people.un_reviewer)
    partial = review_input(resource_id)
    partial["checklist"]["principles"] = partial["checklist"]["principles"][:9]
    payload = await call(client, REVIEW, {"input": partial}, people.un_reviewer)
    assert codes(payload) == ["INVALID"]
    assert payload["errors"][0]["field"] == "checklist.principles"
    unknown = review_input(resource_id)
    unknown["checklist"]["principles"][0]["letter"] = "z"
    assert codes(await call(client, REVIEW, {"input": unknown}, people.un_reviewer)) == ["INVALID"]


async def test_conflicts_of_interest_are_refused(client, factory):
    # given
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    reviewer_author = await factory.member(role=Role.REVIEWER)
    own_id = await submitted(client, reviewer_author)

    async def assigning(item: str, reviewer: Any) -> dict[str, Any]:
        variables = {"id": item, "reviewer": reviewer.global_id}
        return await call(client, ASSIGN, variables, people.moderator)

    # then: the author, and a member of the author's organisation, cannot review
    assert codes(await assigning(own_id, reviewer_author)) == ["CONFLICT_OF_INTEREST"]
    assert codes(await assigning(resource_id, people.colleague_reviewer)) == [
        "CONFLICT_OF_INTEREST"
    ]
    # a member who is not a reviewer cannot be assigned at all
    assert codes(await assigning(resource_id, people.member)) == ["NOT_ALLOWED"]
    # a declared conflict ends the assignment and refuses the next one
    await assign(client, people.moderator, resource_id, people.un_reviewer)
    await ok(client, DECLARE, {"id": resource_id}, people.un_reviewer)
    gone = await call(client, REVIEW, {"input": review_input(resource_id)}, people.un_reviewer)
    assert codes(gone) == ["NOT_FOUND"]  # no longer assigned: no longer visible to them
    assert codes(await assigning(resource_id, people.un_reviewer)) == ["CONFLICT_OF_INTEREST"]


async def test_only_moderators_assign_and_decide(client, factory):
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    variables = {"id": resource_id, "reviewer": people.un_reviewer.global_id}
    assert codes(await call(client, ASSIGN, variables, people.author)) == ["NOT_ALLOWED"]
    decide = {"id": resource_id, "decision": "APPROVE", "reason": "Fine."}
    assert codes(await call(client, DECIDE, decide, people.author)) == ["NOT_ALLOWED"]
    assert codes(await call(client, SUBMIT, {"id": resource_id}, people.colleague)) == ["NOT_FOUND"]


async def test_a_moderator_decides_alone_with_a_reason_recorded_in_the_audit_log(client, factory):
    # given
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    # when
    no_reason = {"id": resource_id, "decision": "APPROVE", "reason": "  "}
    refused = await call(client, DECIDE, no_reason, people.moderator)
    decided = await ok(
        client,
        DECIDE,
        {"id": resource_id, "decision": "APPROVE", "reason": "Official IOM data."},
        people.moderator,
    )
    # then
    assert codes(refused) == ["REQUIRED"]
    assert decided["item"]["state"] == "APPROVED"
    log = (await gql(client, AUDIT, member=people.moderator))["data"]["auditLog"]["nodes"]
    assert log == [
        {
            "action": "DECIDE_REVIEW_ITEM",
            "subjectType": "Resource",
            "subjectId": resource_id,
            "reason": "Official IOM data.",
        }
    ]
    notes = (await gql(client, NOTIFICATIONS, member=people.author))["data"]["notifications"]
    assert [(n["kind"], n["reviewDecision"]) for n in notes["nodes"]] == [
        ("REVIEW_DECISION", "APPROVE")
    ]


async def test_the_review_queue_of_reviewers_and_moderators(client, factory):
    # given
    people = await cast(factory)
    await submitted(client, people.author, title="First")
    second = await submitted(client, people.author, title="Second")
    await submitted(client, people.author, title="Third")
    await draft(client, people.author, title="Draft")
    await assign(client, people.moderator, second, people.un_reviewer)
    # when
    moderator_queue = (await gql(client, QUEUE, member=people.moderator))["data"]["reviewQueue"]
    reviewer_queue = (await gql(client, QUEUE, member=people.un_reviewer))["data"]["reviewQueue"]
    member_queue = (await gql(client, QUEUE, member=people.member))["data"]["reviewQueue"]
    # then
    assert [n["title"] for n in moderator_queue["resources"]["nodes"]] == [
        "First",
        "Second",
        "Third",
    ]
    assert moderator_queue["countsByState"] == [
        {"state": "IN_REVIEW", "count": 1},
        {"state": "SUBMITTED", "count": 2},
    ]
    assert [n["id"] for n in reviewer_queue["resources"]["nodes"]] == [second]
    assert reviewer_queue["countsByState"] == [{"state": "IN_REVIEW", "count": 1}]
    assert member_queue is None


MINE = """
{
  reviewQueue(assignedToMe: true) {
    resources(first: 50) { nodes { id title state } }
    countsByState { state count }
  }
}
"""


async def test_a_moderator_narrows_the_queue_to_what_is_assigned_to_them(client, factory):
    # given: three submitted items, the second assigned to the moderator as a reviewer
    people = await cast(factory)
    await submitted(client, people.author, title="First")
    second = await submitted(client, people.author, title="Second")
    await submitted(client, people.author, title="Third")
    await assign(client, people.moderator, second, people.moderator)
    # when
    everything = (await gql(client, QUEUE, member=people.moderator))["data"]["reviewQueue"]
    mine = (await gql(client, MINE, member=people.moderator))["data"]["reviewQueue"]
    # then: all pending items by default; only the assigned one when asked
    assert len(everything["resources"]["nodes"]) == 3
    assert [n["id"] for n in mine["resources"]["nodes"]] == [second]
    assert mine["countsByState"] == [{"state": "IN_REVIEW", "count": 1}]


# --- every invalid transition ---------------------------------------------------------------

ALL_STATES = [s.value for s in ReviewState]
# What each action accepts (anything else: INVALID_TRANSITION naming both states).
VALID_FROM = {
    "submit": {"DRAFT", "CHANGES_REQUESTED"},
    "withdraw": {"DRAFT", "SUBMITTED", "IN_REVIEW", "CHANGES_REQUESTED"},
    "archive": {"APPROVED", "REJECTED"},
    "decide": {"SUBMITTED", "IN_REVIEW"},
    "send_back": {"APPROVED"},
}
TARGET = {
    "submit": "SUBMITTED",
    "withdraw": "WITHDRAWN",
    "archive": "ARCHIVED",
    "decide": "REJECTED",
    "send_back": None,
}


async def force_state(db: Any, resource_id: str, state: str) -> None:
    from schema.relay import decode_int_id

    async with db.sessions.begin() as session:
        await session.execute(
            update(Resource)
            .where(Resource.id == decode_int_id(resource_id, "Resource"))
            .values(state=ReviewState(state))
        )


@pytest.mark.parametrize("action", sorted(VALID_FROM))
async def test_every_invalid_transition_is_a_typed_error_naming_both_states(
    client, factory, db, action
):
    people = await cast(factory)
    query, member, variables = {
        "submit": (SUBMIT, people.author, {}),
        "withdraw": (WITHDRAW, people.author, {}),
        "archive": (ARCHIVE, people.moderator, {}),
        "decide": (DECIDE, people.moderator, {"decision": "REJECT", "reason": "No."}),
        "send_back": (SEND_BACK, people.moderator, {}),
    }[action]
    for state in ALL_STATES:
        resource_id = await draft(client, people.author, title=f"{action} from {state}")
        await force_state(db, resource_id, state)
        payload = await call(client, query, {"id": resource_id, **variables}, member)
        if state in VALID_FROM[action]:
            assert payload["errors"] == [], (action, state, payload)
            continue
        assert codes(payload) == ["INVALID_TRANSITION"], (action, state, payload)
        assert state in payload["errors"][0]["message"]
        if TARGET[action] is not None:
            assert TARGET[action] in payload["errors"][0]["message"]
        item = await read(client, resource_id, people.moderator)
        assert item is not None
        assert item["state"] == state


async def test_an_assignment_or_a_review_needs_an_item_under_review(client, factory, db):
    people = await cast(factory)
    for state in ("DRAFT", "CHANGES_REQUESTED", "REJECTED", "WITHDRAWN", "ARCHIVED", "APPROVED"):
        resource_id = await draft(client, people.author, title=state)
        await force_state(db, resource_id, state)
        variables = {"id": resource_id, "reviewer": people.un_reviewer.global_id}
        assert codes(await call(client, ASSIGN, variables, people.moderator)) == [
            "INVALID_TRANSITION"
        ], state


# --- the rule itself, and its configuration ---------------------------------------------------


def test_the_publishing_rule_decides_from_the_tally():
    rule = ReviewRule()
    assert outcome(Tally(approvals=2, un_system_approvals=1), rule) == (ReviewState.APPROVED, False)
    assert outcome(Tally(approvals=2, un_system_approvals=0), rule) == (None, False)
    assert outcome(Tally(approvals=1, un_system_approvals=1), rule) == (None, False)
    assert outcome(Tally(approvals=1, rejections=1), rule) == (None, True)
    assert outcome(Tally(approvals=2, un_system_approvals=1, rejections=1), rule) == (
        ReviewState.APPROVED,
        False,
    )
    assert outcome(Tally(approvals=1, rejections=2), rule) == (ReviewState.REJECTED, False)
    assert outcome(Tally(rejections=1, pending_reviewers=1), rule) == (None, False)
    assert outcome(Tally(rejections=1), rule) == (ReviewState.REJECTED, False)
    assert outcome(Tally(approvals=3, changes_requested=1), rule) == (
        ReviewState.CHANGES_REQUESTED,
        False,
    )


@pytest.fixture
async def lenient_client(database_url, db, broadcast) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a publishing rule of one approval from anyone (HUB_REVIEW_* settings)."""
    settings = make_settings(
        database_url, review_min_approvals=1, review_min_un_system_approvals=0, review_by_months=6
    )
    async with api_client(create_app(settings, db, broadcast)) as c:
        yield c


async def test_the_publishing_rule_comes_from_the_settings(lenient_client, factory):
    people = await cast(factory)
    resource_id = await submitted(lenient_client, people.author)
    await assign(lenient_client, people.moderator, resource_id, people.cso_reviewer)
    item = await review(lenient_client, people.cso_reviewer, resource_id)
    assert item["state"] == "APPROVED"
    detail = await read(lenient_client, resource_id, people.author)
    assert detail is not None
    due = datetime.fromisoformat(detail["reviewBy"]) - datetime.fromisoformat(detail["approvedAt"])
    assert 181 <= due.days <= 184  # six months, not the default 24


RECEIVED = """
subscription($after: String) { notificationReceived(after: $after) {
  __typename ... on NotificationEvent {
    notification { kind reviewDecision resource { title state } }
  }
} }
"""


async def test_the_author_receives_review_decisions_live(app, client, factory):
    # given
    people = await cast(factory)
    resource_id = await submitted(client, people.author)
    await assign(client, people.moderator, resource_id, people.un_reviewer)
    cursor = (await gql(client, "{ notificationCursor }", member=people.author))["data"]
    async with connect(app, people.author.token) as socket:
        await socket.subscribe(RECEIVED, {"after": cursor["notificationCursor"]})
        # when
        await review(client, people.un_reviewer, resource_id, "REQUEST_CHANGES")
        # then
        [event] = await socket.next_payloads(1)
    assert event["notificationReceived"]["notification"] == {
        "kind": "REVIEW_DECISION",
        "reviewDecision": "REQUEST_CHANGES",
        "resource": {"title": "Fair recruitment toolkit", "state": "CHANGES_REQUESTED"},
    }
