"""Resources in GraphQL: the type, discovery, writing drafts and revisions, freshness."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated

import strawberry
from graphql.pyutils import AwaitableOrValue

from models.db import AnyRow
from models.reference import UnRegion as UnRegionModel
from models.resource import RelationKind as RelationKindModel
from models.resource import ResourceKind as ResourceKindModel
from models.resource import SourceType as SourceTypeModel
from models.review import ReviewItemKind
from models.translation import TranslatableKind
from resolvers import resources
from resolvers.resources import ResourceContent, ResourceFilter
from resolvers.resources import ResourceOrder as ResourceOrderModel
from schema.context import Info
from schema.edits import changes_input, sent_fields
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.members import Member, load_member
from schema.organizations import Organization, load_organization
from schema.prefetch import MISSING, Missing, node_fields
from schema.reference import Country, GcmObjective, Region, UnRegion, objectives_of
from schema.relations import ResourceRelation
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    connection,
    decode_int_id,
    encode_id,
    page_request,
)
from schema.resource_prefetch import prefetch_resources
from schema.reviews import Review, Reviewable, ReviewState, reviewable_fields
from schema.translations import (
    Original,
    text_detail_field,
    text_field,
    translations_field,
)

ResourceKind = described_enum(
    ResourceKindModel,
    "What kind of resource it is.",
    {
        "PUBLICATION": "A report, paper or book.",
        "TOOL": "A toolkit or practical tool.",
        "GUIDANCE": "Guidance or guidelines.",
        "DATASET": "A data set.",
        "TRAINING": "Training material or a course.",
        "MULTIMEDIA": "Video, audio or other media.",
        "POLICY": "A law, policy or strategy.",
        "OTHER": "Anything else.",
    },
)
SourceType = described_enum(
    SourceTypeModel,
    "Where a resource comes from (its provenance).",
    {
        "INTERNATIONAL_ORGANIZATION_REPORT": "A report of an international organisation.",
        "ACADEMIC_ARTICLE": "An academic article or study.",
        "GOVERNMENT_STATISTICS": "Official statistics of a government.",
        "GOVERNMENT_POLICY": "A government's law, policy or strategy.",
        "CIVIL_SOCIETY": "A civil-society source.",
        "MEDIA": "A media source.",
        "OTHER": "Another source.",
    },
)
ResourceOrder = described_enum(
    ResourceOrderModel,
    "How to order resources (superseded resources always come after their successors).",
    {
        "NEWEST": "Most recently added first.",
        "RECENTLY_REVIEWED": "Most recently reviewed first.",
        "TITLE": "By title, A to Z in the Unicode collation (accents beside their "
        "letters, capitals beside small ones; then Cyrillic, Arabic, Han): the original "
        "titles' order, the same for every reader.",
    },
)
REGION_NAMES = {r.value: r for r in UnRegionModel}


@strawberry.type(
    description="Another resource's note on this one (for example why it contradicts it)."
)
class RelatedResource:
    resource: Resource = strawberry.field(description="The other resource.")
    note: str = strawberry.field(description="The note given with the relation.")


@strawberry.type(
    description="A resource of the knowledge platform: peer reviewed before it is published, "
    "kept current (review-by dates), linked where it supersedes or contradicts others."
)
class Resource(Reviewable):
    title = text_field(
        "title", "Title. In the best language for the request (`titleText` says which)."
    )
    summary = text_field(
        "summary",
        "Short summary (plain text). In the best language for the request (`summaryText` says which).",
    )
    body = text_field(
        "body",
        "Description in Markdown, as written. In the best language for the request (`bodyText` says which).",
    )
    title_text = text_detail_field("title", "Title. With its language and status.")
    summary_text = text_detail_field(
        "summary", "Short summary (plain text). With its language and status."
    )
    body_text = text_detail_field(
        "body", "Description in Markdown, as written. With its language and status."
    )
    body_html = text_field(
        "body", "Description in Markdown, as written. Rendered to sanitized HTML.", html=True
    )
    text_translations = translations_field()
    original: strawberry.Private[Original]
    kind: ResourceKind = strawberry.field(description="What kind of resource.")  # type: ignore[valid-type]
    link: str | None = strawberry.field(description="Where to get it (http(s) URL).")
    publisher: str = strawberry.field(description="Who published it.")
    published_on: date | None = strawberry.field(description="Publication date.")
    language: str = strawberry.field(description="Its language (BCP 47).")
    source_type: SourceType = strawberry.field(description="Provenance: the type of source.")  # type: ignore[valid-type]
    doi: str | None = strawberry.field(description="DOI or handle, where there is one.")
    is_global: bool = strawberry.field(description="Global in scope (not tied to countries).")
    is_general: bool = strawberry.field(
        description="GENERAL: about migration governance as a whole (besides any objectives)."
    )
    is_superseded: bool = strawberry.field(
        description="A confirmed newer resource supersedes it (it ranks after its successors)."
    )
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    merged_at: datetime | None = strawberry.field(
        description="For a revision: when its content replaced the published one (UTC)."
    )
    db_id: strawberry.Private[int]
    author_id: strawberry.Private[int | None]
    organization_id: strawberry.Private[int | None]
    revision_of_id: strawberry.Private[int | None]
    # Filled by the page that loaded the resource (schema/resource_prefetch.py), else loaded
    # by the resolver. Relations: this resource's, and the rows of their ends by id.
    organization_at_hand: strawberry.Private[Organization | Missing | None] = MISSING
    objectives_at_hand: strawberry.Private[list[GcmObjective] | Missing] = MISSING
    relations_at_hand: strawberry.Private[RelationsAtHand | Missing] = MISSING

    @classmethod
    def from_row(cls, row: AnyRow) -> Resource:
        return cls(
            original=Original.of(TranslatableKind.RESOURCE, row),
            id=encode_id("Resource", row.id),
            db_id=row.id,
            author_id=row.author_id,
            organization_id=row.organization_id,
            revision_of_id=row.revision_of_id,
            kind=row.kind,
            link=row.link,
            publisher=row.publisher,
            published_on=row.published_on,
            language=row.language,
            source_type=row.source_type,
            doi=row.doi,
            is_global=row.is_global,
            is_general=row.is_general,
            is_superseded=row.supersession_depth > 0,
            created_at=row.created_at,
            merged_at=row.merged_at,
            **reviewable_fields(row),  # type: ignore[arg-type]
        )

    @strawberry.field(description="Who submitted it; null if the account is gone or hidden.")
    async def author(self, info: Info) -> Member | None:
        return await load_member(info, self.author_id) if self.author_id else None

    @strawberry.field(
        description="The organisation it was submitted for.", graphql_type=Organization | None
    )
    def organization(self, info: Info) -> AwaitableOrValue[Organization | None]:
        if not isinstance(self.organization_at_hand, Missing):
            return self.organization_at_hand
        if self.organization_id is None:
            return None
        return load_organization(info, self.organization_id)

    @strawberry.field(
        description="GCM objectives it addresses (empty when only GENERAL).",
        graphql_type=list[GcmObjective],
    )
    def objectives(self, info: Info) -> AwaitableOrValue[list[GcmObjective]]:
        if not isinstance(self.objectives_at_hand, Missing):
            return self.objectives_at_hand
        return self._load_objectives(info)

    async def _load_objectives(self, info: Info) -> list[GcmObjective]:
        numbers = await info.context.loaders.objectives_by_resource.load(self.db_id)
        return await objectives_of(info, numbers)

    @strawberry.field(description="Letters of the guiding principles it addresses.")
    async def principles(self, info: Info) -> list[str]:
        return await info.context.loaders.principles_by_resource.load(self.db_id)

    @strawberry.field(description="Countries it covers.")
    async def countries(self, info: Info) -> list[Country]:
        codes = await info.context.loaders.countries_by_resource.load(self.db_id)
        return [Country(code=c) for c in codes]

    @strawberry.field(description="UN M49 regions it covers.")
    async def regions(self, info: Info) -> list[Region]:
        codes = await info.context.loaders.regions_by_resource.load(self.db_id)
        regions = [REGION_NAMES[c] for c in codes if c in REGION_NAMES]
        return [Region(region=r, m49=r.value) for r in regions]

    @strawberry.field(description="Other languages it is available in (BCP 47).")
    async def other_languages(self, info: Info) -> list[str]:
        return await info.context.loaders.languages_by_resource.load(self.db_id)

    @strawberry.field(description="Cross-cutting themes (lower-case).")
    async def themes(self, info: Info) -> list[str]:
        return await info.context.loaders.themes_by_resource.load(self.db_id)

    def _related_now(
        self, info: Info, kind: RelationKindModel, incoming: bool
    ) -> AwaitableOrValue[list[RelatedResource]]:
        if not isinstance(self.relations_at_hand, Missing):
            return _related_from(self.db_id, *self.relations_at_hand, kind, incoming)
        return self._related(info, kind, incoming)

    async def _related(
        self, info: Info, kind: RelationKindModel, incoming: bool
    ) -> list[RelatedResource]:
        relations = await info.context.loaders.relations_by_resource.load(self.db_id)
        ids = [r.from_id if incoming else r.to_id for r in relations]
        rows = await info.context.loaders.resource_by_id.load_many(
            [
                i
                for r, i in zip(relations, ids, strict=True)
                if _ends_here(r, self.db_id, kind, incoming)
            ]
        )
        by_id = {row.id: row for row in rows if row is not None}
        return _related_from(self.db_id, relations, by_id, kind, incoming)

    @strawberry.field(
        description="Resources that supersede this one (confirmed).", graphql_type=list["Resource"]
    )
    def superseded_by(self, info: Info) -> AwaitableOrValue[list[Resource]]:
        return _resources(self._related_now(info, RelationKindModel.SUPERSEDES, True))

    @strawberry.field(
        description="Resources this one supersedes (confirmed).", graphql_type=list["Resource"]
    )
    def supersedes(self, info: Info) -> AwaitableOrValue[list[Resource]]:
        return _resources(self._related_now(info, RelationKindModel.SUPERSEDES, False))

    @strawberry.field(
        description="Resources that contradict this one, with the note saying how.",
        graphql_type=list[RelatedResource],
    )
    def contradicted_by(self, info: Info) -> AwaitableOrValue[list[RelatedResource]]:
        return self._related_now(info, RelationKindModel.CONTRADICTS, True)

    @strawberry.field(
        description="Resources this one contradicts, with the note.",
        graphql_type=list[RelatedResource],
    )
    def contradicts(self, info: Info) -> AwaitableOrValue[list[RelatedResource]]:
        return self._related_now(info, RelationKindModel.CONTRADICTS, False)

    @strawberry.field(description="Translations of this resource, and what it translates.")
    async def translations(self, info: Info) -> list[Resource]:
        both = await self._related(info, RelationKindModel.TRANSLATION_OF, True)
        both += await self._related(info, RelationKindModel.TRANSLATION_OF, False)
        return [r.resource for r in both]

    @strawberry.field(description="Every confirmed relation from or to this resource.")
    async def relations(self, info: Info) -> list[ResourceRelation]:
        rows = await info.context.loaders.relations_by_resource.load(self.db_id)
        return [ResourceRelation.from_row(r) for r in rows]

    @strawberry.field(description="For a revision: the published resource it revises.")
    async def revision_of(self, info: Info) -> Resource | None:
        if self.revision_of_id is None:
            return None
        return await load_resource(info, self.revision_of_id)

    @strawberry.field(description="Revisions (proposed edits) of this resource, newest first.")
    async def revisions(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[Resource]:
        page = await resources.revisions_page(
            info.context.db.reads,
            info.context.viewer,
            self.db_id,
            page_request(first, after, last, before),
        )
        return connection(page, Resource.from_row)

    @strawberry.field(
        description="Reviews, oldest first: for its author, its reviewers and moderators (empty "
        "for everyone else)."
    )
    async def reviews(self, info: Info) -> list[Review]:
        rows = await info.context.loaders.reviews_by_resource.load((self.db_id, self.author_id))
        return [Review.from_row(r) for r in rows]

    @strawberry.field(
        description="Assigned reviewers: for its author, its reviewers and moderators (empty "
        "for everyone else)."
    )
    async def reviewers(self, info: Info) -> list[Member]:
        ids = await info.context.loaders.reviewers_by_resource.load((self.db_id, self.author_id))
        members = [await load_member(info, i) for i in ids]
        return [m for m in members if m is not None]


# A resource's relations, and the rows of the resources at their ends by id.
RelationsAtHand = tuple[list[AnyRow], Mapping[int, AnyRow | None]]


def _ends_here(relation: AnyRow, resource_id: int, kind: RelationKindModel, incoming: bool) -> bool:
    end = relation.to_id if incoming else relation.from_id
    return bool(relation.kind is kind and end == resource_id)


def _related_from(
    resource_id: int,
    relations: list[AnyRow],
    by_id: Mapping[int, AnyRow | None],
    kind: RelationKindModel,
    incoming: bool,
) -> list[RelatedResource]:
    ends = [
        (r.from_id if incoming else r.to_id, r.note)
        for r in relations
        if _ends_here(r, resource_id, kind, incoming)
    ]
    rows = [by_id.get(i) for i, _ in ends]
    notes = {row.id: note for row, (_, note) in zip(rows, ends, strict=True) if row}
    # Superseded resources after their successors, as in every listing.
    return [
        RelatedResource(resource=Resource.from_row(row), note=notes[row.id])
        for row in resources.successors_first(rows)
    ]


def _resources(
    related: AwaitableOrValue[list[RelatedResource]],
) -> AwaitableOrValue[list[Resource]]:
    if isinstance(related, list):
        return [r.resource for r in related]

    async def later() -> list[Resource]:
        return [r.resource for r in await related]

    return later()


async def load_resource(info: Info, resource_id: int) -> Resource | None:
    row = await info.context.loaders.resource_by_id.load(resource_id)
    return Resource.from_row(row) if row is not None else None


def resource_key(global_id: str) -> int | None:
    return decode_int_id(global_id, "Resource")


REVIEW_KIND = ReviewItemKind.RESOURCE


@strawberry.input(description="Narrow the list of resources: every criterion given must match.")
class ResourceFilterInput:
    objectives: list[int] | None = strawberry.field(
        default=None, description="Any of these GCM objective numbers."
    )
    principles: list[str] | None = strawberry.field(
        default=None, description="Any of these guiding principles (letters a to j)."
    )
    kinds: list[ResourceKind] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Any of these kinds."
    )
    countries: list[str] | None = strawberry.field(
        default=None, description="Covering any of these countries (ISO 3166-1 alpha-2)."
    )
    regions: list[UnRegion] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Covering any of these UN regions."
    )
    languages: list[str] | None = strawberry.field(
        default=None, description="In (or available in) any of these languages (BCP 47)."
    )
    publisher: str | None = strawberry.field(
        default=None, description="Published by (case-insensitive, exact)."
    )
    states: list[ReviewState] | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Review states (default: APPROVED only). Beyond APPROVED you only ever get "
        "what you may see: your own items, items you review; moderators see all.",
    )
    published_from: date | None = strawberry.field(
        default=None, description="Published on or after this date."
    )
    published_until: date | None = strawberry.field(
        default=None, description="Published on or before this date."
    )


def resource_filter(filter: ResourceFilterInput | None, **fixed: object) -> ResourceFilter:
    if filter is None:
        return ResourceFilter(**fixed)  # type: ignore[arg-type]
    values: dict[str, object] = {
        "objectives": filter.objectives or (),
        "principles": filter.principles or (),
        "kinds": filter.kinds or (),
        "countries": filter.countries or (),
        "regions": filter.regions or (),
        "languages": filter.languages or (),
        "publisher": filter.publisher,
        "published_from": filter.published_from,
        "published_until": filter.published_until,
    }
    if filter.states:
        values["states"] = filter.states
    values.update(fixed)
    return ResourceFilter(**values)  # type: ignore[arg-type]


async def resolve_resources(
    info: Info,
    filter: Annotated[
        ResourceFilterInput | None, strawberry.argument(description="Narrow the list.")
    ] = None,
    order_by: Annotated[
        ResourceOrder,  # type: ignore[valid-type]
        strawberry.argument(description="Order of the list."),
    ] = ResourceOrderModel.NEWEST,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[Resource]:
    page = await resources.resources_page(
        info.context.db.reads,
        info.context.viewer,
        resource_filter(filter),
        order_by,
        page_request(first, after, last, before),
    )
    found = connection(page, Resource.from_row)
    await prefetch_resources(info, found.nodes, node_fields(info))
    return found


ResourceConnection = Connection[Resource]


async def resolve_resource(
    info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Global ID.")]
) -> Resource | None:
    key = resource_key(id)
    return await load_resource(info, key) if key is not None else None


# --- mutations --------------------------------------------------------------------------------


@strawberry.input(description="The content of a resource (a new draft, or an edit).")
class ResourceInput:
    title: str = strawberry.field(description="Title (at most 300 characters).")
    kind: ResourceKind = strawberry.field(description="What kind of resource.")  # type: ignore[valid-type]
    language: str = strawberry.field(description="Its language (BCP 47, such as en or es-MX).")
    source_type: SourceType = strawberry.field(description="Provenance: the type of source.")  # type: ignore[valid-type]
    summary: str = strawberry.field(default="", description="Short summary (at most 2,000).")
    body: str = strawberry.field(default="", description="Description, Markdown (at most 50,000).")
    link: str | None = strawberry.field(default=None, description="Where to get it (http(s)).")
    publisher: str = strawberry.field(default="", description="Who published it.")
    published_on: date | None = strawberry.field(default=None, description="Publication date.")
    doi: str | None = strawberry.field(default=None, description="DOI or handle.")
    is_global: bool = strawberry.field(
        default=False, description="Global in scope (else name countries or regions)."
    )
    is_general: bool = strawberry.field(
        default=False, description="GENERAL (else name at least one objective)."
    )
    objectives: list[int] = strawberry.field(
        default_factory=list, description="GCM objective numbers (at least one unless GENERAL)."
    )
    principles: list[str] = strawberry.field(
        default_factory=list, description="Guiding principles it addresses (letters a to j)."
    )
    countries: list[str] = strawberry.field(
        default_factory=list, description="Countries it covers (ISO 3166-1 alpha-2)."
    )
    regions: list[UnRegion] = strawberry.field(  # type: ignore[valid-type]
        default_factory=list, description="UN regions it covers."
    )
    other_languages: list[str] = strawberry.field(
        default_factory=list, description="Other languages it is available in (BCP 47)."
    )
    themes: list[str] = strawberry.field(
        default_factory=list, description="Cross-cutting themes (up to 10)."
    )

    def content(self) -> ResourceContent:
        return ResourceContent(
            title=self.title,
            kind=self.kind,
            language=self.language,
            source_type=self.source_type,
            summary=self.summary,
            body=self.body,
            link=self.link,
            publisher=self.publisher,
            published_on=self.published_on,
            doi=self.doi,
            is_global=self.is_global,
            is_general=self.is_general,
            objectives=self.objectives,
            principles=self.principles,
            countries=self.countries,
            regions=self.regions,
            other_languages=self.other_languages,
            themes=self.themes,
        )


@strawberry.input(description="Create a resource as a DRAFT (then `submitForReview`).")
class CreateResourceInput:
    resource: ResourceInput = strawberry.field(description="Its content.")


ResourceChangesInput = changes_input(ResourceInput, "ResourceChangesInput", "a resource")


@strawberry.input(
    description="Edit your resource: a draft or one whose changes were requested changes in "
    "place; a published one gets a revision, reviewed before it replaces the public content. "
    "Only the fields sent change."
)
class UpdateResourceInput:
    resource_id: strawberry.ID = strawberry.field(description="Global ID of the resource.")
    resource: ResourceChangesInput = strawberry.field(  # type: ignore[valid-type]
        description="The changes: fields left out stay as they are."
    )


@strawberry.type(description="Result of a change to a resource.")
class ResourcePayload:
    resource: Resource | None = strawberry.field(
        description="The resource after the change (for an edit of a published resource: the "
        "new revision)."
    )
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def _payload(result: resources.ResourceResult) -> ResourcePayload:
    return ResourcePayload(
        resource=Resource.from_row(result.resource) if result.resource is not None else None,
        errors=user_errors(result.problems),
    )


async def create_resource(
    info: Info, input: Annotated[CreateResourceInput, INPUT]
) -> ResourcePayload:
    result = await resources.create_resource(
        info.context.db.sessions, info.context.events, info.context.viewer, input.resource.content()
    )
    return _payload(result)


async def update_resource(
    info: Info, input: Annotated[UpdateResourceInput, INPUT]
) -> ResourcePayload:
    key = resource_key(input.resource_id)
    if key is None:
        return ResourcePayload(resource=None, errors=not_found("resourceId", "No such resource."))
    result = await resources.update_resource(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        key,
        sent_fields(input.resource),
    )
    return _payload(result)
