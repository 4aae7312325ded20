"""The search index and its registry of sources.

Each searchable domain registers a `SearchSource`: its kind, which of its items a viewer may see
(a policy function, the same as every other read path) and how to turn items into documents.
Writers call `reindex` in their own transaction, so a change is searchable (or gone) as soon as
it commits. Adding a domain (resources, initiatives, webinars) is registering one more source.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.db import AnySelect
from models.reference import region_of_country
from models.search import SearchDocument, SearchFacet
from resolvers.policy import Viewer

# Filter dimensions a document can carry values of.
OBJECTIVE = "OBJECTIVE"
PRINCIPLE = "PRINCIPLE"
COUNTRY = "COUNTRY"
REGION = "REGION"
LANGUAGE = "LANGUAGE"
DIMENSIONS = (OBJECTIVE, PRINCIPLE, COUNTRY, REGION, LANGUAGE)

# PostgreSQL text search configurations by primary language subtag (`simple` for the others).
TEXT_CONFIGS = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "ne": "nepali",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
SIMPLE = "simple"


def primary_language(tag: str) -> str:
    return tag.split("-")[0].lower()


def text_config(language: str | None) -> str:
    return TEXT_CONFIGS.get(primary_language(language), SIMPLE) if language else SIMPLE


@dataclass(frozen=True)
class IndexedItem:
    """What a source says about one item: its text by weight, language and facet values."""

    title: str
    created_at: datetime
    summary: str = ""
    body: str = ""
    # The item's language when it has one; it picks the PostgreSQL text search configuration.
    language: str | None = None
    facets: Mapping[str, Iterable[str]] = field(default_factory=dict)
    # The key the source's visibility looks at (see SearchSource.visible), if it has one.
    scope_id: int | None = None


@dataclass(frozen=True)
class SearchSource:
    kind: str
    # Which of the source's documents the viewer may see: a condition on SearchDocument built
    # from the domain's policy function (on `item_id`, or on `scope_id` when the policy decides
    # by a scope such as the community, and the index holds only items alive in it).
    visible: Callable[[Viewer], ColumnElement[bool]]
    # The items to index among these ids; an id left out is not (or no longer) searchable.
    load: Callable[[AsyncSession, Sequence[int]], Awaitable[dict[int, IndexedItem]]]
    # Every id of the domain, for rebuilding the whole index.
    all_ids: Callable[[], AnySelect]
    # The item's standing, read from the domain when searching (a scalar subquery correlated
    # to SearchDocument): results are ordered by it before relevance, so a domain can rank some
    # items below others whatever their score (superseded resources below their successors).
    # None: every item of the source stands at 0.
    standing: Callable[[], ColumnElement[int]] | None = None


SOURCES: dict[str, SearchSource] = {}


def register(source: SearchSource) -> SearchSource:
    SOURCES[source.kind] = source
    return source


def _facet_rows(document_id: int, item: IndexedItem) -> list[dict[str, object]]:
    values: set[tuple[str, str]] = set()
    for dimension, items in item.facets.items():
        for value in items:
            if dimension == LANGUAGE:
                value = primary_language(value)
            values.add((dimension, str(value)))
            if dimension == COUNTRY and (region := region_of_country(str(value))) is not None:
                values.add((REGION, region.value))
    return [{"document_id": document_id, "dimension": d, "value": v} for d, v in sorted(values)]


async def reindex(session: AsyncSession, source: SearchSource, ids: Iterable[int]) -> None:
    """Bring the documents of these items up to date, in the caller's transaction."""
    keys = sorted(set(ids))
    if not keys:
        return
    await session.flush()  # the caller's pending changes are what gets indexed
    items = await source.load(session, keys)
    await session.execute(
        delete(SearchDocument).where(
            SearchDocument.kind == source.kind, SearchDocument.item_id.in_(keys)
        )
    )
    if not items:
        return
    rows = [
        {
            "kind": source.kind,
            "item_id": item_id,
            "scope_id": item.scope_id,
            "title": item.title,
            "summary": item.summary,
            "body": item.body,
            "text_config": text_config(item.language),
            "created_at": item.created_at,
        }
        for item_id, item in items.items()
    ]
    inserted = await session.execute(
        insert(SearchDocument).returning(SearchDocument.id, SearchDocument.item_id), rows
    )
    document_ids = {item_id: document_id for document_id, item_id in inserted.all()}
    facets = [
        row for item_id, item in items.items() for row in _facet_rows(document_ids[item_id], item)
    ]
    if facets:
        await session.execute(insert(SearchFacet), facets)


async def rebuild(session: AsyncSession, batch: int = 500) -> int:
    """Index every item of every source again (after a restore, or for data that predates the
    index); returns how many items were looked at."""
    total = 0
    for source in SOURCES.values():
        # documents of items that are gone (deleted behind the app's back, or before a restore)
        await session.execute(
            delete(SearchDocument).where(
                SearchDocument.kind == source.kind,
                SearchDocument.item_id.not_in(source.all_ids()),
            )
        )
        ids = list((await session.execute(source.all_ids())).scalars())
        for start in range(0, len(ids), batch):
            await reindex(session, source, ids[start : start + batch])
        total += len(ids)
    return total


async def documents_of(session: AsyncSession, kind: str) -> list[int]:
    """Item ids of a kind that are in the index (for tests and checks)."""
    rows = await session.execute(
        select(SearchDocument.item_id).where(SearchDocument.kind == kind).order_by("item_id")
    )
    return list(rows.scalars())


@dataclass(frozen=True)
class IndexDrift:
    """How far the index of one kind is from the data (`hub doctor`)."""

    kind: str
    missing: int  # searchable items without a document
    stale: int  # documents of items that no longer exist


async def index_drift(session: AsyncSession, batch: int = 500) -> list[IndexDrift]:
    """Every kind whose documents do not match its searchable items. Items without a document
    are loaded to tell the unsearchable (deleted, hidden) from the missing: in a sound index
    these are few."""
    drifts = []
    for source in SOURCES.values():
        of_kind = SearchDocument.kind == source.kind
        stale = await session.scalar(
            select(func.count()).where(of_kind, SearchDocument.item_id.not_in(source.all_ids()))
        )
        items = source.all_ids()
        indexed = select(SearchDocument.item_id).where(of_kind)
        lacking = list(
            (await session.execute(items.where(items.selected_columns[0].not_in(indexed))))
            .scalars()
            .all()
        )
        missing = 0
        for start in range(0, len(lacking), batch):
            missing += len(await source.load(session, lacking[start : start + batch]))
        if missing or stale:
            drifts.append(IndexDrift(source.kind, missing, int(stale or 0)))
    return drifts
