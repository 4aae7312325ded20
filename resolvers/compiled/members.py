"""`members(filter, first, after)`: a page of the member directory with the members'
organisations, in one statement.

The statement is the resolvers' reads joined together: the page as `members.members_page`
reads it (`members.directory`: `policy.visible_members` and the filters, keyset
`members.DIRECTORY_ORDER`, one row more than the page), the organisations as
`organizations.organizations_by_ids` (`policy.visible_organizations`), joined on the page's
rows. It is built once per kind of viewer (resolvers/compiled/viewers.py), filter and
selection; each request binds its page size and cursor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, LargeBinary, Select, bindparam, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow
from models.member import Member, Role
from resolvers.compiled.viewers import binds_viewer, parametric, viewer_parameters
from resolvers.members import DIRECTORY_ORDER, MemberFilter, directory
from resolvers.organizations import visible_organization_rows
from resolvers.pagination import PageRequest
from resolvers.policy import Viewer

PAGE_LIMIT = bindparam("compiled_page_limit", type_=Integer)
AFTER_KEY = bindparam("compiled_after_key", type_=LargeBinary)
AFTER_ID = bindparam("compiled_after_id", type_=Integer)
ORGANIZATION_PREFIX = "org_"  # a row's organisation columns (`org_id`, `org_name`, ...)


@dataclass(frozen=True)
class MembersReads:
    """What of the directory a compiled document selects: the filter (lists as tuples), the
    page, and whether the members' organisations are selected."""

    criteria: MemberFilter
    page: PageRequest
    organizations: bool


@dataclass(frozen=True)
class _Kind:
    signed_in: bool
    role: Role | None
    criteria: MemberFilter
    after: bool
    organizations: bool


@dataclass(frozen=True)
class Statement:
    select: Select[Any]
    binds_viewer: bool


def _kind(viewer: Viewer, reads: MembersReads) -> _Kind:
    return _Kind(
        signed_in=viewer.is_signed_in,
        role=viewer.role if viewer.is_signed_in else None,
        criteria=reads.criteria,
        after=reads.page.after is not None,
        organizations=reads.organizations,
    )


@lru_cache(maxsize=256)
def _statement(kind: _Kind) -> Statement:
    """The page's rows in the directory's order (and one more), each with its organisation's
    columns (NULL: none, or not visible). Raises ClientError for a filter the resolver
    refuses."""
    viewer = parametric(kind.signed_in, kind.role)
    listed = directory(viewer, kind.criteria)
    if kind.after:
        listed = listed.where(tuple_(Member.name_key, Member.id) > tuple_(AFTER_KEY, AFTER_ID))
    page = listed.order_by(Member.name_key, Member.id).limit(PAGE_LIMIT)
    if kind.organizations:
        rows = page.subquery("page")
        seen = visible_organization_rows(viewer).subquery("o")
        named = [c.label(ORGANIZATION_PREFIX + c.key) for c in seen.c]
        page = (
            select(rows, *named)
            .select_from(rows.outerjoin(seen, seen.c.id == rows.c.organization_id))
            .order_by(rows.c.name_key, rows.c.id)
        )
    return Statement(page, binds_viewer(page))


def statement_of(viewer: Viewer, reads: MembersReads) -> Statement:
    """The statement for this viewer's kind and selection (ClientError: a refused filter)."""
    return _statement(_kind(viewer, reads))


def parameters(statement: Statement, viewer: Viewer, reads: MembersReads) -> dict[str, Any]:
    values: dict[str, Any] = {PAGE_LIMIT.key: reads.page.size + 1}
    if reads.page.after is not None:
        key, member_id = DIRECTORY_ORDER.values(reads.page.after)
        values |= {AFTER_KEY.key: key, AFTER_ID.key: member_id}
    return values | viewer_parameters(statement.binds_viewer, viewer)


async def read_members(
    sessions: async_sessionmaker[AsyncSession],
    statement: Statement,
    viewer: Viewer,
    reads: MembersReads,
) -> Sequence[AnyRow]:
    """The page's rows (one more than the page when more follow), in one short session."""
    async with sessions() as session:
        result = await session.execute(statement.select, parameters(statement, viewer, reads))
        return list(result.all())
