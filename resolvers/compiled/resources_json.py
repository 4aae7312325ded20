"""`resources(filter, orderBy, first, after)` as one PostgreSQL statement that returns the
field's JSON text (the fast path, resolvers/compiled/fast.py): the same reads as
resolvers/compiled/resources.py, each with its policy predicate, with the JSON of the
selection built in the statement:

- the page as `resources.resources_page` reads it (`resources.filtered_resources`:
  `policy.visible_resources` and the filters, keyset `resources.ORDERS[order]`, one row more
  than the page), its organisations by a LEFT JOIN of `policy.visible_organizations`' rows;
- each resource's objectives (`resources.objectives_by_resource`, with their reference rows);
- the confirmed relations from or to the page (`policy.visible_relations`) and the resources
  at their other ends (`policy.visible_resources`), superseded ones after their successors
  (`resources.successors_first`), as the CTEs `rel` and `ends`;
- a title in the request's languages (the parameter `languages`) as
  `resolvers.languages.best_text` chooses it among the translations the viewer may see
  (`policy.visible_translations`): `Accept-Language`'s, or, for a signed-in member who names
  none, the languages the executor makes of their declared ones, computed by the caller from
  the rows its token lookup read (app/compiled_requests.py `Declared`); the statement then
  answers NULL unless the member's declared languages are still those rows at its own
  snapshot (`fast.declared_unchanged`, parameters `declared_positions`, `declared_tags`), and
  the view answers.

Parameters: after a cursor `after_0`.. (the order's keyset), `languages` (text[]) when titles
are translated; `viewer_id` when signed in. The page's size is a constant
(resolvers/compiled/pages_json.py).
"""

# ruff: noqa: S608 - the text is the policy's SQL (compiled by SQLAlchemy) and constants;
# every request value is a $n parameter

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import column, literal_column, select, table, union

from models.reference import GcmObjective
from models.resource import RelationKind, RelationStatus, Resource, ResourceObjective
from models.resource import ResourceRelation as Relation
from models.translation import TranslatableKind, Translation, TranslationStatus
from resolvers import policy
from resolvers.compiled.fast import (
    FastStatement,
    Params,
    Pick,
    ViewerKind,
    global_id,
    jbool,
    jconstant,
    jdate,
    jint,
    json_list,
    jstring,
    jtext,
    jtimestamp,
    selection_object,
    sql_text,
    viewer_checked,
)
from resolvers.compiled.members_json import organization, organizations_join
from resolvers.compiled.pages_json import Connection, after_values, page_cte
from resolvers.pagination import PageRequest
from resolvers.policy import Viewer
from resolvers.resources import ORDERS, ResourceFilter, ResourceOrder
from resolvers.resources import filtered_resources as filtered

# What a page row or a relation's end answers from (not the summaries and bodies), and every
# order's keyset.
COLUMNS = tuple(
    Resource.__table__.c[name]
    for name in (
        "id", "title", "kind", "link", "publisher", "published_on", "language", "source_type",
        "doi", "is_global", "is_general", "supersession_depth", "created_at", "merged_at",
        "organization_id", "currency", "reviewed_at", "title_key",
    )
)  # fmt: skip
PAGE = table("page", column("id"))
REL = table("rel", column("from_id"), column("to_id"))
# Each relation field: its kind, and whether the page's resource is the relation's target.
RELATIONS = {
    "supersedes": (RelationKind.SUPERSEDES, False),
    "supersededBy": (RelationKind.SUPERSEDES, True),
    "contradictedBy": (RelationKind.CONTRADICTS, True),
    "contradicts": (RelationKind.CONTRADICTS, False),
}


@dataclass(frozen=True)
class ResourcesShape:
    """What a statement's text depends on besides the selection and the kind of viewer."""

    criteria: ResourceFilter  # lists as tuples
    order: ResourceOrder
    after: bool
    size: int
    translated: bool  # titles are chosen in `languages`
    declared: bool = False  # ... the member's declared ones (re-checked by the statement)


def _matches(wanted: str, tag: str) -> str:
    """`resolvers.languages._matches`: the same tag, or the same primary language."""
    primary = "lower(split_part({}, '-', 1))"
    return f"({wanted} = {tag} OR {primary.format(wanted)} = {primary.format(tag)})"


class _Builder:
    """The statement of one kind of viewer, shape and selection of a `resources` root."""

    def __init__(self, kind: ViewerKind, shape: ResourcesShape) -> None:
        self.params = Params()
        self.viewer: Viewer = self.params.viewer(kind)
        self.shape = shape

    def resources(self, root: Pick) -> str:
        keyset = ORDERS[self.shape.order]
        statement = filtered(self.viewer, self.shape.criteria).with_only_columns(*COLUMNS)
        ctes = [page_cte(statement, keyset, self.params, self.shape.after, self.shape.size)]
        nodes = root.under("nodes") + tuple(n for e in root.under("edges") for n in e.under("node"))
        if any(n.under(name) for n in nodes for name in RELATIONS):
            ctes += [f"rel AS ({self._relations()})", f"ends AS ({self._ends()})"]
        joins = ""
        if any(n.under("organization") for n in nodes):
            joins = organizations_join(self.viewer, "p.organization_id")
        size, after, node = self.shape.size, self.shape.after, self._resource
        connection = Connection("ResourceConnection", keyset, size, after, node, joins)
        return f"WITH {', '.join(ctes)} SELECT {connection.json(root)}"

    def _relations(self) -> str:
        """`relations.relations_by_resource` over the page (from or to it: two index lookups,
        as resolvers/compiled/resources.py reads them)."""
        ids = select(PAGE.c.id)
        near = union(
            select(Relation.id).where(Relation.from_id.in_(ids)),
            select(Relation.id).where(Relation.to_id.in_(ids)),
        )
        statement = select(
            Relation.id, Relation.from_id, Relation.to_id, Relation.kind, Relation.note
        ).where(
            Relation.status == RelationStatus.CONFIRMED,
            policy.visible_relations(self.viewer),
            Relation.id.in_(near),
        )
        return sql_text(statement)

    def _ends(self) -> str:
        """`resources.resources_by_ids` over the relations' ends."""
        ends = select(REL.c.from_id).union(select(REL.c.to_id))
        statement = select(*COLUMNS).where(
            Resource.id.in_(ends), policy.visible_resources(self.viewer)
        )
        return sql_text(statement)

    def _plain(self, alias: str) -> dict[str, str]:
        """The fields a resource answers on the page (`p`) and at a relation's end (`e`)."""
        return {
            "id": jstring(global_id("Resource", f"{alias}.id")),
            "title": self._title(alias),
            "kind": jstring(f"{alias}.kind::text"),
            "link": jtext(f"{alias}.link"),
            "publisher": jtext(f"{alias}.publisher"),
            "publishedOn": jdate(f"{alias}.published_on"),
            "language": jtext(f"{alias}.language"),
            "sourceType": jstring(f"{alias}.source_type::text"),
            "doi": jtext(f"{alias}.doi"),
            "isGlobal": jbool(f"{alias}.is_global"),
            "isGeneral": jbool(f"{alias}.is_general"),
            "isSuperseded": jbool(f"{alias}.supersession_depth > 0"),
            "createdAt": jtimestamp(f"{alias}.created_at"),
            "mergedAt": jtimestamp(f"{alias}.merged_at"),
        }

    def _resource(self, pick: Pick) -> str:
        fields = self._plain("p") | {"__typename": jconstant("Resource")}
        nested: dict[str, Callable[[Pick], str]] = {
            "organization": organization,
            "objectives": self._objectives,
        }
        for name, (kind, incoming) in RELATIONS.items():
            nested[name] = self._related(kind, incoming)
        return selection_object(pick, fields, nested)

    def _end(self, pick: Pick) -> str:
        return selection_object(pick, self._plain("e") | {"__typename": jconstant("Resource")}, {})

    def _objectives(self, pick: Pick) -> str:
        fields = {
            "id": jstring(global_id("GcmObjective", "g.number")),
            "number": jint("g.number"),
            "shortTitle": jtext("g.short_title"),
            "__typename": jconstant("GcmObjective"),
        }
        source = (
            f"FROM {ResourceObjective.__tablename__} ro JOIN {GcmObjective.__tablename__} g "
            "ON g.number = ro.objective_number WHERE ro.resource_id = p.id"
        )
        return json_list(selection_object(pick, fields, {}), source, "ro.objective_number")

    def _related(self, kind: RelationKind, incoming: bool) -> Callable[[Pick], str]:
        """`compiled_resources._related`: the visible ends of the page resource's relations
        of `kind`, in the relations' order, superseded ones after their successors."""
        near, far = ("to_id", "from_id") if incoming else ("from_id", "to_id")
        source = (
            f"FROM rel r JOIN ends e ON e.id = r.{far} "
            f"WHERE r.kind = '{kind.value}' AND r.{near} = p.id"
        )
        order = "e.supersession_depth, r.id"

        def related(pick: Pick) -> str:
            if kind is RelationKind.SUPERSEDES:
                return json_list(self._end(pick), source, order)
            fields = {"note": jtext("r.note"), "__typename": jconstant("RelatedResource")}
            item = selection_object(pick, fields, {"resource": self._end})
            return json_list(item, source, order)

        return related

    def _title(self, alias: str) -> str:
        """`compiled_resources._title`: the original without languages; else the first of the
        request's languages the original or a visible translation (not OUTDATED, not empty)
        is in, an exact tag before a close one, translations in the executor's order."""
        if not self.shape.translated:
            return jtext(f"{alias}.title")
        wanted = f"unnest({self.params.bind('languages', 'text[]')}) WITH ORDINALITY w(tag, ord)"
        translations = select(Translation.language, Translation.text).where(
            Translation.kind == TranslatableKind.RESOURCE,
            Translation.field == "title",
            Translation.item_id == literal_column(f"{alias}.id"),
            policy.visible_translations(self.viewer),
            Translation.status != TranslationStatus.OUTDATED,
            Translation.text != "",
        )
        original = (
            f"SELECT w.ord, 0 AS rank, ''::text AS lang, {alias}.title::text AS text "
            f"FROM {wanted} WHERE {_matches('w.tag', f'{alias}.language')}"
        )
        translated = (
            "SELECT w.ord, CASE WHEN t.language = w.tag THEN 1 ELSE 2 END, t.language, t.text "
            f"FROM {wanted} JOIN ({sql_text(translations)}) t ON {_matches('w.tag', 't.language')}"
        )
        best = (
            f"(SELECT c.text FROM ({original} UNION ALL {translated}) c "
            "ORDER BY c.ord, c.rank, c.lang LIMIT 1)"
        )
        return jtext(f"coalesce({best}, {alias}.title)")


def resources_statement(kind: ViewerKind, root: Pick, shape: ResourcesShape) -> FastStatement:
    """The statement of a `resources` root field for this kind of viewer, shape and selection
    (ClientError: a filter the resolver refuses)."""
    builder = _Builder(kind, shape)
    sql = builder.resources(root)
    return viewer_checked(sql, builder.params, kind, declared=shape.declared)


def resources_values(
    order: ResourceOrder, page: PageRequest, languages: Sequence[str]
) -> dict[str, Any]:
    """The request's values of the statement's own parameters (the viewer's are the caller's)."""
    after = ORDERS[order].values(page.after) if page.after is not None else None
    return after_values(after) | {"languages": list(languages)}
