"""Web Push in GraphQL: the VAPID public key clients subscribe with, and a member's push
subscriptions (register, remove, list their own)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from resolvers import push_subscriptions
from resolvers.policy import Viewer
from resolvers.push_subscriptions import NewSubscription
from schema.context import Info
from schema.errors import INPUT, UserError, user_errors
from schema.relay import Connection, connection, encode_id, page_request


def resolve_push_public_key(info: Info) -> str | None:
    return info.context.push.public_key


@strawberry.type(description="A browser's or app's Web Push subscription, yours alone.")
class PushSubscription:
    id: strawberry.ID = strawberry.field(description="Opaque id of the subscription.")
    endpoint: str = strawberry.field(description="The push service's URL for it.")
    created_at: datetime = strawberry.field(description="When it was registered (UTC).")

    @classmethod
    def from_row(cls, row: AnyRow) -> PushSubscription:
        return cls(
            id=strawberry.ID(encode_id("PushSubscription", row.id)),
            endpoint=row.endpoint,
            created_at=row.created_at,
        )


async def resolve_push_subscriptions(
    info: Info, member_id: int, reader: Viewer, first: int | None, after: str | None
) -> Connection[PushSubscription] | None:
    page = await push_subscriptions.subscriptions_page(
        info.context.db.sessions, reader, member_id, page_request(first, after, None, None)
    )
    return connection(page, PushSubscription.from_row) if page is not None else None


@strawberry.input(description="The keys of a subscription (`PushSubscription.toJSON().keys`).")
class PushSubscriptionKeysInput:
    p256dh: str = strawberry.field(description="The browser's P-256 public key (base64url).")
    auth: str = strawberry.field(description="The authentication secret (base64url, 16 bytes).")


@strawberry.input(
    description="Register the subscription a browser or app got from its push "
    "service with the hub's `pushPublicKey`."
)
class RegisterPushSubscriptionInput:
    endpoint: str = strawberry.field(
        description="The push service's https URL (never a loopback, link-local or private "
        "address)."
    )
    keys: PushSubscriptionKeysInput = strawberry.field(description="The subscription's keys.")


@strawberry.type(description="Result of `registerPushSubscription`.")
class RegisterPushSubscriptionPayload:
    subscription: PushSubscription | None = strawberry.field(
        description="The subscription, now yours."
    )
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


async def register_push_subscription(
    info: Info, input: Annotated[RegisterPushSubscriptionInput, INPUT]
) -> RegisterPushSubscriptionPayload:
    sessions, viewer = info.context.db.sessions, info.context.viewer
    new = NewSubscription(input.endpoint, input.keys.p256dh, input.keys.auth)
    outcome = await push_subscriptions.register(sessions, viewer, new, info.context.push)
    if outcome.value is None:
        return RegisterPushSubscriptionPayload(
            subscription=None, errors=user_errors(outcome.problems)
        )
    row = await push_subscriptions.subscription_row(sessions, viewer, outcome.value)
    subscription = PushSubscription.from_row(row) if row is not None else None
    return RegisterPushSubscriptionPayload(subscription=subscription, errors=[])


@strawberry.input(description="Stop pushing to a subscription of yours.")
class UnregisterPushSubscriptionInput:
    endpoint: str = strawberry.field(description="The subscription's endpoint.")


@strawberry.type(description="Result of `unregisterPushSubscription`.")
class UnregisterPushSubscriptionPayload:
    removed: bool = strawberry.field(
        description="Whether a subscription of yours was removed (false: there was none)."
    )
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


async def unregister_push_subscription(
    info: Info, input: Annotated[UnregisterPushSubscriptionInput, INPUT]
) -> UnregisterPushSubscriptionPayload:
    outcome = await push_subscriptions.unregister(
        info.context.db.sessions, info.context.viewer, input.endpoint
    )
    return UnregisterPushSubscriptionPayload(
        removed=bool(outcome.value), errors=user_errors(outcome.problems)
    )
