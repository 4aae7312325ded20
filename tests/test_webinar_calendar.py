"""Webinars as .ics over HTTP, parsed back with the icalendar library."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar

from tests.discussions import community, ok
from tests.webinars import SET_STATUS, register, staff, webinar

RESCHEDULE = """
mutation($id: ID!) {
  updateWebinar(input: {webinarId: $id, startsAt: "2030-05-02T09:00:00-04:00",
                        endsAt: "2030-05-02T10:00:00-04:00"}) { errors { code } }
}
"""


def events_of(response) -> list:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return list(Calendar.from_ical(response.content).walk("VEVENT"))


async def test_one_webinar_as_ics_has_utc_times_and_a_stable_uid(client, factory):
    # given
    organiser = await staff(factory)
    webinar_id = await webinar(
        client,
        organiser,
        startsAt="2030-05-01T10:00:00+02:00",
        endsAt="2030-05-01T11:30:00+02:00",
    )
    # when
    [first] = events_of(await client.get(f"/calendar/webinars/{webinar_id}.ics"))
    await ok(client, RESCHEDULE, {"id": webinar_id}, organiser)
    [moved] = events_of(await client.get(f"/calendar/webinars/{webinar_id}.ics"))
    # then
    assert first.decoded("dtstart") == datetime(2030, 5, 1, 8, 0, tzinfo=UTC)
    assert first.decoded("dtend") == datetime(2030, 5, 1, 9, 30, tzinfo=UTC)
    assert str(first["summary"]) == "Fair recruitment in practice"
    assert "url" not in first  # the public does not get the join link
    assert str(moved["uid"]) == str(first["uid"])
    assert moved.decoded("dtstart") == datetime(2030, 5, 2, 13, 0, tzinfo=UTC)
    assert int(moved["sequence"]) == int(first["sequence"]) + 1


async def test_my_webinars_feed_lists_seats_and_hosted_ones_with_the_join_link(client, factory):
    organiser = await staff(factory)
    member = await factory.member()
    seated = await webinar(client, organiser, starts_in_hours=10)
    await webinar(client, organiser, starts_in_hours=20)  # not registered
    cancelled = await webinar(client, organiser, starts_in_hours=30)
    await register(client, seated, member)
    await register(client, cancelled, member)
    await ok(client, SET_STATUS, {"id": cancelled, "status": "CANCELLED"}, organiser)
    # when
    response = await client.get("/calendar/my-webinars.ics", headers=member.headers)
    # then
    events = events_of(response)
    assert [str(e["status"]) for e in events] == ["CONFIRMED", "CANCELLED"]
    assert str(events[0]["url"]) == "https://meet.example.org/fair-recruitment"
    hosted = events_of(await client.get("/calendar/my-webinars.ics", headers=organiser.headers))
    assert len(hosted) == 3
    assert (await client.get("/calendar/my-webinars.ics")).status_code == 401
    bad = {"Authorization": "Bearer nope"}
    assert (await client.get("/calendar/my-webinars.ics", headers=bad)).status_code == 401


async def test_a_community_webinar_calendar_reads_like_a_missing_one_to_outsiders(client, factory):
    community_id, moderator = await community(client, factory, private=True)
    webinar_id = await webinar(client, moderator, communityId=community_id, visibility="COMMUNITY")
    outsider = await factory.member()
    assert (await client.get(f"/calendar/webinars/{webinar_id}.ics")).status_code == 404
    response = await client.get(f"/calendar/webinars/{webinar_id}.ics", headers=outsider.headers)
    assert response.status_code == 404
    assert (await client.get("/calendar/webinars/bm9wZQ==.ics")).status_code == 404
    response = await client.get(f"/calendar/webinars/{webinar_id}.ics", headers=moderator.headers)
    assert len(events_of(response)) == 1


RESET_FEED = """
mutation($enabled: Boolean!) {
  resetCalendarFeed(input: {enabled: $enabled}) { path errors { code } }
}
"""


async def test_a_secret_feed_url_serves_calendar_apps_until_it_is_reset(client, factory):
    # given
    organiser = await staff(factory)
    member = await factory.member()
    await register(client, await webinar(client, organiser, starts_in_hours=10), member)
    # when
    first = (await ok(client, RESET_FEED, {"enabled": True}, member))["path"]
    events = events_of(await client.get(first))  # no header: calendar apps send none
    second = (await ok(client, RESET_FEED, {"enabled": True}, member))["path"]
    # then
    assert len(events) == 1
    assert str(events[0]["url"]) == "https://meet.example.org/fair-recruitment"
    assert (await client.get(first)).status_code == 404
    assert len(events_of(await client.get(second))) == 1
    assert (await ok(client, RESET_FEED, {"enabled": False}, member))["path"] is None
    assert (await client.get(second)).status_code == 404
    assert (await client.get("/calendar/feeds/cal_guess.ics")).status_code == 404


async def test_the_ics_description_is_the_plain_text_of_the_markdown(client, factory):
    organiser = await staff(factory)
    webinar_id = await webinar(
        client, organiser, description="## Agenda\n\n- **Opening** by the _chair_\n- Q&A"
    )
    [event] = events_of(await client.get(f"/calendar/webinars/{webinar_id}.ics"))
    assert str(event["description"]) == "Agenda\nOpening by the chair\nQ&A"
