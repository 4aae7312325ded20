"""The compiled fast path: a request whose document this process has compiled (app/compiled.py)
is answered here, in front of Starlette, the other middleware and the GraphQL view, by one
PostgreSQL statement per root field that returns the field's JSON text (schema/compiled_fast.py,
resolvers/compiled/fast.py) on a small asyncpg pool of its own, prepared once per connection
(asyncpg's statement cache).

It answers only what the view would answer the same way, and hands everything else to it
untouched (the body read here is replayed):

- POST `application/json` or GET, naming a trusted document this process keeps by
  `documentId` or by the hash in `extensions.persistedQuery` (`Documents.at_hand`: no
  statement to find it), or sending a plain `query` text this process has compiled
  (`CompiledTexts`, after the view's first answer without an error: a hash of the exact text,
  no parse; a text not compiled yet goes to the view, which compiles it), or naming by its
  hash a text this process remembers (`Documents.remembered_text`, APQ), when the viewer may
  send texts (`Documents.may_send_text`: with HUB_TRUSTED_DOCUMENTS_ONLY, staff only); a
  text sent with a persisted query's hash is the view's to check and keep;
- no `Origin` (CORS), cookie or `If-None-Match` (the view answers conditional GETs);
- variables that coerce, the operation's name, the cost, the page arguments: as the compiled
  plan checks them today (`schema.compiled_run.prepare`); any doubt goes to the view, which
  answers the errors;
- a bearer token: checked as `resolvers.auth.viewer_for_token` checks it (a malformed header,
  an unknown, expired or revoked token go to the view, which answers 401). The member, role
  and organization a token signed in are kept per process as a hint (`TokenHints`, bounded)
  that picks the statement; the statement itself checks, at its own snapshot, that the token
  is still live and still that member with that role and organization, and answers NULL
  otherwise: then the hint is dropped and the view runs the request. A token revoked in
  another process is refused on the very next request, as by the executor. The lookup reads
  the member's declared languages too (`Declared`): a `resources` page whose titles follow
  them (no `Accept-Language`) is read in the languages the executor makes of them, by a
  statement that also checks they are still the member's (a member who changes them gets
  the view's answer on the very next request, and a fresh hint after it).
- with the response cache on (HUB_RESPONSE_CACHE_MAX_BYTES > 0), what the view's cache does
  is decided as the view decides it (app/cached_compiled.py): a hit is answered from the
  cache, a miss by the statements and kept, an uncacheable request (a viewer-specific field,
  a `Hub-Write-Version` this process has not applied) by the statements, not kept; a
  signed-in viewer's miss of a shareable document goes to the view.

The order of the middleware (app/main.py): tracing, then app/cached_hits.py, then this one.
The cache's own fast path is first because it is the cheapest (the raw bytes of a request the
view or this path has kept the answer of: no JSON parse, no hash, no viewer) and answers the
most repeated requests; whatever it leaves (a token, a `Hub-Write-Version`, bytes it has not
seen) comes here, with the body it read replayed and the raw key it computed in the scope, so
that an anonymous answer kept here is told to it (`RawRequests.remember`, as the view does)
and the next identical request is its hit.

An answer here gets what the view's gets: the same status, body and headers (`Content-Type`,
`Content-Length`, `ETag`, `Cache-Control`, `Vary`), its `X-Request-ID`, its log line
(`compiled=true` and its statements; a hit as the view logs one), the operation counter (a
trusted document's id, a text's operation name; a hit's operation name, as
`record_cached_answer` labels it), the statements histogram and the cache's counter. If a
statement fails, the view runs the request (and answers its own error). On SQLite, behind
PgBouncer, or with HUB_COMPILE_TRUSTED_DOCUMENTS and HUB_COMPILE_TEXTS off, everything goes
to the view.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import literal_column, make_url
from starlette.types import ASGIApp, Receive, Scope, Send

from app.cached_compiled import StatementReads, cache_plan, uncached_headers
from app.cached_hits import RawRequests, kept_headers, raw_request_of, read_body, replaying
from app.cached_responses import CachedResponses, Plan
from app.compiled import CompiledAnswers
from app.compiled_pool import FrontPool
from app.compiled_requests import (
    NO_LANGUAGES,
    Asked,
    Declared,
    Hint,
    TokenHints,
    Work,
    asked_of,
    document_of,
    front_headers,
)
from app.documents import Documents
from app.logs import Operation, log_request, request_logger
from app.metrics import operation_label
from app.request_id import request_id_from
from app.response_cache import Entry
from app.settings import Settings
from models.base import utcnow
from models.db import behind_pgbouncer, metadata
from models.member import Member, Role
from resolvers.auth import AuthConfig, live_token, token_digest
from resolvers.compiled.fast import (
    FastStatement,
    ViewerKind,
    declared_arrays,
    sql_text,
    viewer_values,
)
from resolvers.policy import ANONYMOUS, Viewer
from schema.compiled_fast import fast_body, fast_parts
from schema.compiled_fields import Asking
from schema.compiled_run import prepare
from schema.request_id import REQUEST_ID
from subscriptions import metrics

logger = logging.getLogger("hub.compiled")


class CompiledFrontMiddleware:
    """ASGI middleware: `front` answers what it can, the app the rest."""

    def __init__(self, app: ASGIApp, front: CompiledFront) -> None:
        self.app = app
        self.front = front

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.front(self.app, scope, receive, send)


class CompiledFront:
    """One per process: answers compiled trusted documents itself (see the module)."""

    def __init__(
        self,
        settings: Settings,
        compiled: CompiledAnswers | None,
        documents: Documents,
        responses: CachedResponses,
        raw_requests: RawRequests | None = None,
    ) -> None:
        self.compiled = compiled
        self.documents = documents
        self.responses = responses
        self.raw_requests = raw_requests  # app/cached_hits.py's, told of what is kept here
        self.reads = StatementReads(metadata)
        self.auth: AuthConfig = settings.auth_config()
        self.max_body_bytes = settings.max_body_bytes
        self.record = settings.metrics_enabled
        self.hints = TokenHints()
        self.answered = 0  # requests answered here
        url = settings.database_url
        self.enabled = (
            compiled is not None
            and make_url(url).get_backend_name() == "postgresql"
            and not behind_pgbouncer(url)
        )
        self.pool = FrontPool(settings)
        token = live_token(_param(1, "text"), _param(2, "timestamptz"))
        languages = declared_arrays(f"{Member.__tablename__}.id")
        self._token_sql = sql_text(token.add_columns(*map(literal_column, languages)))

    @property
    def statements(self) -> int:
        """Statements run here (tests add them to the engine's)."""
        return self.pool.statements

    async def close(self) -> None:
        await self.pool.close()

    async def __call__(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != "/graphql"
            or not self.enabled
            or scope["method"] not in ("GET", "POST")
        ):
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = front_headers(scope)
        if headers is None:
            await app(scope, receive, send)
            return
        body = b""
        if scope["method"] == "POST":
            read, messages = await read_body(receive, self.max_body_bytes)
            receive = replaying(messages, receive)
            if read is None:
                await app(scope, receive, send)
                return
            body = read
        asked = asked_of(scope, headers, body)
        answered = asked is not None and await self._answer(scope, send, asked, started)
        if not answered:
            await app(scope, receive, send)

    async def _answer(self, scope: Scope, send: Send, asked: Asked, started: float) -> bool:
        """Answer the request here; False: the view must."""
        params = asked.params
        if self.compiled is None:
            return False
        found = document_of(self.documents, self.compiled.texts, params)
        if found is None:
            return False
        text, compiled, name, plain = found
        viewer, digest, declared = ANONYMOUS, "", NO_LANGUAGES
        if asked.token is not None:
            digest = token_digest(self.auth, asked.token)
            hinted = self.hints.get(digest) or await self._look_up(digest)
            if hinted is None:
                return False
            viewer, declared = hinted.viewer, hinted.declared
        if plain and not self.documents.may_send_text(viewer):
            return False
        prepared = prepare(
            self.compiled.schema,
            compiled,
            params.variables,
            params.operation_name,
            Asking(viewer, asked.languages),
            self.compiled.limits.max_cost,
        )
        kind = ViewerKind(viewer.is_signed_in, viewer.role)
        parts = None if prepared is None else fast_parts(compiled, prepared, kind, declared.wanted)
        if prepared is None or parts is None:
            return False
        work = Work(scope, asked, text, name, viewer, digest, declared, prepared, parts, started)
        if self.responses.cache.enabled:
            return await self._cached(send, work)
        texts = await self._run(work)
        if texts is None:
            return False
        body = fast_body(prepared, texts)
        get = scope["method"] == "GET"
        headers = uncached_headers(len(body), asked.media_type, get, viewer.is_signed_in)
        request_id = await self._send(send, headers, body, asked.given_id)
        self._observe(work, name, len(work.statements), request_id)
        return True

    async def _cached(self, send: Send, work: Work) -> bool:
        """With the response cache on: what the view's cache does (app/cached_compiled.py)."""
        responses, asked, viewer = self.responses, work.asked, work.viewer
        plan, counted = await cache_plan(responses, work.text, asked, viewer)
        if plan.scoped is not None:
            return False  # a signed-in viewer's miss of a shareable document: the view's
        if plan.hit is not None:
            # the view checks the token for every request: a hit too (the view answers a token
            # no longer live, and one whose member changed: `_look_up` keeps the new hint)
            if viewer.is_signed_in and not _same_viewer(await self._look_up(work.digest), viewer):
                return False
            return await self._hit(send, work, plan, plan.hit, counted)
        texts = await self._run(work)
        if texts is None:
            return False
        if counted is not None:
            metrics.RESPONSE_CACHE.labels(counted).inc()
        self._remember(work, plan)
        body = fast_body(work.prepared, texts)
        etag = None
        if plan.key is not None and plan.snapshot is not None:
            reads = self.reads.of(work.statements)
            etag = responses.keep(plan.key, plan.snapshot, reads, body, asked.media_type)
        get = work.scope["method"] == "GET"
        headers = (
            kept_headers(len(body), asked.media_type, etag, get, responses.public_control)
            if etag is not None
            else uncached_headers(len(body), asked.media_type, get, viewer.is_signed_in)
        )
        request_id = await self._send(send, headers, body, asked.given_id)
        self._observe(work, work.name, len(work.statements), request_id)
        return True

    async def _hit(
        self, send: Send, work: Work, plan: Plan, entry: Entry, counted: str | None
    ) -> bool:
        """The view's answer from the cache (`CachedResponses.answer`)."""
        if counted is not None:
            metrics.RESPONSE_CACHE.labels(counted).inc()
        self._remember(work, plan)
        asked, body = work.asked, entry.body
        get = work.scope["method"] == "GET"
        headers = (
            kept_headers(
                len(body), asked.media_type, entry.etag, get, self.responses.public_control
            )
            if plan.public
            else uncached_headers(len(body), asked.media_type, get, signed_in=True)
        )
        request_id = await self._send(send, headers, body, asked.given_id)
        # counted and described as `app.metrics.record_cached_answer` does
        self._observe(work, operation_label(plan.operation_name), None, request_id)
        return True

    def _remember(self, work: Work, plan: Plan) -> None:
        """As the view tells app/cached_hits.py the key of an anonymous request's raw bytes."""
        raw = raw_request_of(work.scope)
        known = self.raw_requests
        if known is not None and raw is not None and plan.key is not None and plan.public:
            known.remember(raw, plan.key, work.asked.media_type, plan.operation_name)

    async def _look_up(self, digest: str) -> Hint | None:
        """`viewer_for_token`'s statement, on this pool, with the member's declared languages;
        kept as a hint."""
        try:
            row = await self.pool.fetch(lambda c: c.fetchrow(self._token_sql, digest, utcnow()))
        except Exception:
            logger.exception("compiled fast path: token lookup failed, the view answers")
            return None
        if row is None:
            self.hints.drop(digest)
            return None
        token_id, member_id, role, organization_id, positions, tags = row
        viewer = Viewer(
            member_id=member_id, role=_role(role), organization_id=organization_id,
            token_id=token_id,
        )  # fmt: skip
        hint = Hint(viewer, Declared.of(positions, tags))
        self.hints.put(digest, hint)
        return hint

    async def _run(self, work: Work) -> list[str] | None:
        """Each root's JSON text; None when the view must answer (a token or declared
        languages no longer what its hint says, or a failed statement)."""
        texts: list[str] = []
        viewer, digest, parts = work.viewer, work.digest, work.parts
        extra: dict[str, Any] = {}
        if viewer.is_signed_in:
            extra = viewer_values(viewer, digest, utcnow()) | work.declared.values()
        # nothing to read (`{ __typename }`, no thread's ID): the token is checked alone, as
        # the executor checks it for every request
        reads_nothing = all(p.statement is None for p in parts)
        if extra and reads_nothing and not _same_viewer(await self._look_up(digest), viewer):
            self.hints.drop(digest)
            return None
        for part in parts:
            if part.statement is None:
                assert isinstance(part.values, str)
                texts.append(part.values)
                continue
            assert isinstance(part.values, dict)
            text = await self._statement(part.statement, {**part.values, **extra})
            if text is None:
                self.hints.drop(digest)
                return None
            texts.append(text)
        return texts

    async def _statement(self, statement: FastStatement, values: dict[str, Any]) -> str | None:
        arguments = statement.arguments(values)
        try:
            text: str | None = await self.pool.fetch(
                lambda c: c.fetchval(statement.sql, *arguments)
            )
        except Exception:
            logger.exception("compiled fast path: the statement failed, the view answers")
            return None
        return text

    async def _send(
        self, send: Send, headers: list[tuple[bytes, bytes]], body: bytes, given: bytes | None
    ) -> str:
        """The answer, with the request id's header (app/request_id.py) after the view's."""
        request_id = request_id_from(given)
        headers.append((b"x-request-id", request_id.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return request_id

    def _observe(self, work: Work, name: str, statements: int | None, request_id: str) -> None:
        """`app.metrics.record_compiled_answer` (`statements` None: `record_cached_answer`)
        and the request's log line."""
        self.answered += 1
        compiled = statements is not None
        if self.record:
            metrics.OPERATIONS.labels(name, "query", "ok").inc()
            if statements is not None:
                metrics.STATEMENTS.observe(statements)
        if request_logger.isEnabledFor(logging.INFO):
            token = REQUEST_ID.set(request_id)
            try:
                viewer_id = work.viewer.logged_id()
                operation = Operation(name, "query", "ok", statements or 0, viewer_id, compiled)
                log_request(work.scope, 200, time.perf_counter() - work.started, operation)
            finally:
                REQUEST_ID.reset(token)


def _param(number: int, pg_type: str) -> Any:
    return literal_column(f"${number}::{pg_type}")


def _same_viewer(hint: Hint | None, viewer: Viewer) -> bool:
    """Whether a token's lookup found it still signs in `viewer`."""
    return hint is not None and hint.viewer == viewer


def _role(value: Role | str) -> Role:
    return value if isinstance(value, Role) else Role[value]
