"""What the compiled fast path (app/compiled_front.py) reads of a request, as the view
(app/http.py) would read it, and the tokens it has seen (`TokenHints`: the viewer, and the
member's declared languages, which a signed-in request without `Accept-Language` reads titles
in)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Scope

from app.auth import AuthenticationFailed, bearer_token
from app.cached_responses import write_version
from app.compiled import CompiledTexts
from app.documents import Documents
from app.http import (
    APPLICATION_JSON,
    GraphQLParams,
    RequestError,
    graphql_params,
    json_object_param,
    loads_text,
    negotiate,
)
from app.metrics import operation_label
from resolvers.auth import may_be_token
from resolvers.compiled.fast import FastStatement
from resolvers.languages import parse_accept_language, preferences
from resolvers.members import in_preference_order
from resolvers.policy import Viewer
from schema.compiled import CompiledDocument
from schema.compiled_fast import FastPart
from schema.compiled_run import Prepared

MAX_TOKEN_HINTS = 10_000  # tokens per process whose member, role and organization are kept
_THE_VIEWS = frozenset({b"origin", b"cookie", b"if-none-match"})
_READ = {
    b"content-type": 0,
    b"accept": 1,
    b"authorization": 2,
    b"x-request-id": 3,
    b"accept-language": 4,
    b"hub-write-version": 5,
}


@dataclass(frozen=True)
class Declared:
    """A member's declared languages as a statement read them: the rows' positions and tags
    in the order `resolvers.compiled.fast.declared_unchanged` reads them (which re-checks them
    at the statement's snapshot), and the titles' languages the executor makes of them
    (schema/compiled_resources.py: `preferences(in_preference_order(rows))`)."""

    positions: tuple[int, ...]
    tags: tuple[str, ...]
    wanted: tuple[str, ...]

    @classmethod
    def of(cls, positions: Sequence[int], tags: Sequence[str]) -> Declared:
        rows = list(zip(positions, tags, strict=True))
        return cls(tuple(positions), tuple(tags), preferences(in_preference_order(rows)))

    def values(self) -> dict[str, Any]:
        """The values of `declared_unchanged`'s parameters."""
        return {"declared_positions": list(self.positions), "declared_tags": list(self.tags)}


NO_LANGUAGES = Declared((), (), ())


@dataclass(frozen=True)
class Hint:
    """What a token signed in when last looked up: the viewer and their declared languages."""

    viewer: Viewer
    declared: Declared = NO_LANGUAGES


class TokenHints:
    """Token digests → what they signed in when last looked up (a hint: every statement
    checks it), all forgotten past `MAX_TOKEN_HINTS`."""

    def __init__(self, entries: int = MAX_TOKEN_HINTS) -> None:
        self.entries = entries
        self._hints: dict[str, Hint] = {}

    def get(self, digest: str) -> Hint | None:
        return self._hints.get(digest)

    def put(self, digest: str, hint: Hint) -> None:
        if len(self._hints) >= self.entries:
            self._hints.clear()
        self._hints[digest] = hint

    def drop(self, digest: str) -> None:
        self._hints.pop(digest, None)


@dataclass(frozen=True)
class Asked:
    """What a request asks, as the view would read it."""

    params: GraphQLParams
    media_type: str
    token: str | None
    given_id: bytes | None
    languages: tuple[str, ...] = ()  # `Accept-Language`'s, as the view's context reads them
    write_version: int | None = None  # `Hub-Write-Version` (only the response cache reads it)


def front_headers(scope: Scope) -> list[bytes | None] | None:
    """Content-Type, Accept, Authorization, X-Request-ID, Accept-Language, Hub-Write-Version;
    None when the request is the view's (one of `_THE_VIEWS`, or one of those headers twice)."""
    found: list[bytes | None] = [None] * len(_READ)
    for name, value in scope["headers"]:
        index = _READ.get(name)
        if index is not None:
            if found[index] is not None:
                return None
            found[index] = value
        elif name in _THE_VIEWS:
            return None
    return found


def get_params(query_string: bytes) -> GraphQLParams:
    """`app.http.parse_request` of a GET (Starlette's query parameters: the last value wins)."""
    query = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return graphql_params(
        {
            "query": query.get("query"),
            "variables": json_object_param(query.get("variables"), "variables"),
            "operationName": query.get("operationName"),
            "documentId": query.get("documentId"),
            "extensions": json_object_param(query.get("extensions"), "extensions"),
        }
    )


def post_params(content_type: bytes | None, body: bytes) -> GraphQLParams | None:
    """`app.http.parse_request` of a POST; None: not JSON, or not an object (the view says)."""
    media = (content_type or b"").decode("latin-1").split(";")[0].strip().lower()
    if media != APPLICATION_JSON:
        return None
    try:
        data = loads_text(body)
    except ValueError:
        return None
    return graphql_params(data) if isinstance(data, dict) else None


def document_of(
    documents: Documents, texts: CompiledTexts, params: GraphQLParams
) -> tuple[str, CompiledDocument, str, bool] | None:
    """The text, its plan, its operations' label and whether it is a plain text (which the
    viewer must be allowed to send): a trusted document this process keeps, or a text it has
    compiled (`CompiledTexts`: a hash, no parse), sent whole without a persisted query's hash
    (the view checks and keeps those), or by a hash it remembers (APQ). None: the view's."""
    text = params.query
    if text is None:
        known = documents.at_hand(params.document_id, params.extensions)
        if known is not None:
            if known.compiled is None:
                return None
            return known.body, known.compiled, known.document_id, False
        text = documents.remembered_text(params.document_id, params.extensions)
    elif params.extensions is not None and params.extensions.get("persistedQuery") is not None:
        return None
    compiled = None if text is None else texts.plan(text)
    if text is None or compiled is None:
        return None
    # labelled as the view labels a compiled text (app/compiled.py `CompiledAnswers.answer`)
    return text, compiled, operation_label(compiled.name), True


def asked_of(scope: Scope, headers: list[bytes | None], body: bytes) -> Asked | None:
    """What the request asks; None: the view must read it (and answer its errors)."""
    try:
        accept = headers[1].decode("latin-1") if headers[1] is not None else None
        media_type = negotiate(accept)
        if scope["method"] == "GET":
            params: GraphQLParams | None = get_params(scope["query_string"])
        else:
            params = post_params(headers[0], body)
        authorization = headers[2].decode("latin-1") if headers[2] is not None else None
        token = bearer_token(authorization)
    except (RequestError, AuthenticationFailed, UnicodeDecodeError):
        return None
    if params is None or (params.query is not None and params.document_id is not None):
        return None
    if token is not None and not may_be_token(token):
        return None
    return Asked(params, media_type, token, headers[3], *_cache_headers(headers))


def _cache_headers(headers: list[bytes | None]) -> tuple[tuple[str, ...], int | None]:
    """Accept-Language and Hub-Write-Version, as the view reads them (app/cached_responses.py)."""
    languages = headers[4]
    version = headers[5]
    return (
        parse_accept_language(languages.decode("latin-1")) if languages is not None else (),
        write_version(version.decode("latin-1") if version is not None else None),
    )


@dataclass(frozen=True)
class Work:
    """A request the fast path can answer: what it asks, of which text, for which viewer."""

    scope: Scope
    asked: Asked
    text: str
    name: str  # its operations' label
    viewer: Viewer
    digest: str  # its token's, if any
    declared: Declared  # the viewer's, as hinted (NO_LANGUAGES when anonymous)
    prepared: Prepared
    parts: list[FastPart]
    started: float

    @property
    def statements(self) -> list[FastStatement]:
        return [p.statement for p in self.parts if p.statement is not None]
