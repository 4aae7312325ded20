"""A compiled `members(filter:, first:, after:)` (the member directory): its plan for a request
(`plan_members`), the values it answers from (the rows of resolvers/compiled/members.py) and
what each field gives, as the executor's types do (schema/members.py, schema/organizations.py,
schema/reference.py's `Country`, schema/relay.py).

Supported: `edges { cursor node }`, `nodes`, `pageInfo`; a member's `id name country { code }
bio isExpert role createdAt updatedAt email organization`; an organisation's `id name kind
country { code } createdAt`. Not: `last`/`before`, `totalCount`, a member's `languages
expertise follows pushSubscriptions notificationPreferences`, a country's `name nameText`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from graphql import GraphQLSchema

from models.db import AnyRow
from models.organization import OrganizationKind
from resolvers import policy
from resolvers.compiled.members import (
    ORGANIZATION_PREFIX,
    MembersReads,
    Statement,
    read_members,
    statement_of,
)
from resolvers.errors import ClientError
from resolvers.members import DIRECTORY_ORDER
from resolvers.pagination import PageRequest, encode_cursor
from resolvers.policy import Viewer
from schema.compiled_fields import Asking, RootField, argument, frozen, input_of, names_under
from schema.context import Context
from schema.members import MemberFilterInput, member_filter
from schema.relay import encode_id

if TYPE_CHECKING:
    from schema.compiled import Selected


@dataclass
class OrganizationValue:
    key: int
    name: str
    kind: OrganizationKind
    country: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: AnyRow, prefix: str = "") -> OrganizationValue | None:
        """The organisation in `row`'s columns named `prefix` + column (None: no id)."""
        values = row._mapping
        key = values[prefix + "id"]
        if key is None:
            return None
        return cls(
            key,
            values[prefix + "name"],
            values[prefix + "kind"],
            values[prefix + "country"],
            values[prefix + "created_at"],
        )


@dataclass
class MemberValue:
    row: AnyRow
    cursor: str
    email: str | None
    organization: OrganizationValue | None


@dataclass
class MembersPageValue:
    members: list[MemberValue]
    has_next_page: bool
    has_previous_page: bool


def members_page_value(
    rows: Sequence[AnyRow], viewer: Viewer, reads: MembersReads, email: bool
) -> MembersPageValue:
    """`resolvers.pagination.fetch_page`, forwards: one row more than asked says there is more;
    each member's email as `Member.email` shows it (`policy.may_see_email`)."""
    size = reads.page.size
    members = [
        MemberValue(
            row,
            encode_cursor(DIRECTORY_ORDER.listing, (row.name_key, row.id)),
            row.email if email and policy.may_see_email(viewer, row.id) else None,
            OrganizationValue.of(row, ORGANIZATION_PREFIX) if reads.organizations else None,
        )
        for row in rows[:size]
    ]
    return MembersPageValue(members, len(rows) > size, reads.page.after is not None)


def _country(code: str | None) -> str | None:
    return code or None  # schema.reference.country: no country for an empty code


PAGE_INFO = {
    "hasNextPage": lambda p: p.has_next_page,
    "hasPreviousPage": lambda p: p.has_previous_page,
    "startCursor": lambda p: p.members[0].cursor if p.members else None,
    "endCursor": lambda p: p.members[-1].cursor if p.members else None,
}
ORGANIZATION = {
    "id": lambda o: encode_id("Organization", o.key),
    "name": lambda o: o.name,
    "kind": lambda o: o.kind,
    "country": lambda o: _country(o.country),
    "createdAt": lambda o: o.created_at,
}
COUNTRY = {"code": lambda code: code}
GETTERS: dict[str, Mapping[str, Any]] = {
    "MemberConnection": {
        "edges": lambda p: p.members,
        "nodes": lambda p: p.members,
        "pageInfo": lambda p: p,
    },
    "PageInfo": PAGE_INFO,
    "MemberEdge": {"cursor": lambda m: m.cursor, "node": lambda m: m},
    "Member": {
        "id": lambda m: encode_id("Member", m.row.id),
        "name": lambda m: m.row.name,
        "country": lambda m: _country(m.row.country),
        "bio": lambda m: m.row.bio,
        "isExpert": lambda m: m.row.is_expert,
        "role": lambda m: m.row.role,
        "createdAt": lambda m: m.row.created_at,
        "updatedAt": lambda m: m.row.updated_at,
        "email": lambda m: m.email,
        "organization": lambda m: m.organization,
    },
    "Organization": ORGANIZATION,
    "Country": COUNTRY,
}
MEMBERS_FIELD = RootField("members", frozenset({"filter", "first", "after"}), GETTERS)


@dataclass(frozen=True)
class MembersPlan:
    """A `members` root field of a request: one statement."""

    statement: Statement
    reads: MembersReads
    email: bool

    @property
    def statements(self) -> int:
        return 1

    async def value(self, context: Context) -> MembersPageValue:
        viewer = context.viewer
        rows = await read_members(context.db.reads, self.statement, viewer, self.reads)
        return members_page_value(rows, viewer, self.reads, self.email)


def plan_members(
    schema: GraphQLSchema, root: Selected, values: Mapping[str, Any], asking: Asking
) -> MembersPlan | None:
    """The plan of this request's `members` field; None: the executor answers (a bad page
    size, cursor or filter: its errors)."""
    query_type = schema.query_type
    assert query_type is not None
    node = root.nodes[0]
    fields = names_under(root.children, "edges", "node") | names_under(root.children, "nodes")
    try:
        page = PageRequest(
            first=argument(node, "first", query_type, values),
            after=argument(node, "after", query_type, values),
        )
        if page.after is not None:
            DIRECTORY_ORDER.values(page.after)
        given = input_of(MemberFilterInput, argument(node, "filter", query_type, values))
        reads = MembersReads(frozen(member_filter(given)), page, "organization" in fields)
        statement = statement_of(asking.viewer, reads)
    except ClientError:
        return None
    return MembersPlan(statement, reads, "email" in fields)
