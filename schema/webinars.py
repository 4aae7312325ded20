"""Webinars in GraphQL: types, schedule, status, registration (chat and Q&A: webinar_live.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.translation import TranslatableKind
from models.webinar import RegistrationStatus as RegistrationStatusModel
from models.webinar import WebinarHostRole as WebinarHostRoleModel
from models.webinar import WebinarStatus as WebinarStatusModel
from models.webinar import WebinarVisibility as WebinarVisibilityModel
from resolvers import (
    calendar_feeds,
    policy,
    webinar_chat,
    webinar_hosts,
    webinar_questions,
    webinar_registrations,
    webinars,
)
from resolvers.policy import WebinarAccess
from schema.communities import Community, load_community
from schema.context import Info
from schema.edits import sent_fields
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.members import Member, load_member
from schema.reference import GcmObjective, objectives_of
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    Node,
    connection,
    decode_int_id,
    encode_event_cursor,
    encode_id,
    page_request,
)
from schema.resources import Resource
from schema.translations import (
    Original,
    text_detail_field,
    text_field,
    translations_field,
)
from schema.webinar_live import (
    QuestionStatus,
    WebinarChatMessage,
    WebinarQuestion,
)
from subscriptions.events import webinar_stream

WebinarStatus = described_enum(
    WebinarStatusModel,
    "Where a webinar is in its life: SCHEDULED → LIVE → ENDED, or SCHEDULED → CANCELLED.",
    {
        "SCHEDULED": "Announced; registration open until its deadline.",
        "LIVE": "Happening now: chat and Q&A are open.",
        "ENDED": "Over: the Q&A and the recording stay as its record.",
        "CANCELLED": "Called off; registrants were told.",
    },
)
WebinarVisibility = described_enum(
    WebinarVisibilityModel,
    "Who sees a webinar and may register.",
    {
        "PUBLIC": "Everyone sees it; any signed-in member may register.",
        "COMMUNITY": "Only members of its community (and its hosts) see it and register.",
    },
)
WebinarHostRole = described_enum(
    WebinarHostRoleModel,
    "What a host does in a webinar.",
    {
        "ORGANISER": "Runs it: edits it, starts and ends it, moderates chat, sees anonymous askers.",
        "SPEAKER": "Speaks, and answers questions.",
    },
)
RegistrationStatus = described_enum(
    RegistrationStatusModel,
    "A member's place in a webinar.",
    {
        "REGISTERED": "Holds a seat: sees the join link, the chat and the Q&A.",
        "WAITLISTED": "Waits for a seat: gets the first one freed, in order of registration.",
        "CANCELLED": "Gave up the seat or the place on the waitlist.",
    },
)


@strawberry.type(description="An organiser or speaker: a member, or a named guest.")
class WebinarHost:
    role: WebinarHostRole = strawberry.field(description="Organiser or speaker.")  # type: ignore[valid-type]
    name: str = strawberry.field(
        description="The name to show: the member's, or the guest's (public with the webinar)."
    )
    affiliation: str | None = strawberry.field(description="A guest's organisation, if given.")
    member_id: strawberry.Private[int | None]

    @strawberry.field(
        description="The member's profile, if the host has an account you may see (the "
        "directory's rules); null for guests."
    )
    async def member(self, info: Info) -> Member | None:
        return await load_member(info, self.member_id) if self.member_id else None


@strawberry.type(
    description="You and this webinar (executed per viewer when selected in a subscription)."
)
class WebinarViewerState:
    webinar_id: strawberry.Private[int]
    access: strawberry.Private[WebinarAccess]

    @strawberry.field(description="Your registration; null when you never registered.")
    def registration_status(self) -> RegistrationStatus | None:  # type: ignore[valid-type]
        return self.access.registration

    @strawberry.field(description="Your place on the waitlist (1 is next); null if not on it.")
    async def waitlist_position(self, info: Info) -> int | None:
        return await info.context.loaders.waitlist_position_by_webinar.load(self.webinar_id)

    @strawberry.field(description="You organise it or moderate it: you may change it.")
    def manages(self) -> bool:
        return policy.manages_webinar(self.access)

    @strawberry.field(description="You hold a seat, host it or moderate it: you take part live.")
    def takes_part(self) -> bool:
        return policy.takes_part_live(self.access)


@strawberry.type(description="A webinar: scheduled online event with registration, chat and Q&A.")
class Webinar(Node):
    title = text_field(
        "title", "Title. In the best language for the request (`titleText` says which)."
    )
    description = text_field(
        "description",
        "Description in Markdown, as written. In the best language for the request (`descriptionText` says which).",
    )
    title_text = text_detail_field("title", "Title. With its language and status.")
    description_text = text_detail_field(
        "description", "Description in Markdown, as written. With its language and status."
    )
    description_html = text_field(
        "description", "Description in Markdown, as written. Rendered to sanitized HTML.", html=True
    )
    text_translations = translations_field()
    original: strawberry.Private[Original]
    starts_at: datetime = strawberry.field(description="Start (UTC).")
    ends_at: datetime = strawberry.field(description="End (UTC).")
    timezone: str = strawberry.field(
        description="The IANA time zone it was announced in, for display (times are UTC)."
    )
    status: WebinarStatus = strawberry.field(description="Where it is in its life.")  # type: ignore[valid-type]
    visibility: WebinarVisibility = strawberry.field(description="Who sees it.")  # type: ignore[valid-type]
    capacity: int = strawberry.field(description="Seats.")
    registered_count: int = strawberry.field(description="Seats taken.")
    registration_deadline: datetime | None = strawberry.field(
        description="Registration closes then (UTC); null: at the end."
    )
    slow_mode_seconds: int = strawberry.field(
        description="Chat slow mode: seconds each participant waits between messages (0: off)."
    )
    created_at: datetime = strawberry.field(description="When it was scheduled (UTC).")
    db_id: strawberry.Private[int]
    community_id: strawberry.Private[int | None]
    join: strawberry.Private[str | None]
    recording: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> Webinar:
        return cls(
            original=Original.of(TranslatableKind.WEBINAR, row),
            id=encode_id("Webinar", row.id),
            db_id=row.id,
            community_id=row.community_id,
            join=row.join_url,
            recording=row.recording_url,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            timezone=row.timezone,
            status=row.status,
            visibility=row.visibility,
            capacity=row.capacity,
            registered_count=row.registered_count,
            registration_deadline=row.registration_deadline,
            slow_mode_seconds=row.slow_mode_seconds,
            created_at=row.created_at,
        )

    async def access(self, info: Info) -> WebinarAccess:
        return await info.context.loaders.access_by_webinar.load(self.db_id)

    @strawberry.field(description="The community it belongs to, if any.")
    async def community(self, info: Info) -> Community | None:
        return await load_community(info, self.community_id) if self.community_id else None

    @strawberry.field(description="GCM objectives it is about.")
    async def objectives(self, info: Info) -> list[GcmObjective]:
        return await objectives_of(
            info, await info.context.loaders.objectives_by_webinar.load(self.db_id)
        )

    @strawberry.field(description="Languages spoken (BCP 47 tags).")
    async def languages(self, info: Info) -> list[str]:
        return (await info.context.loaders.languages_by_webinar.load(self.db_id))[0]

    @strawberry.field(description="Languages offered through interpretation (BCP 47 tags).")
    async def interpretation_languages(self, info: Info) -> list[str]:
        return (await info.context.loaders.languages_by_webinar.load(self.db_id))[1]

    async def _hosts(self, info: Info, role: WebinarHostRoleModel) -> list[WebinarHost]:
        rows = await info.context.loaders.hosts_by_webinar.load(self.db_id)
        return [
            WebinarHost(
                role=row.role,
                member_id=row.member_id,
                name=row.name or "",
                affiliation=row.guest_affiliation,
            )
            for row in rows
            if row.role is role
        ]

    @strawberry.field(description="Organisers (at most 20), in the order given.")
    async def organisers(self, info: Info) -> list[WebinarHost]:
        return await self._hosts(info, WebinarHostRoleModel.ORGANISER)

    @strawberry.field(description="Speakers (at most 20), in the order given.")
    async def speakers(self, info: Info) -> list[WebinarHost]:
        return await self._hosts(info, WebinarHostRoleModel.SPEAKER)

    @strawberry.field(description="Seats still free.")
    def seats_left(self) -> int:
        return max(0, self.capacity - self.registered_count)

    @strawberry.field(
        description="Where to join: only for registered participants, hosts and moderators "
        "(null for everyone else)."
    )
    async def join_url(self, info: Info) -> str | None:
        return self.join if policy.takes_part_live(await self.access(info)) else None

    @strawberry.field(description="The recording, once the webinar has ended (else null).")
    def recording_url(self) -> str | None:
        return self.recording if self.status is WebinarStatusModel.ENDED else None

    @strawberry.field(description="Your registration and rights; per viewer.")
    async def viewer(self, info: Info) -> WebinarViewerState:
        return WebinarViewerState(webinar_id=self.db_id, access=await self.access(info))

    @strawberry.field(description="Path of its iCalendar (.ics) file on this server.")
    def calendar_path(self) -> str:
        return f"/calendar/webinars/{self.id}.ics"

    @strawberry.field(
        description="The live chat, oldest first: for registered participants, hosts and "
        "moderators (null for everyone else)."
    )
    async def chat_messages(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[WebinarChatMessage] | None:
        page = await webinar_chat.chat_page(
            info.context.db.reads,
            info.context.viewer,
            self.db_id,
            page_request(first, after, last, before),
        )
        return connection(page, WebinarChatMessage.from_row) if page is not None else None

    @strawberry.field(
        description="The Q&A, most votes first, then oldest first: for registered "
        "participants, hosts and moderators; once the webinar has ENDED, its answered "
        "questions for everyone who sees it (null otherwise)."
    )
    async def questions(
        self,
        info: Info,
        status: Annotated[
            QuestionStatus | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only questions in this status."),
        ] = None,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[WebinarQuestion] | None:
        page = await webinar_questions.questions_page(
            info.context.db.reads,
            info.context.viewer,
            self.db_id,
            status,
            page_request(first, after, last, before),
        )
        return connection(page, WebinarQuestion.from_row) if page is not None else None

    # --- its lasting record in the knowledge base (resolvers/webinar_record.py)

    @strawberry.field(
        description="The resource its organisers filed from it (recording and answered "
        "questions), as you may see it: while a draft or in review, for its author, its "
        "reviewers and moderators; once published, for everyone (null otherwise)."
    )
    async def record(self, info: Info) -> Resource | None:
        row = await info.context.loaders.record_by_webinar.load(self.db_id)
        return Resource.from_row(row) if row is not None else None

    @strawberry.field(
        description="Published resources linked to it by its organisers (its filed record "
        "too, once published), in the order linked; only those you may see."
    )
    async def resources(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[Resource]:
        request = page_request(first, after, last, before)
        loaders = info.context.loaders
        page = await loaders.linked_resources_by_webinar.load((self.db_id, request))

        async def count() -> int:
            return await loaders.linked_resource_count_by_webinar.load(self.db_id)

        # Totals of every webinar on the page in one query too.
        return connection(replace(page, count=count), Resource.from_row)

    @strawberry.field(
        description="Cursor of the webinar's latest event: read it, then subscribe to "
        "`webinarEvents(after: eventCursor)` to miss nothing. Null unless you may follow "
        "the webinar live (registered, a host or a moderator)."
    )
    async def event_cursor(self, info: Info) -> str | None:
        access = await info.context.loaders.access_by_webinar.load(self.db_id)
        if not policy.takes_part_live(access):
            return None
        stream = webinar_stream(self.db_id)
        return encode_event_cursor(
            stream, await info.context.loaders.position_by_stream.load(stream)
        )


async def load_webinar(info: Info, webinar_id: int) -> Webinar | None:
    row = await info.context.loaders.webinar_by_id.load(webinar_id)
    return Webinar.from_row(row) if row is not None else None


async def resolve_webinar(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")]
) -> Webinar | None:
    key = decode_int_id(id, "Webinar")
    return await load_webinar(info, key) if key is not None else None


@strawberry.input(description="Narrow the list of webinars.")
class WebinarFilterInput:
    upcoming: bool = strawberry.field(
        default=False, description="Only those not yet over (scheduled or live)."
    )
    community_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only those of this community."
    )
    mine: bool = strawberry.field(
        default=False,
        description="Only those you are registered or waitlisted for, or host (none when not "
        "signed in).",
    )


async def resolve_webinars(
    info: Info,
    filter: Annotated[
        WebinarFilterInput | None, strawberry.argument(description="Narrow the list.")
    ] = None,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[Webinar]:
    request = page_request(first, after, last, before)
    criteria = webinars.WebinarFilter()
    if filter is not None:
        community = None
        if filter.community_id is not None:
            # An ID of something else matches no community.
            community = decode_int_id(filter.community_id, "Community") or 0
        criteria = webinars.WebinarFilter(
            upcoming=filter.upcoming, community_id=community, mine=filter.mine
        )
    page = await webinars.webinars_page(
        info.context.db.reads, info.context.viewer, criteria, request
    )
    return connection(page, Webinar.from_row)


# --- mutations --------------------------------------------------------------------------------


@strawberry.input(description="An organiser or speaker: give a member, or a guest's name.")
class WebinarHostInput:
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="Global ID of a member."
    )
    name: str | None = strawberry.field(default=None, description="A guest's name.")
    affiliation: str | None = strawberry.field(default=None, description="A guest's organisation.")


@strawberry.input(description="Schedule a webinar.")
class CreateWebinarInput:
    title: str = strawberry.field(description="Title (at most 300 characters).")
    starts_at: datetime = strawberry.field(
        description="Start, with its UTC offset (e.g. 2027-03-01T14:00:00+03:00)."
    )
    ends_at: datetime = strawberry.field(description="End, with its UTC offset.")
    capacity: int = strawberry.field(description="Seats (1 to 100,000).")
    visibility: WebinarVisibility = strawberry.field(  # type: ignore[valid-type]
        default=WebinarVisibilityModel.PUBLIC, description="Who sees it."
    )
    community_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its community (required for COMMUNITY visibility)."
    )
    description: str = strawberry.field(default="", description="Markdown (at most 20,000).")
    timezone: str = strawberry.field(
        default="UTC", description="IANA time zone to display it in, e.g. Africa/Nairobi."
    )
    registration_deadline: datetime | None = strawberry.field(
        default=None, description="Registration closes then (with offset); not after the start."
    )
    objectives: list[int] = strawberry.field(
        default_factory=list, description="GCM objective numbers."
    )
    languages: list[str] = strawberry.field(
        default_factory=list, description="Languages spoken (BCP 47)."
    )
    interpretation_languages: list[str] = strawberry.field(
        default_factory=list, description="Languages offered through interpretation (BCP 47)."
    )
    join_url: str | None = strawberry.field(
        default=None, description="Where participants join (http or https)."
    )
    organisers: list[WebinarHostInput] = strawberry.field(
        default_factory=list, description="Organisers besides you (you are one)."
    )
    speakers: list[WebinarHostInput] = strawberry.field(
        default_factory=list, description="Speakers."
    )
    language: str = strawberry.field(
        default="en",
        description="The language its title and description are written in (BCP 47): "
        "translations are into others.",
    )


@strawberry.type(description="Result of a change to a webinar.")
class WebinarPayload:
    webinar: Webinar | None = strawberry.field(description="The webinar after the change.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def _payload(result: webinars.WebinarResult) -> WebinarPayload:
    webinar = Webinar.from_row(result.webinar) if result.webinar is not None else None
    return WebinarPayload(webinar=webinar, errors=user_errors(result.problems))


def _host_inputs(hosts: list[WebinarHostInput]) -> list[webinar_hosts.HostInput] | None:
    """The hosts with member keys; None when a member ID is not one."""
    clean = []
    for host in hosts:
        member = None
        if host.member_id is not None:
            member = decode_int_id(host.member_id, "Member")
            if member is None:
                return None
        clean.append(webinar_hosts.HostInput(member, host.name, host.affiliation))
    return clean


async def create_webinar(info: Info, input: Annotated[CreateWebinarInput, INPUT]) -> WebinarPayload:
    community = decode_int_id(input.community_id, "Community") if input.community_id else None
    if input.community_id is not None and community is None:
        return WebinarPayload(webinar=None, errors=not_found("communityId", "No such community."))
    organisers = _host_inputs(input.organisers)
    speakers = _host_inputs(input.speakers)
    if organisers is None or speakers is None:
        field = "organisers" if organisers is None else "speakers"
        return WebinarPayload(webinar=None, errors=not_found(field, "No such member."))
    result = await webinars.create_webinar(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        webinars.NewWebinar(
            title=input.title,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            capacity=input.capacity,
            visibility=input.visibility,
            community_id=community,
            description=input.description,
            timezone=input.timezone,
            registration_deadline=input.registration_deadline,
            objectives=input.objectives,
            languages=input.languages,
            interpretation_languages=input.interpretation_languages,
            join_url=input.join_url,
            organisers=organisers,
            speakers=speakers,
            language=input.language,
        ),
    )
    return _payload(result)


@strawberry.input(
    description="Change a webinar: fields left out stay as they are; null clears "
    "`registrationDeadline`, `joinUrl` and `recordingUrl`, and is refused (REQUIRED) for the "
    "others."
)
class UpdateWebinarInput:
    webinar_id: strawberry.ID = strawberry.field(description="Global ID of the webinar.")
    title: str | None = strawberry.field(default=strawberry.UNSET, description="New title.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="New description."
    )
    starts_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="New start (with offset): registrants are told."
    )
    ends_at: datetime | None = strawberry.field(
        default=strawberry.UNSET, description="New end (with offset): registrants are told."
    )
    registration_deadline: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="New registration deadline (with offset); null: open until the end.",
    )
    capacity: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="New capacity (not below the seats taken); new seats go to "
        "the waitlist in order.",
    )
    join_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="New join link; null removes it."
    )
    recording_url: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="The recording (once the webinar has ended); null removes it.",
    )
    slow_mode_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="Chat slow mode, 0 (off) to 3,600 seconds."
    )


async def update_webinar(info: Info, input: Annotated[UpdateWebinarInput, INPUT]) -> WebinarPayload:
    key = decode_int_id(input.webinar_id, "Webinar")
    if key is None:
        return WebinarPayload(webinar=None, errors=not_found("webinarId", "No such webinar."))
    result = await webinars.update_webinar(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        key,
        sent_fields(input, leave_out=("webinar_id",)),
    )
    return _payload(result)


@strawberry.input(description="Move a webinar to its next status.")
class SetWebinarStatusInput:
    webinar_id: strawberry.ID = strawberry.field(description="Global ID of the webinar.")
    status: WebinarStatus = strawberry.field(  # type: ignore[valid-type]
        description="LIVE (from SCHEDULED), ENDED (from LIVE) or CANCELLED (from SCHEDULED)."
    )


async def set_webinar_status(
    info: Info, input: Annotated[SetWebinarStatusInput, INPUT]
) -> WebinarPayload:
    key = decode_int_id(input.webinar_id, "Webinar")
    if key is None:
        return WebinarPayload(webinar=None, errors=not_found("webinarId", "No such webinar."))
    result = await webinars.set_status(
        info.context.db.sessions, info.context.events, info.context.viewer, key, input.status
    )
    return _payload(result)


@strawberry.input(description="Register for a webinar, or cancel a registration.")
class WebinarRegistrationInput:
    webinar_id: strawberry.ID = strawberry.field(description="Global ID of the webinar.")


@strawberry.type(description="Result of registering or cancelling.")
class RegistrationPayload:
    status: RegistrationStatus | None = strawberry.field(  # type: ignore[valid-type]
        description="Your registration now: REGISTERED, WAITLISTED or CANCELLED."
    )
    webinar: Webinar | None = strawberry.field(description="The webinar, as it is now.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def _registration_payload(result: webinar_registrations.RegistrationResult) -> RegistrationPayload:
    webinar = Webinar.from_row(result.webinar) if result.webinar is not None else None
    return RegistrationPayload(
        status=result.status, webinar=webinar, errors=user_errors(result.problems)
    )


async def register_for_webinar(
    info: Info, input: Annotated[WebinarRegistrationInput, INPUT]
) -> RegistrationPayload:
    key = decode_int_id(input.webinar_id, "Webinar")
    if key is None:
        return RegistrationPayload(
            status=None, webinar=None, errors=not_found("webinarId", "No such webinar.")
        )
    result = await webinar_registrations.register(
        info.context.db.sessions, info.context.events, info.context.viewer, key
    )
    return _registration_payload(result)


async def cancel_registration(
    info: Info, input: Annotated[WebinarRegistrationInput, INPUT]
) -> RegistrationPayload:
    key = decode_int_id(input.webinar_id, "Webinar")
    if key is None:
        return RegistrationPayload(
            status=None, webinar=None, errors=not_found("webinarId", "No such webinar.")
        )
    result = await webinar_registrations.cancel_registration(
        info.context.db.sessions, info.context.events, info.context.viewer, key
    )
    return _registration_payload(result)


# --- calendar feed ----------------------------------------------------------------------------


@strawberry.input(
    description="Make a new secret calendar feed URL, or remove it (the old one stops working)."
)
class ResetCalendarFeedInput:
    enabled: bool = strawberry.field(
        default=True, description="True: a new URL; false: no feed URL at all."
    )


@strawberry.type(description="Your secret calendar feed.")
class CalendarFeedPayload:
    path: str | None = strawberry.field(
        description="Path of your feed on this server, `/calendar/feeds/<secret>.ics`: shown "
        "once; anyone with it reads your webinars' calendar, so reset it if it leaks."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


async def reset_calendar_feed(
    info: Info, input: Annotated[ResetCalendarFeedInput, INPUT]
) -> CalendarFeedPayload:
    result = await calendar_feeds.reset_feed(
        info.context.db.sessions, info.context.auth, info.context.viewer, enabled=input.enabled
    )
    path = f"/calendar/feeds/{result.token}.ics" if result.token else None
    return CalendarFeedPayload(path=path, errors=user_errors(result.problems))
