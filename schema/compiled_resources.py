"""A compiled `resources(filter:, orderBy:, first:, after:)`: its plan for a request
(`plan_resources`), the values it answers from (the sections of resolvers/compiled/resources.py)
and what each field gives, as the executor's types do (schema/resources.py,
schema/resource_prefetch.py, schema/translations.py's `title`, schema/reference.py).

Supported: `edges { cursor node }`, `nodes`, `pageInfo`; a resource's `id title kind link
publisher publishedOn language sourceType doi isGlobal isGeneral isSuperseded createdAt
mergedAt organization objectives { id number shortTitle } supersedes supersededBy
contradictedBy contradicts { note resource }`; the resources at a relation's other end answer
the same plain fields (not their own organisation, objectives or relations). Not: `last`/
`before`, `totalCount`, any other field (summaries, bodies, reviews, `titleText`, ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLSchema

from models.db import AnyRow
from models.resource import RelationKind
from models.translation import TranslationStatus
from resolvers.compiled.resources import (
    END,
    LANGUAGE,
    OBJECTIVE,
    PAGE,
    RELATION,
    TRANSLATION,
    ResourcesReads,
    Statement,
    keyset_values,
    read_resources,
    statement_of,
)
from resolvers.errors import ClientError
from resolvers.languages import (
    LocalizedValue,
    TranslatedText,
    best_text,
    preferences,
    prefers_original,
)
from resolvers.members import in_preference_order
from resolvers.pagination import PageRequest, encode_cursor
from resolvers.resources import ORDERS, ResourceOrder, successors_first
from schema.compiled_fields import Asking, RootField, argument, frozen, input_of, names_under
from schema.compiled_members import COUNTRY, ORGANIZATION, PAGE_INFO, OrganizationValue
from schema.context import Context
from schema.relay import encode_id
from schema.resources import ResourceFilterInput, resource_filter

if TYPE_CHECKING:
    from schema.compiled import Selected

RELATION_FIELDS = {
    "supersedes": (RelationKind.SUPERSEDES, False),
    "supersededBy": (RelationKind.SUPERSEDES, True),
    "contradictedBy": (RelationKind.CONTRADICTS, True),
    "contradicts": (RelationKind.CONTRADICTS, False),
}


@dataclass
class ObjectiveValue:
    number: int
    short_title: str


@dataclass
class ResourceValue:
    row: AnyRow
    title: str  # as the request reads it
    cursor: str = ""
    organization: OrganizationValue | None = None
    objectives: list[ObjectiveValue] = field(default_factory=list)
    related: dict[str, list[RelatedValue]] = field(default_factory=dict)


@dataclass
class RelatedValue:
    resource: ResourceValue
    note: str


@dataclass
class ResourcesPageValue:
    members: list[ResourceValue]  # `members`: the name PAGE_INFO reads
    has_next_page: bool
    has_previous_page: bool


@dataclass
class _Sections:
    """The statement's rows by section."""

    page: list[AnyRow] = field(default_factory=list)
    objectives: dict[int, list[ObjectiveValue]] = field(default_factory=dict)
    relations: list[AnyRow] = field(default_factory=list)
    ends: dict[int, AnyRow] = field(default_factory=dict)
    texts: dict[int, list[TranslatedText]] = field(default_factory=dict)
    declared: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def of(cls, rows: Sequence[AnyRow]) -> _Sections:
        found = cls()
        for row in rows:
            if row.sec == PAGE:
                found.page.append(row)
            elif row.sec == OBJECTIVE:
                objective = ObjectiveValue(row.number, row.short_title)
                found.objectives.setdefault(row.owner, []).append(objective)
            elif row.sec == RELATION:
                found.relations.append(row)
            elif row.sec == END:
                found.ends[row.id] = row
            elif row.sec == TRANSLATION:
                text = TranslatedText(row.tr_language, row.tr_text, row.tr_status)
                found.texts.setdefault(row.owner, []).append(text)
            elif row.sec == LANGUAGE:
                found.declared.append((row.pos, row.tag))
        return found


def _title(row: AnyRow, wanted: Sequence[str], texts: Mapping[int, list[TranslatedText]]) -> str:
    """schema.translations' `text_field("title")`: the best text for the request."""
    if not wanted or prefers_original(row.language, wanted):
        return str(row.title)
    original = LocalizedValue(row.title, row.language, TranslationStatus.ORIGINAL)
    return best_text(original, texts.get(row.id, []), wanted).text


def _related(
    resource_id: int,
    relations: Sequence[AnyRow],
    ends: Mapping[int, ResourceValue],
    kind: RelationKind,
    incoming: bool,
) -> list[RelatedValue]:
    """schema.resources' `_related_from`: the ends of the resource's relations of `kind`, in
    the relations' order, superseded ones after their successors, each with its note."""
    pairs = [
        (r.from_id if incoming else r.to_id, r.note)
        for r in relations
        if r.relation_kind is kind and (r.to_id if incoming else r.from_id) == resource_id
    ]
    rows = [ends[i].row if i in ends else None for i, _ in pairs]
    notes = {row.id: note for row, (_, note) in zip(rows, pairs, strict=True) if row}
    return [RelatedValue(ends[row.id], notes[row.id]) for row in successors_first(rows)]


def resources_page_value(
    rows: Sequence[AnyRow], reads: ResourcesReads, requested: Sequence[str], signed_in: bool
) -> ResourcesPageValue:
    """`resources.resources_page` and `prefetch_resources`, forwards: one row more than asked
    says there is more."""
    found = _Sections.of(rows)
    wanted = tuple(requested)
    if not wanted and signed_in:
        wanted = preferences(in_preference_order(found.declared))
    ends = {i: ResourceValue(r, _title(r, wanted, found.texts)) for i, r in found.ends.items()}
    listing = ORDERS[reads.order].listing
    page = []
    for row in found.page[: reads.page.size]:
        value = ResourceValue(
            row,
            _title(row, wanted, found.texts),
            encode_cursor(listing, keyset_values(reads.order, row)),
            OrganizationValue.of(row, "org_") if reads.organizations else None,
            found.objectives.get(row.id, []),
        )
        if reads.relations:
            value.related = {
                name: _related(row.id, found.relations, ends, kind, incoming)
                for name, (kind, incoming) in RELATION_FIELDS.items()
            }
        page.append(value)
    return ResourcesPageValue(page, len(found.page) > reads.page.size, reads.page.after is not None)


PLAIN: dict[str, Any] = {
    "id": lambda r: encode_id("Resource", r.row.id),
    "title": lambda r: r.title,
    "kind": lambda r: r.row.kind,
    "link": lambda r: r.row.link,
    "publisher": lambda r: r.row.publisher,
    "publishedOn": lambda r: r.row.published_on,
    "language": lambda r: r.row.language,
    "sourceType": lambda r: r.row.source_type,
    "doi": lambda r: r.row.doi,
    "isGlobal": lambda r: r.row.is_global,
    "isGeneral": lambda r: r.row.is_general,
    "isSuperseded": lambda r: r.row.supersession_depth > 0,
    "createdAt": lambda r: r.row.created_at,
    "mergedAt": lambda r: r.row.merged_at,
}
GETTERS: dict[str, Mapping[str, Any]] = {
    "ResourceConnection": {
        "edges": lambda p: p.members,
        "nodes": lambda p: p.members,
        "pageInfo": lambda p: p,
    },
    "PageInfo": PAGE_INFO,
    "ResourceEdge": {"cursor": lambda r: r.cursor, "node": lambda r: r},
    "Resource": PLAIN
    | {
        "organization": lambda r: r.organization,
        "objectives": lambda r: r.objectives,
        "supersedes": lambda r: [e.resource for e in r.related["supersedes"]],
        "supersededBy": lambda r: [e.resource for e in r.related["supersededBy"]],
        "contradictedBy": lambda r: r.related["contradictedBy"],
        "contradicts": lambda r: r.related["contradicts"],
    },
    "ResourceEnd": PLAIN,
    "RelatedResource": {"resource": lambda e: e.resource, "note": lambda e: e.note},
    "GcmObjective": {
        "id": lambda o: encode_id("GcmObjective", o.number),
        "number": lambda o: o.number,
        "shortTitle": lambda o: o.short_title,
    },
    "Organization": ORGANIZATION,
    "Country": COUNTRY,
}
RESOURCES_FIELD = RootField(
    "resources",
    frozenset({"filter", "orderBy", "first", "after"}),
    GETTERS,
    tables={
        ("Resource", "supersedes"): "ResourceEnd",
        ("Resource", "supersededBy"): "ResourceEnd",
        ("RelatedResource", "resource"): "ResourceEnd",
    },
)


@dataclass(frozen=True)
class ResourcesPlan:
    """A `resources` root field of a request: one statement. `languages`: the request's
    (the fast path's titles); `declared`: titles are read in the signed-in viewer's declared
    languages (the request names none)."""

    statement: Statement
    reads: ResourcesReads
    languages: tuple[str, ...] = ()
    declared: bool = False

    @property
    def statements(self) -> int:
        return 1

    async def value(self, context: Context) -> ResourcesPageValue:
        viewer = context.viewer
        rows = await read_resources(context.db.reads, self.statement, viewer, self.reads)
        requested = context.requested_languages
        return resources_page_value(rows, self.reads, requested, viewer.is_signed_in)


def _selects(selection: Sequence[Selected], name: str) -> bool:
    return any(s.name == name or _selects(s.children, name) for s in selection)


def _reads(root: Selected, page: PageRequest, order: ResourceOrder, given: Any) -> ResourcesReads:
    fields = names_under(root.children, "edges", "node") | names_under(root.children, "nodes")
    return ResourcesReads(
        criteria=frozen(resource_filter(input_of(ResourceFilterInput, given))),
        order=order,
        page=page,
        organizations="organization" in fields,
        objectives="objectives" in fields,
        relations=bool(fields & set(RELATION_FIELDS)),
        titles=_selects(root.children, "title"),
    )


def plan_resources(
    schema: GraphQLSchema, root: Selected, values: Mapping[str, Any], asking: Asking
) -> ResourcesPlan | None:
    """The plan of this request's `resources` field; None: the executor answers (a bad page
    size, cursor, order or filter: its errors)."""
    query_type = schema.query_type
    assert query_type is not None
    node = root.nodes[0]
    order = argument(node, "orderBy", query_type, values)
    if not isinstance(order, ResourceOrder):
        return None
    try:
        page = PageRequest(
            first=argument(node, "first", query_type, values),
            after=argument(node, "after", query_type, values),
        )
        if page.after is not None:
            ORDERS[order].values(page.after)
        reads = _reads(root, page, order, argument(node, "filter", query_type, values))
        named = bool(asking.requested_languages)
        statement = statement_of(asking.viewer, reads, named)
    except ClientError:
        return None
    declared = reads.titles and asking.viewer.is_signed_in and not named
    return ResourcesPlan(statement, reads, asking.requested_languages, declared)
