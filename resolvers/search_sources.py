"""What the hub can search today: threads, posts and members. Each registers a source whose
visibility is the domain's own policy function (resolvers/policy.py).

Threads and replies are read by whoever may read their community (`readable_communities`); a
deleted thread or reply is read by nobody but global staff. The index holds only live threads and
live replies of live threads (a deletion takes them out in its own transaction), with their
community as the document's scope, so their visibility is "scope among the communities the
viewer may read": the same answer as `visible_threads`/`visible_posts`, except that staff do not
find deleted content either."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.community import Community, CommunityLanguage
from models.db import AnySelect
from models.member import Member, MemberExpertise, MemberLanguage
from models.search import SearchDocument
from models.thread import Post, Thread, ThreadObjective, ThreadTag
from resolvers import policy
from resolvers.policy import Viewer
from resolvers.search_index import (
    COUNTRY,
    LANGUAGE,
    OBJECTIVE,
    IndexedItem,
    SearchSource,
    register,
)

THREAD = "THREAD"
POST = "POST"
MEMBER = "MEMBER"


async def _pairs(session: AsyncSession, statement: AnySelect) -> dict[int, list[object]]:
    grouped: dict[int, list[object]] = defaultdict(list)
    for owner, value in await session.execute(statement):
        grouped[owner].append(value)
    return grouped


def _strs(values: Sequence[object]) -> list[str]:
    return [str(v) for v in values]


def _single(languages: Sequence[object]) -> str | None:
    """A text has a language when its community (or author) works in exactly one."""
    return str(languages[0]) if len(languages) == 1 else None


async def _thread_facets(
    session: AsyncSession, thread_ids: Sequence[int]
) -> tuple[dict[int, list[object]], dict[int, list[object]]]:
    objectives = await _pairs(
        session,
        select(ThreadObjective.thread_id, ThreadObjective.objective_number).where(
            ThreadObjective.thread_id.in_(thread_ids)
        ),
    )
    languages = await _pairs(
        session,
        select(Thread.id, CommunityLanguage.tag)
        .join(CommunityLanguage, CommunityLanguage.community_id == Thread.community_id)
        .where(Thread.id.in_(thread_ids))
        .order_by(CommunityLanguage.tag),
    )
    return objectives, languages


# --- threads


def _in_readable_communities(viewer: Viewer) -> ColumnElement[bool]:
    return SearchDocument.scope_id.in_(
        select(Community.id).where(policy.readable_communities(viewer))
    )


async def _load_threads(session: AsyncSession, ids: Sequence[int]) -> dict[int, IndexedItem]:
    rows = (
        await session.execute(
            select(
                Thread.id, Thread.community_id, Thread.title, Thread.body, Thread.created_at
            ).where(Thread.id.in_(ids), Thread.deleted_at.is_(None))
        )
    ).all()
    found = [row.id for row in rows]
    objectives, languages = await _thread_facets(session, found)
    tags = await _pairs(
        session, select(ThreadTag.thread_id, ThreadTag.tag).where(ThreadTag.thread_id.in_(found))
    )
    return {
        row.id: IndexedItem(
            scope_id=row.community_id,
            title=row.title,
            summary=" ".join(sorted(_strs(tags[row.id]))),
            body=row.body,
            created_at=row.created_at,
            language=_single(languages[row.id]),
            facets={OBJECTIVE: map(str, objectives[row.id]), LANGUAGE: map(str, languages[row.id])},
        )
        for row in rows
    }


THREADS = register(
    SearchSource(
        kind=THREAD,
        visible=_in_readable_communities,
        load=_load_threads,
        all_ids=lambda: select(Thread.id),
    )
)


# --- posts: live replies in live threads; a deletion takes them out in its transaction


async def _load_posts(session: AsyncSession, ids: Sequence[int]) -> dict[int, IndexedItem]:
    rows = (
        await session.execute(
            select(Post.id, Post.thread_id, Thread.community_id, Post.body, Post.created_at)
            .join(Thread, Thread.id == Post.thread_id)
            .where(Post.id.in_(ids), Post.deleted_at.is_(None), Thread.deleted_at.is_(None))
        )
    ).all()
    objectives, languages = await _thread_facets(session, sorted({r.thread_id for r in rows}))
    return {
        row.id: IndexedItem(
            scope_id=row.community_id,
            title="",
            body=row.body,
            created_at=row.created_at,
            language=_single(languages[row.thread_id]),
            facets={
                OBJECTIVE: map(str, objectives[row.thread_id]),
                LANGUAGE: map(str, languages[row.thread_id]),
            },
        )
        for row in rows
    }


POSTS = register(
    SearchSource(
        kind=POST,
        visible=_in_readable_communities,
        load=_load_posts,
        all_ids=lambda: select(Post.id).where(Post.deleted_at.is_(None)),
    )
)


def posts_of_thread(thread_id: int) -> AnySelect:
    return select(Post.id).where(Post.thread_id == thread_id)


# --- members: name (title) and biography (body), expertise, languages and country


def _visible_members(viewer: Viewer) -> ColumnElement[bool]:
    return SearchDocument.item_id.in_(select(Member.id).where(policy.visible_members(viewer)))


async def _load_members(session: AsyncSession, ids: Sequence[int]) -> dict[int, IndexedItem]:
    rows = (
        await session.execute(
            select(Member.id, Member.name, Member.bio, Member.country, Member.created_at).where(
                Member.id.in_(ids)
            )
        )
    ).all()
    expertise = await _pairs(
        session,
        select(MemberExpertise.member_id, MemberExpertise.objective_number).where(
            MemberExpertise.member_id.in_(ids)
        ),
    )
    languages = await _pairs(
        session,
        select(MemberLanguage.member_id, MemberLanguage.tag)
        .where(MemberLanguage.member_id.in_(ids))
        .order_by(MemberLanguage.tag),
    )
    return {
        row.id: IndexedItem(
            title=row.name,
            body=row.bio,
            created_at=row.created_at,
            language=_single(languages[row.id]),
            facets={
                OBJECTIVE: map(str, expertise[row.id]),
                LANGUAGE: map(str, languages[row.id]),
                COUNTRY: [row.country] if row.country else [],
            },
        )
        for row in rows
    }


MEMBERS = register(
    SearchSource(
        kind=MEMBER,
        visible=_visible_members,
        load=_load_members,
        all_ids=lambda: select(Member.id),
    )
)
