"""Writing posts: replies (idempotent with a key), edits (optimistic concurrency) and reactions,
under the rules of `thread_writes.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.db import AnyRow, upsert
from models.notification import FollowTarget, NotificationKind, WatchLevel
from models.thread import Mention, Post, PostRevision, Reaction, ReactionKind, Thread
from resolvers import notifications, policy
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.idempotency import PostRequest, first_post
from resolvers.policy import Viewer
from resolvers.search_index import reindex
from resolvers.search_sources import POSTS
from resolvers.thread_writes import (
    MAX_BODY,
    count_replies,
    live_post,
    resolve_mentions,
    writable_thread,
)
from resolvers.threads import posts_by_ids, visible_post_rows
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher, community_stream, thread_stream

Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class NewPost:
    thread_id: int
    body: str
    reply_to_id: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class PostResult:
    post: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)
    current_version: int | None = None


async def create_post(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    data: NewPost,
    decode_member_id: Any,
) -> PostResult:
    """Reply in a thread. With an `idempotency_key`, a retry returns the first post; the same
    key with other input is refused (IDEMPOTENCY_KEY_REUSED)."""
    problems = ProblemList()
    body = clean_text(problems, "body", data.body, max_length=MAX_BODY, multiline=True)
    key = None
    if data.idempotency_key is not None:
        key = clean_text(problems, "idempotencyKey", data.idempotency_key, max_length=100)
    request = PostRequest(data.thread_id, data.reply_to_id, body)

    async def change(work: UnitOfWork) -> AnyRow | None:
        assert viewer.member_id is not None
        post_id = None
        if key is not None:
            post_id = await first_post(work.session, viewer.member_id, key, request)
        if post_id is None:
            post_id = await _write_post(work, viewer, request, key, decode_member_id)
        return await _post_row(work, viewer, post_id)

    done = await mutation(sessions, events, viewer, change, problems=problems)
    return PostResult(post=done.value, problems=done.problems)


async def _post_row(work: UnitOfWork, viewer: Viewer, post_id: int) -> AnyRow | None:
    """The post as the viewer sees it, read in the transaction that changed it."""
    return await work.read_back(visible_post_rows(viewer).where(Post.id == post_id))


async def _write_post(
    work: UnitOfWork, viewer: Viewer, data: PostRequest, key: str | None, decode: Any
) -> int:
    assert viewer.member_id is not None
    body = data.body
    thread, community, _ = await writable_thread(work, viewer, data.thread_id)
    reply_to = None
    if data.reply_to_id is not None:
        reply_to = await work.session.get(Post, data.reply_to_id)
        if reply_to is None or reply_to.thread_id != thread.id:
            raise Refused(Problem("replyToId", "No such post in this thread.", ErrorCode.NOT_FOUND))
    mentioned = await resolve_mentions(work.session, body, decode)
    post = (
        await work.session.execute(
            upsert(work.session, Post)
            .values(
                thread_id=thread.id,
                author_id=viewer.member_id,
                reply_to_id=data.reply_to_id,
                body=body,
                idempotency_key=key,
            )
            .on_conflict_do_nothing(index_elements=[Post.author_id, Post.idempotency_key])
            .returning(Post.id, Post.created_at)
        )
    ).first()
    if post is None:
        # The same key raced in from another request: its post is the answer, if it asked
        # for the same.
        assert key is not None
        first = await first_post(work.session, viewer.member_id, key, data)
        assert first is not None
        return first
    work.session.add_all(Mention(post_id=post.id, member_id=m) for m in mentioned)
    await reindex(work.session, POSTS, [post.id])
    await notifications.follow_unless_set(
        work.session, viewer.member_id, FollowTarget.THREAD, thread.id
    )
    subject = {"thread": thread.id, "post": post.id, "community": community.id}
    await work.emit(
        thread_stream(thread.id), "POST_CREATED", {**subject, "author": viewer.member_id}
    )
    await work.emit(community_stream(community.id), "THREAD_ACTIVITY", subject)
    await _notify_about_post(work, viewer.member_id, thread, reply_to, mentioned, subject)
    await count_replies(work.session, thread.id, 1, activity_at=post.created_at)
    return int(post.id)


async def _notify_about_post(
    work: UnitOfWork,
    author_id: int,
    thread: Thread,
    reply_to: Post | None,
    mentioned: list[int],
    subject: dict[str, Any],
) -> None:
    muted = await notifications.muted(work.session, FollowTarget.THREAD, thread.id)
    await notifications.notify(
        work, set(mentioned) - muted, NotificationKind.MENTION, actor_id=author_id, subject=subject
    )
    repliers = {thread.author_id, reply_to.author_id if reply_to else None} - {None}
    watchers = await notifications.followers(
        work.session, FollowTarget.THREAD, thread.id, [WatchLevel.WATCHING]
    )
    recipients = {m for m in repliers | set(watchers) if m is not None} - muted - set(mentioned)
    await notifications.notify(
        work, recipients, NotificationKind.REPLY, actor_id=author_id, subject=subject
    )


async def edit_post(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    post_id: int,
    body: str,
    expected_version: int,
) -> PostResult:
    """Optimistic concurrency: the edit applies only to the version the author saw."""
    problems = ProblemList()
    body = clean_text(problems, "body", body, max_length=MAX_BODY, multiline=True)

    async def change(work: UnitOfWork) -> AnyRow | None:
        await _edit_post(work, viewer, post_id, body, expected_version)
        return await _post_row(work, viewer, post_id)

    done = await mutation(sessions, events, viewer, change, problems=problems)
    if not done.problems:
        return PostResult(post=done.value)
    current_version = None
    if any(p.code is ErrorCode.EDIT_CONFLICT for p in done.problems):
        rows = await posts_by_ids(sessions, viewer, [post_id])
        current_version = rows[0].version if rows[0] is not None else None
    return PostResult(problems=done.problems, current_version=current_version)


async def _edit_post(
    work: UnitOfWork, viewer: Viewer, post_id: int, body: str, expected_version: int
) -> None:
    post = await live_post(work, viewer, post_id)
    if not policy.may_edit_post(viewer, post.author_id):
        raise Refused(Problem("postId", "Only the author edits a post.", ErrorCode.NOT_ALLOWED))
    await writable_thread(work, viewer, post.thread_id)
    changed = await work.session.execute(
        update(Post)
        .where(Post.id == post_id, Post.version == expected_version)
        .values(body=body, version=Post.version + 1, edited_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        current = await work.session.scalar(select(Post.version).where(Post.id == post_id))
        raise Refused(
            Problem(
                "expectedVersion",
                "Someone else edited this post first: it is now at version {current}.",
                ErrorCode.EDIT_CONFLICT,
                values=message_values(current=current),
            )
        )
    work.session.add(
        PostRevision(
            post_id=post.id, version=expected_version, body=post.body, editor_id=viewer.member_id
        )
    )
    await reindex(work.session, POSTS, [post.id])
    await work.emit(
        thread_stream(post.thread_id),
        "POST_EDITED",
        {"thread": post.thread_id, "post": post.id, "version": expected_version + 1},
    )


async def set_reaction(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    post_id: int,
    kind: ReactionKind,
    on: bool,
) -> PostResult:
    """Add or take back one reaction of a kind (one of each kind per member and post)."""

    async def change(work: UnitOfWork) -> AnyRow | None:
        await _react(work, viewer, post_id, kind, on)
        return await _post_row(work, viewer, post_id)

    done = await mutation(sessions, events, viewer, change)
    return PostResult(post=done.value, problems=done.problems)


async def _react(
    work: UnitOfWork, viewer: Viewer, post_id: int, kind: ReactionKind, on: bool
) -> None:
    post = await live_post(work, viewer, post_id)
    thread, _, _ = await writable_thread(work, viewer, post.thread_id)
    existing = await work.session.get(Reaction, (post_id, viewer.member_id, kind))
    if on == (existing is not None):
        return  # the reaction is already as asked: nothing to do
    if on:
        work.session.add(Reaction(post_id=post_id, member_id=viewer.member_id, kind=kind))
    else:
        await work.session.delete(existing)
    await work.session.flush()
    count = await work.session.scalar(
        select(func.count()).where(Reaction.post_id == post_id, Reaction.kind == kind)
    )
    subject = {"thread": thread.id, "post": post_id}
    await work.emit(
        thread_stream(thread.id),
        "REACTION_CHANGED",
        {**subject, "kind": kind.value, "count": int(count or 0)},
    )
    if on and post.author_id is not None:
        await notifications.notify(
            work,
            [post.author_id],
            NotificationKind.REACTION,
            actor_id=viewer.member_id,
            subject={**subject, "reaction": kind.value},
        )
