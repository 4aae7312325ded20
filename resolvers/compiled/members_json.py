"""`members(filter, first, after)` as one PostgreSQL statement that returns the field's JSON
text (the fast path, resolvers/compiled/fast.py): the same read as resolvers/compiled/members.py
(`members.directory`: `policy.visible_members` and the filters, keyset
`members.DIRECTORY_ORDER`, one row more than the page), the organisations by a LEFT JOIN of
`organizations.visible_organization_rows` (`policy.visible_organizations`), each email as
`policy.may_see_email` shows it, with the JSON of the selection built in the statement.

Parameters: after a cursor `after_0` (the name's collation key) and `after_1` (the member's
id); `viewer_id` when signed in. The page's size is a constant (resolvers/compiled/pages_json.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from resolvers import policy
from resolvers.compiled.fast import (
    FastStatement,
    Params,
    Pick,
    ViewerKind,
    global_id,
    jbool,
    jconstant,
    jstring,
    jtext,
    jtimestamp,
    nullable,
    selection_object,
    sql_text,
    viewer_checked,
)
from resolvers.compiled.pages_json import Connection, after_values, page_cte
from resolvers.members import DIRECTORY_ORDER, MemberFilter, directory
from resolvers.organizations import visible_organization_rows
from resolvers.pagination import PageRequest
from resolvers.policy import Viewer


def country(code_sql: str, pick: Pick) -> str:
    """`schema.reference.country`: a `Country` for a code, null for none or an empty one."""
    fields = {"code": jtext(code_sql), "__typename": jconstant("Country")}
    value = selection_object(pick, fields, {})
    return f"(CASE WHEN coalesce({code_sql}, '') = '' THEN 'null' ELSE {value} END)"


def organization(pick: Pick) -> str:
    """An `Organization` of the row alias `o` (null: none, or not visible)."""
    fields = {
        "id": jstring(global_id("Organization", "o.id")),
        "name": jtext("o.name"),
        "kind": jstring("o.kind::text"),
        "createdAt": jtimestamp("o.created_at"),
        "__typename": jconstant("Organization"),
    }
    nested = {"country": lambda c: country("o.country", c)}
    return nullable("o.id", selection_object(pick, fields, nested))


def organizations_join(viewer: Viewer, key_sql: str) -> str:
    """`LEFT JOIN` of the organisations the viewer sees, as `o`, on `key_sql`."""
    return f"LEFT JOIN ({sql_text(visible_organization_rows(viewer))}) o ON o.id = {key_sql}"


class _Builder:
    """The statement of one kind of viewer, filter and selection of a `members` root field."""

    def __init__(self, kind: ViewerKind, criteria: MemberFilter, after: bool, size: int) -> None:
        self.params = Params()
        self.kind = kind
        self.viewer: Viewer = self.params.viewer(kind)
        self.criteria = criteria
        self.after = after
        self.size = size

    def members(self, root: Pick) -> str:
        listed = directory(self.viewer, self.criteria)
        cte = page_cte(listed, DIRECTORY_ORDER, self.params, self.after, self.size)
        members = root.under("nodes") + tuple(
            n for e in root.under("edges") for n in e.under("node")
        )
        joins = ""
        if any(m.under("organization") for m in members):
            joins = organizations_join(self.viewer, "p.organization_id")
        connection = Connection(
            "MemberConnection",
            DIRECTORY_ORDER,
            self.size,
            self.after,
            self._member,
            joins,
        )
        return f"WITH {cte} SELECT {connection.json(root)}"

    def _member(self, pick: Pick) -> str:
        fields = {
            "id": jstring(global_id("Member", "p.id")),
            "name": jtext("p.name"),
            "bio": jtext("p.bio"),
            "isExpert": jbool("p.is_expert"),
            "role": jstring("p.role::text"),
            "createdAt": jtimestamp("p.created_at"),
            "updatedAt": jtimestamp("p.updated_at"),
            "email": f"(CASE WHEN {self._sees_email()} THEN {jtext('p.email')} ELSE 'null' END)",
            "__typename": jconstant("Member"),
        }
        nested = {"country": lambda c: country("p.country", c), "organization": organization}
        return selection_object(pick, fields, nested)

    def _sees_email(self) -> str:
        """`policy.may_see_email` for each member of the page, decided for this kind of
        viewer: a viewer of this role sees everyone's, or their own, or none."""
        if not self.kind.signed_in:
            return "true" if policy.may_see_email(Viewer(), 1) else "false"
        probe = replace(Viewer(), member_id=1, role=self.kind.role)
        if policy.may_see_email(probe, 2):
            return "true"
        if policy.may_see_email(probe, 1):
            return f"p.id = {self.params.bind('viewer_id', 'integer')}"
        return "false"


def members_statement(
    kind: ViewerKind, root: Pick, criteria: MemberFilter, page: PageRequest
) -> FastStatement:
    """The statement of a `members` root field for this kind of viewer, filter, page size and
    selection (ClientError: a filter the resolver refuses)."""
    builder = _Builder(kind, criteria, page.after is not None, page.size)
    sql = builder.members(root)
    return viewer_checked(sql, builder.params, kind)


def members_values(page: PageRequest) -> dict[str, Any]:
    """The request's values of the statement's own parameters (the viewer's are the caller's)."""
    after = DIRECTORY_ORDER.values(page.after) if page.after is not None else None
    return after_values(after)
