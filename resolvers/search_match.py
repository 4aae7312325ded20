"""Search's matching documents on each database, restricted to what the viewer may see, and the
parts of their score: the text rank (ts_rank on PostgreSQL, bm25 on SQLite), each source's
standing and each translation's status weight; each item's best document among its own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.sql import Subquery

from models.search import SearchDocument, SearchFacet
from resolvers.policy import Viewer
from resolvers.search_filter import SearchFilter
from resolvers.search_index import SIMPLE, SOURCES, TEXT_CONFIGS, translation_shown
from resolvers.search_query import Clause, fts5_query, websearch_text

# How much a translation's match counts beside the original's, by its status.
STATUS_WEIGHTS = {"VERIFIED": 1.0, "HUMAN": 0.9, "OUTDATED": 0.8, "MACHINE": 0.7}
# Weights of title, summary and body: bm25 takes them per column, ts_rank per class D, C, B, A.
BM25_WEIGHTS = (10.0, 4.0, 1.0)
TS_RANK_WEIGHTS = "{0.05, 0.1, 0.4, 1.0}"


def has_facet(dimension: str, values: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(
        SearchFacet.document_id == SearchDocument.id,
        SearchFacet.dimension == dimension,
        SearchFacet.value.in_(values),
    )


def document_standing() -> ColumnElement[int]:
    """Each document's standing, from its source (0 for sources without one)."""
    ranked = [
        (SearchDocument.kind == kind, source.standing())
        for kind, source in SOURCES.items()
        if source.standing is not None
    ]
    if not ranked:
        return literal_column("0", Integer)
    return func.coalesce(case(*ranked, else_=0), 0)


def _visible(viewer: Viewer, kinds: Sequence[str]) -> ColumnElement[bool]:
    """Documents of items the viewer may see, by each source's own policy, and of translations
    the viewer may see (the originals' documents only for sources without translations)."""
    return or_(
        *(
            and_(
                SearchDocument.kind == kind,
                source.visible(viewer),
                translation_shown(viewer, source.translated)
                if source.translated is not None
                else SearchDocument.translation == "",
            )
            for kind, source in SOURCES.items()
            if not kinds or kind in kinds
        )
    )


def status_weight() -> ColumnElement[float]:
    return case(
        *((SearchDocument.status == status, weight) for status, weight in STATUS_WEIGHTS.items()),
        else_=1.0,
    )


def best_of_item(score: ColumnElement[float]) -> ColumnElement[int]:
    """1 for each item's best matching document (its original's or a translation's)."""
    return (
        func.row_number()
        .over(
            partition_by=(SearchDocument.kind, SearchDocument.item_id),
            order_by=(score.desc(), SearchDocument.id),
        )
        .label("variant")
    )


# --- Matching on each database --------------------------------------------------------------

_VECTOR: ColumnElement[Any] = literal_column("search_document.search_vector")


def own_config() -> Any:
    return cast(SearchDocument.text_config, REGCONFIG)


def _postgresql_match(query: str) -> tuple[ColumnElement[bool], ColumnElement[float]]:
    q: ColumnElement[str] = bindparam("q", query)
    parsed = [
        func.websearch_to_tsquery(cast(literal_column(f"'{config}'"), REGCONFIG), q)
        for config in sorted({SIMPLE, *TEXT_CONFIGS.values()})
    ]
    any_config: ColumnElement[Any] = parsed[0]
    for more in parsed[1:]:
        any_config = any_config.op("||")(more)
    own = func.websearch_to_tsquery(own_config(), q)
    # The GIN index answers the first condition; the second is exact for the document's language.
    matches = and_(_VECTOR.op("@@")(any_config), _VECTOR.op("@@")(own))
    rank = cast(func.ts_rank(literal_column(f"'{TS_RANK_WEIGHTS}'"), _VECTOR, own), Float)
    return matches, rank


def _sqlite_match(query: str) -> tuple[Subquery, ColumnElement[float]]:
    """The FTS5 matches with their bm25 rank (negative, lower is better), to join on."""
    weights = ", ".join(map(str, BM25_WEIGHTS))
    fts = (
        select(
            literal_column("rowid").label("document_id"),
            literal_column(f"bm25(search_fts, {weights})", Float).label("bm25"),
        )
        .select_from(text("search_fts"))
        .where(text("search_fts MATCH :fts").bindparams(fts=query))
        .subquery("fts")
    )
    return fts, -fts.c.bm25


@dataclass(frozen=True)
class Matching:
    """A search's matching documents (`source` filtered by `conditions`) and their rank."""

    source: Any
    conditions: list[ColumnElement[bool]]
    rank: ColumnElement[float]
    postgresql: bool
    clauses: Sequence[Clause]


def matching_documents(
    viewer: Viewer,
    postgresql: bool,
    clauses: Sequence[Clause],
    criteria: SearchFilter,
    facet_values: dict[str, list[str]],
) -> Matching:
    source: Any = SearchDocument
    if postgresql:
        matches, rank = _postgresql_match(websearch_text(clauses))
    else:
        fts, rank = _sqlite_match(fts5_query(clauses))
        source = fts.join(SearchDocument, SearchDocument.id == fts.c.document_id)
        matches = literal_column("1", Float) == 1
    conditions = [matches, _visible(viewer, criteria.kinds)]
    conditions += [has_facet(d, v) for d, v in facet_values.items() if v]
    if criteria.created_after is not None:
        conditions.append(SearchDocument.created_at >= criteria.created_after)
    if criteria.created_before is not None:
        conditions.append(SearchDocument.created_at < criteria.created_before)
    return Matching(source, conditions, rank, postgresql, clauses)
