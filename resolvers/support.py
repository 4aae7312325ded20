"""Support requests: governments ask, a focal point takes the request, experts are proposed and
answer (resolvers/support_proposals.py), the work runs to completion or is declined; every change
lands in the request's timeline. Its private thread is resolvers/support_messages.py."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow, AnySelect
from models.notification import NotificationKind
from models.organization import Organization
from models.support import (
    SupportCategory,
    SupportRequest,
    SupportRequestCountry,
    SupportRequestLanguage,
    SupportRequestObjective,
    SupportStatus,
    SupportTimelineEntry,
    SupportUrgency,
)
from resolvers import notifications, policy, webhooks
from resolvers.batching import rows_by_ids, values_by_owner
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.moderation_events import ModerationEventKind, emit_moderation_event
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.unit_of_work import Refused, UnitOfWork, mutation, reading_back
from resolvers.validation import (
    clean_country,
    clean_languages,
    clean_objectives,
    clean_text,
    language_order_key,
)
from resolvers.watch import Watch
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

MAX_DESCRIPTION = 20_000
MAX_COUNTRIES = 20


def support_stream(request_id: int) -> str:
    return f"support:{request_id}"


class SupportChange(enum.Enum):
    """What happened to a request: its timeline entries and its live events."""

    SUBMITTED = "SUBMITTED"
    TRIAGED = "TRIAGED"
    EXPERT_PROPOSED = "EXPERT_PROPOSED"
    EXPERT_ACCEPTED = "EXPERT_ACCEPTED"
    EXPERT_DECLINED = "EXPERT_DECLINED"
    MATCHED = "MATCHED"
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"
    DECLINED = "DECLINED"
    DOCUMENTED = "DOCUMENTED"


# The workflow: from each status, where it may go next (COMPLETED and DECLINED are final).
NEXT_STATUSES: dict[SupportStatus, frozenset[SupportStatus]] = {
    SupportStatus.SUBMITTED: frozenset({SupportStatus.TRIAGED, SupportStatus.DECLINED}),
    SupportStatus.TRIAGED: frozenset({SupportStatus.MATCHED, SupportStatus.DECLINED}),
    SupportStatus.MATCHED: frozenset({SupportStatus.IN_PROGRESS, SupportStatus.DECLINED}),
    SupportStatus.IN_PROGRESS: frozenset({SupportStatus.COMPLETED, SupportStatus.DECLINED}),
    SupportStatus.COMPLETED: frozenset(),
    SupportStatus.DECLINED: frozenset(),
}
STATUS_CHANGES = {
    SupportStatus.TRIAGED: SupportChange.TRIAGED,
    SupportStatus.MATCHED: SupportChange.MATCHED,
    SupportStatus.IN_PROGRESS: SupportChange.STARTED,
    SupportStatus.COMPLETED: SupportChange.COMPLETED,
    SupportStatus.DECLINED: SupportChange.DECLINED,
}

REQUEST_COLUMNS = (
    SupportRequest.id,
    SupportRequest.requester_id,
    SupportRequest.organization_id,
    SupportRequest.focal_point_id,
    SupportRequest.title,
    SupportRequest.description,
    SupportRequest.category,
    SupportRequest.urgency,
    SupportRequest.desired_timeframe,
    SupportRequest.status,
    SupportRequest.decline_reason,
    SupportRequest.created_at,
    SupportRequest.updated_at,
)
TIMELINE_COLUMNS = (
    SupportTimelineEntry.id,
    SupportTimelineEntry.request_id,
    SupportTimelineEntry.kind,
    SupportTimelineEntry.status,
    SupportTimelineEntry.actor_id,
    SupportTimelineEntry.expert_id,
    SupportTimelineEntry.note,
    SupportTimelineEntry.created_at,
)
NEWEST_FIRST = Keyset(
    "support_requests", (SupportRequest.created_at, SupportRequest.id), descending=True
)
TIMELINE_ORDER = Keyset("support_timeline", (SupportTimelineEntry.id,))
NO_SUCH_REQUEST = Problem("requestId", "No such support request.", ErrorCode.NOT_FOUND)


# --- Reading --------------------------------------------------------------------------------


def _visible_requests(viewer: Viewer) -> AnySelect:
    return select(*REQUEST_COLUMNS).where(policy.visible_support_requests(viewer))


def visible_request_ids(viewer: Viewer) -> AnySelect:
    return select(SupportRequest.id).where(policy.visible_support_requests(viewer))


async def support_requests_page(
    sessions: Sessions, viewer: Viewer, statuses: Sequence[SupportStatus], request: PageRequest
) -> Page:
    """The requests the viewer may see, newest first (optionally of some statuses)."""
    statement = _visible_requests(viewer)
    if statuses:
        statement = statement.where(SupportRequest.status.in_(list(statuses)))
    return await fetch_page(sessions, statement, NEWEST_FIRST, request)


async def support_requests_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(
        sessions, _visible_requests(viewer).where(SupportRequest.id.in_(ids)), ids
    )


async def objectives_by_request(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, SupportRequestObjective.request_id, SupportRequestObjective.objective_number, ids
    )


async def countries_by_request(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(
        sessions, SupportRequestCountry.request_id, SupportRequestCountry.country, ids
    )


async def languages_by_request(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(
        sessions,
        SupportRequestLanguage.request_id,
        SupportRequestLanguage.tag,
        ids,
        language_order_key,
    )


async def timeline_page(
    sessions: Sessions, viewer: Viewer, request_id: int, request: PageRequest
) -> Page:
    statement = select(*TIMELINE_COLUMNS).where(
        SupportTimelineEntry.request_id == request_id,
        SupportTimelineEntry.request_id.in_(visible_request_ids(viewer)),
    )
    return await fetch_page(sessions, statement, TIMELINE_ORDER, request)


async def timeline_entries_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(
        sessions,
        select(*TIMELINE_COLUMNS).where(
            SupportTimelineEntry.id.in_(ids),
            SupportTimelineEntry.request_id.in_(visible_request_ids(viewer)),
        ),
        ids,
    )


async def watch_support_request(
    sessions: Sessions, viewer: Viewer, request_id: int
) -> Watch | None:
    """None when the viewer may not see the request (now). Within the request's own stream only
    an expert's decline takes access away (ACCESS_EVENTS); the viewer's role and organisation
    are those of the session (a role change ends it)."""
    if not (await support_requests_by_ids(sessions, viewer, [request_id]))[0]:
        return None
    return Watch(scope=("support", viewer.role), stable=True)


# --- Writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewSupportRequest:
    title: str
    description: str
    category: SupportCategory
    urgency: SupportUrgency
    desired_timeframe: str = ""
    objectives: Sequence[int] = ()
    countries: Sequence[str] = ()
    languages: Sequence[str] = ()


@dataclass(frozen=True)
class SupportResult:
    request: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


async def record_change(
    work: UnitOfWork,
    viewer: Viewer,
    request: SupportRequest,
    change: SupportChange,
    *,
    expert_id: int | None = None,
    note: str = "",
) -> None:
    """A change lands in the timeline and the live stream, and the requester is told."""
    entry = SupportTimelineEntry(
        request_id=request.id,
        kind=change.value,
        status=request.status,
        actor_id=viewer.member_id,
        expert_id=expert_id,
        note=note,
    )
    work.session.add(entry)
    await work.session.flush()
    payload = {"request": request.id, "entry": entry.id, "status": request.status.value}
    await work.emit(support_stream(request.id), change.value, payload)
    await webhooks.announce_support_update(work, request, change.value)
    subject = {"supportRequest": request.id, "change": change.value, "status": request.status.value}
    if note:
        subject["note"] = note
    recipients = [request.requester_id] if request.requester_id is not None else []
    if expert_id is not None and change is SupportChange.EXPERT_PROPOSED:
        recipients.append(expert_id)
    await notifications.notify(
        work,
        recipients,
        NotificationKind.SUPPORT_REQUEST_UPDATE,
        actor_id=viewer.member_id,
        subject=subject,
    )


def _clean_new_request(data: NewSupportRequest, problems: ProblemList) -> NewSupportRequest:
    countries = []
    for value in data.countries:
        code = clean_country(problems, "countries", value)
        if code is not None and code not in countries:
            countries.append(code)
    if len(countries) > MAX_COUNTRIES:
        problems.add(
            "countries",
            "At most {max_countries} countries.",
            ErrorCode.TOO_LONG,
            values=message_values(max_countries=MAX_COUNTRIES),
        )
    return NewSupportRequest(
        title=clean_text(problems, "title", data.title, max_length=300),
        description=clean_text(
            problems, "description", data.description, max_length=MAX_DESCRIPTION, multiline=True
        ),
        category=data.category,
        urgency=data.urgency,
        desired_timeframe=clean_text(
            problems, "desiredTimeframe", data.desired_timeframe, max_length=200, required=False
        ),
        objectives=clean_objectives(problems, "objectives", data.objectives),
        countries=countries,
        languages=clean_languages(problems, "languages", data.languages),
    )


async def _submitting_organization(work: UnitOfWork, viewer: Viewer) -> Organization:
    organization = (
        await work.session.get(Organization, viewer.organization_id)
        if viewer.organization_id is not None
        else None
    )
    kind = organization.kind if organization is not None else None
    if organization is None or not policy.may_submit_support_request(viewer, kind):
        raise Refused(
            Problem(
                None,
                "Support requests are submitted by members of a government.",
                ErrorCode.NOT_ALLOWED,
            )
        )
    return organization


async def submit_support_request(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, data: NewSupportRequest
) -> SupportResult:
    problems = ProblemList()
    clean = _clean_new_request(data, problems)

    async def change(work: UnitOfWork) -> int:
        organization = await _submitting_organization(work, viewer)
        request = SupportRequest(
            requester_id=viewer.member_id,
            organization_id=organization.id,
            title=clean.title,
            description=clean.description,
            category=clean.category,
            urgency=clean.urgency,
            desired_timeframe=clean.desired_timeframe,
            status=SupportStatus.SUBMITTED,
        )
        work.session.add(request)
        await work.session.flush()
        work.session.add_all(
            SupportRequestObjective(request_id=request.id, objective_number=n)
            for n in clean.objectives
        )
        work.session.add_all(
            SupportRequestCountry(request_id=request.id, country=c) for c in clean.countries
        )
        work.session.add_all(
            SupportRequestLanguage(request_id=request.id, tag=t) for t in clean.languages
        )
        await record_change(work, viewer, request, SupportChange.SUBMITTED)
        await emit_moderation_event(
            work,
            ModerationEventKind.SUPPORT_REQUESTED,
            community_id=None,
            member_id=viewer.member_id,
            request=request.id,
        )
        return request.id

    answered = reading_back(change, partial(visible_request, viewer))
    done = await mutation(sessions, events, viewer, answered, problems=problems)
    return SupportResult(request=done.value, problems=done.problems)


def visible_request(viewer: Viewer, request_id: int) -> AnySelect:
    """The request's row, if the viewer may see it: a mutation's answer."""
    return _visible_requests(viewer).where(SupportRequest.id == request_id)


async def request_for_change(work: UnitOfWork, viewer: Viewer, request_id: int) -> SupportRequest:
    """The request, locked for this transaction, if the viewer may see it; else NOT_FOUND."""
    request = await work.session.scalar(
        select(SupportRequest)
        .where(SupportRequest.id == request_id, policy.visible_support_requests(viewer))
        .with_for_update()
    )
    if request is None:
        raise Refused(NO_SUCH_REQUEST)
    return request


def require_manager(viewer: Viewer, request: SupportRequest) -> None:
    if not policy.may_manage_support_request(viewer, request.focal_point_id):
        raise Refused(
            Problem(
                "requestId",
                "Only the request's focal point or a moderator does this.",
                ErrorCode.NOT_ALLOWED,
            )
        )


def move_to(request: SupportRequest, to: SupportStatus) -> None:
    """One step of the workflow, or INVALID_TRANSITION."""
    if to not in NEXT_STATUSES[request.status]:
        raise Refused(
            Problem(
                None,
                "A {status} request cannot become {to}.",
                ErrorCode.INVALID_TRANSITION,
                values=message_values(status=request.status.value, to=to.value),
            )
        )
    request.status = to


RequestChange = Callable[[UnitOfWork, SupportRequest], Awaitable[None]]


async def change_request(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    request_id: int,
    change: RequestChange,
    problems: Sequence[Problem] = (),
) -> SupportResult:
    """One change to a request (locked, if the viewer may see it) in one mutation: the request
    as it is after the commit, or why nothing changed."""

    async def on_request(work: UnitOfWork) -> AnyRow | None:
        await change(work, await request_for_change(work, viewer, request_id))
        return await work.read_back(visible_request(viewer, request_id))

    done = await mutation(sessions, events, viewer, on_request, problems=problems)
    return SupportResult(request=done.value, problems=done.problems)


async def triage_support_request(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, request_id: int
) -> SupportResult:
    """A network focal point (a moderator) takes a submitted request."""

    async def change(work: UnitOfWork, request: SupportRequest) -> None:
        if not policy.may_triage_support_requests(viewer):
            raise Refused(
                Problem(
                    "requestId",
                    "Focal points (moderators) take requests.",
                    ErrorCode.NOT_ALLOWED,
                )
            )
        move_to(request, SupportStatus.TRIAGED)
        request.focal_point_id = viewer.member_id
        await record_change(work, viewer, request, SupportChange.TRIAGED)

    return await change_request(sessions, events, viewer, request_id, change)


# Statuses a focal point sets directly; TRIAGED and MATCHED come from taking and accepting.
DIRECT_STATUSES = frozenset(
    {SupportStatus.IN_PROGRESS, SupportStatus.COMPLETED, SupportStatus.DECLINED}
)


async def change_support_status(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    request_id: int,
    to: SupportStatus,
    reason: str,
) -> SupportResult:
    """Start, complete or decline (with a reason) a request, along the workflow."""
    problems = ProblemList()
    reason = clean_text(
        problems, "reason", reason, max_length=2_000, required=False, multiline=True
    )
    if to not in DIRECT_STATUSES:
        problems.add(
            "status",
            "Set IN_PROGRESS, COMPLETED or DECLINED here; a request is triaged by "
            "`triageSupportRequest` and matched when an expert accepts.",
            ErrorCode.INVALID_TRANSITION,
        )
    elif to is SupportStatus.DECLINED and not reason:
        problems.add("reason", "Say why the request is declined.", ErrorCode.REQUIRED)

    async def change(work: UnitOfWork, request: SupportRequest) -> None:
        require_manager(viewer, request)
        move_to(request, to)
        if to is SupportStatus.DECLINED:
            request.decline_reason = reason
        await record_change(work, viewer, request, STATUS_CHANGES[to], note=reason)

    return await change_request(sessions, events, viewer, request_id, change, problems)
