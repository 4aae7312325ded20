"""Threads and posts: reading, writing, editing, reactions, mentions and read marks."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.collation import match_key
from models.community import Community, CommunityRole, CommunityVisibility
from models.db import AnyRow, AnySelect, upsert
from models.event import lock_stream
from models.member import Member
from models.notification import FollowTarget, NotificationKind, WatchLevel
from models.thread import (
    Mention,
    Post,
    PostRevision,
    Reaction,
    ReactionKind,
    Thread,
    ThreadObjective,
    ThreadRead,
    ThreadTag,
)
from resolvers import notifications, policy
from resolvers.batching import rows_by_ids, values_by_owner
from resolvers.communities import role_in
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.idempotency import PostRequest, first_post
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.search_index import reindex
from resolvers.search_sources import POSTS, THREADS
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from resolvers.validation import clean_objectives, clean_text
from resolvers.watch import Watch
from subscriptions.events import EventPublisher, community_stream, thread_stream

Sessions = async_sessionmaker[AsyncSession]

MAX_BODY = 50_000
MAX_MENTIONS = 20
MAX_TAGS = 10
# A mention as clients insert it: @[Display name](<member global ID>)
MENTION = re.compile(r"@\[([^\]\n]{1,200})\]\(([A-Za-z0-9_=-]{1,100})\)")

THREAD_COLUMNS = (
    Thread.id,
    Thread.community_id,
    Thread.author_id,
    Thread.title,
    Thread.body,
    Thread.pinned,
    Thread.locked,
    Thread.reply_count,
    Thread.created_at,
    Thread.last_activity_at,
    Thread.deleted_at,
)
POST_COLUMNS = (
    Post.id,
    Post.thread_id,
    Post.author_id,
    Post.reply_to_id,
    Post.body,
    Post.version,
    Post.created_at,
    Post.edited_at,
    Post.deleted_at,
)
THREAD_ORDER = Keyset(
    "threads", (Thread.pinned, Thread.last_activity_at, Thread.id), descending=True
)
POST_ORDER = Keyset("posts", (Post.id,))

NO_SUCH_THREAD = Problem("threadId", "No such thread.", ErrorCode.NOT_FOUND)
NO_SUCH_POST = Problem("postId", "No such post.", ErrorCode.NOT_FOUND)


# --- Reading --------------------------------------------------------------------------------


def _visible_threads(viewer: Viewer) -> AnySelect:
    return select(*THREAD_COLUMNS).where(policy.visible_threads(viewer))


def _visible_posts(viewer: Viewer) -> AnySelect:
    return select(*POST_COLUMNS).where(policy.visible_posts(viewer))


@dataclass(frozen=True)
class ThreadFilter:
    tag: str | None = None
    objectives: Sequence[int] = ()


async def threads_page(
    sessions: Sessions,
    viewer: Viewer,
    community_id: int,
    criteria: ThreadFilter,
    request: PageRequest,
) -> Page:
    """A community's threads, pinned first, then by last activity."""
    statement = _visible_threads(viewer).where(Thread.community_id == community_id)
    if criteria.tag is not None:
        statement = statement.where(
            Thread.id.in_(
                select(ThreadTag.thread_id).where(ThreadTag.tag == match_key(criteria.tag))
            )
        )
    if criteria.objectives:
        statement = statement.where(
            Thread.id.in_(
                select(ThreadObjective.thread_id).where(
                    ThreadObjective.objective_number.in_(criteria.objectives)
                )
            )
        )
    return await fetch_page(sessions, statement, THREAD_ORDER, request)


async def threads_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(sessions, _visible_threads(viewer).where(Thread.id.in_(ids)), ids)


async def watch_thread(sessions: Sessions, viewer: Viewer, thread_id: int) -> Watch | None:
    """None when the viewer may not read the thread (now)."""
    async with sessions() as session:
        row = (
            await session.execute(
                select(Thread.community_id, Community.visibility)
                .join(Community, Community.id == Thread.community_id)
                .where(Thread.id == thread_id, policy.visible_threads(viewer))
            )
        ).first()
        if row is None:
            return None
        role = await role_in(session, viewer.member_id, row.community_id)
    public = row.visibility is CommunityVisibility.PUBLIC
    return Watch(scope=(viewer.role, role), stable=public)


async def may_read_thread(sessions: Sessions, viewer: Viewer, thread_id: int) -> bool:
    """Asked by live subscriptions before they start and again for every event."""
    return (await threads_by_ids(sessions, viewer, [thread_id]))[0] is not None


async def posts_page(
    sessions: Sessions, viewer: Viewer, thread_id: int, request: PageRequest
) -> Page:
    statement = _visible_posts(viewer).where(Post.thread_id == thread_id)
    return await fetch_page(sessions, statement, POST_ORDER, request)


async def posts_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(sessions, _visible_posts(viewer).where(Post.id.in_(ids)), ids)


async def tags_by_thread(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(sessions, ThreadTag.thread_id, ThreadTag.tag, ids)


async def objectives_by_thread(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, ThreadObjective.thread_id, ThreadObjective.objective_number, ids
    )


async def participants_by_thread(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    """Authors of the thread and of its live posts, first contribution first."""
    async with sessions() as session:
        rows = await session.execute(
            select(Post.thread_id, Post.author_id, func.min(Post.id))
            .where(Post.thread_id.in_(ids), Post.author_id.is_not(None), Post.deleted_at.is_(None))
            .group_by(Post.thread_id, Post.author_id)
            .order_by(func.min(Post.id))
        )
        authors: dict[int, list[int]] = defaultdict(list)
        for thread_id, author_id, _ in rows:
            if author_id is not None:
                authors[thread_id].append(author_id)
    return [authors[i] for i in ids]


@dataclass(frozen=True)
class ReactionSummary:
    kind: ReactionKind
    count: int
    by_viewer: bool


async def reactions_by_post(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[list[ReactionSummary]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                Reaction.post_id,
                Reaction.kind,
                func.count(),
                func.max(case((Reaction.member_id == (viewer.member_id or 0), 1), else_=0)),
            )
            .where(Reaction.post_id.in_(ids))
            .group_by(Reaction.post_id, Reaction.kind)
        )
        summaries: dict[int, list[ReactionSummary]] = defaultdict(list)
        for post_id, kind, count, mine in rows:
            summaries[post_id].append(ReactionSummary(kind, int(count), bool(mine)))
    order = list(ReactionKind)
    return [sorted(summaries[i], key=lambda s: order.index(s.kind)) for i in ids]


async def unread_by_thread(sessions: Sessions, viewer: Viewer, ids: Sequence[int]) -> list[int]:
    """Live posts after the viewer's read mark, per thread (0 for anonymous viewers)."""
    if viewer.member_id is None:
        return [0 for _ in ids]
    async with sessions() as session:
        rows = await session.execute(
            select(Post.thread_id, func.count())
            .outerjoin(
                ThreadRead,
                and_(
                    ThreadRead.thread_id == Post.thread_id, ThreadRead.member_id == viewer.member_id
                ),
            )
            .where(
                Post.thread_id.in_(ids),
                Post.deleted_at.is_(None),
                Post.id > func.coalesce(ThreadRead.last_read_post_id, 0),
            )
            .group_by(Post.thread_id)
        )
        counts = dict(rows.all())
    return [int(counts.get(i, 0)) for i in ids]


async def revisions_by_post(sessions: Sessions, ids: Sequence[int]) -> list[list[AnyRow]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                PostRevision.post_id,
                PostRevision.version,
                PostRevision.body,
                PostRevision.editor_id,
                PostRevision.replaced_at,
            )
            .where(PostRevision.post_id.in_(ids))
            .order_by(PostRevision.version)
        )
        revisions: dict[int, list[AnyRow]] = defaultdict(list)
        for row in rows:
            revisions[row.post_id].append(row)
    return [revisions[i] for i in ids]


# --- Writing ---------------------------------------------------------------------------------


async def _resolve_mentions(session: AsyncSession, body: str, decode: Any) -> list[int]:
    """Members mentioned in `body` (at most MAX_MENTIONS); unknown IDs are plain text."""
    keys = []
    for _, global_id in MENTION.findall(body):
        key = decode(global_id)
        if key is not None and key not in keys:
            keys.append(key)
    if len(keys) > MAX_MENTIONS:
        raise Refused(
            Problem(
                "body",
                "At most {max_mentions} members can be mentioned.",
                ErrorCode.TOO_LONG,
                values=message_values(max_mentions=MAX_MENTIONS),
            )
        )
    if not keys:
        return []
    found = await session.execute(select(Member.id).where(Member.id.in_(keys)))
    return sorted(found.scalars())


async def _writable_thread(
    work: UnitOfWork, viewer: Viewer, thread_id: int
) -> tuple[Thread, Community, bool]:
    """The thread if the viewer may post in it now, with its community and whether the viewer
    moderates there; otherwise the refusal that says why. The thread's stream is locked
    first (models/event.py, `lock_stream`): a deletion or lock that commits meanwhile is seen."""
    await lock_thread_stream(work.session, thread_id)
    thread = await work.session.scalar(
        select(Thread).where(Thread.id == thread_id, policy.visible_threads(viewer))
    )
    if thread is None:
        raise Refused(NO_SUCH_THREAD)
    community = await work.session.get_one(Community, thread.community_id)
    role = await require_posting_rights(work.session, viewer, community)
    moderator = policy.moderates_community(viewer, role)
    if thread.locked and not moderator:
        raise Refused(Problem("threadId", "This thread is locked.", ErrorCode.LOCKED))
    return thread, community, moderator


async def lock_thread_stream(session: AsyncSession, thread_id: int) -> None:
    """Lock the thread's event stream, the first lock of every writer of the thread (replies,
    moderation), before its row; for a thread that exists, so that no stream row is made for
    an id that names nothing. PostgreSQL only: SQLite has no row locks (one writer at a time),
    and an early write there would only hold its database lock longer."""
    if session.get_bind().dialect.name != "postgresql":
        return
    if await session.scalar(select(Thread.id).where(Thread.id == thread_id)) is not None:
        await lock_stream(session, thread_stream(thread_id))


async def require_posting_rights(
    session: AsyncSession, viewer: Viewer, community: Community
) -> CommunityRole | None:
    """The viewer's role in `community` if they may post there now; else the refusal."""
    role = await role_in(session, viewer.member_id, community.id)
    if not policy.may_post_in(viewer, role):
        raise Refused(Problem(None, "Join this community to post in it.", ErrorCode.NOT_ALLOWED))
    if not policy.is_open(community.ends_at):
        raise Refused(Problem(None, "This consultation has ended.", ErrorCode.CLOSED))
    return role


@dataclass(frozen=True)
class NewThread:
    community_id: int
    title: str
    body: str
    tags: Sequence[str] = ()
    objectives: Sequence[int] = ()


@dataclass(frozen=True)
class ThreadResult:
    thread: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


def _clean_tags(problems: ProblemList, tags: Sequence[str]) -> list[str]:
    clean = []
    for tag in tags:
        value = match_key(clean_text(problems, "tags", tag, max_length=50))
        if value and value not in clean:
            clean.append(value)
    if len(clean) > MAX_TAGS:
        problems.add(
            "tags",
            "At most {max_tags} tags.",
            ErrorCode.TOO_LONG,
            values=message_values(max_tags=MAX_TAGS),
        )
    return clean


async def create_thread(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, data: NewThread
) -> ThreadResult:
    problems = ProblemList()
    clean = NewThread(
        community_id=data.community_id,
        title=clean_text(problems, "title", data.title, max_length=300),
        body=clean_text(problems, "body", data.body, max_length=MAX_BODY, multiline=True),
        tags=_clean_tags(problems, data.tags),
        objectives=clean_objectives(problems, "objectives", data.objectives),
    )

    async def change(work: UnitOfWork) -> AnyRow | None:
        thread_id = await _write_thread(work, viewer, clean)
        return await work.read_back(_visible_threads(viewer).where(Thread.id == thread_id))

    done = await mutation(sessions, events, viewer, change, problems=problems)
    return ThreadResult(thread=done.value, problems=done.problems)


async def _write_thread(work: UnitOfWork, viewer: Viewer, data: NewThread) -> int:
    assert viewer.member_id is not None
    # Visible, not readable: an outsider who sees a private community learns to join it
    # (NOT_ALLOWED below), not that it is missing.
    community = await work.session.scalar(
        select(Community).where(
            Community.id == data.community_id, policy.visible_communities(viewer)
        )
    )
    if community is None:
        raise Refused(Problem("communityId", "No such community.", ErrorCode.NOT_FOUND))
    await require_posting_rights(work.session, viewer, community)
    thread = Thread(
        community_id=community.id, author_id=viewer.member_id, title=data.title, body=data.body
    )
    work.session.add(thread)
    await work.session.flush()
    work.session.add_all(ThreadTag(thread_id=thread.id, tag=t) for t in data.tags)
    work.session.add_all(
        ThreadObjective(thread_id=thread.id, objective_number=n) for n in data.objectives
    )
    await reindex(work.session, THREADS, [thread.id])
    await notifications.follow_unless_set(
        work.session, viewer.member_id, FollowTarget.THREAD, thread.id
    )
    payload = {"thread": thread.id, "community": community.id, "author": viewer.member_id}
    await work.emit(community_stream(community.id), "THREAD_CREATED", payload)
    watchers = await notifications.followers(
        work.session, FollowTarget.COMMUNITY, community.id, [WatchLevel.WATCHING]
    )
    await notifications.notify(
        work, watchers, NotificationKind.NEW_THREAD, actor_id=viewer.member_id, subject=payload
    )
    return thread.id


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
    return await work.read_back(_visible_posts(viewer).where(Post.id == post_id))


async def _write_post(
    work: UnitOfWork, viewer: Viewer, data: PostRequest, key: str | None, decode: Any
) -> int:
    assert viewer.member_id is not None
    body = data.body
    thread, community, _ = await _writable_thread(work, viewer, data.thread_id)
    reply_to = None
    if data.reply_to_id is not None:
        reply_to = await work.session.get(Post, data.reply_to_id)
        if reply_to is None or reply_to.thread_id != thread.id:
            raise Refused(Problem("replyToId", "No such post in this thread.", ErrorCode.NOT_FOUND))
    mentioned = await _resolve_mentions(work.session, body, decode)
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


async def count_replies(
    session: AsyncSession, thread_id: int, added: int, *, activity_at: datetime | None = None
) -> None:
    """Add `added` (or take away) live replies from the thread's count, in SQL
    (`reply_count = reply_count + added`): simultaneous posts and deletions each count, where
    a count read first and written back loses the others'. Called last in the transaction:
    posting and deleting replies, like moderating the thread, lock the thread's event stream
    before the thread's row, one order for all, so they never wait for each other in a cycle."""
    values: dict[str, Any] = {"reply_count": Thread.reply_count + added}
    if activity_at is not None:
        values["last_activity_at"] = activity_at
    await session.execute(
        update(Thread)
        .where(Thread.id == thread_id)
        .values(values)
        .execution_options(synchronize_session=False)
    )


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


async def _live_post(work: UnitOfWork, viewer: Viewer, post_id: int) -> Post:
    """The post if the viewer sees it and it is not deleted; otherwise NO_SUCH_POST."""
    post = await work.session.scalar(
        select(Post).where(Post.id == post_id, policy.visible_posts(viewer))
    )
    if post is None or post.deleted_at is not None:
        raise Refused(NO_SUCH_POST)
    return post


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
    post = await _live_post(work, viewer, post_id)
    if not policy.may_edit_post(viewer, post.author_id):
        raise Refused(Problem("postId", "Only the author edits a post.", ErrorCode.NOT_ALLOWED))
    await _writable_thread(work, viewer, post.thread_id)
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
    post = await _live_post(work, viewer, post_id)
    thread, _, _ = await _writable_thread(work, viewer, post.thread_id)
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


async def mark_thread_read(sessions: Sessions, viewer: Viewer, thread_id: int) -> ThreadResult:
    """Mark the thread read up to its last post; answers the thread as the viewer sees it."""

    async def change(work: UnitOfWork) -> AnyRow | None:
        thread = await work.read_back(_visible_threads(viewer).where(Thread.id == thread_id))
        if thread is None:
            raise Refused(NO_SUCH_THREAD)
        last = await work.session.scalar(
            select(func.max(Post.id)).where(Post.thread_id == thread_id)
        )
        # One statement writes the mark or moves it on, never back: the member's devices may
        # mark the thread read at the same moment.
        await work.session.execute(
            upsert(work.session, ThreadRead)
            .values(thread_id=thread_id, member_id=viewer.member_id, last_read_post_id=last or 0)
            .on_conflict_do_update(
                index_elements=[ThreadRead.thread_id, ThreadRead.member_id],
                set_={
                    "last_read_post_id": case(
                        (ThreadRead.last_read_post_id < (last or 0), last or 0),
                        else_=ThreadRead.last_read_post_id,
                    )
                },
            )
        )
        return thread

    done = await mutation(sessions, None, viewer, change)
    return ThreadResult(thread=done.value, problems=done.problems)
