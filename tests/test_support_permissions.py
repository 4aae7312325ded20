"""The privacy matrix of support requests, proving 0 leaks.

A request is private to the requesting government's members, its focal point, the experts
proposed for it (until they decline) and moderators. Every other viewer must find it exactly as
they find a request that does not exist, on every path: the root field, `node`, the list and its
count, the message thread, the expert suggestions, writing a message, and the live subscription.
"""

from __future__ import annotations

import enum
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette

from models.organization import OrganizationKind
from schema.relay import encode_id
from tests.conftest import Factory, gql
from tests.conftest import TestMember as Person  # (a name pytest does not collect)
from tests.discussions import ok
from tests.live import Socket, connect
from tests.support import (
    POST_MESSAGE,
    PROPOSE,
    RESPOND,
    SUPPORT_EVENTS,
    TRIAGE,
    government,
    moderator,
    submit,
)


class Viewer(enum.Enum):
    ANONYMOUS = "anonymous"
    OUTSIDER = "outsider member"
    REQUESTER = "requester"
    COLLEAGUE = "government colleague of the requester"
    OTHER_GOVERNMENT = "member of another government"
    FOCAL_POINT = "focal point"
    MATCHED_EXPERT = "matched expert"
    UNMATCHED_EXPERT = "unmatched expert"
    MODERATOR = "another moderator"


SEES = {
    Viewer.REQUESTER,
    Viewer.COLLEAGUE,
    Viewer.FOCAL_POINT,
    Viewer.MATCHED_EXPERT,
    Viewer.MODERATOR,
}
SEES_SUGGESTIONS = {Viewer.FOCAL_POINT, Viewer.MODERATOR}


@dataclass
class World:
    request_id: str
    message_id: str
    people: dict[Viewer, Person | None]


async def build_world(client: httpx.AsyncClient, factory: Factory) -> World:
    gov = await government(factory)
    other = await factory.organization(OrganizationKind.GOVERNMENT, "Ministry of Interior, Kenya")
    focal = await moderator(factory)
    matched = await factory.member(is_expert=True, expertise=(6,), languages=("es",))
    unmatched = await factory.member(is_expert=True, expertise=(6,), languages=("es",))
    request_id = await submit(client, gov.requester)
    await ok(client, TRIAGE, {"id": request_id}, focal)
    await ok(client, PROPOSE, {"id": request_id, "expert": matched.global_id}, focal)
    await ok(client, RESPOND, {"id": request_id, "accept": True}, matched)
    posted = await ok(client, POST_MESSAGE, {"id": request_id, "body": "Secret plan."}, focal)
    people: dict[Viewer, Person | None] = {
        Viewer.ANONYMOUS: None,
        Viewer.OUTSIDER: await factory.member(),
        Viewer.REQUESTER: gov.requester,
        Viewer.COLLEAGUE: gov.colleague,
        Viewer.OTHER_GOVERNMENT: await factory.member(organization_id=other),
        Viewer.FOCAL_POINT: focal,
        Viewer.MATCHED_EXPERT: matched,
        Viewer.UNMATCHED_EXPERT: unmatched,
        Viewer.MODERATOR: await moderator(factory, "Other Moderator"),
    }
    return World(request_id, posted["message"]["id"], people)


MISSING_REQUEST = encode_id("SupportRequest", 999_999)
MISSING_MESSAGE = encode_id("SupportMessage", 999_999)

READ = """
query($id: ID!, $messageId: ID!) {
  supportRequest(id: $id) { title messages { totalCount nodes { body } } timeline { totalCount } }
  node(id: $id) { id ... on SupportRequest { title } }
  message: node(id: $messageId) { id ... on SupportMessage { body } }
  supportRequests { totalCount nodes { id title } }
  suggestedExperts(requestId: $id) { explanation }
}
"""


async def read(client: httpx.AsyncClient, member: Person | None, ids: tuple[str, str]) -> Any:
    body = await gql(client, READ, {"id": ids[0], "messageId": ids[1]}, member=member)
    assert "errors" not in body, body
    return body["data"]


async def test_reads_show_the_request_to_its_circle_and_nothing_to_anyone_else(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    world = await build_world(client, factory)
    wrong = []
    for viewer, member in world.people.items():
        data = await read(client, member, (world.request_id, world.message_id))
        if viewer in SEES:
            request = data["supportRequest"]
            expected_request = {
                "title": "Labour migration data system",
                "messages": {"totalCount": 1, "nodes": [{"body": "Secret plan."}]},
                "timeline": {"totalCount": 5},
            }
            checks = {
                "supportRequest": (request, expected_request),
                "node": (
                    data["node"],
                    {"id": world.request_id, "title": expected_request["title"]},
                ),
                "message node": (data["message"], {"id": world.message_id, "body": "Secret plan."}),
                "list": (
                    data["supportRequests"],
                    {
                        "totalCount": 1,
                        "nodes": [{"id": world.request_id, "title": expected_request["title"]}],
                    },
                ),
            }
            for path, (got, expected) in checks.items():
                if got != expected:
                    wrong.append(f"{viewer.value} / {path}: got {got}, not {expected}")
        else:
            # exactly what a request that does not exist answers
            missing = await read(client, member, (MISSING_REQUEST, MISSING_MESSAGE))
            if data != missing:
                wrong.append(f"{viewer.value}: LEAK: {data} differs from missing {missing}")
            if data["supportRequests"] != {"totalCount": 0, "nodes": []}:
                wrong.append(f"{viewer.value}: LEAK in the list: {data['supportRequests']}")
        suggestions = data["suggestedExperts"]
        if (suggestions is not None) != (viewer in SEES_SUGGESTIONS):
            wrong.append(f"{viewer.value}: suggestedExperts is {suggestions}")
    assert wrong == []


async def test_writing_in_the_thread_is_refused_to_outsiders_exactly_as_for_a_missing_request(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    world = await build_world(client, factory)
    wrong = []
    for viewer, member in world.people.items():
        if member is None or viewer in SEES:
            continue
        variables = {"id": world.request_id, "body": "Let me in."}
        answer = await gql(client, POST_MESSAGE, variables, member=member)
        missing = await gql(
            client, POST_MESSAGE, {**variables, "id": MISSING_REQUEST}, member=member
        )
        if answer != missing or answer["data"]["postSupportMessage"]["message"] is not None:
            wrong.append(f"{viewer.value}: {answer} differs from {missing}")
    messages = await gql(
        client,
        "query($id: ID!) { supportRequest(id: $id) { messages { totalCount } } }",
        {"id": world.request_id},
        member=world.people[Viewer.REQUESTER],
    )
    assert messages["data"]["supportRequest"]["messages"]["totalCount"] == 1
    assert wrong == []


async def refusal(socket: Socket, request_id: str) -> list[dict[str, Any]]:
    await socket.subscribe(SUPPORT_EVENTS, {"id": request_id})
    messages = [await socket.receive(2), await socket.receive(2)]
    return [{k: v for k, v in m.items() if k != "id"} for m in messages]


async def test_live_events_reach_the_circle_and_are_refused_to_others_like_a_missing_request(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
) -> None:
    world = await build_world(client, factory)
    cursor_query = "query($id: ID!) { supportRequest(id: $id) { eventCursor } }"
    focal = world.people[Viewer.FOCAL_POINT]
    now = (await gql(client, cursor_query, {"id": world.request_id}, member=focal))["data"]
    after = now["supportRequest"]["eventCursor"]
    wrong = []
    async with AsyncExitStack() as stack:
        watching: dict[Viewer, Socket] = {}
        for viewer, member in world.people.items():
            socket = await stack.enter_async_context(connect(app, member.token if member else None))
            if viewer in SEES:
                await socket.subscribe(SUPPORT_EVENTS, {"id": world.request_id, "after": after})
                watching[viewer] = socket
                continue
            try:
                refused = await refusal(socket, world.request_id)
                missing = await refusal(socket, MISSING_REQUEST)
            except TimeoutError:
                wrong.append(f"{viewer.value}: LEAK: the subscription started")
                continue
            if refused != missing:
                wrong.append(f"{viewer.value}: LEAK: got {refused}, not {missing}")
        # when
        await ok(client, POST_MESSAGE, {"id": world.request_id, "body": "Live note."}, focal)
        # then
        for viewer, socket in watching.items():
            payloads = await socket.next_payloads(1)
            event = payloads[0]["supportRequestEvents"]
            if event["supportMessage"] != {"body": "Live note."}:
                wrong.append(f"{viewer.value}: got {event}")
    assert wrong == []


async def test_a_declining_expert_s_subscription_ends(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
) -> None:
    # given: a second expert proposed and watching
    world = await build_world(client, factory)
    focal = world.people[Viewer.FOCAL_POINT]
    assert focal is not None
    second = await factory.member(is_expert=True)
    await ok(client, PROPOSE, {"id": world.request_id, "expert": second.global_id}, focal)
    cursor_query = "query($id: ID!) { supportRequest(id: $id) { eventCursor } }"
    now = (await gql(client, cursor_query, {"id": world.request_id}, member=second))["data"]
    after = now["supportRequest"]["eventCursor"]
    async with connect(app, second.token) as socket:
        await socket.subscribe(SUPPORT_EVENTS, {"id": world.request_id, "after": after})
        await ok(client, POST_MESSAGE, {"id": world.request_id, "body": "Welcome."}, focal)
        first = await socket.next_payloads(1)
        assert first[0]["supportRequestEvents"]["supportMessage"] == {"body": "Welcome."}
        # when
        await ok(client, RESPOND, {"id": world.request_id, "accept": False}, second)
        await ok(client, POST_MESSAGE, {"id": world.request_id, "body": "After."}, focal)
        # then: the stream completes without showing anything more
        message = await socket.receive()
    assert message["type"] == "complete", message
