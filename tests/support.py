"""Helpers shared by the support-request tests: a government, a request, its workflow steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from models.member import Role
from models.organization import OrganizationKind
from tests.conftest import Factory, TestMember, gql
from tests.discussions import ok

SUBMIT = """
mutation($input: SubmitSupportRequestInput!) {
  submitSupportRequest(input: $input) {
    supportRequest { id status title }
    errors { field code message }
  }
}
"""
TRIAGE = """
mutation($id: ID!) {
  triageSupportRequest(input: {requestId: $id}) {
    supportRequest { id status focalPoint { id } } errors { field code message }
  }
}
"""
PROPOSE = """
mutation($id: ID!, $expert: ID!) {
  proposeExpert(input: {requestId: $id, expertId: $expert}) {
    supportRequest { id status proposals { status expert { id } } }
    errors { field code message }
  }
}
"""
RESPOND = """
mutation($id: ID!, $accept: Boolean!) {
  respondToExpertProposal(input: {requestId: $id, accept: $accept}) {
    supportRequest { id status } errors { field code message }
  }
}
"""
CHANGE_STATUS = """
mutation($id: ID!, $status: SupportStatus!, $reason: String! = "") {
  changeSupportRequestStatus(input: {requestId: $id, status: $status, reason: $reason}) {
    supportRequest { id status declineReason } errors { field code message }
  }
}
"""
POST_MESSAGE = """
mutation($id: ID!, $body: String!) {
  postSupportMessage(input: {requestId: $id, body: $body}) {
    message { id body author { id } } errors { field code message }
  }
}
"""
SUPPORT_EVENTS = """
subscription($id: ID!, $after: String) {
  supportRequestEvents(requestId: $id, after: $after) {
    __typename
    ... on SupportRequestEvent { change supportMessage { body } supportRequest { status } }
    ... on ResyncRequired { message }
  }
}
"""


def request_input(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "Labour migration data system",
        "description": "We need help to **link** labour-migration records.",
        "category": "DATA_AND_EVIDENCE",
        "urgency": "HIGH",
        "desiredTimeframe": "Q2 2027",
        "objectives": [1, 6],
        "countries": ["MX"],
        "languages": ["es"],
    }
    values.update(overrides)
    return values


@dataclass
class Government:
    organization_id: int
    requester: TestMember
    colleague: TestMember


async def government(factory: Factory, name: str = "Ministry of Labour, Mexico") -> Government:
    organization_id = await factory.organization(OrganizationKind.GOVERNMENT, name, "MX")
    requester = await factory.member(organization_id=organization_id, name="Ana Requester")
    colleague = await factory.member(organization_id=organization_id, name="Carlos Colleague")
    return Government(organization_id, requester, colleague)


async def submit(client: httpx.AsyncClient, requester: TestMember, **overrides: Any) -> str:
    payload = await ok(client, SUBMIT, {"input": request_input(**overrides)}, requester)
    return str(payload["supportRequest"]["id"])


async def moderator(factory: Factory, name: str = "Fiona Focal") -> TestMember:
    return await factory.member(role=Role.MODERATOR, name=name)


async def errors_of(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], member: TestMember | None
) -> list[dict[str, Any]]:
    body = await gql(client, query, variables, member=member)
    assert "errors" not in body, body
    return list(next(iter(body["data"].values()))["errors"])
