"""Webhooks in GraphQL (admins): register endpoints, read their delivery log, redeliver."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.webhook import WebhookEvent as WebhookEventModel
from resolvers import webhooks
from resolvers.webhooks import NewEndpoint
from schema.context import Info
from schema.deliveries import Delivery, DeliveryPayload, send_again
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.organizations import Organization, load_organization
from schema.relay import (
    AFTER,
    FIRST,
    Connection,
    Node,
    connection,
    decode_int_id,
    encode_id,
    page_request,
)

WebhookEvent = described_enum(
    WebhookEventModel,
    "What an endpoint can be told about (its `type` in the body: resource.published, ...).",
    {
        "RESOURCE_PUBLISHED": "A resource passed review and is public.",
        "INITIATIVE_PUBLISHED": "An initiative passed review and is public.",
        "WEBINAR_SCHEDULED": "A public webinar was scheduled.",
        "WEBINAR_CHANGED": "A public webinar changed (schedule, details or status).",
        "SUPPORT_REQUEST_UPDATED": "A support request of the endpoint's organisation changed.",
        "CALL_FOR_PRACTICES_OPENED": "A call for practices was opened.",
    },
)


@strawberry.type(description="An endpoint the hub calls, signed, when events happen (admins).")
class WebhookEndpoint(Node):
    url: str = strawberry.field(description="Where the hub POSTs.")
    events: list[WebhookEvent] = strawberry.field(description="What it is told about.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When it was registered (UTC).")
    db_id: strawberry.Private[int]
    organization_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> WebhookEndpoint:
        return cls(
            id=encode_id("WebhookEndpoint", row.id),
            url=row.url,
            events=[WebhookEventModel(e) for e in row.events],
            created_at=row.created_at,
            db_id=row.id,
            organization_id=row.organization_id,
        )

    @strawberry.field(
        description="The organisation whose own data (its support requests) it may receive; "
        "null: public data only."
    )
    async def organization(self, info: Info) -> Organization | None:
        if self.organization_id is None:
            return None
        return await load_organization(info, self.organization_id)

    @strawberry.field(description="Its delivery log, newest first.")
    async def deliveries(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> Connection[Delivery] | None:
        page = await webhooks.delivery_log(
            info.context.db.sessions,
            info.context.viewer,
            self.db_id,
            page_request(first, after, None, None),
        )
        return connection(page, Delivery.from_row) if page is not None else None


async def resolve_webhook_endpoints(
    info: Info,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Connection[WebhookEndpoint] | None:
    page = await webhooks.endpoints_page(
        info.context.db.reads, info.context.viewer, page_request(first, after, None, None)
    )
    return connection(page, WebhookEndpoint.from_row) if page is not None else None


@strawberry.input(description="Register a webhook endpoint (admins).")
class CreateWebhookEndpointInput:
    url: str = strawberry.field(
        description="https URL (http only outside production); never a loopback, link-local "
        "or private address unless the deployment allows them."
    )
    events: list[WebhookEvent] = strawberry.field(description="What to tell it about.")  # type: ignore[valid-type]
    organization_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The organisation whose support requests it may hear of; null: public "
        "events only.",
    )


@strawberry.type(description="Result of `createWebhookEndpoint`.")
class CreateWebhookEndpointPayload:
    endpoint: WebhookEndpoint | None = strawberry.field(description="The new endpoint.")
    secret: str | None = strawberry.field(
        description="The signing secret (whsec_...), shown this once: verify `webhook-signature` "
        "with it (Standard Webhooks)."
    )
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


async def create_webhook_endpoint(
    info: Info, input: Annotated[CreateWebhookEndpointInput, INPUT]
) -> CreateWebhookEndpointPayload:
    organization = None
    if input.organization_id is not None:
        organization = decode_int_id(input.organization_id, "Organization")
        if organization is None:
            return CreateWebhookEndpointPayload(
                endpoint=None,
                secret=None,
                errors=not_found("organizationId", "No such organization."),
            )
    new = NewEndpoint(url=input.url, events=list(input.events), organization_id=organization)
    sessions, viewer = info.context.db.sessions, info.context.viewer
    outcome = await webhooks.create_endpoint(sessions, viewer, new, info.context.webhook_rules)
    if outcome.value is None:
        return CreateWebhookEndpointPayload(
            endpoint=None, secret=None, errors=user_errors(outcome.problems)
        )
    endpoint_id, secret = outcome.value
    [row] = await webhooks.endpoints_by_ids(sessions, viewer, [endpoint_id])
    return CreateWebhookEndpointPayload(
        endpoint=WebhookEndpoint.from_row(row), secret=secret, errors=[]
    )


@strawberry.input(description="Call a webhook endpoint again with one of its deliveries.")
class RedeliverWebhookInput:
    delivery_id: strawberry.ID = strawberry.field(
        description="Global ID of a finished (sent, dropped or dead) webhook Delivery."
    )


async def redeliver_webhook(
    info: Info, input: Annotated[RedeliverWebhookInput, INPUT]
) -> DeliveryPayload:
    return await send_again(info, input.delivery_id, webhooks.redeliver)
