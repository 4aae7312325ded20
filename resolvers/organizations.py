"""Organisations: the list, lookups for loaders, and creation by admins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow, AnySelect
from models.organization import Organization, OrganizationKind
from resolvers import policy
from resolvers.batching import rows_by_ids
from resolvers.errors import ErrorCode, Problem, ProblemList
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.unit_of_work import UnitOfWork, mutation
from resolvers.validation import clean_country, clean_text

Sessions = async_sessionmaker[AsyncSession]

ORGANIZATION_COLUMNS = (
    Organization.id,
    Organization.name,
    Organization.name_key,
    Organization.kind,
    Organization.country,
    Organization.created_at,
)
ORGANIZATION_ORDER = Keyset("organizations", (Organization.name_key, Organization.id))


def visible_organization_rows(viewer: Viewer) -> AnySelect:
    return select(*ORGANIZATION_COLUMNS).where(policy.visible_organizations(viewer))


async def organizations_page(
    sessions: Sessions,
    viewer: Viewer,
    kind: OrganizationKind | None,
    request: PageRequest,
) -> Page:
    statement = visible_organization_rows(viewer)
    if kind is not None:
        statement = statement.where(Organization.kind == kind)
    return await fetch_page(sessions, statement, ORGANIZATION_ORDER, request)


async def organizations_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(
        sessions, visible_organization_rows(viewer).where(Organization.id.in_(ids)), ids
    )


@dataclass(frozen=True)
class OrganizationResult:
    organization: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


async def create_organization(
    sessions: Sessions, viewer: Viewer, *, name: str, kind: OrganizationKind, country: str | None
) -> OrganizationResult:
    problems = ProblemList()
    if not policy.may_manage_organizations(viewer):
        problems.add(None, "Only admins add organisations.", ErrorCode.NOT_ALLOWED)
    else:
        name = clean_text(problems, "name", name, max_length=200)
        country = clean_country(problems, "country", country)

    async def change(work: UnitOfWork) -> AnyRow | None:
        organization = Organization(name=name, kind=kind, country=country)
        work.session.add(organization)
        await work.session.flush()
        return await work.read_back(
            visible_organization_rows(viewer).where(Organization.id == organization.id)
        )

    done = await mutation(
        sessions, None, viewer, change, problems=problems, sign_in=False, conflict=NAME_TAKEN
    )
    return OrganizationResult(done.value, done.problems)


NAME_TAKEN = Problem("name", "An organisation with this name exists.", ErrorCode.CONFLICT)
