"""The search index and its registry of sources.

Each searchable domain registers a `SearchSource`: its kind, which of its items a viewer may see
(a policy function, the same as every other read path) and how to turn items into documents.
Writers call `reindex` in their own transaction, so a change is searchable (or gone) as soon as
it commits. Adding a domain (resources, initiatives, webinars) is registering one more source.

An item with translations (resources, initiatives, webinars: `SearchSource.translated`) has one
more document per language it is translated into, with the translated fields only, indexed in
that language's configuration and carrying the item's facets but its own LANGUAGE. Who finds a
translation's document is the item's visibility and `policy.visible_translations` on every
field of it; `translations.py` reindexes the item whenever a translation changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, func, insert, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.db import AnySelect
from models.reference import region_of_country
from models.search import SearchDocument, SearchFacet
from models.translation import TranslatableKind, Translation, TranslationStatus
from resolvers import policy
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


ORIGINAL = TranslationStatus.ORIGINAL.value
# From the least trusted up: a translation's document has the status of its weakest field.
STATUS_ORDER = (
    TranslationStatus.MACHINE,
    TranslationStatus.OUTDATED,
    TranslationStatus.HUMAN,
    TranslationStatus.VERIFIED,
)


@dataclass(frozen=True)
class IndexedTranslation:
    """An item's text in one language it is translated into (the translated fields only)."""

    language: str
    status: TranslationStatus
    title: str = ""
    summary: str = ""
    body: str = ""


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
    translations: Sequence[IndexedTranslation] = ()


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
    # The kind of translations.py whose translations are indexed with the item, if any.
    translated: TranslatableKind | None = None


def translation_shown(viewer: Viewer, kind: TranslatableKind) -> ColumnElement[bool]:
    """A translation's document is found by whoever may see every field of that translation
    (`policy.visible_translations`); an original's, by whoever may see the item."""
    hidden = exists().where(
        Translation.kind == kind,
        Translation.item_id == SearchDocument.item_id,
        Translation.language == SearchDocument.translation,
        not_(func.coalesce(policy.visible_translations(viewer), False)),
    )
    return or_(SearchDocument.translation == "", ~hidden)


SOURCES: dict[str, SearchSource] = {}


def register(source: SearchSource) -> SearchSource:
    SOURCES[source.kind] = source
    return source


def _facet_rows(
    document_id: int, facets: Mapping[str, Iterable[str]], language: str | None = None
) -> list[dict[str, object]]:
    """The facet rows of a document; a translation's (`language`) is in that language only."""
    values: set[tuple[str, str]] = set()
    if language is not None:
        values.add((LANGUAGE, primary_language(language)))
    for dimension, items in facets.items():
        if language is not None and dimension == LANGUAGE:
            continue
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
    rows = [row for item_id, item in items.items() for row in _document_rows(source, item_id, item)]
    inserted = await session.execute(
        insert(SearchDocument).returning(
            SearchDocument.id, SearchDocument.item_id, SearchDocument.translation
        ),
        rows,
    )
    facets = []
    for document_id, item_id, translation in inserted.all():
        item = items[item_id]
        facets += _facet_rows(document_id, item.facets, translation or None)
    if facets:
        await session.execute(insert(SearchFacet), facets)


def _document_rows(source: SearchSource, item_id: int, item: IndexedItem) -> list[dict[str, Any]]:
    """The original's document, then one per translation."""
    common = {
        "kind": source.kind,
        "item_id": item_id,
        "scope_id": item.scope_id,
        "created_at": item.created_at,
    }
    original = {
        **common,
        "title": item.title,
        "summary": item.summary,
        "body": item.body,
        "text_config": text_config(item.language),
        "language": item.language,
        "translation": "",
        "status": ORIGINAL,
    }
    translated = [
        {
            **common,
            "title": t.title,
            "summary": t.summary,
            "body": t.body,
            "text_config": text_config(t.language),
            "language": t.language,
            "translation": t.language,
            "status": t.status.value,
        }
        for t in item.translations
    ]
    return [original, *translated]


async def load_translations(
    session: AsyncSession,
    kind: TranslatableKind,
    ids: Sequence[int],
    parts: Mapping[str, str],
    render: Callable[[str, str], str] = lambda field, text: text,
) -> dict[int, list[IndexedTranslation]]:
    """Each item's translations as documents: `parts` maps a translated field to the part of
    the document it goes in (title, summary or body); `render` turns a field's stored text
    into what is indexed (a body's Markdown into plain text)."""
    rows = await session.execute(
        select(Translation.item_id, Translation.language, Translation.field, Translation.text)
        .add_columns(Translation.status)
        .where(Translation.kind == kind, Translation.item_id.in_(ids))
        .order_by(Translation.item_id, Translation.language, Translation.field)
    )
    texts: dict[tuple[int, str], dict[str, list[str]]] = {}
    statuses: dict[tuple[int, str], list[TranslationStatus]] = {}
    for item_id, language, name, text, status in rows:
        if name not in parts:
            continue
        key = (item_id, language)
        texts.setdefault(key, {}).setdefault(parts[name], []).append(render(name, text))
        statuses.setdefault(key, []).append(status)
    found: dict[int, list[IndexedTranslation]] = {}
    for (item_id, language), by_part in texts.items():
        weakest = min(statuses[(item_id, language)], key=STATUS_ORDER.index)
        joined = {part: "\n\n".join(values) for part, values in by_part.items()}
        found.setdefault(item_id, []).append(IndexedTranslation(language, weakest, **joined))
    return found


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
        select(SearchDocument.item_id)
        .where(SearchDocument.kind == kind, SearchDocument.translation == "")
        .order_by("item_id")
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
        stale = int(stale or 0)
        if source.translated is not None:
            lacking_translations, stale_translations = await _translation_drift(
                session, source.kind, source.translated
            )
            missing += lacking_translations
            stale += stale_translations
        if missing or stale:
            drifts.append(IndexDrift(source.kind, missing, stale))
    return drifts


async def _translation_drift(
    session: AsyncSession, kind: str, translated: TranslatableKind
) -> tuple[int, int]:
    """Translations of indexed items without their document, and translation documents
    without a translation."""
    document = SearchDocument.kind == kind
    of_document = exists().where(
        document,
        SearchDocument.item_id == Translation.item_id,
        SearchDocument.translation == Translation.language,
    )
    indexed_item = exists().where(
        document, SearchDocument.item_id == Translation.item_id, SearchDocument.translation == ""
    )
    lacking = (
        select(Translation.item_id, Translation.language)
        .where(Translation.kind == translated, indexed_item, ~of_document)
        .distinct()
        .subquery()
    )
    missing = await session.scalar(select(func.count()).select_from(lacking))
    of_translation = exists().where(
        Translation.kind == translated,
        Translation.item_id == SearchDocument.item_id,
        Translation.language == SearchDocument.translation,
    )
    stale = await session.scalar(
        select(func.count()).where(document, SearchDocument.translation != "", ~of_translation)
    )
    return int(missing or 0), int(stale or 0)
