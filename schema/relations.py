"""Relations between resources in GraphQL: proposing, confirming or rejecting them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from models.db import AnyRow
from models.resource import RelationKind as RelationKindModel
from models.resource import RelationStatus as RelationStatusModel
from resolvers import relations
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
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

if TYPE_CHECKING:
    from schema.resources import Resource

RelationKind = described_enum(
    RelationKindModel,
    "How one resource relates to another (`from` KIND `to`).",
    {
        "SUPERSEDES": "`from` replaces `to`, which ranks after it everywhere.",
        "CONTRADICTS": "`from` contradicts `to` (the note says how).",
        "CORRECTS": "`from` corrects `to`.",
        "UPDATES": "`from` updates `to` (new data, new edition).",
        "TRANSLATION_OF": "`from` is a translation of `to`.",
        "RELATED": "They are related.",
    },
)
RelationStatus = described_enum(
    RelationStatusModel,
    "Whether a proposed relation holds.",
    {
        "PROPOSED": "Proposed by a member, waiting for a reviewer or moderator.",
        "CONFIRMED": "Confirmed: shown on both resources.",
        "REJECTED": "Rejected.",
    },
)
LazyResource = Annotated["Resource", strawberry.lazy("schema.resources")]


@strawberry.type(description="A relation between two resources: `from` KIND `to`.")
class ResourceRelation(Node):
    kind: RelationKind = strawberry.field(description="How they relate.")  # type: ignore[valid-type]
    status: RelationStatus = strawberry.field(description="Whether it holds.")  # type: ignore[valid-type]
    note: str = strawberry.field(description="Why (for CONTRADICTS: how they disagree).")
    created_at: datetime = strawberry.field(description="When it was proposed (UTC).")
    decided_at: datetime | None = strawberry.field(description="When it was decided (UTC).")
    from_id: strawberry.Private[int]
    to_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AnyRow) -> ResourceRelation:
        return cls(
            id=encode_id("ResourceRelation", row.id),
            from_id=row.from_id,
            to_id=row.to_id,
            kind=row.kind,
            status=row.status,
            note=row.note,
            created_at=row.created_at,
            decided_at=row.decided_at,
        )

    @strawberry.field(name="from", description="The resource the relation starts from.")
    async def from_(self, info: Info) -> LazyResource | None:
        from schema.resources import load_resource

        return await load_resource(info, self.from_id)

    @strawberry.field(description="The resource the relation points to.")
    async def to(self, info: Info) -> LazyResource | None:
        from schema.resources import load_resource

        return await load_resource(info, self.to_id)


async def load_relation(info: Info, relation_id: int) -> ResourceRelation | None:
    row = await info.context.loaders.relation_by_id.load(relation_id)
    return ResourceRelation.from_row(row) if row is not None else None


@strawberry.input(description="Propose that one resource relates to another.")
class ProposeRelationInput:
    from_id: strawberry.ID = strawberry.field(description="The resource the relation starts from.")
    to_id: strawberry.ID = strawberry.field(description="The resource it points to.")
    kind: RelationKind = strawberry.field(description="How they relate.")  # type: ignore[valid-type]
    note: str = strawberry.field(default="", description="Why (at most 2,000 characters).")


@strawberry.input(description="Confirm or reject a proposed relation.")
class DecideRelationInput:
    relation_id: strawberry.ID = strawberry.field(description="Global ID of the relation.")
    confirm: bool = strawberry.field(description="True confirms it, false rejects it.")


@strawberry.type(description="Result of a change to a relation.")
class RelationPayload:
    relation: ResourceRelation | None = strawberry.field(description="The relation after it.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


def _payload(result: relations.RelationResult) -> RelationPayload:
    relation = ResourceRelation.from_row(result.relation) if result.relation is not None else None
    return RelationPayload(relation=relation, errors=user_errors(result.problems))


async def propose_relation(
    info: Info, input: Annotated[ProposeRelationInput, INPUT]
) -> RelationPayload:
    from_key = decode_int_id(input.from_id, "Resource")
    to_key = decode_int_id(input.to_id, "Resource")
    if from_key is None or to_key is None:
        field = "fromId" if from_key is None else "toId"
        return RelationPayload(relation=None, errors=not_found(field, "No such resource."))
    result = await relations.propose_relation(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        from_key,
        to_key,
        input.kind,
        input.note,
    )
    return _payload(result)


async def decide_relation(
    info: Info, input: Annotated[DecideRelationInput, INPUT]
) -> RelationPayload:
    key = decode_int_id(input.relation_id, "ResourceRelation")
    if key is None:
        return RelationPayload(
            relation=None, errors=not_found("relationId", "No such proposed relation.")
        )
    result = await relations.decide_relation(
        info.context.db.sessions, info.context.events, info.context.viewer, key, input.confirm
    )
    return _payload(result)


async def resolve_relation_proposals(
    info: Info,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[ResourceRelation] | None:
    page = await relations.proposals_page(
        info.context.db.reads, info.context.viewer, page_request(first, after, last, before)
    )
    return connection(page, ResourceRelation.from_row) if page is not None else None
