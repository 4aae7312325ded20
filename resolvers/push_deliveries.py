"""Push messages: a PUSH delivery per subscription of each recipient who wants the kind
pushed, written to the outbox in the notification's transaction; decided again when a worker
sends it. At send time the subscription must still exist and still be the recipient's, the
recipient must still want the kind pushed, and the policy must still let them hear about the
subject; otherwise the delivery is dropped.

What a push message says is gathered here as facts (`PushFacts`); app/push.py turns them into
a small JSON payload, encrypts it (RFC 8291) and sends it (RFC 8030, VAPID per RFC 8292)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.member import Member
from models.notification import CreatedNotification, Notification, NotificationKind
from models.outbox import Delivery, DeliveryChannel
from models.push import PushSubscription
from resolvers import policy
from resolvers.notification_facts import (
    NotificationFacts,
    Reader,
    facts_for,
    notifications_by_id,
    readers_of,
)
from resolvers.outbox import Claimed, Dropped
from resolvers.push_subscriptions import PushChoices, push_choices, push_choices_of
from resolvers.unit_of_work import UnitOfWork

Sessions = async_sessionmaker[AsyncSession]

SUBSCRIPTION_GONE = Dropped("the push subscription was removed")
RECIPIENT_DELETED = Dropped("the recipient's account was deleted")
NOT_WANTED = Dropped("the recipient no longer wants this kind pushed")
NOTIFICATION_GONE = Dropped("the notification no longer exists")
NOT_VISIBLE = Dropped("the recipient may no longer be told about this (or the subscription moved)")


async def enqueue_notification_pushes(
    work: UnitOfWork, notifications: Sequence[CreatedNotification]
) -> None:
    """A push delivery per subscription of each recipient who wants its kind pushed."""
    members = {n.member_id for n in notifications}
    subscriptions = await _subscriptions(work.session, members)
    if not subscriptions:
        return
    by_kind: dict[NotificationKind, list[CreatedNotification]] = {}
    for notification in notifications:
        if notification.member_id in subscriptions:
            by_kind.setdefault(notification.kind, []).append(notification)
    for kind, of_kind in by_kind.items():
        wanted = await push_choices(work.session, {n.member_id for n in of_kind}, kind)
        await work.deliver_all(
            [
                {
                    "channel": DeliveryChannel.PUSH,
                    "member_id": n.member_id,
                    "notification_id": n.id,
                    "payload": {"kind": kind.value, "subscription": subscription_id},
                }
                for n in of_kind
                if wanted[n.member_id]
                for subscription_id in subscriptions[n.member_id]
            ]
        )


async def _subscriptions(session: AsyncSession, member_ids: set[int]) -> dict[int, list[int]]:
    rows = await session.execute(
        select(PushSubscription.member_id, PushSubscription.id)
        .where(PushSubscription.member_id.in_(member_ids))
        .order_by(PushSubscription.id)
    )
    found: dict[int, list[int]] = {}
    for member_id, subscription_id in rows:
        found.setdefault(member_id, []).append(subscription_id)
    return found


@dataclass(frozen=True)
class PushTarget:
    """Where a push message goes: the subscription as the browser registered it."""

    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class PushFacts:
    """One notification's push message, decided at send time; `key` is the delivery's stable
    key (the client drops duplicates by it)."""

    key: str
    target: PushTarget
    notification_id: int
    notification: NotificationFacts
    # The recipient's declared languages, in their order: what the message is written in.
    languages: tuple[str, ...] = ()


def _subscription_id(claimed: Claimed) -> int:
    return int(claimed.payload["subscription"])


async def _targets(session: AsyncSession, ids: set[int]) -> dict[int, PushTarget]:
    rows = await session.execute(
        select(
            PushSubscription.id,
            PushSubscription.endpoint,
            PushSubscription.p256dh,
            PushSubscription.auth,
        ).where(PushSubscription.id.in_(ids))
    )
    return {row.id: PushTarget(*row) for row in rows}


async def _allowed(session: AsyncSession, claimed: Sequence[Claimed]) -> frozenset[int]:
    """The claimed deliveries (ids) that may go now: the subscription still the recipient's,
    who may still see what the notification is about; the policy's rule over the recipients'
    rows, one statement for a batch."""
    subscription = Delivery.payload["subscription"].as_integer()
    rows = await session.scalars(
        select(Delivery.id)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(Member, Member.id == Delivery.member_id)
        .where(
            Delivery.id.in_([c.id for c in claimed]),
            policy.members_may_be_pushed(subscription),
        )
    )
    return frozenset(rows)


@dataclass(frozen=True)
class _Batch:
    """What deciding a claimed batch of push messages reads, for all of them at once."""

    targets: dict[int, PushTarget]
    readers: dict[int, Reader]
    notifications: dict[int, Notification]
    wanted: PushChoices
    allowed: frozenset[int]

    def decide(self, claimed: Claimed) -> tuple[PushTarget, Reader, Notification] | Dropped:
        target = self.targets.get(_subscription_id(claimed))
        if target is None:
            return SUBSCRIPTION_GONE
        reader = self.readers.get(claimed.member_id or 0)
        if reader is None:
            return RECIPIENT_DELETED
        notification = self.notifications.get(claimed.notification_id or 0)
        if notification is None:
            return NOTIFICATION_GONE
        if not self.wanted.of(reader.member_id, notification.kind):
            return NOT_WANTED
        if claimed.id not in self.allowed:
            return NOT_VISIBLE
        return target, reader, notification


async def prepare_pushes(
    sessions: Sessions, claimed: Sequence[Claimed]
) -> dict[int, PushFacts | Dropped]:
    """The push message to send now for each claimed delivery (by id), or why it is dropped:
    decided and read for the whole batch in a few statements, whatever its size."""
    if not claimed:
        return {}
    members = {c.member_id for c in claimed if c.member_id is not None}
    async with sessions() as session:
        batch = _Batch(
            await _targets(session, {_subscription_id(c) for c in claimed}),
            await readers_of(session, members),
            await notifications_by_id(
                session, {c.notification_id for c in claimed if c.notification_id is not None}
            ),
            await push_choices_of(session, members),
            await _allowed(session, claimed),
        )
        decided = {c.id: batch.decide(c) for c in claimed}
        going = [(c, v) for c in claimed if not isinstance(v := decided[c.id], Dropped)]
        said = await facts_for(session, [(reader, n) for _, (_, reader, n) in going])
    prepared: dict[int, PushFacts | Dropped] = {
        i: v for i, v in decided.items() if isinstance(v, Dropped)
    }
    for (c, (target, reader, notification)), facts in zip(going, said, strict=True):
        prepared[c.id] = PushFacts(c.key, target, notification.id, facts, reader.languages)
    return prepared


async def forget(sessions: Sessions, subscription_id: int) -> None:
    """The push service said the subscription is gone (404/410): remove it."""
    async with sessions.begin() as session:
        await session.execute(
            delete(PushSubscription).where(PushSubscription.id == subscription_id)
        )
