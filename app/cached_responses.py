"""The response cache at the HTTP endpoint: which requests it may answer, their keys, and the
headers of what it answers (`ETag`, `Cache-Control`, `Hub-Write-Version`).

`Cache-Control` on GET: a public answer the cache may keep is `public, max-age=M,
stale-while-revalidate=S` (settings; 5 and 30 s by default: a CDN in front of anonymous reads
answers most of them, and nobody sees a public change later than M + S seconds plus the
broker's latency); any other anonymous answer `no-store`; a signed-in viewer's `private,
no-store`. POST answers carry none (HTTP caches do not keep them). Every cacheable GET answer
carries a strong `ETag` (its body's hash and media type); `If-None-Match` with it gets 304.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable
from dataclasses import dataclass

from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import Response

from app.metrics import record_cached_answer
from app.response_cache import Entry, ResponseCache, Snapshot
from models.db import Database
from models.reads import Reads
from models.writes import Commits
from resolvers.policy import ScopedViewer, Viewer, scope_audience, shared_audience
from schema.context import Context
from schema.viewer_fields import selects_viewer_specific
from subscriptions import metrics

WRITE_VERSION_HEADER = "Hub-Write-Version"
VARY = "Accept, Accept-Language, Authorization, Hub-Write-Version"
MAX_DOCUMENTS = 10_000  # shareability decisions remembered per process


@dataclass(frozen=True, slots=True)
class Plan:
    """What the cache does for one request: answer it (`hit`), or keep its answer under `key`
    if it may (`key` None: execute, keep nothing)."""

    key: Hashable | None = None
    snapshot: Snapshot | None = None
    hit: Entry | None = None
    public: bool = False  # anonymous: `Cache-Control` may be public
    operation_name: str | None = None  # the operation's own name (the request may name none)
    # A signed-in viewer's: the key without the audience, which their execution decides.
    scoped: tuple[Hashable, ScopedViewer] | None = None


PRIVATE = Plan()
PUBLIC = Plan(public=True)


def write_version(raw: str | None) -> int | None:
    """The version a client sent in `Hub-Write-Version` (anything but digits: none)."""
    return int(raw) if raw is not None and raw.isdigit() else None


def _etag(body: bytes, media_type: str) -> str:
    digest = hashlib.sha256(body + media_type.encode()).hexdigest()[:32]
    return f'"{digest}"'


def _not_modified(request: Request, etag: str) -> bool:
    wanted = request.headers.get("if-none-match")
    if wanted is None:
        return False
    tags = {t.strip().removeprefix("W/") for t in wanted.split(",")}
    return etag in tags or "*" in tags


class CachedResponses:
    def __init__(
        self,
        cache: ResponseCache,
        db: Database,
        max_age_seconds: int,
        stale_seconds: int,
        record_metrics: bool = True,
    ) -> None:
        self.cache = cache
        self.db = db
        self.record_metrics = record_metrics
        self.public_control = (
            f"public, max-age={max_age_seconds}, stale-while-revalidate={stale_seconds}"
        )
        self._shareable: dict[tuple[bytes, str | None], tuple[bool, str | None]] = {}
        # What the last signed-in execution of a request read of its viewer (resolvers/policy/viewer.py).
        self._consulted: dict[Hashable, frozenset[str]] = {}

    def _document_shareable(
        self, digest: bytes, query: str, operation_name: str | None
    ) -> tuple[bool, str | None]:
        """Whether the operation is a query (not a mutation) selecting no viewer-specific
        field, and its name; decided once per document and operation name."""
        known = self._shareable.get((digest, operation_name))
        if known is not None:
            return known
        decision: tuple[bool, str | None] = (False, None)
        try:
            document = parse(query)
        except GraphQLError:
            pass  # the executor says what is wrong with it
        else:
            operation = get_operation_ast(document, operation_name)
            if operation is not None:
                shareable = operation.operation is OperationType.QUERY and not (
                    selects_viewer_specific(operation, document)
                )
                decision = (shareable, operation.name.value if operation.name else None)
        if len(self._shareable) >= MAX_DOCUMENTS:
            self._shareable.clear()
        self._shareable[(digest, operation_name)] = decision
        return decision

    async def plan(
        self,
        request: Request,
        query: str,
        variables: dict[str, object] | None,
        operation_name: str | None,
        context: Context,
    ) -> Plan:
        viewer = context.viewer
        if not self.cache.enabled:
            return PRIVATE if viewer.is_signed_in else PUBLIC
        plan, counted = await self.plan_for(
            query,
            variables,
            operation_name,
            viewer,
            write_version(request.headers.get(WRITE_VERSION_HEADER)),
            context.languages_at_hand(),
        )
        if counted is not None:
            metrics.RESPONSE_CACHE.labels(counted).inc()
        return plan

    async def plan_for(
        self,
        query: str,
        variables: dict[str, object] | None,
        operation_name: str | None,
        viewer: Viewer,
        write_version: int | None,
        languages: tuple[str, ...] | None,
    ) -> tuple[Plan, str | None]:
        """`plan` with the cache on, from what it reads of the request (`languages`:
        `Context.languages_at_hand`, the request's for an anonymous viewer), and the
        `hub_response_cache_total` result it counts (the caller counts it: the compiled fast
        path, app/compiled_front.py, only once it answers)."""
        cache = self.cache
        audience = shared_audience(viewer)
        if audience is None and not isinstance(viewer, ScopedViewer):
            return PRIVATE, None
        digest = hashlib.sha256(query.encode()).digest()
        shareable, name = self._document_shareable(digest, query, operation_name)
        public = audience is not None
        if not shareable:
            return (PUBLIC if public else PRIVATE), "uncacheable"
        await cache.ready(self.db.sessions)
        if cache.behind(write_version):
            return (PUBLIC if public else PRIVATE), "behind"
        canonical = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
        if isinstance(viewer, ScopedViewer):
            # Not the member's declared languages (a statement per request): an execution that
            # needs them reads the viewer's id to load them, so its answer is theirs alone.
            return self._scoped_plan((digest, operation_name, canonical, languages), viewer, name)
        # anonymous: `Context.languages()` is the request's languages, as `languages` is
        key = (digest, operation_name, canonical, languages, audience)
        hit = cache.get(key)
        if hit is not None:
            return Plan(key, hit=hit, public=True, operation_name=name), "hit"
        return Plan(key, cache.snapshot(), public=True, operation_name=name), None

    def _scoped_plan(
        self, base: Hashable, viewer: ScopedViewer, name: str | None
    ) -> tuple[Plan, str | None]:
        """A signed-in viewer: the answer kept for their permission scope, as the last
        execution of the request found it (policy.scope_audience); else execute, recording
        what the execution reads of the viewer."""
        consulted = self._consulted.get(base)
        audience = None if consulted is None else scope_audience(viewer, consulted)
        if audience is not None:
            key = (base, consulted, audience)
            hit = self.cache.get(key)
            if hit is not None:
                return Plan(key, hit=hit, operation_name=name), "hit"
        viewer.record()
        return Plan(None, self.cache.snapshot(), operation_name=name, scoped=(base, viewer)), None

    def _scoped_key(self, plan: Plan) -> Hashable | None:
        """The key of a signed-in viewer's executed answer: its permission scope, from what
        the execution read of the viewer (None: it read who they are)."""
        if plan.scoped is None:
            return plan.key
        base, viewer = plan.scoped
        consulted = viewer.read()
        if len(self._consulted) >= MAX_DOCUMENTS:
            self._consulted.clear()
        self._consulted[base] = consulted
        audience = scope_audience(viewer, consulted)
        return None if audience is None else (base, consulted, audience)

    def current(self, key: Hashable) -> Entry | None:
        """The answer kept under `key`, if the view would serve it to a client who has seen
        no write (app/cached_hits.py's fast path)."""
        return None if self.cache.behind(None) else self.cache.get(key)

    def answer(self, request: Request, plan: Plan, context: Context, media_type: str) -> Response:
        """The response for a hit."""
        assert plan.hit is not None
        record_cached_answer(context, plan.operation_name, self.record_metrics)
        return self._shared(request, plan.hit.body, plan.hit.etag, media_type, plan.public)

    def finish(
        self,
        request: Request,
        plan: Plan,
        response: Response,
        outcome: tuple[bytes, bool, Reads, Commits],
        media_type: str,
    ) -> Response:
        """Keep an executed answer if the plan allows and it went well; the headers."""
        body, succeeded, reads, commits = outcome
        if commits.version is not None:
            response.headers[WRITE_VERSION_HEADER] = str(commits.version)
        key = self._scoped_key(plan)
        if key is not None and plan.snapshot is not None and succeeded:
            etag = self.keep(key, plan.snapshot, reads, body, media_type)
            if etag is not None:
                return self._shared(request, body, etag, media_type, plan.public, response)
        elif plan.scoped is not None:
            metrics.RESPONSE_CACHE.labels("uncacheable").inc()
        if request.method == "GET":
            response.headers["Cache-Control"] = "no-store" if plan.public else "private, no-store"
            response.headers["Vary"] = VARY
        return response

    def keep(
        self, key: Hashable, snapshot: Snapshot, reads: Reads, body: bytes, media_type: str
    ) -> str | None:
        """Keep an answer computed from `snapshot`, reading `reads`, if it may be kept
        (counted `miss`, else `uncacheable`); its ETag if kept."""
        etag = _etag(body, media_type)
        kept = self.cache.put(key, snapshot, reads, body, etag)
        metrics.RESPONSE_CACHE.labels("miss" if kept else "uncacheable").inc()
        return etag if kept else None

    def _shared(
        self,
        request: Request,
        body: bytes,
        etag: str,
        media_type: str,
        public: bool,
        response: Response | None = None,
    ) -> Response:
        if not public:  # a permission scope's answer is kept here, never by an HTTP cache
            if response is None:
                response = Response(body, media_type=media_type)
            if request.method == "GET":
                response.headers.update({"Cache-Control": "private, no-store", "Vary": VARY})
            return response
        headers = {"ETag": etag, "Vary": VARY}
        if request.method == "GET":
            headers["Cache-Control"] = self.public_control
            if _not_modified(request, etag):
                return Response(status_code=304, headers=headers)
        if response is None:
            response = Response(body, media_type=media_type)
        response.headers.update(headers)
        return response
