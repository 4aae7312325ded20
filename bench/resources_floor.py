"""The floor of the resources page: `resources_page.QUERY` answered without GraphQL.

A hand-written Starlette app (built by `floor.floor_app`: the hub's engine settings, middleware
and uvicorn options) that answers `POST /graphql` with exactly the JSON the hub returns for one
page of resources filtered by an objective, running the same SQL as the hub's resolvers and
DataLoaders: the keyset page through the visibility policy (`ORDER BY currency DESC,
created_at DESC, id DESC LIMIT 51`), then, concurrently as the three DataLoader batches are,
the page's objective numbers, its organisations and its confirmed relations; then, again
concurrently, the objectives' rows and the related resources (through the policy). In signed-in
runs it first runs the token lookup.

Run by `resources_page.py` as `python bench/resources_floor.py --port N`, served like `hub serve`.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from floor import MEDIA_TYPE, cursor_for, floor_app, global_id, serve, token_statement
from sqlalchemy import or_, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.settings import Settings
from models.db import AnyRow, AnySelect, Database
from models.organization import Organization
from models.reference import GcmObjective
from models.resource import (
    RelationKind,
    RelationStatus,
    Resource,
    ResourceObjective,
    ResourceRelation,
)
from resolvers import policy
from resolvers.organizations import ORGANIZATION_COLUMNS
from resolvers.reference import OBJECTIVE_COLUMNS
from resolvers.relations import RELATION_COLUMNS
from resolvers.resources import (
    ORDERS,
    RESOURCE_COLUMNS,
    ResourceFilter,
    ResourceOrder,
    filtered_resources,
)

PAGE_SIZE = 50
NEWEST = ORDERS[ResourceOrder.NEWEST]
# What the hub reports for the resources page query (schema/cost.py).
RESOURCES_PAGE_COST = {"cost": {"requested": 1104, "maximum": 10_000}}


# --- the SQL: the statements the hub's resolvers and loaders send ---------------------------


def page_statement(viewer: policy.Viewer, objective: int) -> AnySelect:
    """`resolvers.resources.resources_page` through `fetch_page`: keyset, one extra row."""
    statement = filtered_resources(viewer, ResourceFilter(objectives=[objective]))
    order = [c.desc() for c in NEWEST.columns]
    return statement.order_by(*order).limit(PAGE_SIZE + 1)


def objective_numbers_statement(ids: list[int]) -> AnySelect:
    """`resolvers.batching.values_by_owner` for `objectives_by_resource`."""
    return select(ResourceObjective.resource_id, ResourceObjective.objective_number).where(
        ResourceObjective.resource_id.in_(ids)
    )


def organizations_statement(viewer: policy.Viewer, ids: list[int]) -> AnySelect:
    """`resolvers.organizations.organizations_by_ids`."""
    visible = select(*ORGANIZATION_COLUMNS).where(policy.visible_organizations(viewer))
    return visible.where(Organization.id.in_(ids))


def relations_statement(viewer: policy.Viewer, ids: list[int]) -> AnySelect:
    """`resolvers.relations.relations_by_resource`: confirmed, both ends visible."""
    return (
        select(*RELATION_COLUMNS)
        .where(
            ResourceRelation.status == RelationStatus.CONFIRMED,
            policy.visible_relations(viewer),
            or_(ResourceRelation.from_id.in_(ids), ResourceRelation.to_id.in_(ids)),
        )
        .order_by(ResourceRelation.id)
    )


def objectives_statement(numbers: list[int]) -> AnySelect:
    """`resolvers.reference.objectives_by_numbers`."""
    return select(*OBJECTIVE_COLUMNS).where(GcmObjective.number.in_(numbers))


def resources_statement(viewer: policy.Viewer, ids: list[int]) -> AnySelect:
    """`resolvers.resources.resources_by_ids` (the related resources)."""
    return select(*RESOURCE_COLUMNS).where(Resource.id.in_(ids), policy.visible_resources(viewer))


# --- the JSON ------------------------------------------------------------------------------


def related(
    row: AnyRow,
    relations: Sequence[AnyRow],
    kind: RelationKind,
    others: dict[int, AnyRow],
    incoming: bool,
) -> list[tuple[AnyRow, str]]:
    """The resources related to `row` by `kind` (it is their `to` when `incoming`, else their
    `from`), with the notes: `Resource._related`."""
    ends = [
        (r.from_id if incoming else r.to_id, r.note)
        for r in relations
        if r.kind is kind and (r.to_id if incoming else r.from_id) == row.id
    ]
    return [(others[i], note) for i, note in ends if i in others]


def edge_json(
    row: AnyRow,
    numbers: dict[int, list[int]],
    objectives: dict[int, AnyRow],
    organizations: dict[int, AnyRow],
    relations: dict[int, list[AnyRow]],
    others: dict[int, AnyRow],
) -> dict[str, Any]:
    organization = organizations.get(row.organization_id) if row.organization_id else None
    mine = relations.get(row.id, [])
    node = {
        "id": global_id("Resource", row.id),
        "title": row.title,
        "kind": row.kind.value,
        "publishedOn": row.published_on.isoformat() if row.published_on else None,
        "objectives": [
            {"number": o.number, "shortTitle": o.short_title}
            for o in (objectives.get(n) for n in sorted(numbers.get(row.id, [])))
            if o is not None
        ],
        "organization": {
            "id": global_id("Organization", organization.id),
            "name": organization.name,
            "kind": organization.kind.value,
        }
        if organization
        else None,
        "supersedes": [
            {"id": global_id("Resource", r.id), "title": r.title}
            for r, _ in related(row, mine, RelationKind.SUPERSEDES, others, incoming=False)
        ],
        "contradictedBy": [
            {"note": note, "resource": {"id": global_id("Resource", r.id), "title": r.title}}
            for r, note in related(row, mine, RelationKind.CONTRADICTS, others, incoming=True)
        ],
    }
    key = (row.currency, row.created_at.isoformat(), row.id)
    return {"cursor": cursor_for(NEWEST.listing, *key), "node": node}


# --- the endpoint --------------------------------------------------------------------------


class ResourcesFloor:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.secret_key = settings.secret_key.get_secret_value().encode()
        self.db = db

    async def all(self, statement: AnySelect) -> Sequence[AnyRow]:
        async with self.db.engine.connect() as connection:
            return (await connection.execute(statement)).all()

    async def viewer(self, request: Request) -> policy.Viewer:
        header = request.headers.get("authorization")
        if header is None:
            return policy.ANONYMOUS
        token = header.partition(" ")[2].strip()
        rows = await self.all(token_statement(self.secret_key, token))
        if not rows:
            raise PermissionError("invalid token")
        token_id, member_id, role, organization_id = rows[0]
        return policy.Viewer(member_id, role, organization_id, token_id)

    async def page(self, viewer: policy.Viewer, objective: int) -> dict[str, Any]:
        rows = await self.all(page_statement(viewer, objective))
        page = rows[:PAGE_SIZE]
        ids = [r.id for r in page]
        organization_ids = list(dict.fromkeys(r.organization_id for r in page if r.organization_id))
        number_rows, organization_rows, relation_rows = await asyncio.gather(
            self.all(objective_numbers_statement(ids)) if ids else _nothing(),
            self.all(organizations_statement(viewer, organization_ids))
            if organization_ids
            else _nothing(),
            self.all(relations_statement(viewer, ids)) if ids else _nothing(),
        )
        numbers: dict[int, list[int]] = defaultdict(list)
        for resource_id, number in number_rows:
            numbers[resource_id].append(number)
        relations: dict[int, list[AnyRow]] = defaultdict(list)
        for relation in relation_rows:
            for end in (relation.from_id, relation.to_id):
                if end in ids:
                    relations[end].append(relation)
        wanted_numbers = sorted({n for values in numbers.values() for n in values})
        # What the `resource_by_id` loader batches, in the order the fields ask for them.
        other_ids = list(
            dict.fromkeys(
                [
                    r.to_id
                    for r in relation_rows
                    if r.kind is RelationKind.SUPERSEDES and r.from_id in ids
                ]
                + [
                    r.from_id
                    for r in relation_rows
                    if r.kind is RelationKind.CONTRADICTS and r.to_id in ids
                ]
            )
        )
        objective_rows, other_rows = await asyncio.gather(
            self.all(objectives_statement(wanted_numbers)) if wanted_numbers else _nothing(),
            self.all(resources_statement(viewer, other_ids)) if other_ids else _nothing(),
        )
        objectives = {o.number: o for o in objective_rows}
        organizations = {o.id: o for o in organization_rows}
        others = {o.id: o for o in other_rows}
        edges = [
            edge_json(row, numbers, objectives, organizations, relations, others) for row in page
        ]
        page_info = {
            "hasNextPage": len(rows) > PAGE_SIZE,
            "endCursor": edges[-1]["cursor"] if edges else None,
        }
        return {"edges": edges, "pageInfo": page_info}

    async def endpoint(self, request: Request) -> Response:
        body = json.loads(await request.body())
        variables = body.get("variables") if isinstance(body, dict) else None
        if not isinstance(variables, dict) or not isinstance(variables.get("objective"), int):
            return JSONResponse({"errors": [{"message": "bad request"}]}, status_code=400)
        try:
            viewer = await self.viewer(request)
        except PermissionError:
            return JSONResponse({"errors": [{"message": "unauthenticated"}]}, status_code=401)
        page = await self.page(viewer, variables["objective"])
        payload = json.dumps(
            {"data": {"resources": page}, "extensions": RESOURCES_PAGE_COST}, separators=(",", ":")
        ).encode()
        return Response(payload, media_type=MEDIA_TYPE)


async def _nothing() -> Sequence[AnyRow]:
    return ()


def create_app() -> Starlette:
    return floor_app(lambda settings, db: ResourcesFloor(settings, db).endpoint)


if __name__ == "__main__":
    serve("resources_floor:create_app", __doc__.splitlines()[0] if __doc__ else None)
