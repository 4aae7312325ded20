"""Organisations in GraphQL: type, list, and admin mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.organization import OrganizationKind as OrganizationKindModel
from resolvers import organizations
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.reference import Country, country
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    Node,
    connection,
    decode_int_id,
    encode_id,
    page_request,
)

OrganizationKind = described_enum(
    OrganizationKindModel,
    "What kind of body an organisation is.",
    {
        "GOVERNMENT": "A Member State's government body.",
        "UN_SYSTEM": "An entity of the United Nations system.",
        "CIVIL_SOCIETY": "Civil society, including migrant and diaspora organisations.",
        "ACADEMIA": "A university or research body.",
        "PRIVATE_SECTOR": "A company or business association.",
        "OTHER": "Any other organisation.",
    },
)


@strawberry.type(description="An organisation members belong to and speak for.")
class Organization(Node):
    name: str = strawberry.field(description="Name of the organisation, unique in the hub.")
    kind: OrganizationKind = strawberry.field(description="What kind of body it is.")  # type: ignore[valid-type]
    country: Country | None = strawberry.field(
        description="Country of the seat; null if international."
    )
    created_at: datetime = strawberry.field(description="When it was added to the hub (UTC).")
    db_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AnyRow) -> Organization:
        return cls(
            id=encode_id("Organization", row.id),
            db_id=row.id,
            name=row.name,
            kind=row.kind,
            country=country(row.country),
            created_at=row.created_at,
        )


OrganizationConnection = Connection[Organization]


async def resolve_organizations(
    info: Info,
    kind: Annotated[
        OrganizationKind | None,  # type: ignore[valid-type]
        strawberry.argument(description="Only organisations of this kind."),
    ] = None,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[Organization]:
    request = page_request(first, after, last, before)
    page = await organizations.organizations_page(
        info.context.db.reads, info.context.viewer, kind, request
    )
    return connection(page, Organization.from_row)


async def load_organization(info: Info, organization_id: int) -> Organization | None:
    row = await info.context.loaders.organization_by_id.load(organization_id)
    return Organization.from_row(row) if row is not None else None


@strawberry.input(description="A new organisation (admins only).")
class CreateOrganizationInput:
    name: str = strawberry.field(description="Name, unique in the hub (at most 200 characters).")
    kind: OrganizationKind = strawberry.field(description="What kind of body it is.")  # type: ignore[valid-type]
    country: str | None = strawberry.field(
        default=None, description="ISO 3166-1 alpha-2 code of its seat; null if international."
    )


@strawberry.type(description="Result of `createOrganization`.")
class CreateOrganizationPayload:
    organization: Organization | None = strawberry.field(description="The new organisation.")
    errors: list[UserError] = strawberry.field(description="Why nothing was created, if so.")


async def create_organization(
    info: Info, input: Annotated[CreateOrganizationInput, INPUT]
) -> CreateOrganizationPayload:
    result = await organizations.create_organization(
        info.context.db.sessions,
        info.context.viewer,
        name=input.name,
        kind=input.kind,
        country=input.country,
    )
    return CreateOrganizationPayload(
        organization=Organization.from_row(result.organization) if result.organization else None,
        errors=user_errors(result.problems),
    )


def organization_key(
    info: Info, global_id: strawberry.ID | None
) -> tuple[int | None, list[UserError]]:
    """The key of an organisation ID given in an input; a foreign ID reads as not found."""
    if global_id is None:
        return None, []
    key = decode_int_id(global_id, "Organization")
    return key, ([] if key is not None else not_found("organizationId", "No such organisation."))
