"""Where an author's edit of a resource or an initiative goes (in place, or a revision of a
published one), and revisions: an approved revision's content replaces the public one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.initiative import (
    Initiative,
    InitiativeCountry,
    InitiativeObjective,
    InitiativePartner,
    InitiativePrinciple,
    InitiativeRegion,
    InitiativeResource,
)
from models.reference import UnRegion
from models.resource import (
    Resource,
    ResourceCountry,
    ResourceLanguage,
    ResourceObjective,
    ResourcePrinciple,
    ResourceRegion,
    ResourceTheme,
)
from models.review import ReviewState
from resolvers.errors import ErrorCode, Problem, message_values
from resolvers.translations import mark_outdated
from resolvers.unit_of_work import Refused

# What a revision may change: the content, never the lifecycle or the relations.
CONTENT_FIELDS = (
    "title",
    "summary",
    "body",
    "kind",
    "link",
    "publisher",
    "published_on",
    "language",
    "source_type",
    "doi",
    "is_global",
    "is_general",
)
# Each "about" table and its value column.
ABOUT_TABLES = (
    (ResourceObjective, "objective_number"),
    (ResourcePrinciple, "principle_letter"),
    (ResourceCountry, "code"),
    (ResourceRegion, "m49"),
    (ResourceLanguage, "tag"),
    (ResourceTheme, "theme"),
)
# The fields of `ResourceContent` kept in those tables, in their order.
RESOURCE_ABOUT_FIELDS = (
    "objectives",
    "principles",
    "countries",
    "regions",
    "other_languages",
    "themes",
)


async def copy_about(session: AsyncSession, source_id: int, target_id: int) -> None:
    """Replace what `target` is about (objectives, countries, ...) with what `source` is."""
    for table, column in ABOUT_TABLES:
        value = getattr(table, column)
        await session.execute(delete(table).where(table.resource_id == target_id))
        rows = (
            await session.execute(select(value).where(table.resource_id == source_id))
        ).scalars()
        values = [{"resource_id": target_id, column: v} for v in rows]
        if values:
            await session.execute(insert(table), values)


async def merge_revision(session: AsyncSession, revision: Resource, now: datetime) -> None:
    """The approved `revision` becomes the published content of the resource it revises."""
    assert revision.revision_of_id is not None
    published = await session.get_one(Resource, revision.revision_of_id)
    for name in CONTENT_FIELDS:
        setattr(published, name, getattr(revision, name))
    await mark_outdated(session, published)
    published.reviewed_at = now
    published.review_by = revision.review_by
    revision.merged_at = now
    await copy_about(session, revision.id, published.id)


# --- initiatives ---------------------------------------------------------------------------

INITIATIVE_CONTENT_FIELDS = (
    "title",
    "summary",
    "lead_organization_id",
    "status",
    "starts_on",
    "ends_on",
    "results",
    "replicability",
    "is_global",
)
INITIATIVE_ABOUT_TABLES = (
    (InitiativeObjective, "objective_number"),
    (InitiativePrinciple, "principle_letter"),
    (InitiativeCountry, "code"),
    (InitiativeRegion, "m49"),
    (InitiativePartner, "organization_id"),
    (InitiativeResource, "resource_id"),
)
# The fields of `InitiativeContent` kept in those tables, in their order.
INITIATIVE_ABOUT_FIELDS = (
    "objectives",
    "principles",
    "countries",
    "regions",
    "partner_ids",
    "resource_ids",
)


async def merge_initiative_revision(
    session: AsyncSession, revision: Initiative, now: datetime
) -> None:
    """The approved `revision` becomes the published content of the initiative it revises
    (what it is about included); featured, call and lifecycle stay the published one's."""
    assert revision.revision_of_id is not None
    published = await session.get_one(Initiative, revision.revision_of_id)
    for name in INITIATIVE_CONTENT_FIELDS:
        setattr(published, name, getattr(revision, name))
    await mark_outdated(session, published)
    published.reviewed_at = now
    published.review_by = revision.review_by
    revision.merged_at = now
    for table, column in INITIATIVE_ABOUT_TABLES:
        value = getattr(table, column)
        await session.execute(delete(table).where(table.initiative_id == published.id))
        rows = (
            await session.execute(select(value).where(table.initiative_id == revision.id))
        ).scalars()
        values = [{"initiative_id": published.id, column: v} for v in rows]
        if values:
            await session.execute(insert(table), values)


# --- where an edit goes ----------------------------------------------------------------------

Revisable = TypeVar("Revisable", Resource, Initiative)
Content = TypeVar("Content")
EDITABLE = (ReviewState.DRAFT, ReviewState.CHANGES_REQUESTED)
OPEN = (*EDITABLE, ReviewState.SUBMITTED, ReviewState.IN_REVIEW)


async def edit_target(
    session: AsyncSession, item: Revisable, kind: str
) -> tuple[Revisable, Revisable]:
    """(where the author's edit of `item` is written, whose content it starts from).

    A draft, or an item whose changes were requested, is edited in place. An edit of a
    published item goes to its revision still being written (or whose changes were
    requested), else to a new DRAFT revision (not yet added to the session) that starts from
    the published content. One revision at a time: while one is in review, edits wait
    (CONFLICT), so no revision is reviewed against stale content. Anything else is refused."""
    if item.state in EDITABLE:
        return item, item
    if item.state is not ReviewState.APPROVED or item.revision_of_id is not None:
        raise Refused(
            Problem(
                None,
                "A {state} {kind} cannot be edited: withdraw it or wait for the review.",
                ErrorCode.INVALID_TRANSITION,
                values=message_values(state=item.state.value, kind=kind),
            )
        )
    model = type(item)
    current = await session.scalar(
        select(model).where(model.revision_of_id == item.id, model.state.in_(OPEN))
    )
    if current is None:
        revision = model(
            author_id=item.author_id, organization_id=item.organization_id, revision_of_id=item.id
        )
        return revision, item
    if current.state not in EDITABLE:
        raise Refused(
            Problem(
                f"{kind}Id",
                "A revision of this {kind} is {state}: wait for its review.",
                ErrorCode.CONFLICT,
                values=message_values(kind=kind, state=current.state.value),
            )
        )
    return current, current


async def stored_content(
    session: AsyncSession, item: Resource | Initiative, content_type: Callable[..., Content]
) -> Content:
    """The whole content of a stored resource or initiative (`content_type`: `ResourceContent`
    or `InitiativeContent`), what it is about included, each list sorted."""
    columns: Sequence[str]
    tables: Sequence[tuple[Any, str]]
    if isinstance(item, Resource):
        columns, tables, fields = CONTENT_FIELDS, ABOUT_TABLES, RESOURCE_ABOUT_FIELDS
        owner = "resource_id"
    else:
        columns, tables = INITIATIVE_CONTENT_FIELDS, INITIATIVE_ABOUT_TABLES
        fields, owner = INITIATIVE_ABOUT_FIELDS, "initiative_id"
    values = {name: getattr(item, name) for name in columns}
    for name, (table, column) in zip(fields, tables, strict=True):
        stored = await session.scalars(
            select(getattr(table, column)).where(getattr(table, owner) == item.id)
        )
        values[name] = sorted(stored)
    values["regions"] = [UnRegion(m49) for m49 in values["regions"]]  # kept by M49 code
    return content_type(**values)
