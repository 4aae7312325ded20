"""What notifications say to the members they are for (emails, push messages, digests), read
for many at once: who the readers are (name, address, role, languages), the notifications,
the titles of what they name in each reader's languages, the actor's name where the reader
may see them, a post's snippet, what happened. A few statements for a whole batch, whatever
its size: the outbox's workers decide and compose a claimed batch from them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.member import Member
from models.notification import Notification, NotificationKind
from models.thread import Post
from resolvers import policy
from resolvers.markdown import plain_text
from resolvers.members import declared_languages
from resolvers.notification_changes import what_happened
from resolvers.notification_titles import Title, titles_for
from resolvers.policy import Viewer

SNIPPET_LENGTH = 300


@dataclass(frozen=True)
class Reader:
    """A member as a notification's email or push message is written for them, as of now."""

    member_id: int
    name: str
    email: str
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


async def readers_of(session: AsyncSession, member_ids: Collection[int]) -> dict[int, Reader]:
    """The members that still exist among `member_ids`, as readers (two statements)."""
    if not member_ids:
        return {}
    rows = (
        await session.execute(
            select(Member.id, Member.name, Member.email, Member.role, Member.organization_id).where(
                Member.id.in_(member_ids)
            )
        )
    ).all()
    languages = await declared_languages(session, [row.id for row in rows])
    return {
        row.id: Reader(
            row.id,
            row.name,
            row.email,
            Viewer(member_id=row.id, role=row.role, organization_id=row.organization_id),
            languages[row.id],
        )
        for row in rows
    }


async def notifications_by_id(
    session: AsyncSession, ids: Collection[int]
) -> dict[int, Notification]:
    if not ids:
        return {}
    found = await session.scalars(select(Notification).where(Notification.id.in_(ids)))
    return {notification.id: notification for notification in found}


async def facts_for(
    session: AsyncSession, wanted: Sequence[tuple[Reader, Notification]]
) -> list[NotificationFacts]:
    """What each notification says to its reader (whom the policy lets see its subject)."""
    titles = await titles_for(
        session, [(reader.viewer, reader.languages, n.subject) for reader, n in wanted]
    )
    actors = await _actors(session, {n.actor_id for _, n in wanted if n.actor_id is not None})
    snippets = await _snippets(session, [n.subject for _, n in wanted])
    facts = []
    for (reader, notification), named in zip(wanted, titles, strict=True):
        subject = notification.subject
        actor = actors.get(notification.actor_id) if notification.actor_id else None
        facts.append(
            NotificationFacts(
                kind=notification.kind,
                link=_link(subject),
                conversation=_conversation(subject),
                titles=named,
                change=what_happened(subject).as_lines(),
                actor_name=actor[0]
                if actor and policy.member_visible_to(reader.viewer, actor[1])
                else None,
                snippet=snippets.get(int(subject["post"])) if subject.get("post") else None,
            )
        )
    return facts


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


async def _actors(session: AsyncSession, ids: set[int]) -> dict[int, tuple[str, bool]]:
    """The actors' names, and whether each is a listed expert (whom the public sees)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Member.id, Member.name, Member.is_expert).where(Member.id.in_(ids))
    )
    return {member_id: (name, bool(is_expert)) for member_id, name, is_expert in rows}


async def _snippets(session: AsyncSession, subjects: Sequence[dict[str, Any]]) -> dict[int, str]:
    """The posts' text, plain and shortened; nothing of a deleted post."""
    ids = {int(subject["post"]) for subject in subjects if subject.get("post") is not None}
    if not ids:
        return {}
    rows = await session.execute(
        select(Post.id, Post.body).where(Post.id.in_(ids), Post.deleted_at.is_(None))
    )
    return {post_id: _shortened(plain_text(body)) for post_id, body in rows}


def _shortened(text: str) -> str:
    return text if len(text) <= SNIPPET_LENGTH else text[: SNIPPET_LENGTH - 1].rstrip() + "…"
