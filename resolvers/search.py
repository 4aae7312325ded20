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
import html
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Subquery

from models.db import AnySelect
from models.member import MemberLanguage
from models.reference import UnRegion
from models.search import SearchDocument, SearchFacet
from resolvers import search_sources  # noqa: F401 - registers the built-in sources
from resolvers.errors import ClientError, ProblemList, message_values
from resolvers.pagination import PageRequest, decode_cursor, encode_cursor
from resolvers.policy import Viewer
from resolvers.search_cache import SearchCache, read_epoch
from resolvers.search_index import (
    COUNTRY,
    DIMENSIONS,
    LANGUAGE,
    OBJECTIVE,
    ORIGINAL,
    PRINCIPLE,
    REGION,
    SIMPLE,
    SOURCES,
    TEXT_CONFIGS,
    primary_language,
    translation_shown,
)
from resolvers.validation import clean_country, clean_languages, clean_objectives

Sessions = async_sessionmaker[AsyncSession]

MAX_QUERY = 200
LANGUAGE_BOOST = 1.5
# How much a translation's match counts beside the original's, by its status.
STATUS_WEIGHTS = {"VERIFIED": 1.0, "HUMAN": 0.9, "OUTDATED": 0.8, "MACHINE": 0.7}
# Weights of title, summary and body: bm25 takes them per column, ts_rank per class D, C, B, A.
BM25_WEIGHTS = (10.0, 4.0, 1.0)
TS_RANK_WEIGHTS = "{0.05, 0.1, 0.4, 1.0}"
# Highlight markers (Unicode private use): the snippet is escaped, then they become <mark>.
START, STOP = "\ue000", "\ue001"
LISTING = "search"
PRINCIPLE_LETTERS = frozenset("abcdefghij")


# --- The query language --------------------------------------------------------------------

_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True)
class Clause:
    """Terms that must all match, and terms that must not (one side of an `or`)."""

    required: tuple[str, ...]
    excluded: tuple[str, ...] = ()


def parse_query(query: str) -> list[Clause]:
    """The websearch syntax as clauses joined by `or`; each term is a word or a phrase."""
    clauses: list[Clause] = []
    required: list[str] = []
    excluded: list[str] = []
    for match in _TOKEN.finditer(query):
        negated, phrase, word = match.group(1) == "-", match.group(2), match.group(3)
        if word is not None and word.lower() == "or":
            if required or excluded:
                clauses.append(Clause(tuple(required), tuple(excluded)))
            required, excluded = [], []
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            negated, word = True, word[1:]
        term = " ".join(re.findall(r"\w+", phrase if phrase is not None else word or ""))
        if term:
            (excluded if negated else required).append(term)
    if required or excluded:
        clauses.append(Clause(tuple(required), tuple(excluded)))
    # A clause of exclusions alone would match nearly everything: it is dropped.
    return [c for c in clauses if c.required]


def fts5_query(clauses: Sequence[Clause]) -> str:
    """FTS5 syntax of the clauses: quoted strings (phrases), AND, NOT, OR."""

    def quoted(term: str) -> str:
        return '"' + term.replace('"', '""') + '"'

    parts = []
    for clause in clauses:
        expression = " AND ".join(quoted(t) for t in clause.required)
        expression += "".join(f" NOT {quoted(t)}" for t in clause.excluded)
        parts.append(f"({expression})")
    return " OR ".join(parts)


def websearch_text(clauses: Sequence[Clause]) -> str:
    """The clauses written back in websearch syntax (normalised: what both databases run)."""

    def term(t: str) -> str:
        return f'"{t}"' if " " in t else t

    return " or ".join(
        " ".join([*map(term, c.required), *(f"-{term(t)}" for t in c.excluded)]) for c in clauses
    )


# --- Filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchFilter:
    kinds: Sequence[str] = ()
    objectives: Sequence[int] = ()
    principles: Sequence[str] = ()
    countries: Sequence[str] = ()
    regions: Sequence[UnRegion] = ()
    languages: Sequence[str] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None


def _facet_values(criteria: SearchFilter) -> dict[str, list[str]]:
    """The filter's values per dimension, validated; a bad value is a client error."""
    problems = ProblemList()
    values = {
        OBJECTIVE: [str(n) for n in clean_objectives(problems, "objectives", criteria.objectives)],
        COUNTRY: [c for v in criteria.countries if (c := clean_country(problems, "countries", v))],
        REGION: [r.value for r in criteria.regions],
        LANGUAGE: sorted(
            {
                primary_language(t)
                for t in clean_languages(problems, "languages", criteria.languages)
            }
        ),
        PRINCIPLE: [p.strip().lower() for p in criteria.principles],
    }
    if any(p not in PRINCIPLE_LETTERS for p in values[PRINCIPLE]):
        problems.add("principles", "Guiding principles are letters a to j.")
    unknown = [k for k in criteria.kinds if k not in SOURCES]
    if unknown:
        problems.add("types", "Unknown types: {unknown}.", values=message_values(unknown=unknown))
    if problems:
        raise ClientError(" ".join(f"{p.field}: {p.text}" for p in problems))
    return values


def _has_facet(dimension: str, values: Sequence[str]) -> ColumnElement[bool]:
    return exists().where(
        SearchFacet.document_id == SearchDocument.id,
        SearchFacet.dimension == dimension,
        SearchFacet.value.in_(values),
    )


def _standing() -> ColumnElement[int]:
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


def _status_weight() -> ColumnElement[float]:
    return case(
        *((SearchDocument.status == status, weight) for status, weight in STATUS_WEIGHTS.items()),
        else_=1.0,
    )


def _best_of_item(score: ColumnElement[float]) -> ColumnElement[int]:
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


def _own_config() -> Any:
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
    own = func.websearch_to_tsquery(_own_config(), q)
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


# --- The search -----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class _Search:
    """A search's matching documents (`source` filtered by `conditions`) and their rank."""

    source: Any
    conditions: list[ColumnElement[bool]]
    rank: ColumnElement[float]
    postgresql: bool
    clauses: Sequence[Clause]


def _matching(
    viewer: Viewer,
    postgresql: bool,
    clauses: Sequence[Clause],
    criteria: SearchFilter,
    facet_values: dict[str, list[str]],
) -> _Search:
    source: Any = SearchDocument
    if postgresql:
        matches, rank = _postgresql_match(websearch_text(clauses))
    else:
        fts, rank = _sqlite_match(fts5_query(clauses))
        source = fts.join(SearchDocument, SearchDocument.id == fts.c.document_id)
        matches = literal_column("1", Float) == 1
    conditions = [matches, _visible(viewer, criteria.kinds)]
    conditions += [_has_facet(d, v) for d, v in facet_values.items() if v]
    if criteria.created_after is not None:
        conditions.append(SearchDocument.created_at >= criteria.created_after)
    if criteria.created_before is not None:
        conditions.append(SearchDocument.created_at < criteria.created_before)
    return _Search(source, conditions, rank, postgresql, clauses)


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
    facet_values = _facet_values(criteria)
    clauses = parse_query(query)
    if not clauses:
        return _empty_page()
    after = _after(request.after)
    async with sessions() as session:
        postgresql = session.get_bind().dialect.name == "postgresql"
        epoch = await read_epoch(session) if cache is not None and cache.enabled else None
    # Everything the answer depends on besides the data (the epoch): who asks, as far as the
    # policy looks (not which token), what, and which page.
    key = (
        (viewer.member_id, viewer.role, viewer.organization_id),
        websearch_text(clauses),
        tuple(sorted((d, tuple(v)) for d, v in facet_values.items())),
        tuple(sorted(set(criteria.kinds))),
        criteria.created_after,
        criteria.created_before,
        after,
        request.size,
    )

    def matching() -> _Search:
        return _matching(viewer, postgresql, clauses, criteria, facet_values)

    async def compute() -> Answer:
        return await _answer(sessions, viewer, matching(), after, request, counts_wanted)

    if cache is None:
        answer = await compute()
    else:
        answer = await cache.answer(
            epoch, key, compute, usable=lambda a: a.counts is not None or not counts_wanted
        )

    # The total is the sum of the per-kind counts: one statement answers both, run once
    # however many of the two fields the client asks for.
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
                    _best_of_item(literal_column("0", Float)),
                )
                .select_from(matches.source)
                .where(*matches.conditions)
            )
            counting = asyncio.ensure_future(_facets(sessions, every))
        return await counting

    async def count() -> int:
        return sum(f.count for f in (await facets())["KIND"])

    return SearchPage(
        list(answer.hits), answer.has_next_page, request.after is not None, count, facets
    )


async def _answer(
    sessions: Sessions,
    viewer: Viewer,
    matching: _Search,
    after: After | None,
    request: PageRequest,
    counts_wanted: bool,
) -> Answer:
    """The page (and the counts if wanted) as the database answers now."""
    counted: dict[str, list[FacetCount]] | None = None
    async with sessions() as session:
        languages = await _viewer_languages(session, viewer)
        boost: ColumnElement[float] = (
            case((_has_facet(LANGUAGE, languages), LANGUAGE_BOOST), else_=1.0)
            if languages
            else literal_column("1.0", Float)
        )
        score = matching.rank * boost * _status_weight()
        scored = (
            select(
                SearchDocument.id,
                SearchDocument.kind,
                SearchDocument.item_id,
                SearchDocument.language,
                SearchDocument.status,
                score.label("score"),
                _standing().label("standing"),
                _best_of_item(score),
            )
            .select_from(matching.source)
            .where(*matching.conditions)
        )
        if counts_wanted:
            # One statement: the matches once, then the page and every count from them.
            rows, counted = _split(await session.execute(_page_and_counts(scored, after, request)))
        else:
            page = _page_of(scored.subquery("matched"), after, request)
            rows = list((await session.execute(page)).all())
        has_more = len(rows) > request.size
        rows = rows[: request.size]
        snippets = await _snippets(
            session, matching.postgresql, matching.clauses, [r.id for r in rows]
        )
    hits = tuple(
        Hit(
            kind=row.kind,
            item_id=row.item_id,
            score=float(row.score),
            snippet=snippets.get(row.id, ""),
            cursor=encode_cursor(LISTING, (int(row.standing), repr(float(row.score)), row.id)),
            standing=int(row.standing),
            language=row.language,
            status=row.status,
        )
        for row in rows
    )
    return Answer(hits, has_more, counted)


After = tuple[int, float, int]


def _after(cursor: str | None) -> After | None:
    """The (standing, score, document id) a page starts after."""
    if cursor is None:
        return None
    standing, score_text, after_id = decode_cursor(LISTING, cursor, 3)
    try:
        return int(str(standing)), float(str(score_text)), int(str(after_id))
    except ValueError as e:
        raise ClientError("Malformed cursor.") from e


def _page_of(matched: Any, after: After | None, request: PageRequest) -> AnySelect:
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


def _page_and_counts(scored: AnySelect, after: After | None, request: PageRequest) -> Any:
    """The page's rows (part 0) and every count (part 1) in one statement over one CTE."""
    matched = scored.cte("matched")
    page = _page_of(matched, after, request).subquery("page")
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


def _split(result: Any) -> tuple[list[Any], dict[str, list[FacetCount]]]:
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


async def _facets(sessions: Sessions, every: AnySelect) -> dict[str, list[FacetCount]]:
    """Counts of the matching documents per value of every dimension (and per kind), in one
    statement over the matches computed once."""
    matched = every.cte("matched")
    async with sessions() as session:
        result = await session.execute(union_all(*_counts_of(matched)))
        return _grouped((str(d), v, int(n)) for d, v, n in result)


def _highlighted(raw: str) -> str:
    """Escape the text, then turn the markers into <mark> (balanced: markers are paired)."""
    escaped = html.escape(raw, quote=False)
    return escaped.replace(START, "<mark>").replace(STOP, "</mark>")


async def _snippets(
    session: AsyncSession, postgresql: bool, clauses: Sequence[Clause], ids: Sequence[int]
) -> dict[int, str]:
    if not ids:
        return {}
    if postgresql:
        document = func.concat_ws(
            " — ", SearchDocument.title, SearchDocument.summary, SearchDocument.body
        )
        options = (
            f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, "
            'MaxFragments=2, FragmentDelimiter=" … "'
        )
        statement: AnySelect = select(
            SearchDocument.id,
            func.ts_headline(
                _own_config(),
                document,
                func.websearch_to_tsquery(_own_config(), bindparam("q", websearch_text(clauses))),
                options,
            ),
        ).where(SearchDocument.id.in_(ids))
    else:
        statement = (
            select(
                literal_column("rowid"),
                literal_column(f"snippet(search_fts, -1, '{START}', '{STOP}', ' … ', 24)"),
            )
            .select_from(text("search_fts"))
            .where(
                text("search_fts MATCH :fts").bindparams(fts=fts5_query(clauses)),
                literal_column("rowid").in_(ids),
            )
        )
    rows = await session.execute(statement)
    return {int(document_id): _highlighted(str(raw or "")) for document_id, raw in rows}
