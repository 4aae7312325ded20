"""Notifications (one mechanism, a kind per reason) and what members follow."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.db import insert_ignoring_duplicates, upsert
from models.member import Member
from models.notification import (
    CreatedNotification,
    Follow,
    FollowTarget,
    Notification,
    NotificationKind,
    WatchLevel,
)
from resolvers import policy
from resolvers.batching import rows_by_ids
from resolvers.email_deliveries import enqueue_notification_emails
from resolvers.errors import ErrorCode, Problem
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.push_deliveries import enqueue_notification_pushes
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from subscriptions.events import EventPublisher, member_stream

Sessions = async_sessionmaker[AsyncSession]

NOTIFICATION_COLUMNS = (
    Notification.id,
    Notification.member_id,
    Notification.kind,
    Notification.actor_id,
    Notification.subject,
    Notification.created_at,
    Notification.read_at,
)
NO_SUCH_TARGET = Problem("targetId", "No such thread or community.", ErrorCode.NOT_FOUND)
NEWEST_FIRST = Keyset("notifications", (Notification.id,), descending=True)


async def notify(
    work: UnitOfWork,
    recipients: Iterable[int],
    kind: NotificationKind,
    *,
    actor_id: int | None,
    subject: dict[str, Any],
    fanout_job: int | None = None,
) -> None:
    """Store a notification for each recipient (never the actor) who may see its subject now,
    stream it to them live, and write the emails and push messages of those who want them at
    once to the outbox (all in the caller's transaction). A constant number of statements for
    up to a thousand recipients (a few more per thousand), so a community of thousands is
    told in one short transaction. `fanout_job`: the outbox job whose batch this is (a member
    gets one notification per job: resolvers/topic_fanout.py)."""
    allowed = await _may_be_notified(work.session, set(recipients) - {actor_id}, subject)
    if not allowed:
        return
    # One INSERT for all of them (the driver pages very large ones).
    rows = await work.session.execute(
        insert(Notification).returning(Notification.id, Notification.member_id),
        [
            {
                "member_id": m,
                "kind": kind,
                "actor_id": actor_id,
                "subject": subject,
                "fanout_job": fanout_job,
            }
            for m in allowed
        ],
    )
    created = sorted(CreatedNotification(key, member_id, kind) for key, member_id in rows)
    await work.emit_to_each(
        "NOTIFICATION",
        {
            member_stream(n.member_id): {"notification": n.id, "kind": kind.value, **subject}
            for n in created
        },
    )
    await enqueue_notification_emails(work, created)
    await enqueue_notification_pushes(work, created)


CHECKS_PER_STATEMENT = 5_000  # member ids bound per statement (SQLite allows 32,766)


async def _may_be_notified(
    session: AsyncSession, member_ids: set[int], subject: dict[str, Any]
) -> list[int]:
    """The members the policy lets hear about `subject`, in id order: one statement over their
    rows per 5,000 of them (the policy's rule written over the member's columns)."""
    ordered = sorted(member_ids)
    allowed: list[int] = []
    for start in range(0, len(ordered), CHECKS_PER_STATEMENT):
        chunk = ordered[start : start + CHECKS_PER_STATEMENT]
        allowed.extend(
            await session.scalars(
                select(Member.id)
                .where(Member.id.in_(chunk), policy.members_may_be_notified(subject))
                .order_by(Member.id)
            )
        )
    return allowed


async def notifications_page(
    sessions: Sessions, viewer: Viewer, unread_only: bool, request: PageRequest
) -> Page | None:
    if viewer.member_id is None:
        return None
    statement = select(*NOTIFICATION_COLUMNS).where(policy.visible_notifications(viewer))
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return await fetch_page(sessions, statement, NEWEST_FIRST, request)


async def notifications_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[Any | None]:
    return await rows_by_ids(
        sessions,
        select(*NOTIFICATION_COLUMNS).where(
            Notification.id.in_(ids), policy.visible_notifications(viewer)
        ),
        ids,
    )


async def is_visible(sessions: Sessions, viewer: Viewer, notification_id: int) -> bool:
    async with sessions() as session:
        found = await session.scalar(
            select(Notification.id).where(
                Notification.id == notification_id, policy.visible_notifications(viewer)
            )
        )
    return found is not None


async def unread_count(sessions: Sessions, viewer: Viewer) -> int:
    if viewer.member_id is None:
        return 0
    async with sessions() as session:
        count = await session.scalar(
            select(func.count()).where(
                policy.visible_notifications(viewer), Notification.read_at.is_(None)
            )
        )
    return int(count or 0)


async def mark_read(sessions: Sessions, viewer: Viewer, ids: Sequence[int] | None) -> list[Problem]:
    """Mark the given notifications (or all, when `ids` is None) of the viewer read."""

    async def change(work: UnitOfWork) -> None:
        statement = (
            update(Notification)
            .where(Notification.member_id == viewer.member_id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
        if ids is not None:
            statement = statement.where(Notification.id.in_(ids))
        await work.session.execute(statement)

    return (await mutation(sessions, None, viewer, change)).problems


async def set_follow(
    session: AsyncSession, member_id: int, target: FollowTarget, target_id: int, level: WatchLevel
) -> None:
    await session.execute(
        upsert(session, Follow)
        .values(member_id=member_id, target=target, target_id=target_id, level=level)
        .on_conflict_do_update(
            index_elements=[Follow.member_id, Follow.target, Follow.target_id],
            set_={"level": level},
        )
    )


async def follow_unless_set(
    session: AsyncSession, member_id: int, target: FollowTarget, target_id: int
) -> None:
    """Taking part in a thread follows it (NORMAL), unless the member chose a level already."""
    await insert_ignoring_duplicates(
        session,
        Follow,
        member_id=member_id,
        target=target,
        target_id=target_id,
        level=WatchLevel.NORMAL,
    )


async def followers(
    session: AsyncSession, target: FollowTarget, target_id: int, levels: Iterable[WatchLevel]
) -> list[int]:
    rows = await session.execute(
        select(Follow.member_id).where(
            Follow.target == target, Follow.target_id == target_id, Follow.level.in_(list(levels))
        )
    )
    return list(rows.scalars())


async def muted(session: AsyncSession, target: FollowTarget, target_id: int) -> set[int]:
    return set(await followers(session, target, target_id, [WatchLevel.MUTED]))


async def follow(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    target: FollowTarget,
    target_id: int,
    level: WatchLevel,
) -> list[Problem]:
    async def change(work: UnitOfWork) -> None:
        assert viewer.member_id is not None
        if not await work.session.scalar(select(policy.followable(viewer, target, target_id))):
            raise Refused(NO_SUCH_TARGET)
        await set_follow(work.session, viewer.member_id, target, target_id, level)

    return (await mutation(sessions, events, viewer, change)).problems


async def follow_levels(
    sessions: Sessions, viewer: Viewer, target: FollowTarget, target_ids: Sequence[int]
) -> list[WatchLevel | None]:
    if viewer.member_id is None:
        return [None for _ in target_ids]
    async with sessions() as session:
        rows = await session.execute(
            select(Follow.target_id, Follow.level).where(
                Follow.member_id == viewer.member_id,
                Follow.target == target,
                Follow.target_id.in_(target_ids),
            )
        )
        levels = dict(rows.all())
    return [levels.get(i) for i in target_ids]
