"""Threads and posts: reading (pages, rows by id, tags, objectives, participants, reactions,
unread counts, revisions). Writing is in `thread_writes.py` and `post_writes.py`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.collation import match_key
from models.community import Community, CommunityVisibility
from models.db import AnyRow, AnySelect
from models.thread import (
    Post,
    PostRevision,
    Reaction,
    ReactionKind,
    Thread,
    ThreadObjective,
    ThreadRead,
    ThreadTag,
)
from resolvers import policy
from resolvers.batching import rows_by_ids, values_by_owner
from resolvers.communities import role_in
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.watch import Watch

Sessions = async_sessionmaker[AsyncSession]

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


# --- Reading --------------------------------------------------------------------------------


def visible_thread_rows(viewer: Viewer) -> AnySelect:
    return select(*THREAD_COLUMNS).where(policy.visible_threads(viewer))


def visible_post_rows(viewer: Viewer) -> AnySelect:
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
    statement = visible_thread_rows(viewer).where(Thread.community_id == community_id)
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
    return await rows_by_ids(sessions, visible_thread_rows(viewer).where(Thread.id.in_(ids)), ids)


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
    statement = visible_post_rows(viewer).where(Post.thread_id == thread_id)
    return await fetch_page(sessions, statement, POST_ORDER, request)


async def posts_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(sessions, visible_post_rows(viewer).where(Post.id.in_(ids)), ids)


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
