"""Webinars: reading, scheduling, changes and status. Registrations: webinar_registrations.py;
hosts: webinar_hosts.py; what a viewer is to a webinar: webinar_access.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import ColumnElement, delete, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.community import Community
from models.db import AnyRow, AnySelect
from models.webhook import WebhookEvent
from models.webinar import (
    RegistrationStatus,
    Webinar,
    WebinarHost,
    WebinarHostRole,
    WebinarLanguage,
    WebinarObjective,
    WebinarRegistration,
    WebinarReminder,
    WebinarStatus,
    WebinarVisibility,
)
from resolvers import policy, webhooks
from resolvers.batching import rows_by_ids, values_by_owner
from resolvers.communities import role_in
from resolvers.edits import Changes, field_name, sent
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.search_index import reindex
from resolvers.search_sources import WEBINARS
from resolvers.topic_follows import tell_followers_of_webinar
from resolvers.translations import mark_outdated
from resolvers.unit_of_work import Change, Refused, UnitOfWork, mutation, reading_back
from resolvers.validation import clean_language, clean_languages, clean_objectives, clean_text
from resolvers.webinar_access import WEBINAR_COLUMNS, access_to, visible_webinar
from resolvers.webinar_hosts import HostInput, clean_hosts, host_rows, require_members
from resolvers.webinar_registrations import (
    lock_webinar,
    notify_attendees,
    promote_waitlist,
)
from subscriptions.events import EventPublisher, webinar_stream

Sessions = async_sessionmaker[AsyncSession]

MAX_DESCRIPTION = 20_000
MAX_CAPACITY = 100_000
MAX_DURATION = timedelta(days=7)
MAX_SLOW_MODE_SECONDS = 3_600

WEBINAR_ORDER = Keyset("webinars", (Webinar.starts_at, Webinar.id))

# Which status may follow which; ENDED and CANCELLED are final.
TRANSITIONS = {
    WebinarStatus.SCHEDULED: {WebinarStatus.LIVE, WebinarStatus.CANCELLED},
    WebinarStatus.LIVE: {WebinarStatus.ENDED},
    WebinarStatus.ENDED: set(),
    WebinarStatus.CANCELLED: set(),
}

NOT_AN_ORGANISER = Problem(
    None, "Only the webinar's organisers and moderators may do this.", ErrorCode.NOT_ALLOWED
)


# --- Reading --------------------------------------------------------------------------------


def _visible(viewer: Viewer) -> AnySelect:
    return select(*WEBINAR_COLUMNS).where(policy.visible_webinars(viewer))


@dataclass(frozen=True)
class WebinarFilter:
    upcoming: bool = False
    community_id: int | None = None
    mine: bool = False  # registered, waitlisted or hosting


async def webinars_page(
    sessions: Sessions, viewer: Viewer, criteria: WebinarFilter, request: PageRequest
) -> Page:
    """Webinars the viewer may see, by start time."""
    statement = _visible(viewer)
    if criteria.upcoming:
        statement = statement.where(
            Webinar.ends_at > utcnow(),
            Webinar.status.in_([WebinarStatus.SCHEDULED, WebinarStatus.LIVE]),
        )
    if criteria.community_id is not None:
        statement = statement.where(Webinar.community_id == criteria.community_id)
    if criteria.mine:
        statement = statement.where(_taken_part_in(viewer, with_waitlist=True))
    return await fetch_page(sessions, statement, WEBINAR_ORDER, request)


def _taken_part_in(viewer: Viewer, *, with_waitlist: bool) -> ColumnElement[bool]:
    """Webinars the viewer holds a seat in (or waits for) or hosts."""
    if viewer.member_id is None:
        return false()
    statuses = [RegistrationStatus.REGISTERED]
    if with_waitlist:
        statuses.append(RegistrationStatus.WAITLISTED)
    seats = select(WebinarRegistration.webinar_id).where(
        WebinarRegistration.member_id == viewer.member_id,
        WebinarRegistration.status.in_(statuses),
    )
    hosted = select(WebinarHost.webinar_id).where(WebinarHost.member_id == viewer.member_id)
    return or_(Webinar.id.in_(seats), Webinar.id.in_(hosted))


async def webinars_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(sessions, _visible(viewer).where(Webinar.id.in_(ids)), ids)


async def registered_webinars(sessions: Sessions, viewer: Viewer) -> list[AnyRow]:
    """The webinars the viewer holds a seat in or hosts (for their calendar), by start."""
    if viewer.member_id is None:
        return []
    async with sessions() as session:
        rows = await session.execute(
            _visible(viewer)
            .where(_taken_part_in(viewer, with_waitlist=False))
            .order_by(Webinar.starts_at, Webinar.id)
            .limit(500)
        )
        return list(rows.all())


async def objectives_by_webinar(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, WebinarObjective.webinar_id, WebinarObjective.objective_number, ids
    )


async def languages_by_webinar(
    sessions: Sessions, ids: Sequence[int]
) -> list[tuple[list[str], list[str]]]:
    """(spoken languages, interpretation languages) of each webinar, as given."""
    async with sessions() as session:
        rows = await session.execute(
            select(WebinarLanguage.webinar_id, WebinarLanguage.tag, WebinarLanguage.interpretation)
            .where(WebinarLanguage.webinar_id.in_(ids))
            .order_by(WebinarLanguage.tag)
        )
        spoken: dict[int, list[str]] = defaultdict(list)
        interpreted: dict[int, list[str]] = defaultdict(list)
        for webinar_id, tag, interpretation in rows:
            (interpreted if interpretation else spoken)[webinar_id].append(tag)
    return [(spoken[i], interpreted[i]) for i in ids]


# --- Scheduling -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewWebinar:
    title: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    visibility: WebinarVisibility
    description: str = ""
    timezone: str = "UTC"
    community_id: int | None = None
    registration_deadline: datetime | None = None
    objectives: Sequence[int] = ()
    languages: Sequence[str] = ()
    interpretation_languages: Sequence[str] = ()
    join_url: str | None = None
    organisers: Sequence[HostInput] = ()
    speakers: Sequence[HostInput] = ()
    language: str = "en"  # the language its title and description are written in


@dataclass(frozen=True)
class WebinarResult:
    webinar: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


def _aware(problems: ProblemList, name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        problems.add(name, "Give a time with its UTC offset, such as 2027-03-01T14:00:00+01:00.")


def clean_url(problems: ProblemList, name: str, value: str | None) -> str | None:
    """An absolute http(s) URL of at most 500 characters; empty means none."""
    if value is None or not value.strip():
        return None
    url = clean_text(problems, name, value, max_length=500)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        problems.add(name, "Must be an http or https URL.")
    return url


def _check_schedule(
    problems: ProblemList,
    starts_at: datetime,
    ends_at: datetime,
    deadline: datetime | None,
) -> None:
    for name, value in (("startsAt", starts_at), ("endsAt", ends_at)):
        _aware(problems, name, value)
    _aware(problems, "registrationDeadline", deadline)
    if problems:
        return
    if ends_at <= starts_at:
        problems.add("endsAt", "Must be after the start.")
    elif ends_at - starts_at > MAX_DURATION:
        problems.add("endsAt", "A webinar lasts at most 7 days.")
    if deadline is not None and deadline > starts_at:
        problems.add("registrationDeadline", "Must not be after the start.")


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def _clean_timezone(problems: ProblemList, value: str) -> str:
    name = value.strip() or "UTC"
    try:
        if name not in _zone_names():
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add("timezone", "Must be an IANA time zone, such as Africa/Nairobi.")
    return name


def _clean_capacity(problems: ProblemList, capacity: int) -> int:
    if not 1 <= capacity <= MAX_CAPACITY:
        problems.add(
            "capacity",
            "Must be between 1 and {max_capacity}.",
            values=message_values(max_capacity=MAX_CAPACITY),
        )
    return capacity


def _clean_new_webinar(problems: ProblemList, data: NewWebinar) -> NewWebinar:
    """The webinar as it is stored; what is wrong with it lands in `problems`."""
    title = clean_text(problems, "title", data.title, max_length=300)
    description = clean_text(
        problems,
        "description",
        data.description,
        max_length=MAX_DESCRIPTION,
        required=False,
        multiline=True,
    )
    _check_schedule(problems, data.starts_at, data.ends_at, data.registration_deadline)
    timezone = _clean_timezone(problems, data.timezone)
    capacity = _clean_capacity(problems, data.capacity)
    objectives = clean_objectives(problems, "objectives", data.objectives)
    languages = clean_languages(problems, "languages", data.languages)
    interpreted = clean_languages(
        problems, "interpretationLanguages", data.interpretation_languages
    )
    join_url = clean_url(problems, "joinUrl", data.join_url)
    organisers = clean_hosts(problems, "organisers", data.organisers)
    speakers = clean_hosts(problems, "speakers", data.speakers)
    if data.visibility is WebinarVisibility.COMMUNITY and data.community_id is None:
        problems.add("communityId", "A community-only webinar needs its community.")
    return replace(
        data,
        title=title,
        description=description,
        timezone=timezone,
        capacity=capacity,
        objectives=objectives,
        languages=languages,
        interpretation_languages=interpreted,
        join_url=join_url,
        organisers=organisers,
        speakers=speakers,
        language=clean_language(problems, "language", data.language),
    )


async def _require_creator(work: UnitOfWork, viewer: Viewer, community_id: int | None) -> None:
    """Refused unless the viewer may schedule a webinar (in that community, if any)."""
    community_role = None
    if community_id is not None:
        community = await work.session.scalar(
            select(Community.id).where(
                Community.id == community_id, policy.visible_communities(viewer)
            )
        )
        if community is None:
            raise Refused(Problem("communityId", "No such community.", ErrorCode.NOT_FOUND))
        community_role = await role_in(work.session, viewer.member_id, community_id)
    if not policy.may_create_webinar(viewer, community_role):
        raise Refused(
            Problem(
                None,
                "Global moderators, and community moderators in their community, "
                "schedule webinars.",
                ErrorCode.NOT_ALLOWED,
            )
        )


def _add_details(work: UnitOfWork, webinar_id: int, creator_id: int, data: NewWebinar) -> None:
    """Hosts (the creator among the organisers), objectives and languages of a new webinar."""
    organisers = list(data.organisers)
    if all(h.member_id != creator_id for h in organisers):
        organisers.insert(0, HostInput(member_id=creator_id))
    work.session.add_all(host_rows(webinar_id, WebinarHostRole.ORGANISER, organisers))
    work.session.add_all(host_rows(webinar_id, WebinarHostRole.SPEAKER, data.speakers))
    work.session.add_all(
        WebinarObjective(webinar_id=webinar_id, objective_number=n) for n in data.objectives
    )
    work.session.add_all(
        WebinarLanguage(webinar_id=webinar_id, tag=t, interpretation=False) for t in data.languages
    )
    work.session.add_all(
        WebinarLanguage(webinar_id=webinar_id, tag=t, interpretation=True)
        for t in data.interpretation_languages
    )


async def _answered(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    change: Change[int],
    problems: Sequence[Problem] = (),
) -> WebinarResult:
    """Run `change` as one mutation: the webinar as it is once committed (read in its
    transaction), or why nothing changed."""
    answer = partial(visible_webinar, viewer)
    done = await mutation(sessions, events, viewer, reading_back(change, answer), problems=problems)
    return WebinarResult(webinar=done.value, problems=done.problems)


async def create_webinar(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, data: NewWebinar
) -> WebinarResult:
    """Schedule a webinar; its creator becomes one of its organisers."""
    problems = ProblemList()
    clean = _clean_new_webinar(problems, data)

    async def change(work: UnitOfWork) -> int:
        assert viewer.member_id is not None  # mutation() lets members only in
        await _require_creator(work, viewer, clean.community_id)
        await require_members(work.session, [*clean.organisers, *clean.speakers])
        webinar = Webinar(
            title=clean.title,
            description=clean.description,
            starts_at=clean.starts_at,
            ends_at=clean.ends_at,
            timezone=clean.timezone,
            visibility=clean.visibility,
            community_id=clean.community_id,
            capacity=clean.capacity,
            registered_count=0,
            registration_deadline=clean.registration_deadline,
            join_url=clean.join_url,
            language=clean.language,
            created_by_id=viewer.member_id,
        )
        work.session.add(webinar)
        await work.session.flush()
        _add_details(work, webinar.id, viewer.member_id, clean)
        await reindex(work.session, WEBINARS, [webinar.id])
        await webhooks.announce_webinar(work, webinar, WebhookEvent.WEBINAR_SCHEDULED)
        await tell_followers_of_webinar(work, webinar.id, clean.objectives, viewer.member_id)
        return webinar.id

    return await _answered(sessions, events, viewer, change, problems)


async def managed_webinar(work: UnitOfWork, viewer: Viewer, webinar_id: int) -> Webinar:
    """The webinar, locked for this transaction, if the viewer manages it; else the refusal."""
    webinar = await lock_webinar(work.session, viewer, webinar_id)
    access = await access_to(work.session, viewer, webinar_id)
    if not policy.manages_webinar(access):
        raise Refused(NOT_AN_ORGANISER)
    return webinar


# What a null clears in `updateWebinar`; any other field is required (`resolvers/edits.py`).
CLEARABLE = ("registration_deadline", "join_url", "recording_url")


def _clean_changes(problems: ProblemList, changes: Changes) -> dict[str, Any]:
    """The columns sent, as stored (the schedule is checked against the webinar later)."""
    values = sent(changes, problems, CLEARABLE)
    if "title" in values:
        values["title"] = clean_text(problems, "title", values["title"], max_length=300)
    if "description" in values:
        values["description"] = clean_text(
            problems,
            "description",
            values["description"],
            max_length=MAX_DESCRIPTION,
            required=False,
            multiline=True,
        )
    if "capacity" in values:
        values["capacity"] = _clean_capacity(problems, values["capacity"])
    for name in ("join_url", "recording_url"):
        if name in values:
            values[name] = clean_url(problems, field_name(name), values[name])
    if not 0 <= values.get("slow_mode_seconds", 0) <= MAX_SLOW_MODE_SECONDS:
        problems.add(
            "slowModeSeconds",
            "Must be between 0 and {max_slow_mode_seconds}.",
            values=message_values(max_slow_mode_seconds=MAX_SLOW_MODE_SECONDS),
        )
    for name in ("starts_at", "ends_at", "registration_deadline"):
        _aware(problems, field_name(name), values.get(name))
    return values


def _new_schedule(webinar: Webinar, values: dict[str, Any]) -> tuple[datetime, datetime]:
    """(start, end) after the changes, or the refusal."""
    if webinar.status in (WebinarStatus.ENDED, WebinarStatus.CANCELLED) and (
        values.keys() & {"starts_at", "ends_at", "capacity"}
    ):
        raise Refused(Problem(None, "The webinar is over.", ErrorCode.INVALID_TRANSITION))
    if values.get("recording_url") is not None and webinar.status is not WebinarStatus.ENDED:
        raise Refused(
            Problem(
                "recordingUrl",
                "The recording is added once the webinar has ended.",
                ErrorCode.INVALID_TRANSITION,
            )
        )
    starts_at = values.get("starts_at", webinar.starts_at)
    ends_at = values.get("ends_at", webinar.ends_at)
    deadline = values.get("registration_deadline", webinar.registration_deadline)
    schedule = ProblemList()
    _check_schedule(schedule, starts_at, ends_at, deadline)
    if schedule:
        raise Refused(*schedule)
    capacity = values.get("capacity", webinar.capacity)
    if capacity < webinar.registered_count:
        raise Refused(
            Problem(
                "capacity",
                "{registered_count} members hold a seat: the capacity cannot be lower.",
                ErrorCode.INVALID,
                values=message_values(registered_count=webinar.registered_count),
            )
        )
    return starts_at, ends_at


async def update_webinar(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    webinar_id: int,
    changes: Changes,
) -> WebinarResult:
    """Organisers and moderators change the fields of a webinar they sent (its columns, by
    name; `resolvers/edits.py`). A new schedule is announced to everyone registered or
    waitlisted; more seats are given to the waitlist, in order."""
    problems = ProblemList()
    values = _clean_changes(problems, changes)

    async def change(work: UnitOfWork) -> int:
        assert viewer.member_id is not None  # mutation() lets members only in
        webinar = await managed_webinar(work, viewer, webinar_id)
        starts_at, ends_at = _new_schedule(webinar, values)
        rescheduled = (starts_at, ends_at) != (webinar.starts_at, webinar.ends_at)
        for name, value in values.items():
            setattr(webinar, name, value)
        await mark_outdated(work.session, webinar)
        if rescheduled:
            webinar.revision += 1
        await work.session.flush()
        await reindex(work.session, WEBINARS, [webinar.id])
        await promote_waitlist(work, webinar)
        await work.emit(webinar_stream(webinar.id), "WEBINAR_UPDATED", {"webinar": webinar.id})
        change = "RESCHEDULED" if rescheduled else "UPDATED"
        await webhooks.announce_webinar(work, webinar, WebhookEvent.WEBINAR_CHANGED, change)
        if rescheduled:
            await notify_attendees(work, webinar.id, viewer.member_id, "RESCHEDULED")
            # Reminders count from the new start: those sent for the old one are forgotten.
            await work.session.execute(
                delete(WebinarReminder).where(WebinarReminder.webinar_id == webinar.id)
            )
        return webinar_id

    return await _answered(sessions, events, viewer, change, problems)


async def set_status(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    webinar_id: int,
    status: WebinarStatus,
) -> WebinarResult:
    """SCHEDULED → LIVE → ENDED, or SCHEDULED → CANCELLED; anything else is refused."""

    async def change(work: UnitOfWork) -> int:
        assert viewer.member_id is not None  # mutation() lets members only in
        webinar = await managed_webinar(work, viewer, webinar_id)
        if status not in TRANSITIONS[webinar.status]:
            raise Refused(
                Problem(
                    "status",
                    "A {current} webinar cannot become {wanted}.",
                    ErrorCode.INVALID_TRANSITION,
                    values=message_values(current=webinar.status.value, wanted=status.value),
                )
            )
        webinar.status = status
        webinar.revision += 1
        await work.emit(
            webinar_stream(webinar.id),
            "STATUS_CHANGED",
            {"webinar": webinar.id, "status": status.value},
        )
        await webhooks.announce_webinar(work, webinar, WebhookEvent.WEBINAR_CHANGED, status.value)
        if status is WebinarStatus.CANCELLED:
            await notify_attendees(work, webinar.id, viewer.member_id, "CANCELLED")
        return webinar_id

    return await _answered(sessions, events, viewer, change)
