"""The response cache's fast path: an anonymous request whose very bytes the GraphQL view has
already answered from the cache (or kept the answer of) is answered again here, in front of
Starlette, the other middleware and the view: no `Request`, no JSON parse, no hashing.

Keyed by the raw request: the method, `Content-Type`, `Accept`, `Accept-Language` and the body
(POST) or query string (GET). For an anonymous request those decide everything the view does
up to the cache's lookup (the media type, the document, the variables, the languages), so the
view, when it plans a request that came through here, remembers which cache key these bytes
came to (`remember`). Here the cache itself is still asked, as the view asks it: an answer is
served only while it is current (the tables it read unwritten, the process in sync), so the
fast path can serve nothing the view would not. Requests with a bearer token, an `Origin`
(CORS), `Hub-Write-Version`, `If-None-Match` or a cookie go the whole way, as does everything
the view has not remembered.

A hit still gets what every answer gets: its `X-Request-ID`, its log line, its metrics (one
operation answered `ok`, one cache hit), and, when tracing is on, its span (the tracing
middleware stays outside this one)."""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.cached_responses import VARY, CachedResponses
from app.logs import Operation, log_request, request_logger
from app.metrics import operation_label
from app.request_id import request_id_from
from app.response_cache import Entry
from schema.request_id import REQUEST_ID
from subscriptions import metrics

RAW_REQUEST = "hub.raw_request"  # the scope's entry holding a request's raw key, for the view
INDEX_MAX_BYTES = 4_000_000  # raw requests remembered per process, by the size of their bytes

# Headers that make a request the view's (a viewer, CORS, read-your-writes, a conditional GET).
_THE_VIEWS = frozenset({b"authorization", b"origin", b"hub-write-version", b"if-none-match"})
_KEYED = {b"content-type": 0, b"accept": 1, b"accept-language": 2, b"x-request-id": 3}
_COOKIE = b"cookie"

# What the CORS middleware makes of the view's `Vary` when the request has no `Origin`.
VARY_WITHOUT_ORIGIN = f"{VARY}, Origin".encode()

RawRequest = tuple[str, bytes | None, bytes | None, bytes | None, bytes]


@dataclass(slots=True)
class Known:
    """What the view made of a raw request: the cache key, and how a hit is answered."""

    key: Hashable
    media_type: str
    get: bool
    operation: str  # the operation's metrics label
    size: int
    answered_ok: Any  # its counter of operations answered `ok`
    entry: Entry | None = None  # the entry `headers` were written for
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def headers_for(self, entry: Entry, public_control: str) -> list[tuple[bytes, bytes]]:
        """The headers the view gives a hit (app/cached_responses.py `_shared`), in its order."""
        if self.entry is not entry:
            headers = kept_headers(
                len(entry.body), self.media_type, entry.etag, self.get, public_control
            )
            self.entry, self.headers = entry, headers
        return self.headers


def kept_headers(
    length: int, media_type: str, etag: str, get: bool, public_control: str
) -> list[tuple[bytes, bytes]]:
    """The headers of a public answer the view serves from the cache or has just kept
    (app/cached_responses.py `_shared`, and the CORS middleware's `Vary` without `Origin`)."""
    headers = [
        (b"content-length", str(length).encode()),
        (b"content-type", media_type.encode()),
        (b"etag", etag.encode()),
        (b"vary", VARY_WITHOUT_ORIGIN),
    ]
    if get:
        headers.append((b"cache-control", public_control.encode()))
    return headers


class RawRequests:
    """Raw requests → what the view made of them; all forgotten past `max_bytes`."""

    def __init__(self, max_bytes: int = INDEX_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._known: dict[RawRequest, Known] = {}
        self._bytes = 0
        self.answered = 0  # requests the fast path answered

    def __len__(self) -> int:
        return len(self._known)

    def find(self, raw: RawRequest) -> Known | None:
        return self._known.get(raw)

    def remember(self, raw: RawRequest, key: Hashable, media_type: str, name: str | None) -> None:
        known = self._known.get(raw)
        if known is not None and known.key == key and known.media_type == media_type:
            return
        size = sum(len(part) for part in raw[1:] if part is not None) + 200
        if self._bytes + size > self.max_bytes:
            self._known.clear()
            self._bytes = 0
        if known is not None:
            self._bytes -= known.size
        label = operation_label(name)
        answered_ok = metrics.OPERATIONS.labels(label, "query", "ok")
        self._known[raw] = Known(key, media_type, raw[0] == "GET", label, size, answered_ok)
        self._bytes += size


def raw_request_of(scope: Scope) -> RawRequest | None:
    """The raw key of a request the view has handed over (None: it came another way)."""
    raw: RawRequest | None = scope.get(RAW_REQUEST)
    return raw


def _keyed_headers(scope: Scope) -> list[bytes | None] | None:
    """Content-Type, Accept, Accept-Language and X-Request-ID; None when the request is the
    view's (a header above, or one of them twice)."""
    found: list[bytes | None] = [None, None, None, None]
    for name, value in scope["headers"]:
        index = _KEYED.get(name)
        if index is not None:
            if found[index] is not None:
                return None
            found[index] = value
        elif name in _THE_VIEWS or name == _COOKIE:
            return None
    return found


async def read_body(receive: Receive, limit: int) -> tuple[bytes | None, list[Message]]:
    """The whole body (None: larger than `limit`, or the client left), and the messages read."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        size += len(message.get("body", b""))
        if size > limit:
            return None, messages
        if not message.get("more_body", False):
            break
    if len(messages) == 1:
        return messages[0].get("body", b""), messages
    return b"".join(m.get("body", b"") for m in messages), messages


def replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


class CachedHits:
    """ASGI middleware: answers what `RawRequests` knows and the cache still holds."""

    def __init__(
        self,
        app: ASGIApp,
        responses: CachedResponses,
        raw_requests: RawRequests,
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.responses = responses
        self.raw_requests = raw_requests
        self.max_body_bytes = max_body_bytes
        self._hits = metrics.RESPONSE_CACHE.labels("hit")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != "/graphql"
            or not self.responses.cache.enabled
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _keyed_headers(scope)
        method = scope["method"]
        if headers is None or method not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        if method == "GET":
            payload: bytes | None = scope["query_string"]
        else:
            payload, messages = await read_body(receive, self.max_body_bytes)
            receive = replaying(messages, receive)
        if payload is None:
            await self.app(scope, receive, send)
            return
        raw: RawRequest = (method, headers[0], headers[1], headers[2], payload)
        scope[RAW_REQUEST] = raw
        known = self.raw_requests.find(raw)
        entry = None if known is None else self.responses.current(known.key)
        if known is None or entry is None:
            await self.app(scope, receive, send)
            return
        await self._answer(scope, send, known, entry, headers[3], started)

    async def _answer(
        self,
        scope: Scope,
        send: Send,
        known: Known,
        entry: Entry,
        given_id: bytes | None,
        started: float,
    ) -> None:
        request_id = request_id_from(given_id)
        headers = [
            *known.headers_for(entry, self.responses.public_control),
            (b"x-request-id", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})
        self.raw_requests.answered += 1
        self._hits.inc()
        if self.responses.record_metrics:
            known.answered_ok.inc()
        if request_logger.isEnabledFor(logging.INFO):
            token = REQUEST_ID.set(request_id)
            try:
                operation = Operation(known.operation, "query", "ok", 0, None)
                log_request(scope, 200, time.perf_counter() - started, operation)
            finally:
                REQUEST_ID.reset(token)
