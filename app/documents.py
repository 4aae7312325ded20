"""Which document a request runs: its text, a trusted document by id (`documentId`), or a
persisted query by hash (Apollo's `extensions.persistedQuery`), and whether that is allowed.
The one hook of persisted operations into HTTP (app/http.py) and WebSocket (app/websocket.py).

- Automatic persisted queries (APQ): a hash alone runs the text registered under it, else
  answers `PersistedQueryNotFound` (the client sends hash and text next); hash and text are
  checked, remembered in a bounded per-process LRU and run. Each process learns a hash on its
  own (one extra round trip per process and text): the store needs no database and no broker.
- Trusted documents (`hub documents push`) live in the database, shared by every process; each
  process keeps the ones it has seen (they never change) in a bounded LRU.
- HUB_TRUSTED_DOCUMENTS_ONLY: any other text is refused (403 `TRUSTED_DOCUMENTS_ONLY`) unless
  the policy lets the viewer send any (resolvers/policy/: moderators and admins, the console).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.document import TrustedDocument
from resolvers.documents import SHA256_PREFIX, find_document, sha256_of
from resolvers.policy import Viewer, may_send_any_document
from schema.compiled import CompiledDocument

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
MAX_DOCUMENT_ID_LENGTH = 200  # models.document.TrustedDocument.document_id


class DocumentRefused(Exception):
    """The request names no document it may run; answered with `status` and `code`."""

    def __init__(
        self, status: int, message: str, code: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


class Compiler(Protocol):
    """Compiles a trusted document's text (schema/compiled.py); None: the executor runs it."""

    def __call__(self, text: str) -> CompiledDocument | None: ...


@dataclass(frozen=True)
class Known:
    """A trusted document as a process keeps it, with its compiled plan if it has one."""

    document_id: str
    body: str
    compiled: CompiledDocument | None = None


@dataclass(frozen=True)
class Resolved:
    """The text to run; `document_id` when it is a trusted document (metrics label it so);
    `compiled` when that document was compiled."""

    query: str
    document_id: str | None
    compiled: CompiledDocument | None = None


class _LRU:
    """At most `entries` strings to values, least recently used out first (0: keeps none)."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._items: OrderedDict[str, Known] = OrderedDict()

    def get(self, key: str) -> Known | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def holds(self, key: str) -> bool:
        return key in self._items

    def put(self, key: str, item: Known) -> None:
        if self.entries <= 0:
            return
        self._items[key] = item
        self._items.move_to_end(key)
        while len(self._items) > self.entries:
            self._items.popitem(last=False)


def _bad(message: str) -> DocumentRefused:
    return DocumentRefused(400, message, "BAD_REQUEST")


def persisted_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The hash of `extensions.persistedQuery` ({version: 1, sha256Hash}), if the request
    has one; a malformed one is a request error."""
    if not extensions or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise _bad("`extensions.persistedQuery` must be {version: 1, sha256Hash}.")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256.lower()):
        raise _bad("`extensions.persistedQuery.sha256Hash` must be a hex SHA-256.")
    return sha256.lower()


class Documents:
    """One per process: resolves each request's document (see the module's docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        trusted_only: bool,
        apq_entries: int,
        trusted_entries: int,
        built_in: Iterable[str] = (),
        compiler: Compiler | None = None,
    ) -> None:
        self.sessions = sessions
        self.compiler = compiler
        self.trusted_only = trusted_only
        self._apq = _LRU(apq_entries)
        self._trusted = _LRU(trusted_entries)
        # Documents the server itself ships (the console's sign-in): trusted without a push.
        self._built_in = {
            sha256_of(text): Known(SHA256_PREFIX + sha256_of(text), text) for text in built_in
        }

    async def resolve(
        self,
        query: str | None,
        document_id: str | None,
        extensions: Mapping[str, Any] | None,
        viewer: Viewer,
    ) -> Resolved:
        sha256 = persisted_hash(extensions)
        if document_id is not None:
            if query is not None:
                raise _bad("Send either `documentId` or `query`, not both.")
            return await self._by_id(document_id)
        if query is None:
            if sha256 is None:
                raise _bad("`query` must be a non-empty string.")
            return await self._by_hash(sha256, viewer)
        return await self._text(query, sha256, viewer)

    async def _by_id(self, document_id: str) -> Resolved:
        found = await self._trusted_lookup(document_id)
        if found is None:
            raise DocumentRefused(
                404, "No trusted document has this `documentId`.", "PERSISTED_DOCUMENT_NOT_FOUND"
            )
        return Resolved(found.body, found.document_id, found.compiled)

    async def _by_hash(self, sha256: str, viewer: Viewer) -> Resolved:
        # What this process remembers first: an APQ hit costs no query.
        remembered = self._apq.get(sha256)
        if remembered is not None and self._may_send_text(viewer):
            return Resolved(remembered.body, None)
        found = await self._trusted_lookup(SHA256_PREFIX + sha256)
        if found is not None:
            return Resolved(found.body, found.document_id, found.compiled)
        # Answered with 200 whatever the media type, as Apollo Server does: Apollo Client 3's
        # link turns persisted queries off for good on a 400. Never cached by a proxy.
        raise DocumentRefused(
            200, "PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND, {"Cache-Control": "no-store"}
        )

    async def _text(self, query: str, sha256: str | None, viewer: Viewer) -> Resolved:
        if sha256 is not None and sha256 != sha256_of(query):
            raise DocumentRefused(
                400,
                "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of `query`.",
                "PERSISTED_QUERY_HASH_MISMATCH",
            )
        if self._may_send_text(viewer):
            if sha256 is not None:
                self._apq.put(sha256, Known(SHA256_PREFIX + sha256, query))
            return Resolved(query, None)
        found = await self._trusted_lookup(SHA256_PREFIX + (sha256 or sha256_of(query)))
        if found is None:
            raise DocumentRefused(
                403,
                "This server runs trusted documents only: send a registered `documentId`.",
                "TRUSTED_DOCUMENTS_ONLY",
            )
        return Resolved(found.body, found.document_id, found.compiled)

    def at_hand(
        self, document_id: str | None, extensions: Mapping[str, Any] | None
    ) -> Known | None:
        """The trusted document a request without `query` names (by `documentId`, or by the
        hash in `extensions.persistedQuery`), when this process already keeps it and `resolve`
        would run it for any viewer: no statement (app/compiled_front.py). None otherwise:
        `resolve` decides (a malformed hash, a hash this process knows as a persisted query)."""
        try:
            sha256 = persisted_hash(extensions)
        except DocumentRefused:
            return None
        if document_id is not None:
            key = document_id
        elif sha256 is not None and not self._apq.holds(sha256):
            key = SHA256_PREFIX + sha256
        else:
            return None
        if key.startswith(SHA256_PREFIX) and key[len(SHA256_PREFIX) :] in self._built_in:
            return self._built_in[key[len(SHA256_PREFIX) :]]
        return self._trusted.get(key)

    def remembered_text(
        self, document_id: str | None, extensions: Mapping[str, Any] | None
    ) -> str | None:
        """The text an automatic persisted query's hash names, when this process remembers it
        (`resolve` runs it for a viewer who `may_send_text`): no statement
        (app/compiled_front.py). None otherwise: `resolve` decides."""
        if document_id is not None:
            return None
        try:
            sha256 = persisted_hash(extensions)
        except DocumentRefused:
            return None
        remembered = None if sha256 is None else self._apq.get(sha256)
        return None if remembered is None else remembered.body

    def may_send_text(self, viewer: Viewer) -> bool:
        """Whether `resolve` runs a text (sent whole, or by a remembered hash) as sent for
        `viewer` (HUB_TRUSTED_DOCUMENTS_ONLY: staff only)."""
        return self._may_send_text(viewer)

    def _may_send_text(self, viewer: Viewer) -> bool:
        return may_send_any_document(viewer, trusted_documents_only=self.trusted_only)

    async def _trusted_lookup(self, key: str) -> Known | None:
        """A trusted document by id or `sha256:<hex>`: built in, kept, or from the database.
        Only found ones are kept (a push must be seen at once), and they never change: each is
        compiled once, when first loaded, and its plan kept with it."""
        if key.startswith(SHA256_PREFIX) and key[len(SHA256_PREFIX) :] in self._built_in:
            return self._built_in[key[len(SHA256_PREFIX) :]]
        known = self._trusted.get(key)
        if known is not None:
            return known
        row = await _load(self.sessions, key)
        if row is None:
            return None
        compiled = self.compiler(row.body) if self.compiler is not None else None
        known = Known(row.document_id, row.body, compiled)
        self._trusted.put(key, known)
        return known


async def _load(sessions: async_sessionmaker[AsyncSession], key: str) -> TrustedDocument | None:
    if key.startswith(SHA256_PREFIX) and not SHA256_HEX.fullmatch(key[len(SHA256_PREFIX) :]):
        return None  # not a hash: nothing to look up
    if len(key) > MAX_DOCUMENT_ID_LENGTH:
        return None  # no id is that long: no query for it
    return await find_document(sessions, key)
