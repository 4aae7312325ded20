"""Search's results: one page of hits (each item by its best document; highest standing, then
best score, ties by document id; keyset cursors) and the counts per kind and per facet value,
alone or with the page in one statement over the matches computed once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    Float,
    Integer,
    String,
    and_,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnySelect
from models.search import SearchFacet
from resolvers.errors import ClientError
from resolvers.pagination import PageRequest, decode_cursor
from resolvers.search_index import DIMENSIONS, LANGUAGE, ORIGINAL

Sessions = async_sessionmaker[AsyncSession]

LISTING = "search"


@dataclass(frozen=True)
class Hit:
    kind: str
    item_id: int
    score: float
    snippet: str
    cursor: str
    standing: int = 0
    # The language of the text that matched (None: the original's, when it has none declared)
    # and its status: ORIGINAL, or the translation's.
    language: str | None = None
    status: str = ORIGINAL


@dataclass(frozen=True)
class FacetCount:
    value: str
    count: int


After = tuple[int, float, int]


def page_after(cursor: str | None) -> After | None:
    """The (standing, score, document id) a page starts after."""
    if cursor is None:
        return None
    standing, score_text, after_id = decode_cursor(LISTING, cursor, 3)
    try:
        return int(str(standing)), float(str(score_text)), int(str(after_id))
    except ValueError as e:
        raise ClientError("Malformed cursor.") from e


def page_of(matched: Any, after: After | None, request: PageRequest) -> AnySelect:
    """Each item's best document; highest standing first, then best score, ties by document
    id; one more row than asked, to tell if more follow."""
    page = select(
        matched.c.id,
        matched.c.kind,
        matched.c.item_id,
        matched.c.language,
        matched.c.status,
        matched.c.score,
        matched.c.standing,
    ).where(matched.c.variant == 1)
    if after is not None:
        standing, score, document_id = after
        page = page.where(
            or_(
                matched.c.standing < standing,
                and_(matched.c.standing == standing, matched.c.score < score),
                and_(
                    matched.c.standing == standing,
                    matched.c.score == score,
                    matched.c.id > document_id,
                ),
            )
        )
    return page.order_by(matched.c.standing.desc(), matched.c.score.desc(), matched.c.id).limit(
        request.size + 1
    )


def _counts_of(matched: Any) -> list[AnySelect]:
    """Per kind, then per facet value: (dimension, value, count) of the matching items. An
    item's documents share every facet but LANGUAGE (each its own), so items are counted by
    their best document, and per language by every document that matched."""
    best = matched.c.variant == 1
    by_kind = (
        select(literal_column("'KIND'"), matched.c.kind, func.count())
        .where(best)
        .group_by(matched.c.kind)
    )
    by_value = (
        select(SearchFacet.dimension, SearchFacet.value, func.count())
        .join(matched, matched.c.id == SearchFacet.document_id)
        .where(best, SearchFacet.dimension != LANGUAGE)
        .group_by(SearchFacet.dimension, SearchFacet.value)
    )
    in_language = (
        select(SearchFacet.value, matched.c.kind, matched.c.item_id)
        .join(matched, matched.c.id == SearchFacet.document_id)
        .where(SearchFacet.dimension == LANGUAGE)
        .distinct()
        .subquery("in_language")
    )
    by_language = select(
        literal_column(f"'{LANGUAGE}'"), in_language.c.value, func.count()
    ).group_by(in_language.c.value)
    return [by_kind, by_value, by_language]


def page_and_counts(scored: AnySelect, after: After | None, request: PageRequest) -> Any:
    """The page's rows (part 0) and every count (part 1) in one statement over one CTE."""
    matched = scored.cte("matched")
    page = page_of(matched, after, request).subquery("page")
    none_int, none_float, none_text = (
        cast(null(), Integer),
        cast(null(), Float),
        cast(null(), String),
    )
    parts: list[AnySelect] = [
        select(
            literal_column("0", Integer).label("part"),
            page.c.id,
            page.c.item_id,
            page.c.score,
            page.c.standing,
            page.c.kind.label("label"),
            page.c.language.label("language"),
            page.c.status.label("status"),
            none_text.label("value"),
            none_int.label("number"),
        )
    ]
    for counts in _counts_of(matched):
        dimension, value, number = counts.selected_columns
        parts.append(
            counts.with_only_columns(
                literal_column("1", Integer),
                none_int,
                none_int,
                none_float,
                none_int,
                dimension,
                none_text,
                none_text,
                value,
                number,
                maintain_column_froms=True,
            )
        )
    return union_all(*parts)


class _Match(NamedTuple):
    id: int
    kind: str
    item_id: int
    score: float
    standing: int
    language: str | None
    status: str


def split_page_and_counts(result: Any) -> tuple[list[Any], dict[str, list[FacetCount]]]:
    hits, counts = [], []
    for row in result:
        if row.part == 0:
            hits.append(
                _Match(
                    row.id,
                    row.label,
                    row.item_id,
                    row.score,
                    row.standing,
                    row.language,
                    row.status,
                )
            )
        else:
            counts.append((row.label, row.value, row.number))
    hits.sort(key=lambda r: (-r.standing, -r.score, r.id))
    return hits, _grouped(counts)


def _grouped(counts: Iterable[tuple[str, object, int]]) -> dict[str, list[FacetCount]]:
    grouped: dict[str, list[FacetCount]] = defaultdict(list)
    for dimension, value, number in counts:
        grouped[dimension].append(FacetCount(str(value), int(number)))
    for values in grouped.values():
        values.sort(key=lambda f: (-f.count, f.value))
    return {dimension: grouped.get(dimension, []) for dimension in ("KIND", *DIMENSIONS)}


async def facet_counts(sessions: Sessions, every: AnySelect) -> dict[str, list[FacetCount]]:
    """Counts of the matching documents per value of every dimension (and per kind), in one
    statement over the matches computed once."""
    matched = every.cte("matched")
    async with sessions() as session:
        result = await session.execute(union_all(*_counts_of(matched)))
        return _grouped((str(d), v, int(n)) for d, v, n in result)
