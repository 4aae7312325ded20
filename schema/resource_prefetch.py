"""What a page of resources' fields will ask for, loaded by the page (schema/prefetch.py): the
organisations, the objectives and the relations with the resources at their other ends, one
batch per loader, so that the resources' resolvers answer without a task each."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from models.db import AnyRow
from schema.context import Info
from schema.organizations import Organization
from schema.prefetch import load_at_hand
from schema.reference import GcmObjective

if TYPE_CHECKING:
    from schema.resources import Resource

RELATION_FIELDS = frozenset({"supersedes", "supersededBy", "contradictedBy", "contradicts"})


def _other_ends(resource_id: int, relations: Iterable[AnyRow]) -> Iterable[int]:
    for relation in relations:
        if relation.to_id == resource_id:
            yield relation.from_id
        if relation.from_id == resource_id:
            yield relation.to_id


async def prefetch_resources(info: Info, page: list[Resource], wanted: frozenset[str]) -> None:
    """Fill the page's resources' values at hand for the fields `wanted` of them."""
    loaders = info.context.loaders
    ids = [r.db_id for r in page]
    related = bool(wanted & RELATION_FIELDS)
    organizations, objectives, relations = await asyncio.gather(
        load_at_hand(
            loaders.organization_by_id,
            (r.organization_id for r in page if "organization" in wanted),
        ),
        load_at_hand(loaders.objectives_by_resource, ids if "objectives" in wanted else ()),
        load_at_hand(loaders.relations_by_resource, ids if related else ()),
    )
    numbers = (n for found in objectives.values() for n in found)
    ends = (e for i, found in relations.items() for e in _other_ends(i, found))
    objective_rows, end_rows = await asyncio.gather(
        load_at_hand(loaders.objective_by_number, numbers),
        load_at_hand(loaders.resource_by_id, ends),
    )
    for resource in page:
        if "organization" in wanted:
            row = organizations.get(resource.organization_id)  # type: ignore[arg-type]
            resource.organization_at_hand = Organization.from_row(row) if row else None
        if "objectives" in wanted:
            rows = (objective_rows.get(n) for n in objectives[resource.db_id])
            resource.objectives_at_hand = [GcmObjective.from_row(r) for r in rows if r]
        if related:
            resource.relations_at_hand = (relations[resource.db_id], end_rows)
