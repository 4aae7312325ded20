"""A completed support request documented as a practice, in GraphQL: the mutation that drafts
the initiative (`SupportRequest.documentedPractice` and `Initiative.supportRequest` read the
link, schema/support.py and schema/initiatives.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from resolvers import support_practice
from schema.context import Info
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.initiatives import Initiative, InitiativeStatus
from schema.reference import UnRegion
from schema.relay import decode_int_id
from schema.support import SupportRequest


@strawberry.input(
    description="Document a COMPLETED support request as a practice: an initiative DRAFT of "
    "yours, prefilled from the request — its title, its description as the summary, its GCM "
    "objectives and countries, the requesting government as lead organisation, the "
    "organisations of the experts who accepted as partners, status COMPLETED, from the day "
    "work started to the day it was completed. Everything else here is optional and replaces "
    "what the request would give. The draft then goes through the normal review."
)
class DocumentSupportRequestInput:
    request_id: strawberry.ID = strawberry.field(description="Global ID of the support request.")
    title: str | None = strawberry.field(
        default=None, description="Title (default: the request's title)."
    )
    summary: str | None = strawberry.field(
        default=None,
        description="Summary, at most 2,000 characters (default: the request's description, "
        "cut at a word to fit). The request is private: rewrite what should not be public.",
    )
    status: InitiativeStatus | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Where the initiative stands (default COMPLETED)."
    )
    starts_on: date | None = strawberry.field(
        default=None, description="Start (default: the day the request went IN_PROGRESS)."
    )
    ends_on: date | None = strawberry.field(
        default=None, description="End (default: the day the request was COMPLETED)."
    )
    results: str = strawberry.field(default="", description="Its results.")
    replicability: str = strawberry.field(default="", description="What makes it replicable.")
    objectives: list[int] | None = strawberry.field(
        default=None, description="GCM objective numbers (default: the request's)."
    )
    principles: list[str] = strawberry.field(
        default_factory=list, description="Guiding principles it applies (letters a to j)."
    )
    countries: list[str] | None = strawberry.field(
        default=None, description="Countries, ISO 3166-1 alpha-2 (default: the request's)."
    )
    regions: list[UnRegion] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list, description="UN regions."
    )
    is_global: bool = strawberry.field(default=False, description="Global in scope.")
    partner_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Partner organisations, up to 50 (default: the organisations of the "
        "experts who accepted).",
    )

    def details(self) -> support_practice.PracticeDetails:
        partners = None
        if self.partner_ids is not None:
            # 0: never a row, so an unknown ID reads as a missing organisation
            partners = [decode_int_id(p, "Organization") or 0 for p in self.partner_ids]
        return support_practice.PracticeDetails(
            title=self.title,
            summary=self.summary,
            status=self.status,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            results=self.results,
            replicability=self.replicability,
            objectives=self.objectives,
            principles=self.principles,
            countries=self.countries,
            regions=self.regions,
            is_global=self.is_global,
            partner_ids=partners,
        )


@strawberry.type(description="Result of documenting a support request as a practice.")
class DocumentSupportRequestPayload:
    initiative: Initiative | None = strawberry.field(
        description="The practice: a new DRAFT of yours (send it to review with "
        "`submitForReview`), or the one made before."
    )
    already_documented: bool = strawberry.field(
        description="True when the request had been documented before: nothing new was made."
    )
    support_request: SupportRequest | None = strawberry.field(
        description="The request (its timeline has the DOCUMENTED entry)."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing was made, if so.")


async def document_support_request(
    info: Info, input: Annotated[DocumentSupportRequestInput, INPUT]
) -> DocumentSupportRequestPayload:
    key = decode_int_id(input.request_id, "SupportRequest")
    if key is None:
        return DocumentSupportRequestPayload(
            initiative=None,
            already_documented=False,
            support_request=None,
            errors=not_found("requestId", "No such support request."),
        )
    result = await support_practice.document_support_request(
        info.context.db.sessions, info.context.events, info.context.viewer, key, input.details()
    )
    request = SupportRequest.from_row(result.support_request) if result.support_request else None
    return DocumentSupportRequestPayload(
        initiative=Initiative.from_row(result.initiative) if result.initiative else None,
        already_documented=result.already_documented,
        support_request=request,
        errors=user_errors(result.problems),
    )
