"""Webinars as iCalendar (RFC 5545) over HTTP: one webinar, or the webinars you take part in.

`GET /calendar/webinars/<webinar ID>.ics` answers for any webinar the caller may see (the public
ones without a token). `GET /calendar/my-webinars.ics` needs `Authorization: Bearer <token>`:
the webinars you hold a seat in or host. Calendar apps subscribe to a bare URL instead:
`GET /calendar/feeds/<feed token>.ics` (the token from `resetCalendarFeed`) answers the same. Times are UTC; the UID of a webinar never changes,
and SEQUENCE grows with each new schedule or status, so calendars update the entry in place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from icalendar import Calendar, Event
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from app.auth import AuthenticationFailed, viewer_from_request
from app.settings import Settings
from models.base import utcnow
from models.db import AnyRow, Database
from models.webinar import WebinarStatus
from resolvers import calendar_feeds, policy, webinar_access, webinars
from resolvers.markdown import plain_text
from resolvers.policy import Viewer
from schema.relay import decode_int_id

CALENDAR = "text/calendar; charset=utf-8"
PRODUCT = "-//UN Network on Migration//Migration Network Hub//EN"


def webinar_uid(webinar_id: int) -> str:
    return f"webinar-{webinar_id}@migration-network-hub"


def _event(row: AnyRow, join_url: str | None) -> Event:
    event = Event()
    event.add("uid", webinar_uid(row.id))
    event.add("dtstamp", utcnow())
    event.add("dtstart", row.starts_at.astimezone(UTC))
    event.add("dtend", row.ends_at.astimezone(UTC))
    event.add("summary", row.title)
    event.add("sequence", row.revision)
    cancelled = row.status is WebinarStatus.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if row.description:
        event.add("description", plain_text(row.description))
    if join_url:
        event.add("url", join_url)
        event.add("location", join_url)
    return event


async def _calendar(db: Database, viewer: Viewer, rows: Sequence[AnyRow]) -> Response:
    access = await webinar_access.access_by_webinar(db.sessions, viewer, [r.id for r in rows])
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    for row, seen_by in zip(rows, access, strict=True):
        # The join link only for those who may see it in the API too.
        join_url = row.join_url if policy.takes_part_live(seen_by) else None
        calendar.add_component(_event(row, join_url))
    return Response(calendar.to_ical(), media_type=CALENDAR)


def calendar_routes(settings: Settings, db: Database) -> list[Route]:
    auth = settings.auth_config()

    async def viewer_of(request: Request) -> Viewer | None:
        try:
            return await viewer_from_request(request, db, auth)
        except AuthenticationFailed:
            return None

    async def one_webinar(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            return PlainTextResponse("Invalid token.", status_code=401)
        key = decode_int_id(request.path_params["webinar_id"], "Webinar")
        rows = await webinars.webinars_by_ids(db.sessions, viewer, [key]) if key else [None]
        if rows[0] is None:
            return PlainTextResponse("No such webinar.", status_code=404)
        return await _calendar(db, viewer, [rows[0]])

    async def my_webinars(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None or not viewer.is_signed_in:
            return PlainTextResponse(
                "Send Authorization: Bearer <token>.",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await _calendar(db, viewer, await webinars.registered_webinars(db.sessions, viewer))

    async def feed(request: Request) -> Response:
        viewer = await calendar_feeds.viewer_for_feed(
            db.sessions, auth, request.path_params["token"]
        )
        if viewer is None:
            return PlainTextResponse("No such calendar feed.", status_code=404)
        return await _calendar(db, viewer, await webinars.registered_webinars(db.sessions, viewer))

    return [
        Route("/calendar/webinars/{webinar_id}.ics", one_webinar, methods=["GET"]),
        Route("/calendar/my-webinars.ics", my_webinars, methods=["GET"]),
        Route("/calendar/feeds/{token}.ics", feed, methods=["GET"]),
    ]
