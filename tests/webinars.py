"""Helpers shared by the webinar tests: schedule webinars and register through the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from models.member import Role
from tests.conftest import Factory, TestMember, gql
from tests.discussions import ok

CREATE_WEBINAR = """
mutation($input: CreateWebinarInput!) {
  createWebinar(input: $input) {
    webinar { id title status startsAt endsAt capacity registeredCount joinUrl }
    errors { field code message }
  }
}
"""
REGISTER = """
mutation($id: ID!) {
  registerForWebinar(input: {webinarId: $id}) {
    status webinar { registeredCount } errors { field code message }
  }
}
"""
CANCEL = """
mutation($id: ID!) {
  cancelRegistration(input: {webinarId: $id}) {
    status webinar { registeredCount } errors { field code message }
  }
}
"""
SET_STATUS = """
mutation($id: ID!, $status: WebinarStatus!) {
  setWebinarStatus(input: {webinarId: $id, status: $status}) {
    webinar { status } errors { field code message }
  }
}
"""
VIEWER_STATE = """
query($id: ID!) {
  webinar(id: $id) { joinUrl viewer { registrationStatus waitlistPosition manages takesPart } }
}
"""


def in_hours(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def staff(factory: Factory, name: str = "Org Aniser") -> TestMember:
    return await factory.member(role=Role.MODERATOR, name=name)


async def webinar(
    client: httpx.AsyncClient,
    organiser: TestMember,
    *,
    capacity: int = 100,
    starts_in_hours: float = 48,
    **extra: Any,
) -> str:
    """A webinar scheduled by `organiser` (a moderator, or a community's moderator)."""
    values: dict[str, Any] = {
        "title": "Fair recruitment in practice",
        "startsAt": in_hours(starts_in_hours),
        "endsAt": in_hours(starts_in_hours + 1.5),
        "capacity": capacity,
        "joinUrl": "https://meet.example.org/fair-recruitment",
        **extra,
    }
    payload = await ok(client, CREATE_WEBINAR, {"input": values}, organiser)
    return str(payload["webinar"]["id"])


async def register(client: httpx.AsyncClient, webinar_id: str, member: TestMember) -> str:
    payload = await ok(client, REGISTER, {"id": webinar_id}, member)
    return str(payload["status"])


async def set_status(
    client: httpx.AsyncClient, webinar_id: str, organiser: TestMember, status: str
) -> None:
    await ok(client, SET_STATUS, {"id": webinar_id, "status": status}, organiser)


async def viewer_state(
    client: httpx.AsyncClient, webinar_id: str, member: TestMember | None
) -> dict[str, Any] | None:
    body = await gql(client, VIEWER_STATE, {"id": webinar_id}, member=member)
    assert "errors" not in body, body
    state: dict[str, Any] | None = body["data"]["webinar"]
    return state


WEBINAR_EVENTS = """
subscription($id: ID!, $after: String) {
  webinarEvents(webinarId: $id, after: $after) {
    __typename
    ... on WebinarEvent {
      cursor kind voteCount
      chatMessage { body author { name } }
      question { body anonymous author { name } }
    }
    ... on ResyncRequired { message }
  }
}
"""
SEND = """
mutation($id: ID!, $body: String!) {
  sendChatMessage(input: {webinarId: $id, body: $body}) {
    message { id body bodyHtml } errors { field code message }
  }
}
"""
ASK = """
mutation($id: ID!, $body: String!, $anonymous: Boolean!) {
  askQuestion(input: {webinarId: $id, body: $body, anonymous: $anonymous}) {
    question { id body anonymous author { name } } errors { field code message }
  }
}
"""
UPVOTE = """
mutation($id: ID!) {
  upvoteQuestion(input: {questionId: $id}) { question { voteCount } errors { code } }
}
"""
ANSWER = """
mutation($id: ID!, $answer: String, $live: Boolean!) {
  answerQuestion(input: {questionId: $id, answer: $answer, live: $live}) {
    question { status answer answeredLive } errors { field code }
  }
}
"""


async def event_cursor(client: httpx.AsyncClient, webinar_id: str, member: TestMember) -> str:
    body = await gql(
        client,
        "query($id: ID!) { webinar(id: $id) { eventCursor } }",
        {"id": webinar_id},
        member=member,
    )
    return str(body["data"]["webinar"]["eventCursor"])


async def say(
    client: httpx.AsyncClient, webinar_id: str, member: TestMember, body: str
) -> dict[str, Any]:
    payload = await ok(client, SEND, {"id": webinar_id, "body": body}, member)
    return dict(payload["message"])


async def ask(
    client: httpx.AsyncClient,
    webinar_id: str,
    member: TestMember,
    body: str,
    anonymous: bool = False,
) -> str:
    payload = await ok(
        client, ASK, {"id": webinar_id, "body": body, "anonymous": anonymous}, member
    )
    return str(payload["question"]["id"])


async def live_webinar(
    client: httpx.AsyncClient, factory: Factory, *participants: str, **extra: Any
) -> tuple[str, TestMember, list[TestMember]]:
    """A LIVE webinar, its organiser, and registered participants with these names."""
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, starts_in_hours=0.1, **extra)
    members = [await factory.member(name=name) for name in participants]
    for member in members:
        assert await register(client, webinar_id, member) == "REGISTERED"
    await set_status(client, webinar_id, organiser, "LIVE")
    return webinar_id, organiser, members
