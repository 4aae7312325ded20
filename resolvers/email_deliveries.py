"""Notification emails: written to the outbox with the notification, and decided again when a
worker sends them. At send time the recipient must still exist, still have the address the
mail was written for, still want this kind of mail at once, and still be allowed by the policy
to see what it is about; otherwise the delivery is dropped, never sent.

What an email says is gathered here as facts (`EmailFacts`); app/mail.py renders them through
templates and sends them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.member import Member
from models.notification import CreatedNotification, Notification, NotificationKind
from models.outbox import Delivery, DeliveryChannel, EmailFrequency
from models.thread import Post
from resolvers import policy
from resolvers.email_preferences import frequencies
from resolvers.markdown import plain_text
from resolvers.members import declared_languages
from resolvers.notification_changes import what_happened
from resolvers.notification_titles import Title, notification_titles
from resolvers.outbox import Claimed, Dropped
from resolvers.policy import Viewer
from resolvers.unit_of_work import UnitOfWork

Sessions = async_sessionmaker[AsyncSession]

SNIPPET_LENGTH = 300

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


@dataclass(frozen=True)
class NotificationFacts:
    """What one notification says, each fact checked against the policy for the recipient."""

    kind: NotificationKind
    # The web client's page of what it is about: (GraphQL type name, integer key).
    link: tuple[str, int] | None
    # Mails about the same thing (a thread, a request, a webinar, an item) group in one
    # conversation under this reference.
    conversation: str | None
    titles: dict[str, Title] = field(default_factory=dict)
    # What happened, labelled ("Status": "IN_PROGRESS", "Note": "...").
    change: dict[str, str] = field(default_factory=dict)
    actor_name: str | None = None
    snippet: str | None = None


@dataclass(frozen=True)
class EmailFacts:
    """One notification's email."""

    recipient: Recipient
    notification: NotificationFacts


async def recipient_of(session: AsyncSession, claimed: Claimed) -> Recipient | Dropped:
    """The claimed delivery's recipient as of now: still there, at the same address."""
    member = await session.get(Member, claimed.member_id) if claimed.member_id else None
    if member is None:
        return RECIPIENT_DELETED
    if member.email != claimed.address:
        return ADDRESS_CHANGED
    viewer = Viewer(member_id=member.id, role=member.role, organization_id=member.organization_id)
    languages = await declared_languages(session, member.id)
    return Recipient(claimed.key, member.id, member.email, member.name, viewer, languages)


async def still_visible(sessions: Sessions, claimed: Sequence[Claimed]) -> frozenset[int]:
    """The claimed deliveries (ids) whose recipient may still see what their notification is
    about, now: the policy's rule over the recipients' rows, one statement for a batch."""
    ids = [c.id for c in claimed if c.notification_id is not None]
    if not ids:
        return frozenset()
    async with sessions() as session:
        rows = await session.scalars(
            select(Delivery.id)
            .join(Notification, Notification.id == Delivery.notification_id)
            .join(Member, Member.id == Delivery.member_id)
            .where(Delivery.id.in_(ids), policy.notifications_visible_to_their_members())
        )
        return frozenset(rows)


async def prepare_email(
    sessions: Sessions, claimed: Claimed, visible: frozenset[int]
) -> EmailFacts | Dropped:
    """The email to send now for a claimed delivery, or why it is dropped. `visible`: the
    claimed deliveries whose recipients may see their subject, checked just now
    (`still_visible`, for the worker's whole batch)."""
    async with sessions() as session:
        recipient = await recipient_of(session, claimed)
        if isinstance(recipient, Dropped):
            return recipient
        notification = (
            await session.get(Notification, claimed.notification_id)
            if claimed.notification_id
            else None
        )
        if notification is None:
            return NOTIFICATION_GONE
        chosen = await frequencies(session, [recipient.member_id], notification.kind)
        if chosen[recipient.member_id] is not EmailFrequency.IMMEDIATE:
            return UNSUBSCRIBED
        if claimed.id not in visible:
            return NOT_VISIBLE
        facts = await notification_facts(
            session, recipient.viewer, recipient.languages, notification
        )
        return EmailFacts(recipient, facts)


async def notification_facts(
    session: AsyncSession, viewer: Viewer, languages: Sequence[str], notification: Notification
) -> NotificationFacts:
    """What `notification` says to `viewer` (whom the policy lets see its subject), its titles
    in the first of `languages` each is translated into."""
    subject = notification.subject
    return NotificationFacts(
        kind=notification.kind,
        link=_link(subject),
        conversation=_conversation(subject),
        titles=await notification_titles(session, viewer, languages, subject),
        change=what_happened(subject).as_lines(),
        actor_name=await _actor_name(session, viewer, notification.actor_id),
        snippet=await _snippet(session, subject),
    )


def _link(subject: dict[str, Any]) -> tuple[str, int] | None:
    for key, type_name in (
        ("thread", "Thread"),
        ("webinar", "Webinar"),
        ("supportRequest", "SupportRequest"),
        ("community", "Community"),
        ("call", "CallForPractices"),
    ):
        if subject.get(key) is not None:
            return type_name, int(subject[key])
    if subject.get("item") is not None:
        return str(subject.get("item_kind", "")).title(), int(subject["item"])
    return None


def _conversation(subject: dict[str, Any]) -> str | None:
    link = _link(subject)
    return f"{link[0].lower()}-{link[1]}" if link else None


async def _actor_name(session: AsyncSession, viewer: Viewer, actor_id: int | None) -> str | None:
    """The actor's name where the recipient may see the actor."""
    if actor_id is None:
        return None
    name: str | None = await session.scalar(
        select(Member.name).where(Member.id == actor_id, policy.visible_members(viewer))
    )
    return name


async def _snippet(session: AsyncSession, subject: dict[str, Any]) -> str | None:
    """The post's text, plain and shortened; nothing of a deleted post."""
    if subject.get("post") is None:
        return None
    row = (
        await session.execute(
            select(Post.body, Post.deleted_at).where(Post.id == int(subject["post"]))
        )
    ).first()
    if row is None or row.deleted_at is not None:
        return None
    text = plain_text(row.body)
    return text if len(text) <= SNIPPET_LENGTH else text[: SNIPPET_LENGTH - 1].rstrip() + "…"
