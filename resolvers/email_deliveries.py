"""Notification emails: written to the outbox with the notification, and decided again when a
worker sends them. At send time the recipient must still exist, still have the address the
mail was written for, still want this kind of mail at once, and still be allowed by the policy
to see what it is about; otherwise the delivery is dropped, never sent.

What an email says is gathered here as facts (`EmailFacts`); app/mail.py renders them through
templates and sends them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.member import Member
from models.notification import CreatedNotification, Notification, NotificationKind
from models.outbox import Delivery, DeliveryChannel, EmailFrequency
from resolvers import policy
from resolvers.email_preferences import FrequencyChoices, frequencies, frequency_choices
from resolvers.notification_facts import (
    NotificationFacts,
    Reader,
    facts_for,
    notifications_by_id,
    readers_of,
)
from resolvers.outbox import Claimed, Dropped
from resolvers.policy import Viewer
from resolvers.unit_of_work import UnitOfWork

Sessions = async_sessionmaker[AsyncSession]

RECIPIENT_DELETED = Dropped("the recipient's account was deleted")
ADDRESS_CHANGED = Dropped("the recipient's email address changed after the mail was written")
UNSUBSCRIBED = Dropped("the recipient no longer wants this kind of mail at once")
NOTIFICATION_GONE = Dropped("the notification no longer exists")
NOT_VISIBLE = Dropped("the recipient may no longer see what the notification is about")


async def enqueue_notification_emails(
    work: UnitOfWork, notifications: Sequence[CreatedNotification]
) -> None:
    """An email delivery for each notification whose recipient wants its kind at once, written
    in the notification's transaction with the recipient's address of now."""
    by_kind: dict[NotificationKind, list[CreatedNotification]] = {}
    for notification in notifications:
        by_kind.setdefault(notification.kind, []).append(notification)
    for kind, of_kind in by_kind.items():
        members = {n.member_id for n in of_kind}
        chosen = await frequencies(work.session, members, kind)
        addresses = await _addresses(work.session, members)
        await work.deliver_all(
            [
                {
                    "channel": DeliveryChannel.EMAIL,
                    "member_id": n.member_id,
                    "notification_id": n.id,
                    "address": addresses[n.member_id],
                    "payload": {"kind": kind.value},
                }
                for n in of_kind
                if chosen[n.member_id] is EmailFrequency.IMMEDIATE
            ]
        )


async def _addresses(session: AsyncSession, member_ids: set[int]) -> dict[int, str]:
    rows = await session.execute(select(Member.id, Member.email).where(Member.id.in_(member_ids)))
    return dict(rows.all())


@dataclass(frozen=True)
class Recipient:
    """Who a mail goes to, checked at send time, and its delivery's stable key."""

    delivery_key: str
    member_id: int
    address: str
    name: str
    viewer: Viewer
    # The languages the member declared, in their order: what they read (mail and titles).
    languages: tuple[str, ...] = ()

    def as_reader(self) -> Reader:
        return Reader(self.member_id, self.name, self.address, self.viewer, self.languages)


@dataclass(frozen=True)
class EmailFacts:
    """One notification's email."""

    recipient: Recipient
    notification: NotificationFacts


def recipient_now(claimed: Claimed, reader: Reader | None) -> Recipient | Dropped:
    """The claimed delivery's recipient as of now: still there, at the same address."""
    if reader is None:
        return RECIPIENT_DELETED
    if reader.email != claimed.address:
        return ADDRESS_CHANGED
    return Recipient(
        claimed.key, reader.member_id, reader.email, reader.name, reader.viewer, reader.languages
    )


async def _still_visible(session: AsyncSession, claimed: Sequence[Claimed]) -> frozenset[int]:
    """The claimed deliveries (ids) whose recipient may still see what their notification is
    about, now: the policy's rule over the recipients' rows, one statement for a batch."""
    ids = [c.id for c in claimed if c.notification_id is not None]
    if not ids:
        return frozenset()
    rows = await session.scalars(
        select(Delivery.id)
        .join(Notification, Notification.id == Delivery.notification_id)
        .join(Member, Member.id == Delivery.member_id)
        .where(Delivery.id.in_(ids), policy.notifications_visible_to_their_members())
    )
    return frozenset(rows)


@dataclass(frozen=True)
class _Batch:
    """What deciding a claimed batch of emails reads, for all of them at once."""

    readers: dict[int, Reader]
    notifications: dict[int, Notification]
    chosen: FrequencyChoices
    visible: frozenset[int]

    def decide(self, claimed: Claimed) -> tuple[Recipient, Notification] | Dropped:
        recipient = recipient_now(claimed, self.readers.get(claimed.member_id or 0))
        if isinstance(recipient, Dropped):
            return recipient
        notification = self.notifications.get(claimed.notification_id or 0)
        if notification is None:
            return NOTIFICATION_GONE
        if self.chosen.of(recipient.member_id, notification.kind) is not EmailFrequency.IMMEDIATE:
            return UNSUBSCRIBED
        if claimed.id not in self.visible:
            return NOT_VISIBLE
        return recipient, notification


async def prepare_emails(
    sessions: Sessions, claimed: Sequence[Claimed]
) -> dict[int, EmailFacts | Dropped]:
    """The email to send now for each claimed delivery (by id), or why it is dropped: decided
    and read for the whole batch in a few statements, whatever its size."""
    if not claimed:
        return {}
    members = {c.member_id for c in claimed if c.member_id is not None}
    async with sessions() as session:
        batch = _Batch(
            await readers_of(session, members),
            await notifications_by_id(
                session, {c.notification_id for c in claimed if c.notification_id is not None}
            ),
            await frequency_choices(session, members),
            await _still_visible(session, claimed),
        )
        decided = {c.id: batch.decide(c) for c in claimed}
        going = [(c, v) for c in claimed if not isinstance(v := decided[c.id], Dropped)]
        said = await facts_for(session, [(r.as_reader(), n) for _, (r, n) in going])
    prepared: dict[int, EmailFacts | Dropped] = {
        i: v for i, v in decided.items() if isinstance(v, Dropped)
    }
    for (c, (recipient, _)), facts in zip(going, said, strict=True):
        prepared[c.id] = EmailFacts(recipient, facts)
    return prepared
