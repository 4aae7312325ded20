"""Search across every registered source: full text, filters, facets, highlighted snippets.

One query language on both databases, the subset of PostgreSQL's `websearch_to_tsquery` that
people type: words (all must match), "quoted phrases", -exclusion and `or`.
- PostgreSQL: each document's weighted tsvector (title A > summary B > body C, in the text
  search configuration of its language) is matched by a GIN index against the query parsed in
  every configuration in use, then exactly against the query in the document's own
  configuration; ranked by `ts_rank`.
- SQLite: FTS5 with the query translated to FTS5 syntax; ranked by bm25 with the same weights.
Documents in one of the viewer's languages are boosted, and translations weigh by their status
(verified as much as the original, a tool's least). An item is found through its original or
any translation the viewer may see, each a document in its own language; it is one result, by
its best document, which says the language matched and gives the snippet in it. Results are
ordered by the sources' standing first (superseded resources after their successors), then by
relevance. Every hit, snippet, facet count and total is restricted by the sources' own
visibility (resolvers/policy/). Counts are of items; the LANGUAGE facet counts each item once
per language it matched in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, case, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnySelect
from models.member import MemberLanguage
from models.search import SearchDocument
from resolvers import search_sources  # noqa: F401 - registers the built-in sources
from resolvers.errors import ClientError
from resolvers.pagination import PageRequest, encode_cursor
from resolvers.policy import Viewer
from resolvers.search_cache import SearchCache, read_epoch
from resolvers.search_filter import SearchFilter, facet_values_of
from resolvers.search_index import DIMENSIONS, LANGUAGE, primary_language
from resolvers.search_match import (
    Matching,
    best_of_item,
    document_standing,
    has_facet,
    matching_documents,
    status_weight,
)
from resolvers.search_query import Clause, parse_query, websearch_text
from resolvers.search_results import (
    LISTING,
    After,
    FacetCount,
    Hit,
    facet_counts,
    page_after,
    page_and_counts,
    page_of,
    split_page_and_counts,
)
from resolvers.search_snippets import snippets_of

__all__ = ["Answer", "FacetCount", "Hit", "SearchFilter", "SearchPage", "search"]

Sessions = async_sessionmaker[AsyncSession]

MAX_QUERY = 200
LANGUAGE_BOOST = 1.5


@dataclass
class SearchPage:
    hits: list[Hit]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]
    facets: Callable[[], Awaitable[dict[str, list[FacetCount]]]]


async def _viewer_languages(session: AsyncSession, viewer: Viewer) -> list[str]:
    if viewer.member_id is None:
        return []
    tags = await session.scalars(
        select(MemberLanguage.tag).where(MemberLanguage.member_id == viewer.member_id)
    )
    return sorted({primary_language(t) for t in tags})


def _empty_page() -> SearchPage:
    async def zero() -> int:
        return 0

    async def no_facets() -> dict[str, list[FacetCount]]:
        return {dimension: [] for dimension in ("KIND", *DIMENSIONS)}

    return SearchPage([], False, False, zero, no_facets)


@dataclass(frozen=True)
class Answer:
    """What a search computes for one page: the hits (with snippets) and, when asked for, every
    count. Immutable, so that the cache can hand the same answer to many requests."""

    hits: tuple[Hit, ...]
    has_next_page: bool
    counts: dict[str, list[FacetCount]] | None


async def search(
    sessions: Sessions,
    viewer: Viewer,
    query: str,
    criteria: SearchFilter,
    request: PageRequest,
    *,
    counts_wanted: bool = False,
    cache: SearchCache[Answer] | None = None,
) -> SearchPage:
    """One page of hits, best first. With `counts_wanted` (the client asked for `totalCount` or
    `facets`), one statement reads the matches once and returns the page and every count;
    otherwise `count()` and `facets()` run their statement when first awaited. With a `cache`,
    an answer computed at the current search epoch is reused (resolvers/search_cache.py)."""
    if request.backwards:
        raise ClientError("Search results page forwards only: use `first` and `after`.")
    if len(query) > MAX_QUERY:
        raise ClientError(f"`query` is at most {MAX_QUERY} characters.")
    facet_values = facet_values_of(criteria)
    clauses = parse_query(query)
    if not clauses:
        return _empty_page()
    after = page_after(request.after)
    async with sessions() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        epoch = await read_epoch(session) if cache is not None and cache.enabled else None

    def matching() -> Matching:
        return matching_documents(viewer, postgresql, clauses, criteria, facet_values)

    async def compute() -> Answer:
        return await _answer(sessions, viewer, matching(), after, request, counts_wanted)

    if cache is None:
        answer = await compute()
    else:
        key = _cache_key(viewer, clauses, facet_values, criteria, after, request)
        answer = await cache.answer(
            epoch, key, compute, usable=lambda a: a.counts is not None or not counts_wanted
        )
    count, facets = _counts(sessions, answer, matching)
    return SearchPage(
        list(answer.hits), answer.has_next_page, request.after is not None, count, facets
    )


def _cache_key(
    viewer: Viewer,
    clauses: Sequence[Clause],
    facet_values: dict[str, list[str]],
    criteria: SearchFilter,
    after: After | None,
    request: PageRequest,
) -> Hashable:
    """Everything the answer depends on besides the data (the epoch): who asks, as far as the
    policy looks (not which token), what, and which page."""
    return (
        (viewer.member_id, viewer.role, viewer.organization_id),
        websearch_text(clauses),
        tuple(sorted((d, tuple(v)) for d, v in facet_values.items())),
        tuple(sorted(set(criteria.kinds))),
        criteria.created_after,
        criteria.created_before,
        after,
        request.size,
    )


def _counts(
    sessions: Sessions, answer: Answer, matching: Callable[[], Matching]
) -> tuple[Callable[[], Awaitable[int]], Callable[[], Awaitable[dict[str, list[FacetCount]]]]]:
    """The total and the facets: the answer's, or read when first awaited. The total is the sum
    of the per-kind counts: one statement answers both, run once however many of the two
    fields the client asks for."""
    counting: asyncio.Future[dict[str, list[FacetCount]]] | None = None

    async def facets() -> dict[str, list[FacetCount]]:
        nonlocal counting
        if answer.counts is not None:
            return answer.counts
        if counting is None:
            # Totals and facets need the matching documents, one per item, not their rank.
            matches = matching()
            every = (
                select(
                    SearchDocument.id,
                    SearchDocument.kind,
                    SearchDocument.item_id,
                    best_of_item(literal_column("0", Float)),
                )
                .select_from(matches.source)
                .where(*matches.conditions)
            )
            counting = asyncio.ensure_future(facet_counts(sessions, every))
        return await counting

    async def count() -> int:
        return sum(f.count for f in (await facets())["KIND"])

    return count, facets


async def _answer(
    sessions: Sessions,
    viewer: Viewer,
    matching: Matching,
    after: After | None,
    request: PageRequest,
    counts_wanted: bool,
) -> Answer:
    """The page (and the counts if wanted) as the database answers now."""
    counted: dict[str, list[FacetCount]] | None = None
    async with sessions() as session:
        scored = _scored(matching, await _viewer_languages(session, viewer))
        if counts_wanted:
            # One statement: the matches once, then the page and every count from them.
            rows, counted = split_page_and_counts(
                await session.execute(page_and_counts(scored, after, request))
            )
        else:
            page = page_of(scored.subquery("matched"), after, request)
            rows = list((await session.execute(page)).all())
        has_more = len(rows) > request.size
        rows = rows[: request.size]
        snippets = await snippets_of(
            session, matching.postgresql, matching.clauses, [r.id for r in rows]
        )
    return Answer(tuple(_hit(row, snippets) for row in rows), has_more, counted)


def _scored(matching: Matching, languages: Sequence[str]) -> AnySelect:
    """The matching documents with their score (boosted in the viewer's languages) and
    standing, each marked whether it is its item's best."""
    boost: ColumnElement[float] = (
        case((has_facet(LANGUAGE, languages), LANGUAGE_BOOST), else_=1.0)
        if languages
        else literal_column("1.0", Float)
    )
    score = matching.rank * boost * status_weight()
    return (
        select(
            SearchDocument.id,
            SearchDocument.kind,
            SearchDocument.item_id,
            SearchDocument.language,
            SearchDocument.status,
            score.label("score"),
            document_standing().label("standing"),
            best_of_item(score),
        )
        .select_from(matching.source)
        .where(*matching.conditions)
    )


def _hit(row: Any, snippets: dict[int, str]) -> Hit:
    return Hit(
        kind=row.kind,
        item_id=row.item_id,
        score=float(row.score),
        snippet=snippets.get(row.id, ""),
        cursor=encode_cursor(LISTING, (int(row.standing), repr(float(row.score)), row.id)),
        standing=int(row.standing),
        language=row.language,
        status=row.status,
    )
