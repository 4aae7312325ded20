"""Webhooks: admins register endpoints for event kinds; each event writes a WEBHOOK delivery
per subscribed endpoint in the transaction of the change; at send time the policy decides
again whether that endpoint may be told (public data, or its own organisation's); the log of
an endpoint's deliveries can be read and any of them redelivered (same webhook-id).

An endpoint's address must be https (http only outside production) and, unless the
deployment allows it, never a loopback, link-local, private or otherwise reserved address: a
webhook must not become a way to reach the hub's own network (SSRF). The sender checks the
addresses the name resolves to again before each call."""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.initiative import CallForPractices
from models.outbox import Delivery, DeliveryChannel, DeliveryState
from models.review import ReviewItemKind
from models.support import SupportRequest
from models.webhook import WebhookEndpoint, WebhookEvent
from models.webinar import Webinar
from resolvers import policy
from resolvers.errors import ErrorCode, Problem, message_values
from resolvers.outbox import (
    DELIVERY_COLUMNS,
    NEWEST_FIRST,
    NO_SUCH_DELIVERY,
    Claimed,
    Dropped,
    send_again,
)
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.unit_of_work import Outcome, Refused, UnitOfWork, mutation

Sessions = async_sessionmaker[AsyncSession]

ENDPOINTS_NEWEST_FIRST = Keyset("webhook_endpoints", (WebhookEndpoint.id,), descending=True)
ENDPOINT_COLUMNS = (
    WebhookEndpoint.id,
    WebhookEndpoint.url,
    WebhookEndpoint.events,
    WebhookEndpoint.organization_id,
    WebhookEndpoint.created_at,
)
NOT_ALLOWED = Problem(None, "Only admins manage webhooks.", ErrorCode.NOT_ALLOWED)
NO_EVENTS = Problem("events", "Choose at least one event.", ErrorCode.REQUIRED)
ENDPOINT_GONE = Dropped("the webhook endpoint was removed")
NOT_CARRIED = Dropped("the endpoint may no longer be told about this subject")
NOT_A_WEBHOOK = Problem("deliveryId", "No such webhook delivery.", ErrorCode.NOT_FOUND)
NOT_FINISHED = Problem(
    "deliveryId", "This delivery is still waiting to be sent.", ErrorCode.INVALID_TRANSITION
)


@dataclass(frozen=True)
class AddressRules:
    """What an endpoint's address may be: http outside production; private addresses only
    when the deployment allows them (HUB_WEBHOOK_ALLOW_PRIVATE_ADDRESSES)."""

    allow_http: bool = False
    allow_private: bool = False


def refused_address(address: str, rules: AddressRules) -> bool:
    """Whether calling this IP address would reach somewhere a webhook must not go."""
    if rules.allow_private:
        return False
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def url_problem(url: str, rules: AddressRules) -> Problem | None:
    """What is wrong with an endpoint's URL, judged without the network (the sender checks
    the resolved addresses again)."""
    parts = urlsplit(url)
    schemes = ("https", "http") if rules.allow_http else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        return Problem(
            "url",
            "Use an absolute {schemes} URL.",
            ErrorCode.INVALID,
            values=message_values(schemes=" or ".join(schemes)),
        )
    host = parts.hostname
    try:
        literal = refused_address(host, rules)
    except ValueError:  # a name, not an address
        literal = not rules.allow_private and (host == "localhost" or host.endswith(".localhost"))
    if literal:
        return Problem("url", "This address is not allowed for webhooks.", ErrorCode.NOT_ALLOWED)
    return None


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class NewEndpoint:
    url: str
    events: Sequence[WebhookEvent]
    organization_id: int | None


async def create_endpoint(
    sessions: Sessions, viewer: Viewer, new: NewEndpoint, rules: AddressRules
) -> Outcome[tuple[int, str]]:
    """Register an endpoint; its id and its secret (shown this once)."""
    problems = [p for p in (url_problem(new.url, rules),) if p is not None]
    if not new.events:
        problems.append(NO_EVENTS)

    async def change(work: UnitOfWork) -> tuple[int, str]:
        if not policy.may_manage_webhooks(viewer):
            raise Refused(NOT_ALLOWED)
        endpoint = WebhookEndpoint(
            url=new.url,
            secret=new_secret(),
            events=sorted({e.value for e in new.events}),
            organization_id=new.organization_id,
            created_by_id=viewer.member_id,
        )
        work.session.add(endpoint)
        await work.session.flush()
        return endpoint.id, endpoint.secret

    return await mutation(sessions, None, viewer, change, problems=problems)


async def announce(
    work: UnitOfWork,
    event: WebhookEvent,
    subject: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    organization_id: int | None = None,
) -> None:
    """A WEBHOOK delivery for each endpoint that wants `event` and may be told about
    `subject` (an organisation's own data goes to that organisation's endpoints only)."""
    endpoints = await work.session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events, WebhookEndpoint.organization_id)
    )
    for endpoint_id, events, endpoint_organization in endpoints:
        if event.value not in events:
            continue
        if organization_id is not None and endpoint_organization != organization_id:
            continue
        work.deliver(
            Delivery(
                channel=DeliveryChannel.WEBHOOK,
                payload={
                    "endpoint": endpoint_id,
                    "event": event.value,
                    "subject": dict(subject),
                    "data": dict(data),
                    "occurredAt": utcnow().isoformat(),
                },
            )
        )


@dataclass(frozen=True)
class WebhookCall:
    """One signed call to make: the delivery's key is its webhook-id."""

    key: str
    url: str
    secret: str
    event: WebhookEvent
    occurred_at: str
    data: dict[str, Any]


async def prepare_webhooks(
    sessions: Sessions, claimed: Sequence[Claimed]
) -> dict[int, WebhookCall | Dropped]:
    """The calls to make now for a batch's claimed webhook deliveries, or why each is dropped,
    in two statements whatever the batch's size: the endpoints, then whether each endpoint may
    be told about its delivery's subject (the policy's predicate, one column per delivery)."""
    if not claimed:
        return {}
    async with sessions() as session:
        wanted = sorted({int(c.payload["endpoint"]) for c in claimed})
        found = await session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.id.in_(wanted)))
        endpoints = {endpoint.id: endpoint for endpoint in found}
        calls: dict[int, WebhookCall | Dropped] = {
            c.id: ENDPOINT_GONE for c in claimed if int(c.payload["endpoint"]) not in endpoints
        }
        asked = [c for c in claimed if c.id not in calls]
        if asked:
            checks = [
                policy.webhook_may_carry(
                    endpoints[int(c.payload["endpoint"])].organization_id, c.payload["subject"]
                ).label(f"carried_{i}")
                for i, c in enumerate(asked)
            ]
            answers = (await session.execute(select(*checks))).one()
            for delivery, carried in zip(asked, answers, strict=True):
                endpoint = endpoints[int(delivery.payload["endpoint"])]
                calls[delivery.id] = _call(delivery, endpoint) if carried else NOT_CARRIED
    return calls


def _call(claimed: Claimed, endpoint: WebhookEndpoint) -> WebhookCall:
    payload = claimed.payload
    return WebhookCall(
        key=claimed.key,
        url=endpoint.url,
        secret=endpoint.secret,
        event=WebhookEvent(payload["event"]),
        occurred_at=str(payload["occurredAt"]),
        data=dict(payload["data"]),
    )


# --- what admins read and do -----------------------------------------------------------------


async def endpoints_page(sessions: Sessions, viewer: Viewer, request: PageRequest) -> Page | None:
    if not policy.may_manage_webhooks(viewer):
        return None
    return await fetch_page(sessions, select(*ENDPOINT_COLUMNS), ENDPOINTS_NEWEST_FIRST, request)


async def endpoints_by_ids(sessions: Sessions, viewer: Viewer, ids: list[int]) -> list[Any]:
    if not policy.may_manage_webhooks(viewer) or not ids:
        return []
    async with sessions() as session:
        statement = select(*ENDPOINT_COLUMNS).where(WebhookEndpoint.id.in_(ids))
        return list(await session.execute(statement))


def _of_endpoint(endpoint_id: int) -> Any:
    return Delivery.payload["endpoint"].as_integer() == endpoint_id


async def delivery_log(
    sessions: Sessions, viewer: Viewer, endpoint_id: int, request: PageRequest
) -> Page | None:
    """An endpoint's deliveries, newest first (admins)."""
    if not policy.may_manage_webhooks(viewer):
        return None
    statement = select(*DELIVERY_COLUMNS).where(
        Delivery.channel == DeliveryChannel.WEBHOOK, _of_endpoint(endpoint_id)
    )
    return await fetch_page(sessions, statement, NEWEST_FIRST, request)


async def redeliver(sessions: Sessions, viewer: Viewer, delivery_id: int | None) -> Outcome[int]:
    """Call the endpoint again with a finished delivery (sent, dropped or dead), under the
    same webhook-id, with a fresh count of attempts."""

    async def change(work: UnitOfWork) -> int:
        if delivery_id is None or not policy.may_manage_webhooks(viewer):
            raise Refused(NO_SUCH_DELIVERY)
        row = (
            await work.session.execute(
                select(Delivery.channel, Delivery.state)
                .where(Delivery.id == delivery_id)
                .with_for_update()
            )
        ).first()
        if row is None or row.channel is not DeliveryChannel.WEBHOOK:
            raise Refused(NOT_A_WEBHOOK)
        if row.state is DeliveryState.PENDING:
            raise Refused(NOT_FINISHED)
        await send_again(work.session, delivery_id)
        return delivery_id

    return await mutation(sessions, None, viewer, change)


# --- the events, as the domains announce them --------------------------------------------------


async def announce_webinar(
    work: UnitOfWork, webinar: Webinar, event: WebhookEvent, change: str | None = None
) -> None:
    """A webinar scheduled or changed (its public facts: endpoints hear of public ones)."""
    data = {
        "type": "Webinar",
        "id": webinar.id,
        "title": webinar.title,
        "startsAt": webinar.starts_at.isoformat(),
        "endsAt": webinar.ends_at.isoformat(),
        "status": webinar.status.value,
        "change": change,
    }
    await announce(work, event, {"webinar": webinar.id}, data)


async def announce_published(
    work: UnitOfWork, kind: ReviewItemKind, item_id: int, title: str
) -> None:
    """A resource or an initiative approved, so published."""
    event = (
        WebhookEvent.RESOURCE_PUBLISHED
        if kind is ReviewItemKind.RESOURCE
        else WebhookEvent.INITIATIVE_PUBLISHED
    )
    data = {"type": kind.value.title(), "id": item_id, "title": title}
    await announce(work, event, {"item_kind": kind.value, "item": item_id}, data)


async def announce_support_update(work: UnitOfWork, request: SupportRequest, change: str) -> None:
    """A support request changed: its own organisation's endpoints hear of it."""
    data = {
        "type": "SupportRequest",
        "id": request.id,
        "title": request.title,
        "status": request.status.value,
        "change": change,
    }
    await announce(
        work,
        WebhookEvent.SUPPORT_REQUEST_UPDATED,
        {"supportRequest": request.id},
        data,
        organization_id=request.organization_id,
    )


async def announce_call(work: UnitOfWork, call: CallForPractices) -> None:
    """A call for practices opened (calls are public)."""
    data = {
        "type": "CallForPractices",
        "id": call.id,
        "theme": call.theme,
        "deadline": call.deadline.isoformat(),
    }
    await announce(work, WebhookEvent.CALL_FOR_PRACTICES_OPENED, {"call": call.id}, data)
