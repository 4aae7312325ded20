"""`thread(id)` with its first page of posts, their authors and reactions, in one statement.

The statement is the resolvers' reads joined together, each with its own policy predicate:
the thread as `threads.threads_by_ids` reads it (`policy.visible_threads`), its page of posts
as `threads.posts_page` (`policy.visible_posts`, keyset `threads.POST_ORDER`), the authors as
`members.members_by_ids` (`policy.visible_members`), the reaction counts as
`threads.reactions_by_post`, and the viewer's role in the thread's community as
`communities.roles_of` (for `policy.may_read_deleted_text`, decided by the caller). One row
per (post, reaction kind); the caller groups them.

The statement is built once per kind of viewer (anonymous, or signed in with a role) and
selection, not per request: the policy's functions are called with a viewer whose member id is
a bound parameter (`VIEWER_ID`), so they build the predicates every member of that role gets,
and each request binds its own member, thread, page size and cursor. (A policy function that
decided in Python on the member id would fail loudly here, as SQL expressions have no truth
value; the request then runs through the executor.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, bindparam, case, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.community import CommunityMember
from models.db import AnyRow
from models.member import Member, Role
from models.thread import Post, Reaction, Thread
from resolvers import policy
from resolvers.compiled.viewers import VIEWER_ID, parametric
from resolvers.pagination import PageRequest, decode_cursor
from resolvers.policy import Viewer
from resolvers.threads import POST_ORDER

THREAD_ID = bindparam("compiled_thread_id", type_=Integer)
PAGE_LIMIT = bindparam("compiled_page_limit", type_=Integer)
AFTER_ID = bindparam("compiled_after_id", type_=Integer)


@dataclass(frozen=True)
class ThreadReads:
    """What of a thread a compiled document selects (anything else is not read)."""

    posts: PageRequest | None  # the one `posts` connection, if selected
    authors: bool = False
    reactions: bool = False
    role: bool = False  # the viewer's community role: a deleted post's text is selected


@dataclass(frozen=True)
class _Kind:
    """What the statement's text depends on: the kind of viewer and what is selected."""

    signed_in: bool
    role: Role | None
    posts: bool
    after: bool
    authors: bool
    reactions: bool
    viewer_role: bool


def _page(viewer: Viewer, after: bool) -> Any:
    """`threads.posts_page`'s statement, forwards only (`first`/`after`)."""
    statement = select(
        Post.id, Post.author_id, Post.body, Post.version, Post.created_at, Post.edited_at,
        Post.deleted_at,
    ).where(policy.visible_posts(viewer), Post.thread_id == THREAD_ID)  # fmt: skip
    if after:
        statement = statement.where(Post.id > AFTER_ID)
    return statement.order_by(Post.id).limit(PAGE_LIMIT).cte("page")


def _reactions(viewer: Viewer, page: Any) -> Any:
    """`threads.reactions_by_post` over the page's posts."""
    by = VIEWER_ID if viewer.member_id is not None else literal(0)
    mine = func.max(case((Reaction.member_id == by, 1), else_=0))
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
            CommunityMember.member_id == VIEWER_ID,
            CommunityMember.community_id == thread.c.community_id,
        )
        .scalar_subquery()
        .label("viewer_role")
    )


def _kind(viewer: Viewer, reads: ThreadReads) -> _Kind:
    return _Kind(
        signed_in=viewer.is_signed_in,
        role=viewer.role if viewer.is_signed_in else None,
        posts=reads.posts is not None,
        after=reads.posts is not None and reads.posts.after is not None,
        authors=reads.authors,
        reactions=reads.reactions,
        viewer_role=reads.role,
    )


def parameters(viewer: Viewer, thread_id: int, reads: ThreadReads) -> dict[str, Any]:
    """The request's values of the statement's parameters."""
    values: dict[str, Any] = {"compiled_thread_id": thread_id}
    if viewer.member_id is not None:
        values["compiled_viewer_id"] = viewer.member_id
    if reads.posts is not None:
        values["compiled_page_limit"] = reads.posts.size + 1
        if reads.posts.after is not None:
            (after,) = decode_cursor(POST_ORDER.listing, reads.posts.after, 1)
            values["compiled_after_id"] = after
    return values


@lru_cache(maxsize=256)
def _statement(kind: _Kind) -> Select[Any]:
    """One statement: no row when the viewer may not see the thread; else a row per post and
    reaction kind (one row with NULL posts when the page is empty or not selected)."""
    viewer = parametric(kind.signed_in, kind.role)
    thread = (
        select(Thread.id, Thread.community_id, Thread.title, Thread.reply_count)
        .where(policy.visible_threads(viewer), Thread.id == THREAD_ID)
        .cte("th")
    )
    columns: list[Any] = [thread.c.id, thread.c.title, thread.c.reply_count]
    columns.append(
        _role(viewer, thread) if kind.viewer_role else literal(None).label("viewer_role")
    )
    if not kind.posts:
        return select(*columns)
    page = _page(viewer, kind.after)
    columns += [
        page.c.id.label("post_id"), page.c.author_id, page.c.body, page.c.version,
        page.c.created_at, page.c.edited_at, page.c.deleted_at,
    ]  # fmt: skip
    joined: Any = thread.outerjoin(page, true())
    order: list[Any] = [page.c.id]
    if kind.authors:
        visible = select(Member.id, Member.name).where(policy.visible_members(viewer)).subquery("a")
        joined = joined.outerjoin(visible, visible.c.id == page.c.author_id)
        columns += [visible.c.id.label("author_key"), visible.c.name.label("author_name")]
    if kind.reactions:
        counts = _reactions(viewer, page)
        joined = joined.outerjoin(counts, counts.c.post_id == page.c.id)
        columns += [counts.c.kind, counts.c.n, counts.c.mine]
    return select(*columns).select_from(joined).order_by(*order)


async def read_thread(
    sessions: async_sessionmaker[AsyncSession], viewer: Viewer, thread_id: int, reads: ThreadReads
) -> Sequence[AnyRow]:
    """The rows of the statement for this viewer's kind and selection, in one short read
    session."""
    statement = _statement(_kind(viewer, reads))
    async with sessions() as session:
        result = await session.execute(statement, parameters(viewer, thread_id, reads))
        return list(result.all())
