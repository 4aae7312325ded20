"""The outbox in GraphQL: admins list deliveries (the dead ones above all) and retry them;
members set how each kind of notification reaches them by email."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.outbox import DeliveryChannel as DeliveryChannelModel
from models.outbox import DeliveryState as DeliveryStateModel
from models.outbox import EmailFrequency as EmailFrequencyModel
from resolvers import email_preferences, outbox, policy
from resolvers.email_preferences import KindChoice
from resolvers.outbox import Sessions
from resolvers.policy import Viewer
from resolvers.unit_of_work import Outcome
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, user_errors
from schema.members import Member, load_member
from schema.notifications import NotificationKind
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

DeliveryChannel = described_enum(
    DeliveryChannelModel,
    "How a delivery leaves the hub.",
    {
        "EMAIL": "An email about one notification.",
        "DIGEST": "A daily or weekly email gathering notifications.",
        "PUSH": "A Web Push message.",
        "WEBHOOK": "A signed call to an organisation's endpoint.",
        "FANOUT": (
            "Not a message: a job telling the followers of topics about something published, "
            "expanded by the workers into their notifications in batches."
        ),
    },
)
DeliveryState = described_enum(
    DeliveryStateModel,
    "Where a delivery stands.",
    {
        "PENDING": "Waiting to be sent, or being sent, or waiting for its next attempt.",
        "SENT": "Handed to the receiving server.",
        "DROPPED": "Not sent: the recipient may no longer receive it (see `lastError`).",
        "DEAD": "Every attempt failed; an admin may retry it (`retryDelivery`).",
    },
)
EmailFrequency = described_enum(
    EmailFrequencyModel,
    "When notifications of a kind reach you by email.",
    {
        "IMMEDIATE": "One email per notification, at once.",
        "DAILY": "Gathered in a daily digest.",
        "WEEKLY": "Gathered in a weekly digest.",
        "NEVER": "Never by email.",
    },
)


@strawberry.type(description="One delivery of the outbox (admins only).")
class Delivery(Node):
    key: str = strawberry.field(
        description="Stable delivery id, the same on every attempt: receivers drop duplicates "
        "by it (an email's Message-ID carries it)."
    )
    channel: DeliveryChannel = strawberry.field(description="How it leaves the hub.")  # type: ignore[valid-type]
    state: DeliveryState = strawberry.field(description="Where it stands.")  # type: ignore[valid-type]
    attempts: int = strawberry.field(description="Attempts made so far.")
    created_at: datetime = strawberry.field(description="When it was written (UTC).")
    due_at: datetime = strawberry.field(description="When its next attempt is due (UTC).")
    finished_at: datetime | None = strawberry.field(
        description="When it was sent, dropped or given up (UTC)."
    )
    last_error: str | None = strawberry.field(
        description="Why the last attempt failed, or why it was dropped."
    )
    member_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> Delivery:
        return cls(
            id=encode_id("Delivery", row.id),
            key=row.key,
            channel=row.channel,
            state=row.state,
            attempts=row.attempts,
            created_at=row.created_at,
            due_at=row.due_at,
            finished_at=row.finished_at,
            last_error=row.last_error,
            member_id=row.member_id,
        )

    @strawberry.field(description="Its recipient, if a member and not deleted.")
    async def recipient(self, info: Info) -> Member | None:
        return await load_member(info, self.member_id) if self.member_id else None


async def resolve_deliveries(
    info: Info,
    state: Annotated[
        DeliveryState | None,  # type: ignore[valid-type]
        strawberry.argument(description="Only deliveries in this state (DEAD: the dead letters)."),
    ] = None,
    channel: Annotated[
        DeliveryChannel | None,  # type: ignore[valid-type]
        strawberry.argument(description="Only deliveries of this channel."),
    ] = None,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Connection[Delivery] | None:
    page = await outbox.deliveries_page(
        info.context.db.reads,
        info.context.viewer,
        state,
        channel,
        page_request(first, after, None, None),
    )
    return connection(page, Delivery.from_row) if page is not None else None


@strawberry.input(description="Send a dead delivery again (admins).")
class RetryDeliveryInput:
    delivery_id: strawberry.ID = strawberry.field(description="Global ID of a DEAD Delivery.")


@strawberry.type(description="Result of `retryDelivery` and `redeliverWebhook`.")
class DeliveryPayload:
    delivery: Delivery | None = strawberry.field(description="The delivery, pending again.")
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


SendAgain = Callable[[Sessions, Viewer, int | None], Awaitable[Outcome[int]]]


async def send_again(info: Info, delivery_id: strawberry.ID, how: SendAgain) -> DeliveryPayload:
    """Make a delivery pending again (`how` decides which may be) and answer with it."""
    sessions, viewer = info.context.db.sessions, info.context.viewer
    outcome = await how(sessions, viewer, decode_int_id(delivery_id, "Delivery"))
    if outcome.value is None:
        return DeliveryPayload(delivery=None, errors=user_errors(outcome.problems))
    [row] = await outbox.deliveries_by_ids(sessions, viewer, [outcome.value])
    return DeliveryPayload(delivery=Delivery.from_row(row), errors=[])


async def retry_delivery(
    info: Info, input: Annotated[RetryDeliveryInput, INPUT]
) -> DeliveryPayload:
    return await send_again(info, input.delivery_id, outbox.retry_dead_delivery)


# --- email preferences -----------------------------------------------------------------------


@strawberry.type(description="How one kind of notification reaches you: by email, by push.")
class NotificationPreference:
    kind: NotificationKind = strawberry.field(description="The kind of notification.")  # type: ignore[valid-type]
    email: EmailFrequency = strawberry.field(description="When it is emailed to you.")  # type: ignore[valid-type]
    push: bool = strawberry.field(
        description="Whether it is pushed to your registered browsers and apps (Web Push)."
    )


async def resolve_notification_preferences(
    info: Info, member_id: int, reader: Viewer | None = None
) -> list[NotificationPreference] | None:
    if not policy.may_read_notification_preferences(reader or info.context.viewer, member_id):
        return None
    chosen = await email_preferences.preferences_of(info.context.db.sessions, member_id)
    return [NotificationPreference(kind=c.kind, email=c.email, push=bool(c.push)) for c in chosen]


@strawberry.input(description="One kind's email frequency and push choice (omitted: unchanged).")
class NotificationPreferenceInput:
    kind: NotificationKind = strawberry.field(description="The kind of notification.")  # type: ignore[valid-type]
    email: EmailFrequency | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="When to email it to you; null: unchanged."
    )
    push: bool | None = strawberry.field(
        default=None, description="Whether to push it to you; null: unchanged."
    )


@strawberry.input(description="Change how notifications reach you, by email and by push.")
class UpdateNotificationPreferencesInput:
    preferences: list[NotificationPreferenceInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="The kinds to change (each at most once); the others stay as they are.",
    )


@strawberry.type(description="Result of `updateNotificationPreferences`.")
class UpdateNotificationPreferencesPayload:
    preferences: list[NotificationPreference] | None = strawberry.field(
        description="All your preferences now, one per kind."
    )
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


async def update_notification_preferences(
    info: Info, input: Annotated[UpdateNotificationPreferencesInput, INPUT]
) -> UpdateNotificationPreferencesPayload:
    viewer = info.context.viewer
    choices = [KindChoice(p.kind, p.email, p.push) for p in input.preferences or ()]
    outcome = await email_preferences.update_preferences(info.context.db.sessions, viewer, choices)
    if outcome.problems or viewer.member_id is None:
        return UpdateNotificationPreferencesPayload(
            preferences=None, errors=user_errors(outcome.problems)
        )
    preferences = await resolve_notification_preferences(info, viewer.member_id)
    return UpdateNotificationPreferencesPayload(preferences=preferences, errors=[])
