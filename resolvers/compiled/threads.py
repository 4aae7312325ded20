"""`thread(id)` with its first page of posts, their authors and reactions, in one statement.

The statement is the resolvers' reads joined together, each with its own policy predicate:
the thread as `threads.threads_by_ids` reads it (`policy.visible_threads`), its page of posts
as `threads.posts_page` (`policy.visible_posts`, keyset `threads.POST_ORDER`), the authors as
`members.members_by_ids` (`policy.visible_members`), the reaction counts as
`threads.reactions_by_post`, and the viewer's role in the thread's community as
`communities.roles_of` (for `policy.may_read_deleted_text`, decided by the caller). One row
per (post, reaction kind); the caller groups them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.community import CommunityMember
from models.db import AnyRow
from models.member import Member
from models.thread import Post, Reaction, Thread
from resolvers import policy
from resolvers.pagination import PageRequest
from resolvers.policy import Viewer
from resolvers.threads import POST_ORDER


@dataclass(frozen=True)
class ThreadReads:
    """What of a thread a compiled document selects (anything else is not read)."""

    posts: PageRequest | None  # the one `posts` connection, if selected
    authors: bool = False
    reactions: bool = False
    role: bool = False  # the viewer's community role: a deleted post's text is selected


def _page(viewer: Viewer, thread_id: int, request: PageRequest) -> Any:
    """`threads.posts_page`'s statement, forwards only (`first`/`after`)."""
    statement = select(
        Post.id, Post.author_id, Post.body, Post.version, Post.created_at, Post.edited_at,
        Post.deleted_at,
    ).where(policy.visible_posts(viewer), Post.thread_id == thread_id)  # fmt: skip
    if request.after is not None:
        statement = statement.where(Post.id > POST_ORDER.bound(request.after).clauses[0])
    return statement.order_by(Post.id).limit(request.size + 1).cte("page")


def _reactions(viewer: Viewer, page: Any) -> Any:
    """`threads.reactions_by_post` over the page's posts."""
    mine = func.max(case((Reaction.member_id == (viewer.member_id or 0), 1), else_=0))
    return (
        select(
            Reaction.post_id.label("post_id"),
            Reaction.kind.label("kind"),
            func.count().label("n"),
            mine.label("mine"),
        )
        .where(Reaction.post_id.in_(select(page.c.id)))
        .group_by(Reaction.post_id, Reaction.kind)
        .subquery("rx")
    )


def _role(viewer: Viewer, thread: Any) -> Any:
    """`communities.roles_of` for the thread's community (NULL: not a member, or anonymous)."""
    if viewer.member_id is None:
        return literal(None).label("viewer_role")
    return (
        select(CommunityMember.role)
        .where(
            CommunityMember.member_id == viewer.member_id,
            CommunityMember.community_id == thread.c.community_id,
        )
        .scalar_subquery()
        .label("viewer_role")
    )


def thread_statement(viewer: Viewer, thread_id: int, reads: ThreadReads) -> Select[Any]:
    """One statement: no row when the viewer may not see the thread; else a row per post and
    reaction kind (one row with NULL posts when the page is empty or not selected)."""
    thread = (
        select(Thread.id, Thread.community_id, Thread.title, Thread.reply_count)
        .where(policy.visible_threads(viewer), Thread.id == thread_id)
        .cte("th")
    )
    columns: list[Any] = [thread.c.id, thread.c.title, thread.c.reply_count]
    columns.append(_role(viewer, thread) if reads.role else literal(None).label("viewer_role"))
    if reads.posts is None:
        return select(*columns)
    page = _page(viewer, thread_id, reads.posts)
    columns += [
        page.c.id.label("post_id"), page.c.author_id, page.c.body, page.c.version,
        page.c.created_at, page.c.edited_at, page.c.deleted_at,
    ]  # fmt: skip
    joined: Any = thread.outerjoin(page, true())
    order: list[Any] = [page.c.id]
    if reads.authors:
        visible = select(Member.id, Member.name).where(policy.visible_members(viewer)).subquery("a")
        joined = joined.outerjoin(visible, visible.c.id == page.c.author_id)
        columns += [visible.c.id.label("author_key"), visible.c.name.label("author_name")]
    if reads.reactions:
        counts = _reactions(viewer, page)
        joined = joined.outerjoin(counts, counts.c.post_id == page.c.id)
        columns += [counts.c.kind, counts.c.n, counts.c.mine]
    return select(*columns).select_from(joined).order_by(*order)


async def read_thread(
    sessions: async_sessionmaker[AsyncSession], viewer: Viewer, thread_id: int, reads: ThreadReads
) -> Sequence[AnyRow]:
    """The rows of `thread_statement`, in one short read session."""
    async with sessions() as session:
        return list((await session.execute(thread_statement(viewer, thread_id, reads))).all())
