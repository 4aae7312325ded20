"""GraphQL over HTTP, as the spec says: GET for queries, POST JSON, negotiated media types,
4xx for request errors. Strawberry executes; this module speaks HTTP."""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from broadcaster import Broadcast
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from app.auth import AuthenticationFailed, ServiceUnavailable, viewer_from_request
from app.cached_hits import RawRequests, raw_request_of
from app.cached_responses import CachedResponses
from app.compiled import CompiledAnswers
from app.console.page import Console
from app.documents import DocumentRefused, Documents, Resolved
from app.push import push_config
from app.settings import Settings
from models.db import Database
from models.reads import recording_reads
from models.writes import noting_commits
from resolvers.languages import parse_accept_language
from resolvers.policy import ScopedViewer
from resolvers.search import Answer
from resolvers.search_cache import SearchCache
from schema import HubSchema
from schema.context import Context
from schema.encoding import json_bytes

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
ALLOWED_METHODS = "GET, POST"


class RequestError(Exception):
    """The request cannot be executed; answered with `status` and a GraphQL error body."""

    def __init__(
        self, status: int, message: str, code: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


@dataclass(frozen=True)
class GraphQLParams:
    query: str | None  # None when the document is named by `documentId` or a persisted hash
    variables: dict[str, Any] | None
    operation_name: str | None
    document_id: str | None = None
    extensions: dict[str, Any] | None = None


def negotiate(accept: str | None) -> str:
    """The response media type for an Accept header: `application/graphql-response+json` when
    the client names it (or `application/*`) first, `application/json` when it names that; and,
    by the spec's legacy rule, `application/json` when it sends no Accept or only `*/*`, as
    clients written before the new media type expect."""
    if not accept:
        return APPLICATION_JSON
    ranges = []
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        ranges.append((media.lower(), quality))
    best: tuple[float, str] | None = None
    for media, quality in ranges:
        if quality <= 0:
            continue
        if media in (GRAPHQL_RESPONSE_JSON, "application/*"):
            candidate = (quality, GRAPHQL_RESPONSE_JSON)
        elif media in (APPLICATION_JSON, "*/*"):
            candidate = (quality, APPLICATION_JSON)
        else:
            continue
        if best is None or candidate[0] > best[0]:
            best = candidate
    if best is None:
        raise RequestError(
            406,
            f"Acceptable media types: {GRAPHQL_RESPONSE_JSON}, {APPLICATION_JSON}.",
            "NOT_ACCEPTABLE",
        )
    return best[1]


def loads_text(raw: str | bytes) -> Any:
    """JSON whose strings are all Unicode text, nested as deep as Python can read. JSON can
    escape half a UTF-16 pair (`"\\ud800"`), which no UTF-8 text holds: left in, it crashed
    hashing, encoding and database drivers deep in resolvers. ValueError for any of these."""
    try:
        value = json.loads(raw)
        json.dumps(value, ensure_ascii=False).encode()  # UnicodeEncodeError is a ValueError
    except RecursionError as e:
        raise ValueError("JSON nested too deeply") from e
    return value


def json_object_param(raw: str | None, name: str) -> dict[str, Any] | None:
    if raw is None or raw == "":
        return None
    try:
        value = loads_text(raw)
    except ValueError as e:
        raise RequestError(400, f"`{name}` is not valid JSON.", "BAD_REQUEST") from e
    if value is not None and not isinstance(value, dict):
        raise RequestError(400, f"`{name}` must be a JSON object.", "BAD_REQUEST")
    return value


def graphql_params(data: dict[str, Any]) -> GraphQLParams:
    query = data.get("query")
    document_id = data.get("documentId")
    if document_id is not None and (not isinstance(document_id, str) or not document_id):
        raise RequestError(400, "`documentId` must be a non-empty string.", "BAD_REQUEST")
    named = document_id is not None or _names_persisted_query(data.get("extensions"))
    if (query is not None or not named) and (not isinstance(query, str) or not query.strip()):
        raise RequestError(400, "`query` must be a non-empty string.", "BAD_REQUEST")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be an object.", "BAD_REQUEST")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestError(400, "`operationName` must be a string.", "BAD_REQUEST")
    extensions = data.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be an object.", "BAD_REQUEST")
    return GraphQLParams(query, variables, operation_name, document_id, extensions)


def _names_persisted_query(extensions: Any) -> bool:
    return isinstance(extensions, dict) and extensions.get("persistedQuery") is not None


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_large = RequestError(
        413, f"Request body is larger than {limit} bytes.", "PAYLOAD_TOO_LARGE"
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def parse_request(request: Request, max_body_bytes: int) -> GraphQLParams:
    if request.method == "GET":
        query = request.query_params
        return graphql_params(
            {
                "query": query.get("query"),
                "variables": json_object_param(query.get("variables"), "variables"),
                "operationName": query.get("operationName"),
                "documentId": query.get("documentId"),
                "extensions": json_object_param(query.get("extensions"), "extensions"),
            }
        )
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != APPLICATION_JSON:
        raise RequestError(
            415, "Send the operation as `Content-Type: application/json`.", "UNSUPPORTED_MEDIA_TYPE"
        )
    body = await _read_body(request, max_body_bytes)
    try:
        data = loads_text(body)
    except ValueError as e:
        raise RequestError(400, "The request body is not valid JSON.", "BAD_REQUEST") from e
    if isinstance(data, list):
        raise RequestError(
            400, "Batching is not supported: one operation per request.", "BAD_REQUEST"
        )
    if not isinstance(data, dict):
        raise RequestError(400, "The request body must be a JSON object.", "BAD_REQUEST")
    return graphql_params(data)


def _error_body(message: str, code: str) -> bytes:
    return json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()


def _asks_for_console(request: Request) -> bool:
    """A browser opening /graphql: GET, no document named, HTML accepted."""
    accept = request.headers.get("accept", "")
    named = any(key in request.query_params for key in ("query", "documentId", "extensions"))
    return request.method == "GET" and not named and "text/html" in accept


def _is_request_error(data: Any, errors: list[GraphQLError] | None) -> bool:
    """Parse, validation and variable errors: nothing was executed (no data, no error path)."""
    return data is None and bool(errors) and all(e.path is None for e in errors or ())


class GraphQLHTTP:
    """The `/graphql` endpoint for HTTP requests (WebSockets go to strawberry's view)."""

    def __init__(
        self,
        schema: HubSchema,
        settings: Settings,
        db: Database,
        broadcast: Broadcast,
        console: Console,
        documents: Documents,
        search_cache: SearchCache[Answer] | None = None,
        responses: CachedResponses | None = None,
        raw_requests: RawRequests | None = None,
        compiled: CompiledAnswers | None = None,
    ) -> None:
        self.schema = schema
        self.compiled = compiled
        self.documents = documents
        self.console = console
        self.settings = settings
        self.db = db
        self.broadcast = broadcast
        self.search_cache = search_cache
        self.responses = responses
        self.raw_requests = raw_requests
        self.auth = settings.auth_config()
        self.allowed_origins = frozenset(o.rstrip("/") for o in settings.allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(Request(scope, receive))
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        media_type = APPLICATION_JSON
        try:
            if _asks_for_console(request):
                # The console loads for anyone; what it then shows follows the viewer.
                return await self.console.page(request)
            media_type = negotiate(request.headers.get("accept"))
            return await self._handle(request, media_type)
        except RequestError as e:
            return Response(
                _error_body(str(e), e.code),
                status_code=e.status,
                media_type=media_type,
                headers=e.headers,
            )

    async def _handle(self, request: Request, media_type: str) -> Response:
        if request.method not in ("GET", "POST"):
            raise RequestError(
                405, "GraphQL takes GET and POST.", "METHOD_NOT_ALLOWED", {"Allow": ALLOWED_METHODS}
            )
        self._check_origin(request)
        try:
            viewer = await viewer_from_request(request, self.db, self.auth)
        except AuthenticationFailed as e:
            raise RequestError(
                401, str(e), "UNAUTHENTICATED", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from e
        except ServiceUnavailable as e:
            retry = {"Retry-After": str(e.retry_after_seconds)}
            raise RequestError(503, str(e), "SERVICE_UNAVAILABLE", retry) from e
        params = await parse_request(request, self.settings.max_body_bytes)
        if viewer.is_signed_in and self.responses is not None and self.responses.cache.enabled:
            viewer = ScopedViewer(viewer)  # its permission scope may share a cached answer
        try:
            document = await self.documents.resolve(
                params.query, params.document_id, params.extensions, viewer
            )
        except DocumentRefused as e:
            raise RequestError(e.status, str(e), e.code, e.headers) from e
        context = Context(
            db=self.db,
            auth=self.auth,
            development=self.settings.is_development,
            broadcast=self.broadcast,
            review_rule=self.settings.review_rule(),
            webhook_rules=self.settings.webhook_rules(),
            push=push_config(self.settings),
            search_cache=self.search_cache,
            viewer=viewer,
            client_address=request.client.host if request.client else "unknown",
            requested_languages=parse_accept_language(request.headers.get("accept-language")),
            document_id=document.document_id,
        )
        return await self._execute(request, document, params, context, media_type)

    def _check_origin(self, request: Request) -> None:
        """Browsers send `Origin` cross-site: only pages of allowed origins may call us."""
        origin = request.headers.get("origin")
        if origin is None or request.method == "GET":
            return
        if origin.rstrip("/") in self.allowed_origins or "*" in self.allowed_origins:
            return
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] == host:
            return
        raise RequestError(403, "This origin may not call the API.", "FORBIDDEN_ORIGIN")

    async def _execute(
        self,
        request: Request,
        document: Resolved,
        params: GraphQLParams,
        context: Context,
        media_type: str,
    ) -> Response:
        query = document.query
        responses = self.responses
        if responses is None:
            return (await self._answer(request, document, params, context, media_type))[0]
        # keyed on the text run: a trusted document or persisted query sent by id included
        plan = await responses.plan(
            request, query, params.variables, params.operation_name, context
        )
        self._remember(request, plan.key, plan.public, plan.operation_name, media_type)
        if plan.hit is not None:
            return responses.answer(request, plan, context, media_type)
        with recording_reads() as reads, noting_commits() as commits:
            response, succeeded = await self._answer(request, document, params, context, media_type)
        outcome = (bytes(response.body), succeeded, reads, commits)
        return responses.finish(request, plan, response, outcome, media_type)

    def _remember(
        self,
        request: Request,
        key: Hashable | None,
        public: bool,
        operation_name: str | None,
        media_type: str,
    ) -> None:
        """Tell the fast path (app/cached_hits.py) which cache key an anonymous request's raw
        bytes come to, so that it answers them itself from now on while the answer is kept."""
        raw = raw_request_of(request.scope)
        if self.raw_requests is not None and raw is not None and key is not None and public:
            self.raw_requests.remember(raw, key, media_type, operation_name)

    async def _answer(
        self,
        request: Request,
        document: Resolved,
        params: GraphQLParams,
        context: Context,
        media_type: str,
    ) -> tuple[Response, bool]:
        """A compiled answer when the document has a plan that answers this request (always
        without errors: app/compiled.py), else the executor's. The plan: a trusted document's,
        or a plain text's (kept by its hash once the executor answered it without an error)."""
        compiled = self.compiled
        if compiled is None:
            return await self._run(request, document.query, params, context, media_type)
        plain = document.document_id is None
        plan = compiled.texts.plan(document.query) if plain else document.compiled
        if plan is not None:
            body = await compiled.answer(plan, params.variables, params.operation_name, context)
            if body is not None:
                return Response(body, status_code=200, media_type=media_type), True
        response, succeeded = await self._run(request, document.query, params, context, media_type)
        if plain and succeeded:
            compiled.texts.learn(document.query)
        return response, succeeded

    async def _run(
        self,
        request: Request,
        query: str,
        params: GraphQLParams,
        context: Context,
        media_type: str,
    ) -> tuple[Response, bool]:
        """Execute; the response, and whether it answered without any error."""
        allowed = (
            {OperationType.QUERY}
            if request.method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            result = await self.schema.execute(
                query,
                variable_values=params.variables,
                context_value=context,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
            )
        except InvalidOperationTypeError as e:
            if request.method == "GET" and e.operation_type is OperationType.MUTATION:
                raise RequestError(
                    405, "Mutations need POST.", "METHOD_NOT_ALLOWED", {"Allow": "POST"}
                ) from e
            raise RequestError(
                400, "Subscriptions run over WebSocket (graphql-transport-ws).", "BAD_REQUEST"
            ) from e
        except CannotGetOperationTypeError as e:
            raise RequestError(400, e.as_http_error_reason(), "BAD_REQUEST") from e
        except MissingQueryError as e:
            raise RequestError(400, "`query` is required.", "BAD_REQUEST") from e
        body: dict[str, Any] = {}
        request_error = _is_request_error(result.data, result.errors)
        if not request_error:
            body["data"] = result.data
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        if result.extensions and not isinstance(result.extensions, UnsetType):
            body["extensions"] = result.extensions
        status = 400 if request_error and media_type == GRAPHQL_RESPONSE_JSON else 200
        response = Response(
            json_bytes(body),
            status_code=status,
            media_type=media_type,
        )
        return response, not result.errors
