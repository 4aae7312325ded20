"""Support requests through the API: the workflow end to end, its refusals, its live thread."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from models.organization import OrganizationKind
from tests.conftest import Factory, StatementCounter, gql
from tests.discussions import ok
from tests.live import connect
from tests.support import (
    CHANGE_STATUS,
    POST_MESSAGE,
    PROPOSE,
    RESPOND,
    SUBMIT,
    SUPPORT_EVENTS,
    TRIAGE,
    errors_of,
    government,
    moderator,
    request_input,
    submit,
)

REQUEST = """
query($id: ID!) {
  supportRequest(id: $id) {
    status category urgency desiredTimeframe declineReason descriptionHtml
    requester { name } organization { name } focalPoint { name }
    objectives { number } countries { code } languages
    proposals { status expert { name } }
    timeline { nodes { change status note actor { name } expert { name } } }
    messages { totalCount nodes { body author { name } } }
    eventCursor
  }
}
"""
NOTIFICATIONS = "{ notifications { nodes { kind supportRequest { id } } } }"


async def test_a_request_goes_from_submitted_to_completed_and_every_step_is_in_its_timeline(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    gov = await government(factory)
    focal = await moderator(factory)
    expert = await factory.member(name="Elena Expert", is_expert=True, expertise=(6,))
    # when
    request_id = await submit(client, gov.requester)
    await ok(client, TRIAGE, {"id": request_id}, focal)
    await ok(client, PROPOSE, {"id": request_id, "expert": expert.global_id}, focal)
    matched = await ok(client, RESPOND, {"id": request_id, "accept": True}, expert)
    await ok(client, CHANGE_STATUS, {"id": request_id, "status": "IN_PROGRESS"}, focal)
    await ok(
        client, POST_MESSAGE, {"id": request_id, "body": "First workshop on *Monday*."}, expert
    )
    done = await ok(client, CHANGE_STATUS, {"id": request_id, "status": "COMPLETED"}, focal)
    # then
    assert matched["supportRequest"]["status"] == "MATCHED"
    assert done["supportRequest"]["status"] == "COMPLETED"
    body = await gql(client, REQUEST, {"id": request_id}, member=gov.requester)
    request = body["data"]["supportRequest"]
    assert (request["category"], request["urgency"]) == ("DATA_AND_EVIDENCE", "HIGH")
    assert request["desiredTimeframe"] == "Q2 2027"
    assert "<strong>link</strong>" in request["descriptionHtml"]
    assert request["requester"] == {"name": "Ana Requester"}
    assert request["organization"] == {"name": "Ministry of Labour, Mexico"}
    assert request["focalPoint"] == {"name": "Fiona Focal"}
    assert [o["number"] for o in request["objectives"]] == [1, 6]
    assert (request["countries"], request["languages"]) == ([{"code": "MX"}], ["es"])
    assert request["proposals"] == [{"status": "ACCEPTED", "expert": {"name": "Elena Expert"}}]
    timeline = [
        (e["change"], e["status"], e["actor"]["name"]) for e in request["timeline"]["nodes"]
    ]
    assert timeline == [
        ("SUBMITTED", "SUBMITTED", "Ana Requester"),
        ("TRIAGED", "TRIAGED", "Fiona Focal"),
        ("EXPERT_PROPOSED", "TRIAGED", "Fiona Focal"),
        ("EXPERT_ACCEPTED", "TRIAGED", "Elena Expert"),
        ("MATCHED", "MATCHED", "Elena Expert"),
        ("STARTED", "IN_PROGRESS", "Fiona Focal"),
        ("COMPLETED", "COMPLETED", "Fiona Focal"),
    ]
    assert request["timeline"]["nodes"][2]["expert"] == {"name": "Elena Expert"}
    assert request["messages"] == {
        "totalCount": 1,
        "nodes": [{"body": "First workshop on *Monday*.", "author": {"name": "Elena Expert"}}],
    }
    # every change made by someone else notified the requester (their own submission did not)
    notes = (await gql(client, NOTIFICATIONS, member=gov.requester))["data"]["notifications"]
    assert [n["kind"] for n in notes["nodes"]] == ["SUPPORT_REQUEST_UPDATE"] * 6
    assert {n["supportRequest"]["id"] for n in notes["nodes"]} == {request_id}
    # the proposal notified the expert
    notes = (await gql(client, NOTIFICATIONS, member=expert))["data"]["notifications"]
    assert [n["kind"] for n in notes["nodes"]] == ["SUPPORT_REQUEST_UPDATE"]


async def test_only_government_members_submit_and_input_is_checked(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    ngo = await factory.organization(OrganizationKind.CIVIL_SOCIETY)
    activist = await factory.member(organization_id=ngo)
    loner = await factory.member()
    gov = await government(factory)
    # when / then
    for member in (activist, loner):
        errors = await errors_of(client, SUBMIT, {"input": request_input()}, member)
        assert [e["code"] for e in errors] == ["NOT_ALLOWED"]
    errors = await errors_of(client, SUBMIT, {"input": request_input()}, None)
    assert [e["code"] for e in errors] == ["UNAUTHENTICATED"]
    bad = request_input(title=" ", objectives=[24], countries=["XX"], languages=["not a tag"])
    errors = await errors_of(client, SUBMIT, {"input": bad}, gov.requester)
    assert sorted((e["field"], e["code"]) for e in errors) == [
        ("countries", "INVALID"),
        ("languages", "INVALID"),
        ("objectives", "INVALID"),
        ("title", "REQUIRED"),
    ]
    listed = await gql(client, "{ supportRequests { totalCount } }", member=gov.requester)
    assert listed["data"]["supportRequests"]["totalCount"] == 0


async def test_steps_out_of_order_are_refused_with_invalid_transition(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    gov = await government(factory)
    focal = await moderator(factory)
    expert = await factory.member(is_expert=True)
    request_id = await submit(client, gov.requester)

    async def codes(query: str, member: object = focal, **variables: object) -> list[str]:
        errors = await errors_of(client, query, {"id": request_id, **variables}, member)  # type: ignore[arg-type]
        return [e["code"] for e in errors]

    # then: nothing but triage or decline from SUBMITTED
    assert await codes(CHANGE_STATUS, status="IN_PROGRESS") == ["INVALID_TRANSITION"]
    assert await codes(CHANGE_STATUS, status="COMPLETED") == ["INVALID_TRANSITION"]
    assert await codes(CHANGE_STATUS, status="TRIAGED") == ["INVALID_TRANSITION"]
    assert await codes(PROPOSE, expert=expert.global_id) == ["INVALID_TRANSITION"]
    # the requester cannot triage nor move their own request
    assert await codes(TRIAGE, gov.requester) == ["NOT_ALLOWED"]
    await ok(client, TRIAGE, {"id": request_id}, focal)
    assert await codes(TRIAGE) == ["INVALID_TRANSITION"]
    assert await codes(CHANGE_STATUS, gov.requester, status="DECLINED", reason="x") == [
        "NOT_ALLOWED"
    ]
    # matched only through an expert's acceptance; a non-expert cannot be proposed
    assert await codes(CHANGE_STATUS, status="MATCHED") == ["INVALID_TRANSITION"]
    assert await codes(PROPOSE, expert=gov.colleague.global_id) == ["NOT_FOUND"]
    assert await codes(RESPOND, expert, accept=True) == ["NOT_FOUND"]  # not proposed: not visible
    await ok(client, PROPOSE, {"id": request_id, "expert": expert.global_id}, focal)
    assert await codes(PROPOSE, expert=expert.global_id) == ["CONFLICT"]
    # declining needs a reason, and is final
    assert await codes(CHANGE_STATUS, status="DECLINED") == ["REQUIRED"]
    declined = await ok(
        client,
        CHANGE_STATUS,
        {"id": request_id, "status": "DECLINED", "reason": "Outside the network's mandate."},
        focal,
    )
    assert declined["supportRequest"] == {
        "id": request_id,
        "status": "DECLINED",
        "declineReason": "Outside the network's mandate.",
    }
    assert await codes(RESPOND, expert, accept=True) == ["INVALID_TRANSITION"]
    assert await codes(CHANGE_STATUS, status="IN_PROGRESS") == ["INVALID_TRANSITION"]
    assert await codes(TRIAGE) == ["INVALID_TRANSITION"]


async def test_an_expert_who_declines_stops_seeing_the_request(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    gov = await government(factory)
    focal = await moderator(factory)
    expert = await factory.member(is_expert=True)
    request_id = await submit(client, gov.requester)
    await ok(client, TRIAGE, {"id": request_id}, focal)
    await ok(client, PROPOSE, {"id": request_id, "expert": expert.global_id}, focal)
    query = "query($id: ID!) { supportRequest(id: $id) { status } }"
    seen = await gql(client, query, {"id": request_id}, member=expert)
    assert seen["data"]["supportRequest"] == {"status": "TRIAGED"}
    # when
    await ok(client, RESPOND, {"id": request_id, "accept": False}, expert)
    # then
    gone = await gql(client, query, {"id": request_id}, member=expert)
    assert gone["data"]["supportRequest"] is None
    still = await gql(client, query, {"id": request_id}, member=focal)
    assert still["data"]["supportRequest"] == {"status": "TRIAGED"}


async def test_the_private_thread_is_live_and_resumable(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    gov = await government(factory)
    focal = await moderator(factory)
    request_id = await submit(client, gov.requester)
    cursor_query = "query($id: ID!) { supportRequest(id: $id) { eventCursor } }"
    start = (await gql(client, cursor_query, {"id": request_id}, member=gov.requester))["data"]
    cursor = start["supportRequest"]["eventCursor"]
    async with connect(app, gov.requester.token) as socket:
        await socket.subscribe(SUPPORT_EVENTS, {"id": request_id, "after": cursor})
        # when
        await ok(client, TRIAGE, {"id": request_id}, focal)
        await ok(client, POST_MESSAGE, {"id": request_id, "body": "Hello from the network."}, focal)
        # then
        events = [p["supportRequestEvents"] for p in await socket.next_payloads(2)]
    assert events == [
        {
            "__typename": "SupportRequestEvent",
            "change": "TRIAGED",
            "supportMessage": None,
            "supportRequest": {"status": "TRIAGED"},
        },
        {
            "__typename": "SupportRequestEvent",
            "change": None,
            "supportMessage": {"body": "Hello from the network."},
            "supportRequest": {"status": "TRIAGED"},
        },
    ]
    # a client that reconnects with the first cursor gets the rest, replayed from the log
    async with connect(app, gov.requester.token) as socket:
        await socket.subscribe(SUPPORT_EVENTS, {"id": request_id, "after": cursor})
        replayed = [p["supportRequestEvents"] for p in await socket.next_payloads(2)]
    assert replayed == events


async def test_a_page_of_requests_runs_the_same_statements_at_any_size(
    client: httpx.AsyncClient, factory: Factory, statements: StatementCounter
) -> None:
    # given: ten triaged requests with an expert proposed on each
    gov = await government(factory)
    focal = await moderator(factory)
    expert = await factory.member(is_expert=True)
    for number in range(10):
        request_id = await submit(client, gov.requester, title=f"Request {number}")
        await ok(client, TRIAGE, {"id": request_id}, focal)
        await ok(client, PROPOSE, {"id": request_id, "expert": expert.global_id}, focal)
    page = """query($first: Int!) { supportRequests(first: $first) { nodes {
      title requester { name } organization { name } focalPoint { name } objectives { number }
      countries { code name } languages proposals { status expert { name } } } } }"""
    counts = []
    for size in (2, 10):
        statements.reset()
        body = await gql(client, page, {"first": size}, member=focal)
        assert len(body["data"]["supportRequests"]["nodes"]) == size
        counts.append(statements.count)
    assert counts[0] == counts[1]


START_OR_DECLINE = """
mutation($id: ID!, $status: SupportStatus!, $reason: String) {
  changeSupportRequestStatus(input: {requestId: $id, status: $status, reason: $reason}) {
    supportRequest { status declineReason } errors { field code }
  }
}
"""
START_WITHOUT_REASON = """
mutation($id: ID!) {
  changeSupportRequestStatus(input: {requestId: $id, status: IN_PROGRESS}) {
    supportRequest { status } errors { field code }
  }
}
"""


async def test_a_reason_is_asked_for_declining_only(client: httpx.AsyncClient, factory: Factory):
    # given two matched requests
    gov = await government(factory)
    focal = await moderator(factory)
    expert = await factory.member(name="Elena Expert", is_expert=True, expertise=(6,))
    matched = []
    for title in ("Data system", "Recruitment agencies"):
        request_id = await submit(client, gov.requester, title=title)
        await ok(client, TRIAGE, {"id": request_id}, focal)
        await ok(client, PROPOSE, {"id": request_id, "expert": expert.global_id}, focal)
        await ok(client, RESPOND, {"id": request_id, "accept": True}, expert)
        matched.append(request_id)
    # when one is started with no reason at all, and with a null one
    started = await ok(client, START_WITHOUT_REASON, {"id": matched[0]}, focal)
    # then it is started
    assert started["supportRequest"]["status"] == "IN_PROGRESS"
    body = await gql(
        client,
        START_OR_DECLINE,
        {"id": matched[1], "status": "IN_PROGRESS", "reason": None},
        member=focal,
    )
    assert body["data"]["changeSupportRequestStatus"]["errors"] == [], body
    # and declining without a reason, null or empty, is refused; with one it is done
    for reason in (None, "", "   "):
        refused = await gql(
            client,
            START_OR_DECLINE,
            {"id": matched[0], "status": "DECLINED", "reason": reason},
            member=focal,
        )
        assert refused["data"]["changeSupportRequestStatus"]["errors"] == [
            {"field": "reason", "code": "REQUIRED"}
        ], (reason, refused)
    declined = await ok(
        client,
        START_OR_DECLINE,
        {"id": matched[0], "status": "DECLINED", "reason": "Out of the network's remit"},
        focal,
    )
    assert declined["supportRequest"] == {
        "status": "DECLINED",
        "declineReason": "Out of the network's remit",
    }
