"""Search in GraphQL: one query over every searchable domain, with facets and snippets.

A domain joins search by registering a source in resolvers (resolvers/search_index.py), adding
its type to `SearchResult` and its loader to `RESULT_LOADERS`, and a value to `SearchType`."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import strawberry

from models.base import utcnow
from models.reference import UnRegion as UnRegionModel
from models.review import ReviewState as ReviewStateModel
from models.translation import TranslationStatus as TranslationStatusModel
from resolvers import search
from resolvers.search_sources import INITIATIVE, MEMBER, POST, RESOURCE, THREAD, WEBINAR
from schema.context import Info
from schema.initiatives import Initiative, load_initiative
from schema.localized import TranslationStatus
from schema.members import Member, load_member
from schema.reference import UnRegion
from schema.relay import AFTER, FIRST, PageInfo, page_request
from schema.resources import Resource, load_resource
from schema.reviews import Reviewable
from schema.threads import Post, Thread, load_post, load_thread
from schema.webinars import Webinar, load_webinar

Found = Thread | Post | Member | Resource | Initiative | Webinar
SearchResult = Annotated[
    Found,
    strawberry.union("SearchResult", description="Anything search can find."),
]

# How to load a hit of each kind: the loaders apply the same policy as every other read.
RESULT_LOADERS: dict[str, Callable[[Info, int], Awaitable[Found | None]]] = {
    THREAD: load_thread,
    POST: load_post,
    MEMBER: load_member,
    RESOURCE: load_resource,
    INITIATIVE: load_initiative,
    WEBINAR: load_webinar,
}


@strawberry.enum(description="The kinds of things search finds.")
class SearchType(enum.Enum):
    THREAD = strawberry.enum_value(THREAD, description="Discussion threads.")
    POST = strawberry.enum_value(POST, description="Replies in threads.")
    MEMBER = strawberry.enum_value(MEMBER, description="Members and experts.")
    RESOURCE = strawberry.enum_value(RESOURCE, description="Curated knowledge resources.")
    INITIATIVE = strawberry.enum_value(
        INITIATIVE, description="Initiatives and practices (the repository of practices)."
    )
    WEBINAR = strawberry.enum_value(WEBINAR, description="Webinars.")


@strawberry.input(description="Narrow a search; every list means 'any of these'.")
class SearchFilter:
    types: list[SearchType] | None = strawberry.field(
        default=None, description="Only these kinds of results."
    )
    objectives: list[int] | None = strawberry.field(
        default=None, description="Only results about any of these GCM objectives."
    )
    principles: list[str] | None = strawberry.field(
        default=None, description="Only results tagged with any of these guiding principles (a-j)."
    )
    countries: list[str] | None = strawberry.field(
        default=None, description="Only results about any of these countries (ISO alpha-2)."
    )
    regions: list[UnRegion] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Only results about a country in any of these UN regions."
    )
    languages: list[str] | None = strawberry.field(
        default=None,
        description="Only results in any of these languages (BCP 47; es matches es-MX), "
        "written in it or translated into it (a translation you may see).",
    )
    created_after: datetime | None = strawberry.field(
        default=None, description="Only results created at or after this moment."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Only results created before this moment."
    )


@strawberry.type(description="A search hit with its place in the results.")
class SearchEdge:
    cursor: str = strawberry.field(description="Pass as `after` for the results after this one.")
    node: SearchResult = strawberry.field(description="What was found.")
    score: float = strawberry.field(
        description="Relevance (higher is better; comparable within one search only)."
    )
    snippet: str = strawberry.field(
        description="Where it matched: escaped text with the matching words in <mark>…</mark>."
    )
    is_stale: bool = strawberry.field(
        description="A published resource or initiative past its review-by date (its node's "
        "`isStale`); false for kinds that are never stale."
    )
    is_superseded: bool = strawberry.field(
        description="A resource superseded by a published successor: ranked after the "
        "results that are not."
    )
    matched_language: str | None = strawberry.field(
        description="The language (BCP 47) of the text that matched, which the snippet is in: "
        "the original's or a translation's; null when the original's language is not known "
        "(a thread in a community of several languages)."
    )
    matched_status: TranslationStatus = strawberry.field(  # type: ignore[valid-type]
        description="ORIGINAL when the original matched, else the status of the translation "
        "that matched (the weakest of its fields)."
    )


@strawberry.type(description="How many results have one objective.")
class ObjectiveFacet:
    number: int = strawberry.field(description="GCM objective number.")
    count: int = strawberry.field(description="Matching results.")


@strawberry.type(description="How many results have one guiding principle.")
class PrincipleFacet:
    letter: str = strawberry.field(description="Letter of the guiding principle.")
    count: int = strawberry.field(description="Matching results.")


@strawberry.type(description="How many results concern one country.")
class CountryFacet:
    code: str = strawberry.field(description="ISO 3166-1 alpha-2 code.")
    count: int = strawberry.field(description="Matching results.")


@strawberry.type(description="How many results concern one UN region.")
class RegionFacet:
    region: UnRegion = strawberry.field(description="The region.")  # type: ignore[valid-type]
    count: int = strawberry.field(description="Matching results.")


@strawberry.type(
    description="How many results are in one language: written in it, or matched through a "
    "translation into it that you may see."
)
class LanguageFacet:
    tag: str = strawberry.field(description="Primary language subtag, such as es.")
    count: int = strawberry.field(description="Matching results.")


@strawberry.type(description="How many results are of one kind.")
class KindFacet:
    kind: SearchType = strawberry.field(description="The kind.")
    count: int = strawberry.field(description="Matching results.")


@strawberry.type(
    description="Counts of the results (all pages, as filtered) per value of each dimension, "
    "most frequent first; only what you may see is counted."
)
class SearchFacets:
    kinds: list[KindFacet] = strawberry.field(description="Per kind of result.")
    objectives: list[ObjectiveFacet] = strawberry.field(description="Per GCM objective.")
    principles: list[PrincipleFacet] = strawberry.field(description="Per guiding principle.")
    countries: list[CountryFacet] = strawberry.field(description="Per country.")
    regions: list[RegionFacet] = strawberry.field(description="Per UN region.")
    languages: list[LanguageFacet] = strawberry.field(description="Per language.")


@strawberry.type(description="One page of search results, best first, with facet counts.")
class SearchConnection:
    edges: list[SearchEdge] = strawberry.field(description="The hits with cursors and snippets.")
    page_info: PageInfo = strawberry.field(description="Position of this page in the results.")
    page: strawberry.Private[search.SearchPage]

    @strawberry.field(description="The things found alone, in order.")
    def nodes(self) -> list[SearchResult]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="Number of results on all pages (costs one more query).")
    async def total_count(self) -> int:
        return await self.page.count()

    @strawberry.field(description="Counts per filter dimension (costs one more query).")
    async def facets(self) -> SearchFacets:
        counts = await self.page.facets()
        return SearchFacets(
            kinds=[KindFacet(kind=SearchType[f.value], count=f.count) for f in counts["KIND"]],
            objectives=[
                ObjectiveFacet(number=int(f.value), count=f.count) for f in counts["OBJECTIVE"]
            ],
            principles=[PrincipleFacet(letter=f.value, count=f.count) for f in counts["PRINCIPLE"]],
            countries=[CountryFacet(code=f.value, count=f.count) for f in counts["COUNTRY"]],
            regions=[
                RegionFacet(region=UnRegionModel(f.value), count=f.count) for f in counts["REGION"]
            ],
            languages=[LanguageFacet(tag=f.value, count=f.count) for f in counts["LANGUAGE"]],
        )


def _is_stale(node: Found) -> bool:
    """What the node's `isStale` says: published and past its review-by date."""
    return (
        isinstance(node, Reviewable)
        and node.state is ReviewStateModel.APPROVED
        and node.review_by is not None
        and node.review_by < utcnow()
    )


async def resolve_search(
    info: Info,
    query: Annotated[
        str,
        strawberry.argument(
            description='Words (all must match), "quoted phrases", -exclusions and `or`, '
            "as in web search engines (at most 200 characters)."
        ),
    ],
    filter: Annotated[
        SearchFilter | None, strawberry.argument(description="Narrow the results.")
    ] = None,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> SearchConnection:
    criteria = filter or SearchFilter()
    asked = {getattr(f, "name", None) for f in info.selected_fields[0].selections}
    page = await search.search(
        info.context.db.sessions,
        info.context.viewer,
        query,
        search.SearchFilter(
            kinds=[t.name for t in criteria.types or []],
            objectives=criteria.objectives or [],
            principles=criteria.principles or [],
            countries=criteria.countries or [],
            regions=criteria.regions or [],
            languages=criteria.languages or [],
            created_after=criteria.created_after,
            created_before=criteria.created_before,
        ),
        page_request(first, after, None, None),
        counts_wanted=bool(asked & {"totalCount", "facets"}),
        cache=info.context.search_cache,
    )
    # Loaded together, so each kind's DataLoader answers the whole page in one query.
    nodes = await asyncio.gather(*(RESULT_LOADERS[h.kind](info, h.item_id) for h in page.hits))
    edges = [
        SearchEdge(
            cursor=hit.cursor,
            node=node,
            score=hit.score,
            snippet=hit.snippet,
            is_stale=_is_stale(node),
            is_superseded=hit.standing < 0,
            matched_language=hit.language,
            matched_status=TranslationStatusModel(hit.status),
        )
        for hit, node in zip(page.hits, nodes, strict=True)
        if node is not None  # gone between the search and the load (deleted meanwhile)
    ]
    return SearchConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.hits[0].cursor if page.hits else None,
            end_cursor=page.hits[-1].cursor if page.hits else None,
        ),
        page=page,
    )
