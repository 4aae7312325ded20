"""Support requests in GraphQL: governments ask, focal points triage, experts are matched; the
request's timeline, its private messages, and its live events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.support import ProposalStatus as ProposalStatusModel
from models.support import SupportCategory as SupportCategoryModel
from models.support import SupportStatus as SupportStatusModel
from models.support import SupportUrgency as SupportUrgencyModel
from resolvers import expert_matching, support, support_messages, support_proposals
from resolvers.errors import ClientError
from resolvers.markdown import render
from resolvers.support import SupportChange as SupportChangeModel
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.initiatives import Initiative
from schema.members import Member, load_member
from schema.organizations import Organization, load_organization
from schema.reference import Country, GcmObjective, country, objectives_of
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
from schema.support_messages import SupportMessage

SupportCategory = described_enum(
    SupportCategoryModel,
    "What kind of support a government asks for.",
    {
        "TECHNICAL_ASSISTANCE": "Technical assistance on a programme or system.",
        "CAPACITY_BUILDING": "Training and capacity building for officials.",
        "POLICY_ADVICE": "Advice on policy or legislation.",
        "DATA_AND_EVIDENCE": "Help with migration data and evidence.",
        "FUNDING_GUIDANCE": "Guidance on funding, such as the Migration MPTF.",
        "OTHER": "Anything else.",
    },
)
SupportUrgency = described_enum(
    SupportUrgencyModel,
    "How urgent a support request is.",
    {"LOW": "Low: no deadline.", "MEDIUM": "Medium.", "HIGH": "High: needed soon."},
)
SupportStatus = described_enum(
    SupportStatusModel,
    "Where a support request is in its workflow: SUBMITTED → TRIAGED → MATCHED → IN_PROGRESS "
    "→ COMPLETED, or DECLINED from any open status.",
    {
        "SUBMITTED": "Submitted; waiting for a network focal point to take it.",
        "TRIAGED": "A focal point took it and is looking for experts.",
        "MATCHED": "At least one proposed expert accepted.",
        "IN_PROGRESS": "The support is being given.",
        "COMPLETED": "Done.",
        "DECLINED": "Declined by the focal point, with a reason.",
    },
)
ProposalStatus = described_enum(
    ProposalStatusModel,
    "An expert's answer to being proposed for a request.",
    {
        "PROPOSED": "Proposed; the expert has not answered yet.",
        "ACCEPTED": "The expert accepted.",
        "DECLINED": "The expert declined (and no longer sees the request).",
    },
)
SupportChange = described_enum(
    SupportChangeModel,
    "What changed in a support request (its timeline entries and live events).",
    {
        "SUBMITTED": "The request was submitted.",
        "TRIAGED": "A focal point took it.",
        "EXPERT_PROPOSED": "An expert was proposed.",
        "EXPERT_ACCEPTED": "A proposed expert accepted.",
        "EXPERT_DECLINED": "A proposed expert declined.",
        "MATCHED": "It became MATCHED (the first acceptance).",
        "STARTED": "Work started (IN_PROGRESS).",
        "COMPLETED": "It was completed.",
        "DECLINED": "It was declined, with a reason.",
        "DOCUMENTED": "It was documented as a practice: an initiative draft was made from it "
        "(`documentedPractice`).",
    },
)


@strawberry.type(description="An expert proposed for a support request, and their answer.")
class ExpertProposal:
    status: ProposalStatus = strawberry.field(description="The expert's answer so far.")  # type: ignore[valid-type]
    proposed_at: datetime = strawberry.field(description="When the expert was proposed (UTC).")
    decided_at: datetime | None = strawberry.field(description="When the expert answered (UTC).")
    expert_id: strawberry.Private[int]

    @strawberry.field(description="The expert.")
    async def expert(self, info: Info) -> Member | None:
        return await load_member(info, self.expert_id)


@strawberry.type(description="One change in a support request's timeline.")
class SupportTimelineEntry:
    change: SupportChange = strawberry.field(description="What changed.")  # type: ignore[valid-type]
    status: SupportStatus = strawberry.field(description="The request's status after it.")  # type: ignore[valid-type]
    note: str = strawberry.field(description="The reason given, if any (a decline's reason).")
    created_at: datetime = strawberry.field(description="When (UTC).")
    actor_id: strawberry.Private[int | None]
    expert_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> SupportTimelineEntry:
        return cls(
            change=SupportChangeModel(row.kind),
            status=row.status,
            note=row.note,
            created_at=row.created_at,
            actor_id=row.actor_id,
            expert_id=row.expert_id,
        )

    @strawberry.field(description="Who made the change; null if the account is gone.")
    async def actor(self, info: Info) -> Member | None:
        return await load_member(info, self.actor_id) if self.actor_id else None

    @strawberry.field(description="The expert concerned, for expert changes.")
    async def expert(self, info: Info) -> Member | None:
        return await load_member(info, self.expert_id) if self.expert_id else None


@strawberry.type(
    description="A government's request for support. Private: visible to members of the "
    "requesting organisation, its focal point, experts proposed for it (until they decline) "
    "and moderators; to anyone else it does not exist."
)
class SupportRequest(Node):
    title: str = strawberry.field(description="Title.")
    description: str = strawberry.field(description="What is needed, in Markdown, as written.")
    category: SupportCategory = strawberry.field(description="Kind of support.")  # type: ignore[valid-type]
    urgency: SupportUrgency = strawberry.field(description="How urgent it is.")  # type: ignore[valid-type]
    desired_timeframe: str = strawberry.field(
        description="When the support is wanted, in the requester's words (e.g. 'Q2 2027')."
    )
    status: SupportStatus = strawberry.field(description="Where it is in the workflow.")  # type: ignore[valid-type]
    decline_reason: str | None = strawberry.field(description="Why it was declined, if it was.")
    created_at: datetime = strawberry.field(description="When it was submitted (UTC).")
    updated_at: datetime = strawberry.field(description="Last change (UTC).")
    db_id: strawberry.Private[int]
    requester_id: strawberry.Private[int | None]
    organization_id: strawberry.Private[int]
    focal_point_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> SupportRequest:
        return cls(
            id=encode_id("SupportRequest", row.id),
            db_id=row.id,
            requester_id=row.requester_id,
            organization_id=row.organization_id,
            focal_point_id=row.focal_point_id,
            title=row.title,
            description=row.description,
            category=row.category,
            urgency=row.urgency,
            desired_timeframe=row.desired_timeframe,
            status=row.status,
            decline_reason=row.decline_reason,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="The description as sanitized HTML.")
    def description_html(self) -> str:
        return render(self.description)

    @strawberry.field(description="Who submitted it; null if the account is gone.")
    async def requester(self, info: Info) -> Member | None:
        return await load_member(info, self.requester_id) if self.requester_id else None

    @strawberry.field(description="The government it speaks for.")
    async def organization(self, info: Info) -> Organization | None:
        return await load_organization(info, self.organization_id)

    @strawberry.field(description="The network focal point who took it; null until triaged.")
    async def focal_point(self, info: Info) -> Member | None:
        return await load_member(info, self.focal_point_id) if self.focal_point_id else None

    @strawberry.field(description="GCM objectives it concerns.")
    async def objectives(self, info: Info) -> list[GcmObjective]:
        numbers = await info.context.loaders.objectives_by_support_request.load(self.db_id)
        return await objectives_of(info, numbers)

    @strawberry.field(description="Countries it concerns.")
    async def countries(self, info: Info) -> list[Country]:
        codes = await info.context.loaders.countries_by_support_request.load(self.db_id)
        return [c for code in codes if (c := country(code)) is not None]

    @strawberry.field(description="Languages the support should be given in (BCP 47 tags).")
    async def languages(self, info: Info) -> list[str]:
        return await info.context.loaders.languages_by_support_request.load(self.db_id)

    @strawberry.field(description="Experts proposed for it, in the order proposed.")
    async def proposals(self, info: Info) -> list[ExpertProposal]:
        rows = await info.context.loaders.proposals_by_support_request.load(self.db_id)
        return [
            ExpertProposal(
                expert_id=r.expert_id,
                status=r.status,
                proposed_at=r.proposed_at,
                decided_at=r.decided_at,
            )
            for r in rows
        ]

    @strawberry.field(description="Everything that happened to it, oldest first.")
    async def timeline(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[SupportTimelineEntry]:
        page = await support.timeline_page(
            info.context.db.reads,
            info.context.viewer,
            self.db_id,
            page_request(first, after, last, before),
        )
        return connection(page, SupportTimelineEntry.from_row)

    @strawberry.field(description="The private message thread, oldest first.")
    async def messages(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[SupportMessage]:
        page = await support_messages.messages_page(
            info.context.db.reads,
            info.context.viewer,
            self.db_id,
            page_request(first, after, last, before),
        )
        return connection(page, SupportMessage.from_row)

    @strawberry.field(
        description="The practice (an initiative) documenting this request, once "
        "`documentSupportRequest` made it and as far as you may see it: while a draft, its "
        "author, its reviewers and moderators; everyone once published."
    )
    async def documented_practice(self, info: Info) -> Initiative | None:
        row = await info.context.loaders.practice_by_support_request.load(self.db_id)
        return Initiative.from_row(row) if row is not None else None

    @strawberry.field(
        description="Cursor of the request's latest event: read the request, then subscribe "
        "to `supportRequestEvents(after: eventCursor)` to miss nothing."
    )
    async def event_cursor(self, info: Info) -> str:
        stream = support.support_stream(self.db_id)
        return encode_event_cursor(
            stream, await info.context.loaders.position_by_stream.load(stream)
        )


@strawberry.type(description="An expert suggested for a support request, with why.")
class ExpertMatch:
    score: int = strawberry.field(
        description="Points: 3 per shared objective, 2 per shared language, 3 when based in a "
        "requested country (1 in its region), 2 for earlier work in the region, 1 per earlier "
        "completed request (at most 3)."
    )
    explanation: str = strawberry.field(
        description="Why, for people: e.g. 'objectives 5, 6; speaks es; worked in the region'."
    )
    objectives: list[int] = strawberry.field(description="The shared GCM objective numbers.")
    languages: list[str] = strawberry.field(description="The shared languages (primary tags).")
    member_id: strawberry.Private[int]

    @strawberry.field(description="The expert.")
    async def expert(self, info: Info) -> Member | None:
        return await load_member(info, self.member_id)


async def load_support_request(info: Info, request_id: int) -> SupportRequest | None:
    row = await info.context.loaders.support_request_by_id.load(request_id)
    return SupportRequest.from_row(row) if row is not None else None


REQUEST_ID = strawberry.argument(description="Global ID of the support request.")


async def resolve_support_request(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")]
) -> SupportRequest | None:
    key = decode_int_id(id, "SupportRequest")
    return await load_support_request(info, key) if key is not None else None


async def resolve_support_requests(
    info: Info,
    statuses: Annotated[
        list[SupportStatus] | None,  # type: ignore[valid-type]
        strawberry.argument(description="Only requests in any of these statuses."),
    ] = None,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[SupportRequest]:
    page = await support.support_requests_page(
        info.context.db.reads,
        info.context.viewer,
        statuses or [],
        page_request(first, after, last, before),
    )
    return connection(page, SupportRequest.from_row)


async def resolve_suggested_experts(
    info: Info,
    request_id: Annotated[strawberry.ID, REQUEST_ID],
    first: Annotated[
        int, strawberry.argument(description="How many suggestions, best first (1 to 50).")
    ] = 10,
) -> list[ExpertMatch] | None:
    if not 1 <= first <= expert_matching.MAX_SUGGESTIONS:
        raise ClientError(f"`first` must be between 1 and {expert_matching.MAX_SUGGESTIONS}.")
    key = decode_int_id(request_id, "SupportRequest")
    if key is None:
        return None
    matches = await expert_matching.suggested_experts(
        info.context.db.sessions, info.context.viewer, key, first
    )
    if matches is None:
        return None
    return [
        ExpertMatch(
            member_id=m.member_id,
            score=m.score,
            explanation=m.explanation,
            objectives=m.objectives,
            languages=m.languages,
        )
        for m in matches
    ]


# --- mutations --------------------------------------------------------------------------------


@strawberry.type(description="Result of a change to a support request.")
class SupportRequestPayload:
    support_request: SupportRequest | None = strawberry.field(
        description="The request after the change."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def _payload(result: support.SupportResult) -> SupportRequestPayload:
    request = result.request
    return SupportRequestPayload(
        support_request=SupportRequest.from_row(request) if request is not None else None,
        errors=user_errors(result.problems),
    )


def _missing_request() -> SupportRequestPayload:
    return SupportRequestPayload(
        support_request=None, errors=not_found("requestId", "No such support request.")
    )


@strawberry.input(description="A government's request for support.")
class SubmitSupportRequestInput:
    title: str = strawberry.field(description="Title (at most 300 characters).")
    description: str = strawberry.field(description="What is needed, Markdown (at most 20,000).")
    category: SupportCategory = strawberry.field(description="Kind of support.")  # type: ignore[valid-type]
    urgency: SupportUrgency = strawberry.field(description="How urgent it is.")  # type: ignore[valid-type]
    desired_timeframe: str = strawberry.field(
        default="", description="When the support is wanted (at most 200 characters)."
    )
    objectives: list[int] = strawberry.field(
        default_factory=list, description="GCM objective numbers it concerns."
    )
    countries: list[str] = strawberry.field(
        default_factory=list, description="ISO 3166-1 alpha-2 codes of the countries concerned."
    )
    languages: list[str] = strawberry.field(
        default_factory=list, description="BCP 47 tags of the languages to work in."
    )


async def submit_support_request(
    info: Info, input: Annotated[SubmitSupportRequestInput, INPUT]
) -> SupportRequestPayload:
    result = await support.submit_support_request(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        support.NewSupportRequest(
            title=input.title,
            description=input.description,
            category=input.category,
            urgency=input.urgency,
            desired_timeframe=input.desired_timeframe,
            objectives=input.objectives,
            countries=input.countries,
            languages=input.languages,
        ),
    )
    return _payload(result)


@strawberry.input(description="Take a submitted support request as its focal point.")
class TriageSupportRequestInput:
    request_id: strawberry.ID = strawberry.field(description="Global ID of the request.")


async def triage_support_request(
    info: Info, input: Annotated[TriageSupportRequestInput, INPUT]
) -> SupportRequestPayload:
    key = decode_int_id(input.request_id, "SupportRequest")
    if key is None:
        return _missing_request()
    result = await support.triage_support_request(
        info.context.db.sessions, info.context.events, info.context.viewer, key
    )
    return _payload(result)


@strawberry.input(description="Propose an opted-in expert for a support request.")
class ProposeExpertInput:
    request_id: strawberry.ID = strawberry.field(description="Global ID of the request.")
    expert_id: strawberry.ID = strawberry.field(description="Global ID of the expert (a member).")


async def propose_expert(
    info: Info, input: Annotated[ProposeExpertInput, INPUT]
) -> SupportRequestPayload:
    key = decode_int_id(input.request_id, "SupportRequest")
    expert = decode_int_id(input.expert_id, "Member")
    if key is None:
        return _missing_request()
    if expert is None:
        return SupportRequestPayload(
            support_request=None, errors=not_found("expertId", "No such expert.")
        )
    result = await support_proposals.propose_expert(
        info.context.db.sessions, info.context.events, info.context.viewer, key, expert
    )
    return _payload(result)


@strawberry.input(description="Accept or decline being proposed as an expert for a request.")
class RespondToExpertProposalInput:
    request_id: strawberry.ID = strawberry.field(description="Global ID of the request.")
    accept: bool = strawberry.field(description="True accepts, false declines.")


async def respond_to_expert_proposal(
    info: Info, input: Annotated[RespondToExpertProposalInput, INPUT]
) -> SupportRequestPayload:
    key = decode_int_id(input.request_id, "SupportRequest")
    if key is None:
        return _missing_request()
    result = await support_proposals.respond_to_proposal(
        info.context.db.sessions, info.context.events, info.context.viewer, key, input.accept
    )
    return _payload(result)


@strawberry.input(description="Start, complete or decline a support request.")
class ChangeSupportRequestStatusInput:
    request_id: strawberry.ID = strawberry.field(description="Global ID of the request.")
    status: SupportStatus = strawberry.field(  # type: ignore[valid-type]
        description="IN_PROGRESS (from MATCHED), COMPLETED (from IN_PROGRESS) or DECLINED (from "
        "any open status)."
    )
    reason: str | None = strawberry.field(
        default=None,
        description="Why: required for DECLINED (kept as the decline reason); not asked for the "
        "other statuses (kept as a note in the timeline when given).",
    )


async def change_support_request_status(
    info: Info, input: Annotated[ChangeSupportRequestStatusInput, INPUT]
) -> SupportRequestPayload:
    key = decode_int_id(input.request_id, "SupportRequest")
    if key is None:
        return _missing_request()
    result = await support.change_support_status(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        key,
        input.status,
        input.reason or "",
    )
    return _payload(result)
