"""Initiatives and calls for practices in GraphQL: types, discovery, drafts, featuring."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from models.db import AnyRow
from models.initiative import InitiativeStatus as InitiativeStatusModel
from models.reference import UnRegion as UnRegionModel
from models.translation import TranslatableKind
from resolvers import calls, initiatives
from resolvers.initiatives import InitiativeContent, InitiativeFilter
from resolvers.initiatives import InitiativeOrder as InitiativeOrderModel
from resolvers.policy import is_open
from resolvers.resources import successors_first
from schema.context import Info
from schema.edits import changes_input, sent_fields
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.members import Member, load_member
from schema.organizations import Organization, load_organization
from schema.reference import Country, GcmObjective, Region, UnRegion, objectives_of
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    Node,
    connection,
    decode_int_id,
    encode_id,
    page_request,
)
from schema.resources import Resource
from schema.reviews import Review, Reviewable, ReviewState, reviewable_fields
from schema.translations import (
    Original,
    text_detail_field,
    text_field,
    translations_field,
)

if TYPE_CHECKING:
    from schema.support import SupportRequest

InitiativeStatus = described_enum(
    InitiativeStatusModel,
    "Where an initiative stands.",
    {"PLANNED": "Planned.", "ONGOING": "Ongoing.", "COMPLETED": "Completed."},
)
InitiativeOrder = described_enum(
    InitiativeOrderModel,
    "How to order initiatives.",
    {
        "NEWEST": "Most recently added first.",
        "RECENTLY_REVIEWED": "Most recently reviewed first.",
        "TITLE": "By title, A to Z in the Unicode collation (accents beside their "
        "letters, capitals beside small ones; then Cyrillic, Arabic, Han): the original "
        "titles' order, the same for every reader.",
    },
)
REGIONS = {r.value: r for r in UnRegionModel}
LazySupportRequest = Annotated["SupportRequest", strawberry.lazy("schema.support")]


@strawberry.type(
    description="A call for practices: initiatives answer it on its theme until its deadline."
)
class CallForPractices(Node):
    theme = text_field(
        "theme", "The theme. In the best language for the request (`themeText` says which)."
    )
    description = text_field(
        "description",
        "What is asked for (plain text). In the best language for the request (`descriptionText` says which).",
    )
    theme_text = text_detail_field("theme", "The theme. With its language and status.")
    description_text = text_detail_field(
        "description", "What is asked for (plain text). With its language and status."
    )
    text_translations = translations_field()
    original: strawberry.Private[Original]
    deadline: datetime = strawberry.field(description="No submissions after this moment (UTC).")
    created_at: datetime = strawberry.field(description="When it was opened (UTC).")
    db_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AnyRow) -> CallForPractices:
        return cls(
            original=Original.of(TranslatableKind.CALL, row),
            id=encode_id("CallForPractices", row.id),
            db_id=row.id,
            deadline=row.deadline,
            created_at=row.created_at,
        )

    @strawberry.field(description="Open: its deadline has not passed.")
    def is_open(self) -> bool:
        return is_open(self.deadline)

    @strawberry.field(description="GCM objectives it is about.")
    async def objectives(self, info: Info) -> list[GcmObjective]:
        return await objectives_of(
            info, await info.context.loaders.objectives_by_call.load(self.db_id)
        )

    @strawberry.field(description="Published initiatives answering it, newest first.")
    async def initiatives(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> Connection[Initiative]:
        page = await initiatives.initiatives_page(
            info.context.db.reads,
            info.context.viewer,
            InitiativeFilter(call_id=self.db_id),
            InitiativeOrderModel.NEWEST,
            page_request(first, after, None, None),
        )
        return connection(page, Initiative.from_row)


@strawberry.type(
    description="An initiative or practice (the flagship showcase when `featured`): reviewed "
    "like resources before it is published."
)
class Initiative(Reviewable):
    title = text_field(
        "title", "Title. In the best language for the request (`titleText` says which)."
    )
    summary = text_field(
        "summary",
        "Summary (plain text). In the best language for the request (`summaryText` says which).",
    )
    results = text_field(
        "results",
        "Its results (plain text). In the best language for the request (`resultsText` says which).",
    )
    replicability = text_field(
        "replicability",
        "What makes it replicable (plain text). In the best language for the request (`replicabilityText` says which).",
    )
    title_text = text_detail_field("title", "Title. With its language and status.")
    summary_text = text_detail_field(
        "summary", "Summary (plain text). With its language and status."
    )
    results_text = text_detail_field(
        "results", "Its results (plain text). With its language and status."
    )
    replicability_text = text_detail_field(
        "replicability", "What makes it replicable (plain text). With its language and status."
    )
    text_translations = translations_field()
    original: strawberry.Private[Original]
    status: InitiativeStatus = strawberry.field(description="Where it stands.")  # type: ignore[valid-type]
    starts_on: date | None = strawberry.field(description="Start.")
    ends_on: date | None = strawberry.field(description="End.")
    is_global: bool = strawberry.field(description="Global in scope.")
    featured: bool = strawberry.field(description="In the flagship showcase (moderators' choice).")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    merged_at: datetime | None = strawberry.field(
        description="For a revision: when its content replaced the published one (UTC)."
    )
    db_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]
    lead_organization_id: strawberry.Private[int | None]
    call_id: strawberry.Private[int | None]
    revision_of_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> Initiative:
        return cls(
            original=Original.of(TranslatableKind.INITIATIVE, row),
            id=encode_id("Initiative", row.id),
            db_id=row.id,
            author_id=row.author_id,
            lead_organization_id=row.lead_organization_id,
            call_id=row.call_id,
            revision_of_id=row.revision_of_id,
            merged_at=row.merged_at,
            status=row.status,
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            is_global=row.is_global,
            featured=row.featured,
            created_at=row.created_at,
            **reviewable_fields(row),  # type: ignore[arg-type]
        )

    @strawberry.field(description="Who submitted it; null if the account is gone or hidden.")
    async def author(self, info: Info) -> Member | None:
        return await load_member(info, self.author_id) if self.author_id else None

    @strawberry.field(description="For a revision: the published initiative it revises.")
    async def revision_of(self, info: Info) -> Initiative | None:
        if self.revision_of_id is None:
            return None
        return await load_initiative(info, self.revision_of_id)

    @strawberry.field(
        description="Revisions (proposed edits) of this initiative, newest first: what you may "
        "see of them (the author, reviewers and moderators see those not yet merged)."
    )
    async def revisions(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[Initiative]:
        page = await initiatives.revisions_page(
            info.context.db.reads,
            info.context.viewer,
            self.db_id,
            page_request(first, after, last, before),
        )
        return connection(page, Initiative.from_row)

    @strawberry.field(description="The lead organisation.")
    async def lead_organization(self, info: Info) -> Organization | None:
        if self.lead_organization_id is None:
            return None
        return await load_organization(info, self.lead_organization_id)

    @strawberry.field(description="Partner organisations.")
    async def partners(self, info: Info) -> list[Organization]:
        ids = await info.context.loaders.partners_by_initiative.load(self.db_id)
        found = [await load_organization(info, i) for i in ids]
        return [o for o in found if o is not None]

    @strawberry.field(description="GCM objectives it addresses.")
    async def objectives(self, info: Info) -> list[GcmObjective]:
        numbers = await info.context.loaders.objectives_by_initiative.load(self.db_id)
        return await objectives_of(info, numbers)

    @strawberry.field(description="Letters of the guiding principles it applies.")
    async def principles(self, info: Info) -> list[str]:
        return await info.context.loaders.principles_by_initiative.load(self.db_id)

    @strawberry.field(description="Countries where it runs.")
    async def countries(self, info: Info) -> list[Country]:
        codes = await info.context.loaders.countries_by_initiative.load(self.db_id)
        return [Country(code=c) for c in codes]

    @strawberry.field(description="UN M49 regions where it runs.")
    async def regions(self, info: Info) -> list[Region]:
        codes = await info.context.loaders.regions_by_initiative.load(self.db_id)
        found = [REGIONS[c] for c in codes if c in REGIONS]
        return [Region(region=r, m49=r.value) for r in found]

    @strawberry.field(
        description="Resources it links to (those you may see), superseded ones after their "
        "successors."
    )
    async def resources(self, info: Info) -> list[Resource]:
        ids = await info.context.loaders.resources_by_initiative.load(self.db_id)
        rows = await info.context.loaders.resource_by_id.load_many(ids)
        return [Resource.from_row(r) for r in successors_first(rows)]

    @strawberry.field(description="The call for practices it answers, if any.")
    async def call(self, info: Info) -> CallForPractices | None:
        return await load_call(info, self.call_id) if self.call_id is not None else None

    @strawberry.field(
        description="The support request it documents (made by `documentSupportRequest`), "
        "if you may see that request: members of the requesting government, its focal point, "
        "its experts and moderators. Null for everyone else, even once the practice is public."
    )
    async def support_request(self, info: Info) -> LazySupportRequest | None:
        from schema.support import SupportRequest

        row = await info.context.loaders.support_request_by_practice.load(self.db_id)
        return SupportRequest.from_row(row) if row is not None else None

    @strawberry.field(
        description="Reviews, oldest first: for its author, its reviewers and moderators."
    )
    async def reviews(self, info: Info) -> list[Review]:
        rows = await info.context.loaders.reviews_by_initiative.load((self.db_id, self.author_id))
        return [Review.from_row(r) for r in rows]

    @strawberry.field(
        description="Assigned reviewers: for its author, its reviewers and moderators."
    )
    async def reviewers(self, info: Info) -> list[Member]:
        ids = await info.context.loaders.reviewers_by_initiative.load((self.db_id, self.author_id))
        members = [await load_member(info, i) for i in ids]
        return [m for m in members if m is not None]


async def load_initiative(info: Info, initiative_id: int) -> Initiative | None:
    row = await info.context.loaders.initiative_by_id.load(initiative_id)
    return Initiative.from_row(row) if row is not None else None


async def load_call(info: Info, call_id: int) -> CallForPractices | None:
    row = await info.context.loaders.call_by_id.load(call_id)
    return CallForPractices.from_row(row) if row is not None else None


@strawberry.input(description="Narrow the list of initiatives: every criterion given must match.")
class InitiativeFilterInput:
    objectives: list[int] | None = strawberry.field(
        default=None, description="Any of these GCM objective numbers."
    )
    principles: list[str] | None = strawberry.field(
        default=None, description="Any of these guiding principles (letters a to j)."
    )
    countries: list[str] | None = strawberry.field(
        default=None, description="In any of these countries (ISO 3166-1 alpha-2)."
    )
    regions: list[UnRegion] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="In any of these UN regions."
    )
    statuses: list[InitiativeStatus] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Any of these statuses."
    )
    featured: bool | None = strawberry.field(
        default=None, description="Only featured (true) or only not featured (false)."
    )
    call_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only those answering this call for practices."
    )
    states: list[ReviewState] | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Review states (default: APPROVED only); beyond it, only what you may see.",
    )
    started_from: date | None = strawberry.field(
        default=None, description="Started on or after this date."
    )
    started_until: date | None = strawberry.field(
        default=None, description="Started on or before this date."
    )


def initiative_filter(filter: InitiativeFilterInput | None) -> InitiativeFilter:
    if filter is None:
        return InitiativeFilter()
    values: dict[str, object] = {
        "objectives": filter.objectives or (),
        "principles": filter.principles or (),
        "countries": filter.countries or (),
        "regions": filter.regions or (),
        "statuses": filter.statuses or (),
        "featured": filter.featured,
        "started_from": filter.started_from,
        "started_until": filter.started_until,
    }
    if filter.call_id is not None:
        values["call_id"] = decode_int_id(filter.call_id, "CallForPractices") or 0
    if filter.states:
        values["states"] = filter.states
    return InitiativeFilter(**values)  # type: ignore[arg-type]


async def resolve_initiatives(
    info: Info,
    filter: Annotated[
        InitiativeFilterInput | None, strawberry.argument(description="Narrow the list.")
    ] = None,
    order_by: Annotated[
        InitiativeOrder,  # type: ignore[valid-type]
        strawberry.argument(description="Order of the list."),
    ] = InitiativeOrderModel.NEWEST,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[Initiative]:
    page = await initiatives.initiatives_page(
        info.context.db.reads,
        info.context.viewer,
        initiative_filter(filter),
        order_by,
        page_request(first, after, last, before),
    )
    return connection(page, Initiative.from_row)


async def resolve_initiative(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")]
) -> Initiative | None:
    key = decode_int_id(id, "Initiative")
    return await load_initiative(info, key) if key is not None else None


async def resolve_calls_for_practices(
    info: Info,
    open_only: Annotated[
        bool, strawberry.argument(description="Only calls whose deadline has not passed.")
    ] = False,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[CallForPractices]:
    page = await calls.calls_page(
        info.context.db.reads, open_only, page_request(first, after, last, before)
    )
    return connection(page, CallForPractices.from_row)


# --- mutations --------------------------------------------------------------------------------


@strawberry.input(description="The content of an initiative.")
class InitiativeInput:
    title: str = strawberry.field(description="Title (at most 300 characters).")
    status: InitiativeStatus = strawberry.field(description="Where it stands.")  # type: ignore[valid-type]
    summary: str = strawberry.field(default="", description="Summary (at most 2,000).")
    lead_organization_id: strawberry.ID | None = strawberry.field(
        default=None, description="The lead organisation."
    )
    partner_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Partner organisations (up to 50)."
    )
    starts_on: date | None = strawberry.field(default=None, description="Start.")
    ends_on: date | None = strawberry.field(default=None, description="End.")
    results: str = strawberry.field(default="", description="Its results.")
    replicability: str = strawberry.field(default="", description="What makes it replicable.")
    is_global: bool = strawberry.field(default=False, description="Global in scope.")
    objectives: list[int] = strawberry.field(
        default_factory=list, description="GCM objective numbers (at least one)."
    )
    principles: list[str] = strawberry.field(
        default_factory=list, description="Guiding principles it applies (letters a to j)."
    )
    countries: list[str] = strawberry.field(
        default_factory=list, description="Countries (ISO 3166-1 alpha-2)."
    )
    regions: list[UnRegion] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list, description="UN regions."
    )
    resource_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Resources it links to."
    )
    language: str = strawberry.field(
        default="en",
        description="The language its text is written in (BCP 47): translations are into others.",
    )

    def content(self) -> InitiativeContent:
        return InitiativeContent(
            title=self.title,
            status=self.status,
            summary=self.summary,
            lead_organization_id=_organization_key(self.lead_organization_id)
            if self.lead_organization_id
            else None,
            partner_ids=_organization_keys(self.partner_ids),
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            results=self.results,
            replicability=self.replicability,
            is_global=self.is_global,
            objectives=self.objectives,
            principles=self.principles,
            countries=self.countries,
            regions=self.regions,
            resource_ids=_resource_keys(self.resource_ids),
            language=self.language,
        )


def _key(global_id: str, type_name: str) -> int:
    return decode_int_id(global_id, type_name) or 0  # 0: never a row, reads as missing


def _organization_key(global_id: str) -> int:
    return _key(global_id, "Organization")


def _organization_keys(global_ids: list[strawberry.ID]) -> list[int]:
    return [_key(i, "Organization") for i in global_ids]


def _resource_keys(global_ids: list[strawberry.ID]) -> list[int]:
    return [_key(i, "Resource") for i in global_ids]


InitiativeChangesInput = changes_input(InitiativeInput, "InitiativeChangesInput", "an initiative")
ID_FIELDS: dict[str, Callable[[Any], int | list[int]]] = {
    "lead_organization_id": _organization_key,
    "partner_ids": _organization_keys,
    "resource_ids": _resource_keys,
}


@strawberry.input(description="Create an initiative as a DRAFT (then `submitForReview`).")
class CreateInitiativeInput:
    initiative: InitiativeInput = strawberry.field(description="Its content.")
    call_id: strawberry.ID | None = strawberry.field(
        default=None, description="The call for practices it answers (refused after its deadline)."
    )


@strawberry.input(
    description="Edit your initiative: a draft, or one whose changes were requested, in place; "
    "a published one gets a revision (a draft of its own, submitted and reviewed like any "
    "initiative) whose content replaces the published one once approved. Only the fields "
    "sent change."
)
class UpdateInitiativeInput:
    initiative_id: strawberry.ID = strawberry.field(description="Global ID of the initiative.")
    initiative: InitiativeChangesInput = strawberry.field(  # type: ignore[valid-type]
        description="The changes: fields left out stay as they are."
    )


@strawberry.input(description="Put a published initiative in the showcase, or take it out.")
class SetInitiativeFeaturedInput:
    initiative_id: strawberry.ID = strawberry.field(description="Global ID of the initiative.")
    featured: bool = strawberry.field(description="True features it.")


@strawberry.type(description="Result of a change to an initiative.")
class InitiativePayload:
    initiative: Initiative | None = strawberry.field(description="The initiative after it.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def _payload(result: initiatives.InitiativeResult) -> InitiativePayload:
    initiative = Initiative.from_row(result.initiative) if result.initiative is not None else None
    return InitiativePayload(initiative=initiative, errors=user_errors(result.problems))


async def create_initiative(
    info: Info, input: Annotated[CreateInitiativeInput, INPUT]
) -> InitiativePayload:
    call_key = None
    if input.call_id is not None:
        call_key = decode_int_id(input.call_id, "CallForPractices")
        if call_key is None:
            return InitiativePayload(initiative=None, errors=not_found("callId", "No such call."))
    c = info.context
    result = await initiatives.create_initiative(
        c.db.sessions, c.events, c.viewer, input.initiative.content(), call_key
    )
    return _payload(result)


async def update_initiative(
    info: Info, input: Annotated[UpdateInitiativeInput, INPUT]
) -> InitiativePayload:
    key = decode_int_id(input.initiative_id, "Initiative")
    if key is None:
        return InitiativePayload(
            initiative=None, errors=not_found("initiativeId", "No such initiative.")
        )
    c = info.context
    result = await initiatives.update_initiative(
        c.db.sessions, c.events, c.viewer, key, sent_fields(input.initiative, ID_FIELDS)
    )
    return _payload(result)


async def set_initiative_featured(
    info: Info, input: Annotated[SetInitiativeFeaturedInput, INPUT]
) -> InitiativePayload:
    key = decode_int_id(input.initiative_id, "Initiative")
    if key is None:
        return InitiativePayload(
            initiative=None, errors=not_found("initiativeId", "No such initiative.")
        )
    c = info.context
    result = await initiatives.set_featured(c.db.sessions, c.events, c.viewer, key, input.featured)
    return _payload(result)


@strawberry.input(description="Open a call for practices (moderators).")
class CreateCallForPracticesInput:
    theme: str = strawberry.field(description="The theme (at most 200 characters).")
    description: str = strawberry.field(default="", description="What is asked for.")
    objectives: list[int] = strawberry.field(
        default_factory=list, description="GCM objective numbers."
    )
    deadline: datetime = strawberry.field(description="No submissions after it (with time zone).")
    language: str = strawberry.field(
        default="en",
        description="The language its theme and description are written in (BCP 47): "
        "translations are into others.",
    )


@strawberry.type(description="Result of `createCallForPractices`.")
class CallForPracticesPayload:
    call: CallForPractices | None = strawberry.field(description="The new call.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


async def create_call_for_practices(
    info: Info, input: Annotated[CreateCallForPracticesInput, INPUT]
) -> CallForPracticesPayload:
    result = await calls.create_call(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        input.theme,
        input.description,
        input.objectives,
        input.deadline,
        input.language,
    )
    call = CallForPractices.from_row(result.call) if result.call is not None else None
    return CallForPracticesPayload(call=call, errors=user_errors(result.problems))
