"""`resources(filter, orderBy, first, after)`: a page of resources with their organisations,
objectives, relations (and the resources at their other ends) and their titles' translations,
in one statement.

The statement is the resolvers' reads, each with its own policy predicate, as sections of one
`UNION ALL` (a section per read, its rows told apart by `sec`; columns a section does not
have are NULL): the page as `resources.resources_page` reads it (`resources.filtered_resources`:
`policy.visible_resources` and the filters, keyset `resources.ORDERS[order]`, one row more than
the page) with its organisations joined as `organizations.organizations_by_ids` reads them
(`policy.visible_organizations`); the objectives as `resources.objectives_by_resource` and
`reference.objectives_by_numbers`; the confirmed relations as `relations.relations_by_resource`
(`policy.visible_relations`); the resources at their ends as `resources.resources_by_ids`
(`policy.visible_resources`); the titles' translations as `translations.translations_by_items`
(`policy.visible_translations`); and the viewer's declared languages as
`members.languages_by_member` when the request names none (`Context.languages`).

It is built once per kind of viewer (resolvers/compiled/viewers.py), filter, order and
selection; each request binds its page size, cursor and member."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.types import TypeEngine

from models.db import AnyRow
from models.member import MemberLanguage, Role
from models.organization import Organization
from models.reference import GcmObjective
from models.resource import RelationStatus, Resource, ResourceObjective, ResourceRelation
from models.translation import TranslatableKind, Translation
from resolvers import policy
from resolvers.compiled.viewers import VIEWER_ID, binds_viewer, parametric, viewer_parameters
from resolvers.organizations import visible_organization_rows
from resolvers.pagination import PageRequest
from resolvers.policy import Viewer
from resolvers.resources import ORDERS, RESOURCE_COLUMNS, ResourceFilter, ResourceOrder
from resolvers.resources import filtered_resources as filtered

PAGE_LIMIT = bindparam("compiled_page_limit", type_=Integer)

# The sections of the statement, in the order of their rows.
PAGE, OBJECTIVE, RELATION, END, TRANSLATION, LANGUAGE = range(6)
RESOURCE_FIELDS = (
    "id", "title", "title_key", "kind", "link", "publisher", "published_on", "language",
    "source_type", "doi", "is_global", "is_general", "supersession_depth", "currency",
    "created_at", "reviewed_at", "merged_at", "organization_id",
)  # fmt: skip
ORGANIZATION_FIELDS = ("id", "name", "kind", "country", "created_at")


def _slots() -> dict[str, TypeEngine[Any]]:
    """Every column of the union, with its type (a section's absent columns: typed NULLs)."""
    table = Resource.__table__.c
    slots: dict[str, TypeEngine[Any]] = {"sec": Integer(), "owner": Integer(), "pos": Integer()}
    slots |= {name: table[name].type for name in RESOURCE_FIELDS}
    slots |= {"org_" + n: Organization.__table__.c[n].type for n in ORGANIZATION_FIELDS}
    slots |= {
        "number": GcmObjective.__table__.c.number.type,
        "short_title": GcmObjective.__table__.c.short_title.type,
        "from_id": ResourceRelation.__table__.c.from_id.type,
        "to_id": ResourceRelation.__table__.c.to_id.type,
        "relation_kind": ResourceRelation.__table__.c.kind.type,
        "note": ResourceRelation.__table__.c.note.type,
        "tr_language": Translation.__table__.c.language.type,
        "tr_text": Translation.__table__.c.text.type,
        "tr_status": Translation.__table__.c.status.type,
        "tag": MemberLanguage.__table__.c.tag.type,
    }
    return slots


SLOTS = _slots()


@dataclass(frozen=True)
class ResourcesReads:
    """What of a page of resources a compiled document selects."""

    criteria: ResourceFilter  # lists as tuples
    order: ResourceOrder
    page: PageRequest
    organizations: bool = False
    objectives: bool = False
    relations: bool = False
    titles: bool = False  # a title is selected (of the page's resources or their ends)


@dataclass(frozen=True)
class _Kind:
    signed_in: bool
    role: Role | None
    criteria: ResourceFilter
    order: ResourceOrder
    after: bool
    organizations: bool
    objectives: bool
    relations: bool
    translations: bool
    languages: bool


@dataclass(frozen=True)
class Statement:
    select: Select[Any]
    binds_viewer: bool


def _section(sec: int, **values: Any) -> Select[Any]:
    """One section's select: its values, and typed NULLs for the other columns."""
    columns = []
    for name, type_ in SLOTS.items():
        value = literal_column(str(sec), Integer()) if name == "sec" else values.get(name)
        columns.append((cast(null(), type_) if value is None else value).label(name))
    return select(*columns)


def _after(kind: _Kind) -> list[Any]:
    return [
        bindparam(f"compiled_after_{i}", type_=c.type)
        for i, c in enumerate(ORDERS[kind.order].columns)
    ]


def _page(viewer: Viewer, kind: _Kind) -> Any:
    """`resources.resources_page`'s statement, forwards, with each row's place (`pos`)."""
    keyset = ORDERS[kind.order]
    order = [c.desc() if keyset.descending else c.asc() for c in keyset.columns]
    statement = filtered(viewer, kind.criteria)
    if kind.after:
        columns, bound = tuple_(*keyset.columns), tuple_(*_after(kind))
        statement = statement.where(columns < bound if keyset.descending else columns > bound)
    statement = statement.add_columns(func.row_number().over(order_by=order).label("pos"))
    return statement.order_by(*order).limit(PAGE_LIMIT).cte("page")


def _resource_values(rows: Any) -> dict[str, Any]:
    return {name: rows.c[name] for name in RESOURCE_FIELDS}


def _page_section(viewer: Viewer, page: Any, kind: _Kind) -> Select[Any]:
    values = _resource_values(page) | {"owner": page.c.id, "pos": page.c.pos}
    if not kind.organizations:
        return _section(PAGE, **values).select_from(page)
    seen = visible_organization_rows(viewer).subquery("o")
    values |= {"org_" + n: seen.c[n] for n in ORGANIZATION_FIELDS}
    joined = page.outerjoin(seen, seen.c.id == page.c.organization_id)
    return _section(PAGE, **values).select_from(joined)


def _objectives(page: Any) -> Select[Any]:
    """The page's objectives with their rows (an objective without one is left out)."""
    return _section(
        OBJECTIVE,
        owner=ResourceObjective.resource_id,
        pos=ResourceObjective.objective_number,
        number=GcmObjective.number,
        short_title=GcmObjective.short_title,
    ).where(
        ResourceObjective.resource_id.in_(select(page.c.id)),
        GcmObjective.number == ResourceObjective.objective_number,
    )


def _relations(viewer: Viewer, page: Any) -> Any:
    """`relations.relations_by_resource` over the page's resources. (From or to the page:
    as two index lookups, whose few rows PostgreSQL's planner then foresees, where an `OR`
    of two `IN`s read every relation and every resource.)"""
    ids = select(page.c.id)
    near = union(
        select(ResourceRelation.id).where(ResourceRelation.from_id.in_(ids)),
        select(ResourceRelation.id).where(ResourceRelation.to_id.in_(ids)),
    )
    return (
        select(
            ResourceRelation.id,
            ResourceRelation.from_id,
            ResourceRelation.to_id,
            ResourceRelation.kind,
            ResourceRelation.note,
        )
        .where(
            ResourceRelation.status == RelationStatus.CONFIRMED,
            policy.visible_relations(viewer),
            ResourceRelation.id.in_(near),
        )
        .cte("rel")
    )


def _ends(viewer: Viewer, relations: Any) -> Any:
    """`resources.resources_by_ids` over the relations' ends."""
    ends = select(relations.c.from_id).union(select(relations.c.to_id))
    return (
        select(*RESOURCE_COLUMNS)
        .where(Resource.id.in_(ends), policy.visible_resources(viewer))
        .cte("ends")
    )


def _translations(viewer: Viewer, items: Sequence[Any]) -> Select[Any]:
    """`translations.translations_by_items` of the titles of these resources."""
    return _section(
        TRANSLATION,
        owner=Translation.item_id,
        tr_language=Translation.language,
        tr_text=Translation.text,
        tr_status=Translation.status,
    ).where(
        Translation.kind == TranslatableKind.RESOURCE,
        Translation.field == "title",
        Translation.item_id.in_(items[0] if len(items) == 1 else items[0].union(*items[1:])),
        policy.visible_translations(viewer),
    )


def _languages() -> Select[Any]:
    """`members.languages_by_member` for the viewer."""
    return _section(LANGUAGE, pos=MemberLanguage.position, tag=MemberLanguage.tag).where(
        MemberLanguage.member_id == VIEWER_ID
    )


@lru_cache(maxsize=256)
def _statement(kind: _Kind) -> Statement:
    """The union of the selected sections, rows by section and place. Raises ClientError for a
    filter the resolver refuses."""
    viewer = parametric(kind.signed_in, kind.role)
    page = _page(viewer, kind)
    sections = [_page_section(viewer, page, kind)]
    items: list[Any] = [select(page.c.id)]
    if kind.objectives:
        sections.append(_objectives(page))
    if kind.relations:
        relations = _relations(viewer, page)
        ends = _ends(viewer, relations)
        sections.append(
            _section(
                RELATION,
                owner=relations.c.id,
                pos=relations.c.id,
                from_id=relations.c.from_id,
                to_id=relations.c.to_id,
                relation_kind=relations.c.kind,
                note=relations.c.note,
            ).select_from(relations)
        )
        sections.append(_section(END, owner=ends.c.id, **_resource_values(ends)).select_from(ends))
        items.append(select(ends.c.id))
    if kind.translations:
        sections.append(_translations(viewer, items))
    if kind.languages:
        sections.append(_languages())
    union = union_all(*sections).subquery("sections")
    statement = select(union).order_by(union.c.sec, union.c.pos)
    return Statement(statement, binds_viewer(statement))


def statement_of(viewer: Viewer, reads: ResourcesReads, languages_named: bool) -> Statement:
    """The statement for this viewer's kind and selection (ClientError: a refused filter).
    `languages_named`: the request names its languages (else a member's declared ones)."""
    signed_in = viewer.is_signed_in
    kind = _Kind(
        signed_in=signed_in,
        role=viewer.role if signed_in else None,
        criteria=reads.criteria,
        order=reads.order,
        after=reads.page.after is not None,
        organizations=reads.organizations,
        objectives=reads.objectives,
        relations=reads.relations,
        translations=reads.titles and (signed_in or languages_named),
        languages=reads.titles and signed_in and not languages_named,
    )
    return _statement(kind)


def parameters(statement: Statement, viewer: Viewer, reads: ResourcesReads) -> dict[str, Any]:
    values: dict[str, Any] = {PAGE_LIMIT.key: reads.page.size + 1}
    if reads.page.after is not None:
        after = ORDERS[reads.order].values(reads.page.after)
        values |= {f"compiled_after_{i}": v for i, v in enumerate(after)}
    return values | viewer_parameters(statement.binds_viewer, viewer)


async def read_resources(
    sessions: async_sessionmaker[AsyncSession],
    statement: Statement,
    viewer: Viewer,
    reads: ResourcesReads,
) -> Sequence[AnyRow]:
    """The sections' rows, in one short session."""
    async with sessions() as session:
        result = await session.execute(statement.select, parameters(statement, viewer, reads))
        return list(result.all())


def keyset_values(order: ResourceOrder, row: AnyRow) -> tuple[Any, ...]:
    """A page row's values of the order's keyset columns (its cursor's)."""
    return tuple(row._mapping[c.key] for c in ORDERS[order].columns)
