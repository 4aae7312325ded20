"""Webinars through the API: scheduling, status, registration, waitlist, notifications."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from tests.conftest import gql, refusals
from tests.discussions import community, ok
from tests.webinars import (
    CANCEL,
    CREATE_WEBINAR,
    REGISTER,
    SET_STATUS,
    in_hours,
    register,
    set_status,
    staff,
    viewer_state,
    webinar,
)

WEBINAR_PAGE = """
query($id: ID!) {
  webinar(id: $id) {
    title descriptionHtml startsAt endsAt timezone status visibility capacity seatsLeft
    objectives { number } languages interpretationLanguages
    organisers { name role member { id } } speakers { name affiliation member { id } }
    recordingUrl calendarPath
  }
}
"""
NOTIFICATIONS = """
{ notifications(first: 20) { nodes { kind webinar { title } } } }
"""


async def test_an_organiser_schedules_a_webinar_with_offsets_stored_in_utc(client, factory):
    # given
    organiser = await staff(factory)
    speaker = await factory.member(name="Spea Ker")
    # when
    payload = await ok(
        client,
        CREATE_WEBINAR,
        {
            "input": {
                "title": "Labour mobility corridors",
                "description": "Read <script>x</script> **this**",
                "startsAt": "2030-03-01T14:00:00+03:00",
                "endsAt": "2030-03-01T15:30:00+03:00",
                "timezone": "Africa/Nairobi",
                "capacity": 50,
                "objectives": [6, 5],
                "languages": ["en"],
                "interpretationLanguages": ["fr", "es"],
                "speakers": [
                    {"memberId": speaker.global_id},
                    {"name": "Guest Expert", "affiliation": "ILO"},
                ],
            }
        },
        organiser,
    )
    webinar_id = payload["webinar"]["id"]
    page = (await gql(client, WEBINAR_PAGE, {"id": webinar_id}, member=speaker))["data"]
    page = page["webinar"]
    # then
    assert page["startsAt"] == "2030-03-01T11:00:00+00:00"
    assert page["endsAt"] == "2030-03-01T12:30:00+00:00"
    assert page["timezone"] == "Africa/Nairobi"
    assert page["status"] == "SCHEDULED"
    assert "<script>" not in page["descriptionHtml"]
    assert "<strong>this</strong>" in page["descriptionHtml"]
    assert [o["number"] for o in page["objectives"]] == [5, 6]
    assert page["languages"] == ["en"]
    assert page["interpretationLanguages"] == ["es", "fr"]
    assert [o["name"] for o in page["organisers"]] == ["Org Aniser"]
    assert page["speakers"] == [
        {"name": "Spea Ker", "affiliation": None, "member": {"id": speaker.global_id}},
        {"name": "Guest Expert", "affiliation": "ILO", "member": None},
    ]
    # the public sees the hosts' names, not the profiles the directory hides from it
    public = (await gql(client, WEBINAR_PAGE, {"id": webinar_id}))["data"]["webinar"]
    assert [(s["name"], s["member"]) for s in public["speakers"]] == [
        ("Spea Ker", None),
        ("Guest Expert", None),
    ]
    assert page["seatsLeft"] == 50
    assert page["calendarPath"] == f"/calendar/webinars/{webinar_id}.ics"


async def test_bad_schedules_are_refused_with_typed_errors(client, factory):
    organiser = await staff(factory)
    bad = {
        "title": "x",
        "startsAt": "2030-03-01T14:00:00",  # no offset
        "endsAt": "2030-03-01T13:00:00+00:00",
        "capacity": 0,
        "timezone": "Mars/Olympus",
        "joinUrl": "javascript:alert(1)",
        "visibility": "COMMUNITY",
    }
    body = await gql(client, CREATE_WEBINAR, {"input": bad}, member=organiser)
    fields = {e["field"] for e in body["data"]["createWebinar"]["errors"]}
    assert fields == {"startsAt", "capacity", "timezone", "joinUrl", "communityId"}
    backwards = {**bad, "startsAt": "2030-03-01T14:00:00+00:00", "capacity": 5}
    backwards.update(timezone="UTC", joinUrl=None, visibility="PUBLIC")
    body = await gql(client, CREATE_WEBINAR, {"input": backwards}, member=organiser)
    assert [e["field"] for e in body["data"]["createWebinar"]["errors"]] == ["endsAt"]


async def test_members_cannot_schedule_but_community_moderators_can_in_their_community(
    client, factory
):
    community_id, moderator = await community(client, factory)
    member = await factory.member()
    values = {
        "title": "T",
        "startsAt": in_hours(5),
        "endsAt": in_hours(6),
        "capacity": 5,
        "communityId": community_id,
        "visibility": "COMMUNITY",
    }
    body = await gql(client, CREATE_WEBINAR, {"input": values}, member=member)
    assert body["data"]["createWebinar"]["errors"][0]["code"] == "NOT_ALLOWED"
    body = await gql(client, CREATE_WEBINAR, {"input": values}, member=moderator)
    assert body["data"]["createWebinar"]["errors"] == []


# --- partial edits: left out keeps, null clears a nullable field, null for a required one is
# refused ----------------------------------------------------------------------------------

UPDATE_WEBINAR = """
mutation($input: UpdateWebinarInput!) {
  updateWebinar(input: $input) { webinar { id } errors { field code message } }
}
"""
EDITABLE = """
query($id: ID!) {
  webinar(id: $id) {
    title description startsAt endsAt timezone visibility capacity registrationDeadline
    slowModeSeconds joinUrl objectives { number } languages interpretationLanguages
    organisers { name } speakers { name affiliation }
  }
}
"""


async def every_field(client: Any, factory: Any) -> tuple[str, Any]:
    """A webinar with every field an organiser sets filled in, and its organiser."""
    organiser = await staff(factory)
    details = {
        "description": "What **fair** recruitment takes.",
        "timezone": "Africa/Nairobi",
        "registrationDeadline": in_hours(24),
        "objectives": [6],
        "languages": ["en"],
        "interpretationLanguages": ["fr"],
        "speakers": [{"name": "Guest Expert", "affiliation": "ILO"}],
    }
    webinar_id = await webinar(client, organiser, **details)
    await ok(
        client,
        UPDATE_WEBINAR,
        {"input": {"webinarId": webinar_id, "slowModeSeconds": 30}},
        organiser,
    )
    return webinar_id, organiser


async def editable(client: Any, webinar_id: str, member: Any) -> dict[str, Any]:
    body = await gql(client, EDITABLE, {"id": webinar_id}, member=member)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["webinar"]
    return found


async def test_an_edit_sending_one_field_keeps_every_other_field_of_a_webinar(client, factory):
    # given a webinar with every field filled in
    webinar_id, organiser = await every_field(client, factory)
    before = await editable(client, webinar_id, organiser)
    assert all(value not in (None, "", [], 0) for value in before.values()), before
    # when an organiser sends only a new title
    changes = {"webinarId": webinar_id, "title": "Fair recruitment, in practice"}
    await ok(client, UPDATE_WEBINAR, {"input": changes}, organiser)
    # then the title changed and nothing else
    after = await editable(client, webinar_id, organiser)
    assert after == {**before, "title": "Fair recruitment, in practice"}


async def test_an_explicit_null_clears_a_nullable_field_of_a_webinar(client, factory):
    webinar_id, organiser = await every_field(client, factory)
    before = await editable(client, webinar_id, organiser)
    changes = {"webinarId": webinar_id, "joinUrl": None, "registrationDeadline": None}
    await ok(client, UPDATE_WEBINAR, {"input": changes}, organiser)
    after = await editable(client, webinar_id, organiser)
    assert after == {**before, "joinUrl": None, "registrationDeadline": None}


async def test_a_null_for_a_required_field_of_a_webinar_is_refused_and_changes_nothing(
    client, factory
):
    webinar_id, organiser = await every_field(client, factory)
    before = await editable(client, webinar_id, organiser)
    changes = {"webinarId": webinar_id, "title": None, "capacity": None, "description": "New."}
    body = await gql(client, UPDATE_WEBINAR, {"input": changes}, member=organiser)
    refused = body["data"]["updateWebinar"]
    assert refusals(refused) == [("capacity", "REQUIRED"), ("title", "REQUIRED")]
    assert await editable(client, webinar_id, organiser) == before


async def test_status_moves_only_along_valid_transitions(client, factory):
    organiser = await staff(factory)
    member = await factory.member()
    webinar_id = await webinar(client, organiser)

    async def attempt(who, status):
        body = await gql(client, SET_STATUS, {"id": webinar_id, "status": status}, member=who)
        return body["data"]["setWebinarStatus"]

    assert (await attempt(member, "LIVE"))["errors"][0]["code"] == "NOT_ALLOWED"
    assert (await attempt(organiser, "ENDED"))["errors"][0]["code"] == "INVALID_TRANSITION"
    assert (await attempt(organiser, "LIVE"))["webinar"]["status"] == "LIVE"
    assert (await attempt(organiser, "CANCELLED"))["errors"][0]["code"] == "INVALID_TRANSITION"
    assert (await attempt(organiser, "ENDED"))["webinar"]["status"] == "ENDED"
    assert (await attempt(organiser, "LIVE"))["errors"][0]["code"] == "INVALID_TRANSITION"


async def test_the_recording_link_is_added_and_shown_only_after_the_event(client, factory):
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser)
    update = """
    mutation($id: ID!) {
      updateWebinar(input: {webinarId: $id, recordingUrl: "https://video.example.org/r1"}) {
        webinar { recordingUrl } errors { field code }
      }
    }
    """
    body = await gql(client, update, {"id": webinar_id}, member=organiser)
    assert body["data"]["updateWebinar"]["errors"][0]["code"] == "INVALID_TRANSITION"
    await set_status(client, webinar_id, organiser, "LIVE")
    await set_status(client, webinar_id, organiser, "ENDED")
    body = await gql(client, update, {"id": webinar_id}, member=organiser)
    assert (
        body["data"]["updateWebinar"]["webinar"]["recordingUrl"] == "https://video.example.org/r1"
    )
    public = await gql(client, WEBINAR_PAGE, {"id": webinar_id})
    assert public["data"]["webinar"]["recordingUrl"] == "https://video.example.org/r1"


async def test_a_full_webinar_waitlists_and_promotes_in_order_on_cancellation(client, factory):
    # given: two seats, five members registering one after the other
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, capacity=2)
    members = [await factory.member(name=f"M{i}") for i in range(5)]
    statuses = [await register(client, webinar_id, m) for m in members]
    assert statuses == ["REGISTERED", "REGISTERED", "WAITLISTED", "WAITLISTED", "WAITLISTED"]
    positions = [(await viewer_state(client, webinar_id, m))["viewer"] for m in members[2:]]
    assert [p["waitlistPosition"] for p in positions] == [1, 2, 3]
    # when: the second waitlisted member leaves the queue, then a seat holder cancels
    await ok(client, CANCEL, {"id": webinar_id}, members[3])
    await ok(client, CANCEL, {"id": webinar_id}, members[0])
    # then: the first on the waitlist gets the seat; the last moves up
    states = [(await viewer_state(client, webinar_id, m))["viewer"] for m in members]
    assert [s["registrationStatus"] for s in states] == [
        None,
        "REGISTERED",
        "REGISTERED",
        None,
        "WAITLISTED",
    ]
    assert states[4]["waitlistPosition"] == 1
    promoted = (await gql(client, NOTIFICATIONS, member=members[2]))["data"]["notifications"]
    assert promoted["nodes"] == [
        {"kind": "WEBINAR_UPDATE", "webinar": {"title": "Fair recruitment in practice"}}
    ]
    # and registering again after cancelling queues at the end
    assert await register(client, webinar_id, members[0]) == "WAITLISTED"
    assert (await viewer_state(client, webinar_id, members[0]))["viewer"]["waitlistPosition"] == 2


async def test_registering_twice_returns_the_same_seat_and_the_deadline_closes_registration(
    client, factory
):
    organiser = await staff(factory)
    member = await factory.member()
    webinar_id = await webinar(client, organiser, capacity=3)
    assert await register(client, webinar_id, member) == "REGISTERED"
    body = await gql(client, REGISTER, {"id": webinar_id}, member=member)
    assert body["data"]["registerForWebinar"]["webinar"]["registeredCount"] == 1
    closed = await webinar(client, organiser, registrationDeadline=in_hours(-1), starts_in_hours=2)
    body = await gql(client, REGISTER, {"id": closed}, member=member)
    assert body["data"]["registerForWebinar"]["errors"][0]["code"] == "REGISTRATION_CLOSED"
    body = await gql(client, REGISTER, {"id": webinar_id})
    assert body["data"]["registerForWebinar"]["errors"][0]["code"] == "UNAUTHENTICATED"


async def test_cancelling_a_webinar_notifies_registrants_and_waitlist(client, factory):
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, capacity=1)
    seated, waiting, outsider = [await factory.member() for _ in range(3)]
    await register(client, webinar_id, seated)
    await register(client, webinar_id, waiting)
    await set_status(client, webinar_id, organiser, "CANCELLED")
    for member, expected in ((seated, 1), (waiting, 1), (outsider, 0)):
        body = await gql(client, NOTIFICATIONS, member=member)
        assert len(body["data"]["notifications"]["nodes"]) == expected


@pytest.mark.skipif(
    not os.environ.get("HUB_DATABASE_URL", "").startswith("postgresql"),
    reason="a race needs concurrent writers: PostgreSQL (SQLite serialises writes anyway)",
)
async def test_fifty_simultaneous_registrations_never_exceed_a_capacity_of_ten(client, factory):
    # given
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, capacity=10)
    members = [await factory.member() for _ in range(50)]
    # when: all register at once through the API
    bodies = await asyncio.gather(
        *(gql(client, REGISTER, {"id": webinar_id}, member=m) for m in members)
    )
    # then
    statuses = [b["data"]["registerForWebinar"]["status"] for b in bodies]
    assert statuses.count("REGISTERED") == 10
    assert statuses.count("WAITLISTED") == 40
    state = await gql(
        client, "query($id: ID!) { webinar(id: $id) { registeredCount } }", {"id": webinar_id}
    )
    assert state["data"]["webinar"]["registeredCount"] == 10
    # and the waitlist positions are 1..40 without gaps or repeats
    positions = [
        (await viewer_state(client, webinar_id, m))["viewer"]["waitlistPosition"]
        for m, s in zip(members, statuses, strict=True)
        if s == "WAITLISTED"
    ]
    assert sorted(positions) == list(range(1, 41))


async def test_my_webinars_lists_seats_waitlists_and_hosted_ones_only(client, factory):
    organiser = await staff(factory)
    member = await factory.member()
    seated = await webinar(client, organiser, starts_in_hours=5)
    full = await webinar(client, organiser, starts_in_hours=6, capacity=1)
    await webinar(client, organiser, starts_in_hours=7)  # not registered
    left = await webinar(client, organiser, starts_in_hours=8)
    await register(client, full, await factory.member())
    for webinar_id in (seated, full, left):
        await register(client, webinar_id, member)
    await ok(client, CANCEL, {"id": left}, member)
    query = "{ webinars(filter: {mine: true}) { nodes { id viewer { registrationStatus } } } }"
    mine = (await gql(client, query, member=member))["data"]["webinars"]["nodes"]
    assert [(n["id"], n["viewer"]["registrationStatus"]) for n in mine] == [
        (seated, "REGISTERED"),
        (full, "WAITLISTED"),
    ]
    hosted = (await gql(client, query, member=organiser))["data"]["webinars"]["nodes"]
    assert len(hosted) == 4
    assert (await gql(client, query))["data"]["webinars"]["nodes"] == []
