"""What the hub can search: threads, posts, members, resources, initiatives and webinars. Each
registers a source whose visibility is the domain's own policy function (resolvers/policy/).

Threads and replies are read by whoever may read their community (`readable_communities`); a
deleted thread or reply is read by nobody but global staff. The index holds only live threads and
live replies of live threads (a deletion takes them out in its own transaction), with their
community as the document's scope, so their visibility is "scope among the communities the
viewer may read": the same answer as `visible_threads`/`visible_posts`, except that staff do not
find deleted content either."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.community import Community, CommunityLanguage
from models.db import AnySelect
from models.initiative import (
    Initiative,
    InitiativeCountry,
    InitiativeObjective,
    InitiativePrinciple,
    InitiativeRegion,
)
from models.member import Member, MemberExpertise, MemberLanguage
from models.resource import (
    Resource,
    ResourceCountry,
    ResourceLanguage,
    ResourceObjective,
    ResourcePrinciple,
    ResourceRegion,
)
from models.search import SearchDocument
from models.thread import Post, Thread, ThreadObjective, ThreadTag
from models.translation import TranslatableKind
from models.webinar import Webinar, WebinarLanguage, WebinarObjective
from resolvers import policy
from resolvers.markdown import plain_text
from resolvers.policy import Viewer
from resolvers.search_index import (
    COUNTRY,
    LANGUAGE,
    OBJECTIVE,
    PRINCIPLE,
    REGION,
    IndexedItem,
    SearchSource,
    load_translations,
    register,
)

THREAD = "THREAD"
POST = "POST"
MEMBER = "MEMBER"
RESOURCE = "RESOURCE"
INITIATIVE = "INITIATIVE"
WEBINAR = "WEBINAR"


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
            body=plain_text(row.body),
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
            body=plain_text(row.body),
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


# --- curated knowledge: resources and initiatives (issue 4), webinars (issue 5) -------------
#
# Every resource and initiative is indexed whatever its review state: who finds it is decided
# when searching, by `visible_resources`/`visible_initiatives` on the live rows, so a review
# decision (approval, archiving, withdrawal) changes who finds it the moment it commits, with
# no index write. Content is (re)indexed where it is written: creation, edits, and an approved
# revision replacing the published text. A revision (a proposed edit, `revision_of_id`) is not
# a search result of its own: the published resource it revises is.


def _of_items(select_visible: AnySelect) -> ColumnElement[bool]:
    return SearchDocument.item_id.in_(select_visible)


# Where each translated field goes in a translation's document (as the original's loader puts it).
RESOURCE_PARTS = {"title": "title", "summary": "summary", "body": "body"}
INITIATIVE_PARTS = {
    "title": "title",
    "summary": "summary",
    "results": "body",
    "replicability": "body",
}
WEBINAR_PARTS = {"title": "title", "description": "body"}


def _rendered(markdown_field: str) -> Callable[[str, str], str]:
    """Index a translated Markdown field as plain text, as the original's is."""

    def render(name: str, text: str) -> str:
        return plain_text(text) if name == markdown_field else text

    return render


async def _load_resources(session: AsyncSession, ids: Sequence[int]) -> dict[int, IndexedItem]:
    rows = (
        await session.execute(
            select(
                Resource.id,
                Resource.title,
                Resource.summary,
                Resource.body,
                Resource.publisher,
                Resource.language,
                Resource.created_at,
            ).where(Resource.id.in_(ids), Resource.revision_of_id.is_(None))
        )
    ).all()
    found = [row.id for row in rows]

    def about(table: type, column: str) -> AnySelect:
        owner = table.resource_id  # type: ignore[attr-defined]
        return select(owner, getattr(table, column)).where(owner.in_(found))

    objectives = await _pairs(session, about(ResourceObjective, "objective_number"))
    principles = await _pairs(session, about(ResourcePrinciple, "principle_letter"))
    countries = await _pairs(session, about(ResourceCountry, "code"))
    regions = await _pairs(session, about(ResourceRegion, "m49"))
    languages = await _pairs(session, about(ResourceLanguage, "tag"))
    translations = await load_translations(
        session, TranslatableKind.RESOURCE, found, RESOURCE_PARTS, _rendered("body")
    )
    return {
        row.id: IndexedItem(
            title=row.title,
            summary=row.summary,
            body=" ".join(part for part in (plain_text(row.body), row.publisher) if part),
            created_at=row.created_at,
            language=row.language,
            facets={
                OBJECTIVE: _strs(objectives[row.id]),
                PRINCIPLE: _strs(principles[row.id]),
                COUNTRY: _strs(countries[row.id]),
                REGION: _strs(regions[row.id]),
                LANGUAGE: [row.language, *_strs(languages[row.id])],
            },
            translations=translations.get(row.id, ()),
        )
        for row in rows
    }


RESOURCES = register(
    SearchSource(
        kind=RESOURCE,
        visible=lambda viewer: _of_items(
            select(Resource.id).where(policy.visible_resources(viewer))
        ),
        load=_load_resources,
        all_ids=lambda: select(Resource.id).where(Resource.revision_of_id.is_(None)),
        translated=TranslatableKind.RESOURCE,
        # Superseded resources come after their successors, as in every resource listing.
        standing=lambda: (
            select(Resource.currency)
            .where(Resource.id == SearchDocument.item_id)
            .correlate(SearchDocument)
            .scalar_subquery()
        ),
    )
)


async def _load_initiatives(session: AsyncSession, ids: Sequence[int]) -> dict[int, IndexedItem]:
    rows = (
        await session.execute(
            select(
                Initiative.id,
                Initiative.title,
                Initiative.summary,
                Initiative.results,
                Initiative.replicability,
                Initiative.language,
                Initiative.created_at,
            ).where(Initiative.id.in_(ids), Initiative.revision_of_id.is_(None))
        )
    ).all()
    found = [row.id for row in rows]

    def about(table: type, column: str) -> AnySelect:
        owner = table.initiative_id  # type: ignore[attr-defined]
        return select(owner, getattr(table, column)).where(owner.in_(found))

    objectives = await _pairs(session, about(InitiativeObjective, "objective_number"))
    principles = await _pairs(session, about(InitiativePrinciple, "principle_letter"))
    countries = await _pairs(session, about(InitiativeCountry, "code"))
    regions = await _pairs(session, about(InitiativeRegion, "m49"))
    translations = await load_translations(
        session, TranslatableKind.INITIATIVE, found, INITIATIVE_PARTS
    )
    return {
        row.id: IndexedItem(
            title=row.title,
            summary=row.summary,
            body="\n\n".join(part for part in (row.results, row.replicability) if part),
            created_at=row.created_at,
            language=row.language,
            facets={
                OBJECTIVE: _strs(objectives[row.id]),
                PRINCIPLE: _strs(principles[row.id]),
                COUNTRY: _strs(countries[row.id]),
                REGION: _strs(regions[row.id]),
                LANGUAGE: [row.language],
            },
            translations=translations.get(row.id, ()),
        )
        for row in rows
    }


INITIATIVES = register(
    SearchSource(
        kind=INITIATIVE,
        visible=lambda viewer: _of_items(
            select(Initiative.id).where(policy.visible_initiatives(viewer))
        ),
        load=_load_initiatives,
        all_ids=lambda: select(Initiative.id).where(Initiative.revision_of_id.is_(None)),
        translated=TranslatableKind.INITIATIVE,
    )
)


async def _load_webinars(session: AsyncSession, ids: Sequence[int]) -> dict[int, IndexedItem]:
    rows = (
        await session.execute(
            select(Webinar.id, Webinar.title, Webinar.description, Webinar.created_at).where(
                Webinar.id.in_(ids)
            )
        )
    ).all()
    found = [row.id for row in rows]
    objectives = await _pairs(
        session,
        select(WebinarObjective.webinar_id, WebinarObjective.objective_number).where(
            WebinarObjective.webinar_id.in_(found)
        ),
    )
    spoken = await _pairs(
        session,
        select(WebinarLanguage.webinar_id, WebinarLanguage.tag)
        .where(WebinarLanguage.webinar_id.in_(found), WebinarLanguage.interpretation.is_(False))
        .order_by(WebinarLanguage.tag),
    )
    offered = await _pairs(
        session,
        select(WebinarLanguage.webinar_id, WebinarLanguage.tag).where(
            WebinarLanguage.webinar_id.in_(found)
        ),
    )
    translations = await load_translations(
        session, TranslatableKind.WEBINAR, found, WEBINAR_PARTS, _rendered("description")
    )
    return {
        row.id: IndexedItem(
            title=row.title,
            body=plain_text(row.description),
            created_at=row.created_at,
            # Title and description are written in the spoken language when there is one.
            language=_single(spoken[row.id]),
            facets={
                OBJECTIVE: _strs(objectives[row.id]),
                # Spoken or interpreted: both are languages one can follow it in.
                LANGUAGE: _strs(offered[row.id]),
            },
            translations=translations.get(row.id, ()),
        )
        for row in rows
    }


WEBINARS = register(
    SearchSource(
        kind=WEBINAR,
        visible=lambda viewer: _of_items(select(Webinar.id).where(policy.visible_webinars(viewer))),
        load=_load_webinars,
        all_ids=lambda: select(Webinar.id),
        translated=TranslatableKind.WEBINAR,
    )
)
