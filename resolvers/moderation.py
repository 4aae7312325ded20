"""Moderation: pin, lock, move and delete, with a reason in the audit log; flags and their queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.community import Community
from models.db import upsert
from models.moderation import AuditEntry, Flag, ModerationAction
from models.notification import NotificationKind
from models.thread import Post, Thread
from resolvers import notifications, policy
from resolvers.communities import NOT_A_MODERATOR, role_in
from resolvers.errors import ErrorCode, Problem, ProblemList
from resolvers.moderation_events import ModerationEventKind, emit_moderation_event
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.search_index import reindex
from resolvers.search_sources import POSTS, THREADS, posts_of_thread
from resolvers.thread_writes import NO_SUCH_POST, NO_SUCH_THREAD, count_replies, lock_thread_stream
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher, community_stream, thread_stream

Sessions = async_sessionmaker[AsyncSession]

FLAG_ORDER = Keyset("flags", (Flag.id,))


_THREAD_CHANGES: dict[ModerationAction, tuple[str, Any, str]] = {
    ModerationAction.PIN_THREAD: ("pinned", True, "THREAD_PINNED"),
    ModerationAction.UNPIN_THREAD: ("pinned", False, "THREAD_UNPINNED"),
    ModerationAction.LOCK_THREAD: ("locked", True, "THREAD_LOCKED"),
    ModerationAction.UNLOCK_THREAD: ("locked", False, "THREAD_UNLOCKED"),
}


def _reason(problems: ProblemList, reason: str) -> str:
    return clean_text(problems, "reason", reason, max_length=2_000, multiline=True)


async def _moderated_thread(work: UnitOfWork, viewer: Viewer, thread_id: int) -> Thread:
    """The thread if the viewer moderates it, its stream locked before its row, as replies
    lock them (models/event.py, `lock_stream`)."""
    await lock_thread_stream(work.session, thread_id)
    thread = await work.session.scalar(
        select(Thread).where(Thread.id == thread_id, policy.visible_threads(viewer))
    )
    if thread is None:
        raise Refused(NO_SUCH_THREAD)
    role = await role_in(work.session, viewer.member_id, thread.community_id)
    if not policy.moderates_community(viewer, role):
        raise Refused(NOT_A_MODERATOR)
    return thread


def _audit(
    work: UnitOfWork,
    viewer: Viewer,
    action: ModerationAction,
    subject: tuple[str, int],
    community_id: int,
    reason: str,
    details: dict[str, Any] | None = None,
) -> None:
    work.session.add(
        AuditEntry(
            actor_id=viewer.member_id,
            action=action,
            subject_type=subject[0],
            subject_id=subject[1],
            community_id=community_id,
            reason=reason,
            details=details or {},
        )
    )


async def _tell_author(
    work: UnitOfWork, viewer: Viewer, author_id: int | None, subject: dict[str, Any], reason: str
) -> None:
    """The author learns what was done to their content, and the moderator's reason."""
    if author_id is not None:
        await notifications.notify(
            work,
            [author_id],
            NotificationKind.MODERATION,
            actor_id=viewer.member_id,
            subject={**subject, "reason": reason},
        )


async def _resolve_open_flags(work: UnitOfWork, viewer: Viewer, post_ids: Select[Any]) -> None:
    """The content is gone: its open flags leave the queue, resolved by whoever removed it
    (the removal itself is what the audit log records)."""
    await work.session.execute(
        update(Flag)
        .where(Flag.post_id.in_(post_ids), Flag.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolved_by_id=viewer.member_id)
        .execution_options(synchronize_session=False)
    )


async def moderate_thread(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    thread_id: int,
    action: ModerationAction,
    reason: str,
) -> list[Problem]:
    """Pin, unpin, lock, unlock or delete a thread; the reason lands in the audit log."""
    problems = ProblemList()
    reason = _reason(problems, reason)

    async def change(work: UnitOfWork) -> None:
        thread = await _moderated_thread(work, viewer, thread_id)
        subject = {"thread": thread.id, "community": thread.community_id, "action": action.value}
        if action is ModerationAction.DELETE_THREAD:
            thread.deleted_at = utcnow()
            kind = "THREAD_DELETED"
            await reindex(work.session, THREADS, [thread.id])
            posts = await work.session.scalars(posts_of_thread(thread.id))
            await reindex(work.session, POSTS, list(posts))
            await _resolve_open_flags(work, viewer, posts_of_thread(thread.id))
        else:
            attribute, value, kind = _THREAD_CHANGES[action]
            setattr(thread, attribute, value)
        _audit(work, viewer, action, ("Thread", thread.id), thread.community_id, reason)
        await work.emit(thread_stream(thread.id), kind, subject)
        await work.emit(community_stream(thread.community_id), kind, subject)
        await _tell_author(work, viewer, thread.author_id, subject, reason)

    return (await mutation(sessions, events, viewer, change, problems=problems)).problems


async def move_thread(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    thread_id: int,
    to_community_id: int,
    reason: str,
) -> list[Problem]:
    """Move a thread to another community the moderator also moderates."""
    problems = ProblemList()
    reason = _reason(problems, reason)

    async def change(work: UnitOfWork) -> None:
        thread = await _moderated_thread(work, viewer, thread_id)
        target = await work.session.get(Community, to_community_id)
        target_role = await role_in(work.session, viewer.member_id, to_community_id)
        if target is None or not policy.moderates_community(viewer, target_role):
            raise Refused(
                Problem(
                    "toCommunityId", "You do not moderate that community.", ErrorCode.NOT_ALLOWED
                )
            )
        source = thread.community_id
        thread.community_id = to_community_id
        # The community's languages are the thread's and its replies' languages.
        await reindex(work.session, THREADS, [thread.id])
        posts = await work.session.scalars(posts_of_thread(thread.id))
        await reindex(work.session, POSTS, list(posts))
        details = {"from": source, "to": to_community_id}
        _audit(
            work,
            viewer,
            ModerationAction.MOVE_THREAD,
            ("Thread", thread.id),
            source,
            reason,
            details,
        )
        subject = {"thread": thread.id, **details}
        await work.emit(thread_stream(thread.id), "THREAD_MOVED", subject)
        await work.emit(community_stream(source), "THREAD_MOVED", subject)
        await work.emit(community_stream(to_community_id), "THREAD_MOVED", subject)
        await _tell_author(work, viewer, thread.author_id, subject, reason)

    return (await mutation(sessions, events, viewer, change, problems=problems)).problems


async def delete_post(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, post_id: int, reason: str
) -> list[Problem]:
    """Authors delete their own posts; moderators delete any, with a reason (audited). The post
    stays as a placeholder; its text is shown to moderators only."""
    problems = ProblemList()
    reason = clean_text(
        problems, "reason", reason, max_length=2_000, required=False, multiline=True
    )

    async def change(work: UnitOfWork) -> None:
        post = await work.session.scalar(
            select(Post).where(Post.id == post_id, policy.visible_posts(viewer))
        )
        if post is None or post.deleted_at is not None:
            raise Refused(NO_SUCH_POST)
        thread = await work.session.get_one(Thread, post.thread_id)
        role = await role_in(work.session, viewer.member_id, thread.community_id)
        own = policy.may_edit_post(viewer, post.author_id)
        if not policy.may_delete_post(viewer, post.author_id, role):
            raise Refused(Problem("postId", "You may not delete this post.", ErrorCode.NOT_ALLOWED))
        if not own and not reason:
            raise Refused(Problem("reason", "Moderators give a reason.", ErrorCode.REQUIRED))
        # Of simultaneous deletions of a post, the first takes it off the count; the others
        # find it deleted (the row they wait for has changed).
        deleted = await work.session.execute(
            update(Post)
            .where(Post.id == post.id, Post.deleted_at.is_(None))
            .values(deleted_at=utcnow(), deleted_by_id=viewer.member_id)
            .execution_options(synchronize_session=False)
        )
        if deleted.rowcount != 1:  # type: ignore[attr-defined]
            raise Refused(NO_SUCH_POST)
        await reindex(work.session, POSTS, [post.id])
        await _resolve_open_flags(work, viewer, select(Post.id).where(Post.id == post.id))
        subject = {"thread": thread.id, "post": post.id}
        # The thread's stream before the thread's row (its count, last), as a new reply
        # takes them: one order, no lock cycle between the two.
        await work.emit(thread_stream(thread.id), "POST_DELETED", subject)
        if not own:
            _audit(
                work,
                viewer,
                ModerationAction.DELETE_POST,
                ("Post", post.id),
                thread.community_id,
                reason,
            )
            await _tell_author(
                work, viewer, post.author_id, {**subject, "action": "DELETE_POST"}, reason
            )
        await count_replies(work.session, thread.id, -1)

    return (await mutation(sessions, events, viewer, change, problems=problems)).problems


async def flag_content(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, post_id: int, reason: str
) -> list[Problem]:
    """A member asks moderators to look at a post (once per member and post: flagging again,
    even at the same moment, changes nothing). A new flag is a live moderation event."""
    problems = ProblemList()
    reason = clean_text(problems, "reason", reason, max_length=2_000, multiline=True)

    async def change(work: UnitOfWork) -> None:
        community_id = await work.session.scalar(
            select(Thread.community_id)
            .join(Post, Post.thread_id == Thread.id)
            .where(Post.id == post_id, policy.visible_posts(viewer))
        )
        if community_id is None:
            raise Refused(NO_SUCH_POST)
        flag_id = await work.session.scalar(
            upsert(work.session, Flag)
            .values(post_id=post_id, member_id=viewer.member_id, reason=reason)
            .on_conflict_do_nothing()
            .returning(Flag.id)
        )
        if flag_id is not None:
            await emit_moderation_event(
                work,
                ModerationEventKind.FLAG_RAISED,
                community_id=community_id,
                member_id=viewer.member_id,
                flag=flag_id,
                post=post_id,
                reason=reason,
            )

    return (await mutation(sessions, events, viewer, change, problems=problems)).problems


async def moderation_queue(sessions: Sessions, viewer: Viewer, request: PageRequest) -> Page | None:
    """Open flags, oldest first, on posts in communities the viewer moderates (all for staff)."""
    if viewer.member_id is None:
        return None
    statement = (
        select(Flag.id, Flag.post_id, Flag.member_id, Flag.reason, Flag.created_at)
        .join(Post, Post.id == Flag.post_id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(Flag.resolved_at.is_(None), policy.moderated_by(viewer, Thread.community_id))
    )
    return await fetch_page(sessions, statement, FLAG_ORDER, request)


async def resolve_flag(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, flag_id: int, reason: str
) -> list[Problem]:
    problems = ProblemList()
    reason = _reason(problems, reason)
    missing = Problem("flagId", "No such open flag.", ErrorCode.NOT_FOUND)

    async def change(work: UnitOfWork) -> None:
        flag = await work.session.get(Flag, flag_id)
        if flag is None or flag.resolved_at is not None:
            raise Refused(missing)
        post = await work.session.get_one(Post, flag.post_id)
        thread = await work.session.get_one(Thread, post.thread_id)
        role = await role_in(work.session, viewer.member_id, thread.community_id)
        if not policy.moderates_community(viewer, role):
            raise Refused(missing)
        flag.resolved_at, flag.resolved_by_id = utcnow(), viewer.member_id
        _audit(
            work,
            viewer,
            ModerationAction.RESOLVE_FLAG,
            ("Flag", flag.id),
            thread.community_id,
            reason,
        )

    return (await mutation(sessions, events, viewer, change, problems=problems)).problems


AUDIT_ORDER = Keyset("audit", (AuditEntry.id,), descending=True)


async def audit_log(
    sessions: Sessions, viewer: Viewer, community_id: int | None, request: PageRequest
) -> Page | None:
    """Newest first. Global staff read all of it; community moderators their community's."""
    statement = select(
        AuditEntry.id,
        AuditEntry.actor_id,
        AuditEntry.action,
        AuditEntry.subject_type,
        AuditEntry.subject_id,
        AuditEntry.community_id,
        AuditEntry.reason,
        AuditEntry.created_at,
    )
    role = None
    if community_id is not None:
        async with sessions() as session:
            role = await role_in(session, viewer.member_id, community_id)
        statement = statement.where(AuditEntry.community_id == community_id)
    if not policy.may_read_audit_log(viewer, role, whole=community_id is None):
        return None
    return await fetch_page(sessions, statement, AUDIT_ORDER, request)
