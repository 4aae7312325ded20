"""Revisions of published resources and initiatives: an approved revision's content replaces
the public one."""

from __future__ import annotations

from datetime import datetime

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
from models.resource import (
    Resource,
    ResourceCountry,
    ResourceLanguage,
    ResourceObjective,
    ResourcePrinciple,
    ResourceRegion,
    ResourceTheme,
)

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


async def merge_initiative_revision(
    session: AsyncSession, revision: Initiative, now: datetime
) -> None:
    """The approved `revision` becomes the published content of the initiative it revises
    (what it is about included); featured, call and lifecycle stay the published one's."""
    assert revision.revision_of_id is not None
    published = await session.get_one(Initiative, revision.revision_of_id)
    for name in INITIATIVE_CONTENT_FIELDS:
        setattr(published, name, getattr(revision, name))
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
