"""Resources: reading and filtering, writing drafts and revisions, freshness."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.collation import match_key
from models.db import AnyRow, AnySelect
from models.reference import GuidingPrinciple, UnRegion
from models.resource import (
    Resource,
    ResourceCountry,
    ResourceKind,
    ResourceLanguage,
    ResourceObjective,
    ResourcePrinciple,
    ResourceRegion,
    ResourceTheme,
    SourceType,
)
from models.review import ReviewState
from resolvers import policy
from resolvers.batching import rows_by_ids, values_by_owner
from resolvers.edits import Changes, patched
from resolvers.errors import ClientError, ErrorCode, Problem, ProblemList, message_values
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.revisions import ABOUT_TABLES, CONTENT_FIELDS, edit_target, stored_content
from resolvers.search_index import reindex
from resolvers.search_sources import RESOURCES
from resolvers.translations import mark_outdated
from resolvers.unit_of_work import Change, Refused, UnitOfWork, mutation, reading_back
from resolvers.validation import (
    clean_country,
    clean_keys,
    clean_languages,
    clean_objectives,
    clean_text,
    language_order_key,
)
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

RESOURCE_COLUMNS = (
    Resource.id,
    Resource.revision_of_id,
    Resource.merged_at,
    Resource.title,
    Resource.title_key,  # the TITLE order's keyset reads it from the row
    Resource.summary,
    Resource.body,
    Resource.kind,
    Resource.link,
    Resource.publisher,
    Resource.published_on,
    Resource.language,
    Resource.source_type,
    Resource.doi,
    Resource.is_global,
    Resource.is_general,
    Resource.supersession_depth,
    Resource.currency,
    Resource.state,
    Resource.review_round,
    Resource.author_id,
    Resource.organization_id,
    Resource.submitted_at,
    Resource.reviewed_at,
    Resource.approved_at,
    Resource.review_by,
    Resource.under_re_review,
    Resource.needs_additional_reviewer,
    Resource.created_at,
    Resource.updated_at,
)
MAX_BODY = 50_000
MAX_THEMES = 10
MAX_COUNTRIES = 60


class ResourceOrder(enum.Enum):
    NEWEST = "NEWEST"
    RECENTLY_REVIEWED = "RECENTLY_REVIEWED"
    TITLE = "TITLE"


# Every listing leads with the supersession rank, so superseded items come after their
# successors whatever else orders it (keysets need one direction: `currency` = -depth).
ORDERS = {
    ResourceOrder.NEWEST: Keyset(
        "resources-newest", (Resource.currency, Resource.created_at, Resource.id), descending=True
    ),
    ResourceOrder.RECENTLY_REVIEWED: Keyset(
        "resources-reviewed",
        (Resource.currency, Resource.reviewed_at, Resource.id),
        descending=True,
    ),
    ResourceOrder.TITLE: Keyset(
        "resources-title", (Resource.supersession_depth, Resource.title_key, Resource.id)
    ),
}
REVISION_ORDER = Keyset("resource-revisions", (Resource.id,), descending=True)


@dataclass(frozen=True)
class ResourceFilter:
    """Every criterion given must match; within a list, any value matches."""

    objectives: Sequence[int] = ()
    principles: Sequence[str] = ()
    kinds: Sequence[ResourceKind] = ()
    countries: Sequence[str] = ()
    regions: Sequence[UnRegion] = ()
    languages: Sequence[str] = ()
    publisher: str | None = None
    # Published (APPROVED) only unless asked; what the viewer may see still applies.
    states: Sequence[ReviewState] = (ReviewState.APPROVED,)
    published_from: date | None = None
    published_until: date | None = None


def _any_of(table: type, column: str, values: Sequence[object]) -> ColumnElement[bool]:
    return exists().where(
        table.resource_id == Resource.id,  # type: ignore[attr-defined]
        getattr(table, column).in_(list(values)),
    )


def filtered_resources(viewer: Viewer, criteria: ResourceFilter) -> AnySelect:
    """Published resources (not revisions) matching `criteria`, as the viewer may see them."""
    problems = ProblemList()
    statement = select(*RESOURCE_COLUMNS).where(
        policy.visible_resources(viewer), Resource.revision_of_id.is_(None)
    )
    if criteria.states:
        statement = statement.where(Resource.state.in_(list(criteria.states)))
    if criteria.objectives:
        numbers = clean_objectives(problems, "objectives", criteria.objectives)
        statement = statement.where(_any_of(ResourceObjective, "objective_number", numbers))
    if criteria.principles:
        letters = [p.strip().lower() for p in criteria.principles]
        statement = statement.where(_any_of(ResourcePrinciple, "principle_letter", letters))
    if criteria.kinds:
        statement = statement.where(Resource.kind.in_(list(criteria.kinds)))
    if criteria.countries:
        codes = [clean_country(problems, "countries", c) for c in criteria.countries]
        statement = statement.where(_any_of(ResourceCountry, "code", codes))
    if criteria.regions:
        statement = statement.where(
            _any_of(ResourceRegion, "m49", [r.value for r in criteria.regions])
        )
    if criteria.languages:
        tags = clean_languages(problems, "languages", criteria.languages)
        statement = statement.where(
            or_(Resource.language.in_(tags), _any_of(ResourceLanguage, "tag", tags))
        )
    if criteria.publisher is not None:
        statement = statement.where(Resource.publisher_key == match_key(criteria.publisher.strip()))
    if criteria.published_from is not None:
        statement = statement.where(Resource.published_on >= criteria.published_from)
    if criteria.published_until is not None:
        statement = statement.where(Resource.published_on <= criteria.published_until)
    if problems:
        raise ClientError(" ".join(f"{p.field}: {p.text}" for p in problems))
    return statement


async def resources_page(
    sessions: Sessions,
    viewer: Viewer,
    criteria: ResourceFilter,
    order: ResourceOrder,
    request: PageRequest,
) -> Page:
    return await fetch_page(sessions, filtered_resources(viewer, criteria), ORDERS[order], request)


async def count_resources(sessions: Sessions, viewer: Viewer, criteria: ResourceFilter) -> int:
    statement = filtered_resources(viewer, criteria)
    total = select(func.count()).select_from(statement.subquery())
    async with sessions() as session:
        return int((await session.execute(total)).scalar_one())


async def resources_by_ids(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[AnyRow | None]:
    return await rows_by_ids(
        sessions,
        select(*RESOURCE_COLUMNS).where(Resource.id.in_(ids), policy.visible_resources(viewer)),
        ids,
    )


async def objectives_by_resource(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, ResourceObjective.resource_id, ResourceObjective.objective_number, ids
    )


async def principles_by_resource(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(
        sessions, ResourcePrinciple.resource_id, ResourcePrinciple.principle_letter, ids
    )


async def countries_by_resource(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(sessions, ResourceCountry.resource_id, ResourceCountry.code, ids)


async def regions_by_resource(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(sessions, ResourceRegion.resource_id, ResourceRegion.m49, ids)


async def languages_by_resource(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(
        sessions, ResourceLanguage.resource_id, ResourceLanguage.tag, ids, language_order_key
    )


def successors_first(rows: Sequence[AnyRow | None]) -> list[AnyRow]:
    """Loaded resources (missing ones dropped) with superseded ones after their successors,
    otherwise in the order given: what every listing of resources does in SQL, for lists
    loaded by id (linked resources, relations)."""
    return sorted((r for r in rows if r is not None), key=lambda r: r.supersession_depth)


async def themes_by_resource(sessions: Sessions, ids: Sequence[int]) -> list[list[str]]:
    return await values_by_owner(sessions, ResourceTheme.resource_id, ResourceTheme.theme, ids)


async def revisions_page(
    sessions: Sessions, viewer: Viewer, resource_id: int, request: PageRequest
) -> Page:
    """Proposed and merged revisions of a resource, newest first, as the viewer may see them."""
    statement = select(*RESOURCE_COLUMNS).where(
        Resource.revision_of_id == resource_id, policy.visible_resources(viewer)
    )
    return await fetch_page(sessions, statement, REVISION_ORDER, request)


# --- writing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceContent:
    title: str
    kind: ResourceKind
    language: str
    source_type: SourceType
    summary: str = ""
    body: str = ""
    link: str | None = None
    publisher: str = ""
    published_on: date | None = None
    doi: str | None = None
    is_global: bool = False
    is_general: bool = False
    objectives: Sequence[int] = ()
    principles: Sequence[str] = ()
    countries: Sequence[str] = ()
    regions: Sequence[UnRegion] = ()
    other_languages: Sequence[str] = ()
    themes: Sequence[str] = ()


@dataclass(frozen=True)
class CleanContent:
    columns: dict[str, object]
    about: dict[str, Sequence[object]]


@dataclass(frozen=True)
class ResourceResult:
    resource: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


def _clean_link(problems: ProblemList, link: str | None) -> str | None:
    if link is None or not link.strip():
        return None
    value = clean_text(problems, "link", link, max_length=2_000)
    if not value.lower().startswith(("https://", "http://")):
        problems.add("link", "Must be an http(s) URL.")
    return value


def _clean_themes(problems: ProblemList, themes: Sequence[str]) -> list[str]:
    clean = clean_keys(problems, "themes", themes)
    if len(clean) > MAX_THEMES:
        problems.add(
            "themes",
            "At most {max_themes} themes.",
            ErrorCode.TOO_LONG,
            values=message_values(max_themes=MAX_THEMES),
        )
    return clean


async def _clean_content(
    session: AsyncSession, data: ResourceContent, problems: ProblemList | None = None
) -> CleanContent:
    """The content as it is stored, or `Refused` with its problems (and those in `problems`)."""
    problems = ProblemList() if problems is None else problems
    objectives = clean_objectives(problems, "objectives", data.objectives)
    if not objectives and not data.is_general:
        problems.add(
            "objectives",
            "Name at least one GCM objective, or mark the resource as GENERAL.",
            ErrorCode.REQUIRED,
        )
    letters = set((await session.execute(select(GuidingPrinciple.letter))).scalars())
    principles = sorted({p.strip().lower() for p in data.principles})
    if set(principles) - letters:
        problems.add(
            "principles",
            "Guiding principles are lettered {letters}.",
            values=message_values(letters=", ".join(sorted(letters))),
        )
    countries: list[str] = sorted(
        {c for c in (clean_country(problems, "countries", c) for c in data.countries) if c}
    )
    if len(countries) > MAX_COUNTRIES:
        problems.add(
            "countries",
            "At most {max_countries} countries.",
            ErrorCode.TOO_LONG,
            values=message_values(max_countries=MAX_COUNTRIES),
        )
    if not (countries or data.regions or data.is_global):
        problems.add(
            "countries",
            "Name the countries or regions it covers, or mark it global.",
            ErrorCode.REQUIRED,
        )
    language = clean_languages(problems, "language", [data.language])
    columns: dict[str, object] = {
        "title": clean_text(problems, "title", data.title, max_length=300),
        "summary": clean_text(
            problems, "summary", data.summary, max_length=2_000, multiline=True, required=False
        ),
        "body": clean_text(
            problems, "body", data.body, max_length=MAX_BODY, multiline=True, required=False
        ),
        "kind": data.kind,
        "link": _clean_link(problems, data.link),
        "publisher": clean_text(
            problems, "publisher", data.publisher, max_length=200, required=False
        ),
        "published_on": data.published_on,
        "language": language[0] if language else "",
        "source_type": data.source_type,
        "doi": clean_text(problems, "doi", data.doi, max_length=200) if data.doi else None,
        "is_global": data.is_global,
        "is_general": data.is_general,
    }
    about: dict[str, Sequence[object]] = {
        "objective_number": list(objectives),
        "principle_letter": list(principles),
        "code": list(countries),
        "m49": sorted({r.value for r in data.regions}),
        "tag": [
            t
            for t in clean_languages(problems, "otherLanguages", data.other_languages)
            if t not in language
        ],
        "theme": list(_clean_themes(problems, data.themes)),
    }
    if problems:
        raise Refused(*problems)
    assert set(columns) == set(CONTENT_FIELDS)
    return CleanContent(columns, about)


async def _write_about(session: AsyncSession, resource_id: int, content: CleanContent) -> None:
    for table, column in ABOUT_TABLES:
        await session.execute(table.__table__.delete().where(table.resource_id == resource_id))  # type: ignore[attr-defined]
        session.add_all(
            table(resource_id=resource_id, **{column: v}) for v in content.about[column]
        )


def visible_resource(viewer: Viewer, resource_id: int) -> AnySelect:
    """The resource's row, if the viewer may see it."""
    return select(*RESOURCE_COLUMNS).where(
        Resource.id == resource_id, policy.visible_resources(viewer)
    )


async def _answered(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, change: Change[int]
) -> ResourceResult:
    """Run `change` as one mutation: the resource it wrote, as the viewer sees it once
    committed (read in its transaction), or why nothing changed."""
    answer = partial(visible_resource, viewer)
    done = await mutation(sessions, events, viewer, reading_back(change, answer))
    return ResourceResult(resource=done.value, problems=done.problems)


async def create_resource(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, data: ResourceContent
) -> ResourceResult:
    """A new DRAFT by the viewer, for their organisation; `submitResource` sends it to review."""

    async def change(work: UnitOfWork) -> int:
        return (await insert_draft(work.session, viewer, data)).id

    return await _answered(sessions, events, viewer, change)


async def insert_draft(session: AsyncSession, viewer: Viewer, data: ResourceContent) -> Resource:
    """Validate `data` and add it as a DRAFT by the signed-in viewer, for their organisation,
    inside the caller's transaction (raises `Refused` with every problem of the content)."""
    content = await _clean_content(session, data)
    resource = Resource(
        author_id=viewer.member_id,
        organization_id=viewer.organization_id,
        **content.columns,
    )
    session.add(resource)
    await session.flush()
    await _write_about(session, resource.id, content)
    await reindex(session, RESOURCES, [resource.id])
    return resource


async def update_resource(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    resource_id: int,
    changes: Changes,
) -> ResourceResult:
    """The author changes the fields sent (those of `ResourceContent`; `resolvers/edits.py`),
    the others keep their value. A draft (or an item whose changes were requested) changes in
    place; editing a published resource creates a revision (a DRAFT of its own) that is
    reviewed before it replaces the public content."""

    async def change(work: UnitOfWork) -> int:
        # Locked (PostgreSQL): two edits at once are taken one after the other, so a
        # published resource never gets two open revisions.
        resource = await work.session.scalar(
            select(Resource)
            .where(Resource.id == resource_id, policy.visible_resources(viewer))
            .with_for_update(of=Resource)
        )
        if resource is None:
            raise Refused(Problem("resourceId", "No such resource.", ErrorCode.NOT_FOUND))
        if not policy.may_act_as_author(viewer, resource.author_id):
            raise Refused(
                Problem("resourceId", "Only the author edits a resource.", ErrorCode.NOT_ALLOWED)
            )
        target, base = await edit_target(work.session, resource, "resource")
        problems = ProblemList()
        current = await stored_content(work.session, base, ResourceContent)
        data = patched(current, changes, problems)
        content = await _clean_content(work.session, data, problems)
        for name, value in content.columns.items():
            setattr(target, name, value)
        await mark_outdated(work.session, target)
        work.session.add(target)
        await work.session.flush()
        await _write_about(work.session, target.id, content)
        # An edit in place is searchable at once; a revision once it replaces the text.
        await reindex(work.session, RESOURCES, [target.id])
        return target.id

    return await _answered(sessions, events, viewer, change)
