"""Helpers shared by the curated-knowledge tests: resources and their review, through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from models.member import Role
from models.organization import OrganizationKind
from models.reference import gcm_reference
from models.resource import Resource, ResourceKind, SourceType
from models.review import ReviewState
from tests.conftest import Factory, TestMember, gql

RESOURCE_FIELDS = """
  id title state reviewRound underReReview needsAdditionalReviewer isStale reviewBy
  isSuperseded objectives { number } countries { code } organization { name }
"""
CREATE_RESOURCE = f"""
mutation($input: CreateResourceInput!) {{
  createResource(input: $input) {{ resource {{ {RESOURCE_FIELDS} }} errors {{ field code message }} }}
}}
"""
UPDATE_RESOURCE = f"""
mutation($input: UpdateResourceInput!) {{
  updateResource(input: $input) {{
    resource {{ {RESOURCE_FIELDS} revisionOf {{ id }} }} errors {{ field code message }}
  }}
}}
"""
ITEM_PAYLOAD = "{ item { id state reviewRound underReReview needsAdditionalReviewer reviewBy } errors { field code message } }"
SUBMIT = f"mutation($id: ID!) {{ submitForReview(input: {{itemId: $id}}) {ITEM_PAYLOAD} }}"
WITHDRAW = f"mutation($id: ID!) {{ withdrawItem(input: {{itemId: $id}}) {ITEM_PAYLOAD} }}"
ASSIGN = f"""
mutation($id: ID!, $reviewer: ID!) {{
  assignReviewer(input: {{itemId: $id, reviewerId: $reviewer}}) {ITEM_PAYLOAD}
}}
"""
DECLARE = f"""
mutation($id: ID!) {{
  declareConflictOfInterest(input: {{itemId: $id, reason: "I co-authored it."}}) {ITEM_PAYLOAD}
}}
"""
REVIEW = f"""
mutation($input: SubmitReviewInput!) {{ submitReview(input: $input) {ITEM_PAYLOAD} }}
"""
DECIDE = f"""
mutation($id: ID!, $decision: ReviewDecision!, $reason: String!) {{
  decideReviewItem(input: {{itemId: $id, decision: $decision, reason: $reason}}) {ITEM_PAYLOAD}
}}
"""
ARCHIVE = f"""
mutation($id: ID!) {{ archiveItem(input: {{itemId: $id, reason: "Out of date."}}) {ITEM_PAYLOAD} }}
"""
SEND_BACK = f"""
mutation($id: ID!) {{
  sendBackToReview(input: {{itemId: $id, reason: "Due a re-review."}}) {ITEM_PAYLOAD}
}}
"""
SET_REVIEW_BY = f"""
mutation($id: ID!, $at: DateTime!) {{ setReviewBy(input: {{itemId: $id, reviewBy: $at}}) {ITEM_PAYLOAD} }}
"""

PRINCIPLE_LETTERS = [p["letter"] for p in gcm_reference()["guiding_principles"]]


def published_resources(author_id: int, organization_id: int, count: int = 60) -> list[Resource]:
    """`count` approved English publications ("Resource 00", ...), for the statement-count tests
    that seed their rows directly (the caller adds them to its session)."""
    return [
        Resource(
            title=f"Resource {i:02}",
            summary=f"Summary {i:02}",
            body=f"Body **{i:02}**",
            kind=ResourceKind.PUBLICATION,
            language="en",
            source_type=SourceType.ACADEMIC_ARTICLE,
            state=ReviewState.APPROVED,
            author_id=author_id,
            organization_id=organization_id,
        )
        for i in range(count)
    ]


def resource_input(title: str = "Fair recruitment toolkit", **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": title,
        "kind": "TOOL",
        "language": "en",
        "sourceType": "INTERNATIONAL_ORGANIZATION_REPORT",
        "summary": "How to recruit without fees.",
        "body": "Recruitment **without** fees.",
        "link": "https://example.org/toolkit",
        "publisher": "ILO",
        "publishedOn": "2024-05-01",
        "objectives": [6],
        "principles": ["e"],
        "countries": ["KE"],
        "otherLanguages": ["fr"],
        "themes": ["Fees"],
    }
    values.update(overrides)
    return values


def review_input(item_id: str, decision: str = "APPROVE", answer: str = "YES") -> dict[str, Any]:
    return {
        "itemId": item_id,
        "decision": decision,
        "comment": f"{decision.title()}: well sourced.",
        "checklist": {
            "relatesToObjective": True,
            "accurateAndSourced": True,
            "upToDate": True,
            "principles": [{"letter": letter, "answer": answer} for letter in PRINCIPLE_LETTERS],
        },
    }


async def call(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], member: TestMember | None
) -> dict[str, Any]:
    """Run a mutation; returns its payload (errors included), failing on top-level errors."""
    body = await gql(client, query, variables, member=member)
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def ok(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], member: TestMember
) -> dict[str, Any]:
    payload = await call(client, query, variables, member)
    assert payload["errors"] == [], payload
    return payload


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


@dataclass
class Cast:
    """Who takes part in reviewing: an author, a colleague at the author's organisation, a
    moderator, reviewers (two at UN_SYSTEM organisations, one in civil society)."""

    author: TestMember
    colleague: TestMember
    moderator: TestMember
    un_reviewer: TestMember
    un_reviewer_2: TestMember
    cso_reviewer: TestMember
    member: TestMember
    colleague_reviewer: TestMember


async def cast(factory: Factory) -> Cast:
    ngo = await factory.organization(OrganizationKind.CIVIL_SOCIETY, name="Migrants' Voice")
    un = await factory.organization(OrganizationKind.UN_SYSTEM, name="IOM")
    un_2 = await factory.organization(OrganizationKind.UN_SYSTEM, name="ILO")
    cso = await factory.organization(OrganizationKind.CIVIL_SOCIETY, name="Other CSO")
    return Cast(
        author=await factory.member(name="Author", organization_id=ngo),
        colleague=await factory.member(name="Colleague", organization_id=ngo),
        moderator=await factory.member(name="Moderator", role=Role.MODERATOR),
        un_reviewer=await factory.member(
            name="UN Reviewer", role=Role.REVIEWER, organization_id=un
        ),
        un_reviewer_2=await factory.member(
            name="UN Reviewer 2", role=Role.REVIEWER, organization_id=un_2
        ),
        cso_reviewer=await factory.member(
            name="CSO Reviewer", role=Role.REVIEWER, organization_id=cso
        ),
        member=await factory.member(name="Member"),
        colleague_reviewer=await factory.member(
            name="Colleague Reviewer", role=Role.REVIEWER, organization_id=ngo
        ),
    )


async def draft(
    client: httpx.AsyncClient,
    author: TestMember,
    title: str = "Fair recruitment toolkit",
    **extra: Any,
) -> str:
    payload = await ok(
        client, CREATE_RESOURCE, {"input": {"resource": resource_input(title, **extra)}}, author
    )
    return str(payload["resource"]["id"])


async def submitted(client: httpx.AsyncClient, author: TestMember, **extra: Any) -> str:
    resource_id = await draft(client, author, **extra)
    await ok(client, SUBMIT, {"id": resource_id}, author)
    return resource_id


async def assign(
    client: httpx.AsyncClient, moderator: TestMember, resource_id: str, *reviewers: TestMember
) -> None:
    for reviewer in reviewers:
        await ok(client, ASSIGN, {"id": resource_id, "reviewer": reviewer.global_id}, moderator)


async def review(
    client: httpx.AsyncClient, reviewer: TestMember, resource_id: str, decision: str = "APPROVE"
) -> dict[str, Any]:
    payload = await ok(client, REVIEW, {"input": review_input(resource_id, decision)}, reviewer)
    return dict(payload["item"])


async def approve(client: httpx.AsyncClient, people: Cast, item_id: str) -> None:
    """An item (a draft or a revision) of the author's through the whole review: submitted,
    two UN approvals."""
    await ok(client, SUBMIT, {"id": item_id}, people.author)
    await assign(client, people.moderator, item_id, people.un_reviewer, people.un_reviewer_2)
    await review(client, people.un_reviewer, item_id)
    item = await review(client, people.un_reviewer_2, item_id)
    assert item["state"] == "APPROVED"


async def published(client: httpx.AsyncClient, people: Cast, **extra: Any) -> str:
    """A resource through the whole review: submitted, two UN approvals."""
    resource_id = await draft(client, people.author, **extra)
    await approve(client, people, resource_id)
    return resource_id
