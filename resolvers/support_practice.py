"""A completed support request documented as a practice: an initiative DRAFT of the viewer's,
prefilled from the request and linked to it (one per request), which then goes through the
normal review (resolvers/reviews.py) before anyone else sees it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow
from models.initiative import Initiative, InitiativeStatus
from models.member import Member
from models.reference import UnRegion
from models.support import (
    ProposalStatus,
    SupportProposal,
    SupportRequest,
    SupportRequestCountry,
    SupportRequestObjective,
    SupportRequestPractice,
    SupportStatus,
    SupportTimelineEntry,
)
from resolvers import policy
from resolvers.batching import rows_by_ids
from resolvers.errors import ErrorCode, Problem, message_values
from resolvers.initiatives import (
    INITIATIVE_COLUMNS,
    InitiativeContent,
    insert_draft,
    visible_initiative,
)
from resolvers.policy import Viewer
from resolvers.support import (
    REQUEST_COLUMNS,
    SupportChange,
    record_change,
    request_for_change,
    visible_request,
)
from resolvers.unit_of_work import Outcome, Refused, UnitOfWork, mutation
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]


NOT_A_DOCUMENTER = Problem(
    "requestId",
    "Members of the requesting government, its focal point and moderators document a request.",
    ErrorCode.NOT_ALLOWED,
)
SOMEONE_ELSES_DRAFT = Problem(
    "requestId",
    "This request is already being documented by someone else; their draft shows here once it "
    "is published.",
    ErrorCode.CONFLICT,
)


# --- Reading ----------------------------------------------------------------------------------


async def practices_by_request(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    """The initiative documenting each request, as the viewer may see it (else None): the
    draft to its author (reviewers, moderators), everyone once published."""
    return await rows_by_ids(
        sessions,
        select(*INITIATIVE_COLUMNS, SupportRequestPractice.request_id.label("practice_of"))
        .join(SupportRequestPractice, SupportRequestPractice.initiative_id == Initiative.id)
        .where(SupportRequestPractice.request_id.in_(ids), policy.visible_initiatives(viewer)),
        ids,
        key="practice_of",
    )


async def requests_by_practice(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    """The support request each initiative documents, if the viewer may see the request (a
    published practice is public; the request behind it stays private)."""
    return await rows_by_ids(
        sessions,
        select(*REQUEST_COLUMNS, SupportRequestPractice.initiative_id.label("documents"))
        .join(SupportRequestPractice, SupportRequestPractice.request_id == SupportRequest.id)
        .where(
            SupportRequestPractice.initiative_id.in_(ids),
            policy.visible_support_requests(viewer),
        ),
        ids,
        key="documents",
    )


# --- Documenting a request --------------------------------------------------------------------


@dataclass(frozen=True)
class PracticeDetails:
    """What the caller may set on the draft; what is left None comes from the request."""

    title: str | None = None
    summary: str | None = None
    status: InitiativeStatus | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    results: str = ""
    replicability: str = ""
    objectives: Sequence[int] | None = None
    principles: Sequence[str] = ()
    countries: Sequence[str] | None = None
    regions: Sequence[UnRegion] = ()
    is_global: bool = False
    partner_ids: Sequence[int] | None = None


@dataclass(frozen=True)
class PracticeResult:
    initiative: AnyRow | None = None
    request_id: int | None = None
    support_request: AnyRow | None = None  # as the viewer sees it, read in the change
    already_documented: bool = False
    problems: list[Problem] = field(default_factory=list)


async def _request_scope(session: AsyncSession, request_id: int) -> tuple[list[int], list[str]]:
    """The request's GCM objectives and countries, in order."""
    objectives = await session.scalars(
        select(SupportRequestObjective.objective_number)
        .where(SupportRequestObjective.request_id == request_id)
        .order_by(SupportRequestObjective.objective_number)
    )
    countries = await session.scalars(
        select(SupportRequestCountry.country)
        .where(SupportRequestCountry.request_id == request_id)
        .order_by(SupportRequestCountry.country)
    )
    return list(objectives), list(countries)


async def _work_dates(session: AsyncSession, request: SupportRequest) -> tuple[date, date]:
    """When the support started (IN_PROGRESS; else when it was asked for) and was completed."""
    rows = await session.execute(
        select(SupportTimelineEntry.kind, SupportTimelineEntry.created_at)
        .where(
            SupportTimelineEntry.request_id == request.id,
            SupportTimelineEntry.kind.in_(
                [SupportChange.STARTED.value, SupportChange.COMPLETED.value]
            ),
        )
        .order_by(SupportTimelineEntry.id)
    )
    when = {kind: at.date() for kind, at in reversed(rows.all())}  # the first of each kind
    started = when.get(SupportChange.STARTED.value, request.created_at.date())
    return started, when.get(SupportChange.COMPLETED.value, request.updated_at.date())


async def _expert_organizations(session: AsyncSession, request: SupportRequest) -> list[int]:
    """Organisations of the experts who accepted, in the order they were proposed: the
    practice's partners (the requesting government leads it)."""
    rows = await session.execute(
        select(Member.organization_id)
        .join(SupportProposal, SupportProposal.expert_id == Member.id)
        .where(
            SupportProposal.request_id == request.id,
            SupportProposal.status == ProposalStatus.ACCEPTED,
            Member.organization_id.is_not(None),
            Member.organization_id != request.organization_id,
        )
        .order_by(SupportProposal.proposed_at, SupportProposal.expert_id)
    )
    return list(dict.fromkeys(o for (o,) in rows if o is not None))


async def _practice_content(
    session: AsyncSession, request: SupportRequest, details: PracticeDetails
) -> InitiativeContent:
    started, completed = await _work_dates(session, request)
    objectives, countries = await _request_scope(session, request.id)
    partners = details.partner_ids
    if partners is None:
        partners = await _expert_organizations(session, request)
    return InitiativeContent(
        title=details.title if details.title is not None else request.title,
        status=details.status or InitiativeStatus.COMPLETED,
        # Never the request's description: it is private, and a public summary is written by a
        # person (the author reads the description through `supportRequest`; submitting for
        # review requires a summary).
        summary=details.summary or "",
        lead_organization_id=request.organization_id,
        partner_ids=partners,
        starts_on=details.starts_on or started,
        ends_on=details.ends_on or completed,
        results=details.results,
        replicability=details.replicability,
        is_global=details.is_global,
        objectives=objectives if details.objectives is None else details.objectives,
        principles=details.principles,
        countries=countries if details.countries is None else details.countries,
        regions=details.regions,
    )


async def _documenting_initiative(session: AsyncSession, request_id: int) -> int | None:
    return await session.scalar(
        select(SupportRequestPractice.initiative_id).where(
            SupportRequestPractice.request_id == request_id
        )
    )


LOST_THE_RACE = Problem(
    "requestId", "The request was documented at the same moment; reload it.", ErrorCode.CONFLICT
)


async def _document(
    work: UnitOfWork, viewer: Viewer, request: SupportRequest, details: PracticeDetails
) -> int:
    """The practice's draft, linked to the request and on its timeline."""
    if request.status is not SupportStatus.COMPLETED:
        raise Refused(
            Problem(
                "requestId",
                "A {status} request is documented once it is COMPLETED.",
                ErrorCode.INVALID_TRANSITION,
                values=message_values(status=request.status.value),
            )
        )
    content = await _practice_content(work.session, request, details)
    initiative = await insert_draft(work.session, viewer, content)
    work.session.add(
        SupportRequestPractice(
            request_id=request.id, initiative_id=initiative.id, documented_by_id=viewer.member_id
        )
    )
    await work.session.flush()
    await record_change(work, viewer, request, SupportChange.DOCUMENTED)
    return initiative.id


async def document_support_request(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    request_id: int,
    details: PracticeDetails,
) -> PracticeResult:
    """Turn a COMPLETED request into an initiative DRAFT of the viewer's, linked to it (then
    `submitForReview` as any initiative). Once per request: documenting it again answers the
    draft already made (`already_documented`), never a second one."""

    async def change(work: UnitOfWork) -> Documented:
        # The request's row lock (PostgreSQL) takes simultaneous calls one after the other,
        # so the second finds the first one's practice.
        request = await request_for_change(work, viewer, request_id)
        if not policy.may_document_support_request(
            viewer,
            organization_id=request.organization_id,
            requester_id=request.requester_id,
            focal_point_id=request.focal_point_id,
        ):
            raise Refused(NOT_A_DOCUMENTER)
        documented = await _documenting_initiative(work.session, request_id)
        already = documented is not None
        if documented is None:
            documented = await _document(work, viewer, request, details)
        # the answer, read in this transaction: nothing is read after the commit
        return Documented(
            already,
            await work.read_back(visible_initiative(viewer, documented)),
            await work.read_back(visible_request(viewer, request_id)),
        )

    done = await mutation(sessions, events, viewer, change, conflict=LOST_THE_RACE)
    if done.problems == [LOST_THE_RACE]:
        # Should two calls still meet at the primary key (no row lock: SQLite), the loser
        # answers the practice the winner made, as a repeated call does.
        done = Outcome(value=await _the_winners(sessions, viewer, request_id))
    if done.value is None:
        return PracticeResult(problems=done.problems)
    if done.value.initiative is None:
        # Documented by someone else, and still a draft only they (and reviewers) see.
        return PracticeResult(
            request_id=request_id, already_documented=True, problems=[SOMEONE_ELSES_DRAFT]
        )
    return PracticeResult(
        initiative=done.value.initiative,
        request_id=request_id,
        support_request=done.value.support_request,
        already_documented=done.value.already,
    )


@dataclass(frozen=True)
class Documented:
    already: bool  # documented before this call
    initiative: AnyRow | None
    support_request: AnyRow | None


async def _the_winners(sessions: Sessions, viewer: Viewer, request_id: int) -> Documented | None:
    """What the call that won the race made (after this one's transaction rolled back)."""
    async with sessions() as session:
        winner = await _documenting_initiative(session, request_id)
        if winner is None:
            return None
        initiative = (await session.execute(visible_initiative(viewer, winner))).first()
        request = (await session.execute(visible_request(viewer, request_id))).first()
    return Documented(True, initiative, request)
