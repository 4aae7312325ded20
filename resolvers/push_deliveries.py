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
from models.outbox import DeliveryChannel
from models.push import PushSubscription
from resolvers import policy
from resolvers.email_deliveries import NotificationFacts, notification_facts
from resolvers.members import declared_languages
from resolvers.outbox import Claimed, Dropped
from resolvers.policy import Viewer
from resolvers.push_subscriptions import push_choices
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


async def prepare_push(sessions: Sessions, claimed: Claimed) -> PushFacts | Dropped:
    """The push message to send now for a claimed delivery, or why it is dropped."""
    async with sessions() as session:
        subscription = await session.get(PushSubscription, int(claimed.payload["subscription"]))
        if subscription is None:
            return SUBSCRIPTION_GONE
        member = await session.get(Member, claimed.member_id) if claimed.member_id else None
        if member is None:
            return RECIPIENT_DELETED
        viewer = Viewer(
            member_id=member.id, role=member.role, organization_id=member.organization_id
        )
        notification = (
            await session.get(Notification, claimed.notification_id)
            if claimed.notification_id
            else None
        )
        if notification is None:
            return NOTIFICATION_GONE
        if not (await push_choices(session, [member.id], notification.kind))[member.id]:
            return NOT_WANTED
        allowed = policy.may_be_pushed(viewer, subscription.member_id, notification.subject)
        if not await session.scalar(select(allowed)):
            return NOT_VISIBLE
        target = PushTarget(
            subscription.id, subscription.endpoint, subscription.p256dh, subscription.auth
        )
        languages = await declared_languages(session, member.id)
        facts = await notification_facts(session, viewer, languages, notification)
        return PushFacts(claimed.key, target, notification.id, facts, languages)


async def forget(sessions: Sessions, subscription_id: int) -> None:
    """The push service said the subscription is gone (404/410): remove it."""
    async with sessions.begin() as session:
        await session.execute(
            delete(PushSubscription).where(PushSubscription.id == subscription_id)
        )
