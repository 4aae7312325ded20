"""The response cache on the compiled fast path (app/compiled_front.py): with HUB_RESPONSE_CACHE
on, what the view's cache (app/cached_responses.py) does with a request the fast path can
answer is decided here exactly as the view decides it (`CachedResponses.plan_for`, the same
key, the same audience, the same read-your-writes rule), so that every response (status, body,
`ETag`, `Cache-Control`, `Vary`) and every count is the view's:

- a hit is answered from the cache; a signed-in viewer's only once their token is checked by
  a statement, as the view checks it for every request;
- an anonymous miss is answered by the fast path's statements and kept under the view's key,
  with the tables those statements read (found in their SQL as models/reads.py finds them in
  the engine's), so the next request is a hit;
- a signed-in viewer's miss of a shareable document goes to the view: what its answer may be
  shared with is what the execution reads of the viewer (`ScopedViewer`), which only the
  executor records;
- anything the cache would not keep (a viewer-specific field, a client ahead of this process's
  writes) is answered by the fast path with the view's uncached headers.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from app.cached_hits import VARY_WITHOUT_ORIGIN
from app.cached_responses import CachedResponses, Plan
from app.compiled_requests import Asked
from models.reads import Reads, TableNames
from resolvers.compiled.fast import FastStatement
from resolvers.policy import ScopedViewer, Viewer


async def cache_plan(
    responses: CachedResponses, text: str, asked: Asked, viewer: Viewer
) -> tuple[Plan, str | None]:
    """The view's plan for this request (app/http.py `_execute`), and what it counts."""
    signed_in = viewer.is_signed_in
    # `Context.languages_at_hand`: the request's, unless a signed-in viewer asked for none
    languages = asked.languages if asked.languages or not signed_in else None
    return await responses.plan_for(
        text,
        asked.params.variables,
        asked.params.operation_name,
        ScopedViewer(viewer) if signed_in else viewer,
        asked.write_version,
        languages,
    )


class StatementReads:
    """The tables and the clock the fast path's statements read, found in their SQL text as
    models/reads.py finds them in the statements the engine runs (what an answer kept by
    the response cache depends on)."""

    def __init__(self, metadata: MetaData) -> None:
        self._names = TableNames(metadata.tables)

    def of(self, statements: list[FastStatement]) -> Reads:
        reads = Reads()
        for statement in statements:
            tables, clock = self._names.find(statement.sql)
            reads.tables.update(tables)
            reads.statements += 1
            reads.clock = reads.clock or clock
        return reads


def uncached_headers(
    length: int, media_type: str, get: bool, signed_in: bool
) -> list[tuple[bytes, bytes]]:
    """The headers of an answer the view does not keep (app/http.py, `CachedResponses.finish`,
    the CORS middleware's `Vary` without `Origin`); a signed-in viewer's answer kept for their
    permission scope gets these too (`_shared`, not public)."""
    headers = [(b"content-length", str(length).encode()), (b"content-type", media_type.encode())]
    if get:
        control = b"private, no-store" if signed_in else b"no-store"
        headers += [(b"cache-control", control), (b"vary", VARY_WITHOUT_ORIGIN)]
    else:
        headers.append((b"vary", b"Origin"))
    return headers
