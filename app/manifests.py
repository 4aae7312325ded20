"""`hub documents push` and `list`: a client build's manifest of operations read, each checked
against the schema, and stored as trusted documents (resolvers/documents.py).

Manifests understood, as the tools emit them:
- GraphQL Code Generator, client preset (`persistedDocuments: true`): persisted-documents.json,
  `{"<sha256>": "<document>"}`;
- Relay (`persistConfig` in relay.config.json): `{"<id>": "<text>"}`, the same shape;
- Apollo (`generate-persisted-query-manifest`): persisted-query-manifest.json,
  `{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "name",
  "type", "body"}]}`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter

from app.documents import MAX_DOCUMENT_ID_LENGTH, SHA256_HEX
from app.settings import Settings
from models.db import create_database
from models.document import TrustedDocument
from resolvers.documents import (
    NewDocument,
    Registration,
    list_documents,
    register_document,
    sha256_of,
)

APOLLO_FORMAT = "apollo-persisted-query-manifest"


class ManifestError(ValueError):
    """The file is not a manifest this command reads."""


@dataclass(frozen=True)
class Entry:
    document_id: str
    body: str


@dataclass
class PushReport:
    added: int = 0
    unchanged: int = 0
    refused: int = 0


def read_manifest(path: Path) -> list[Entry]:
    """The (id, text) pairs of a manifest, in its order."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ManifestError(f"{path}: cannot read JSON ({e})") from e
    if isinstance(data, dict) and data.get("format") == APOLLO_FORMAT:
        return _apollo_entries(data)
    if isinstance(data, dict) and all(isinstance(v, str) for v in data.values()):
        return [Entry(str(key), value) for key, value in data.items()]
    raise ManifestError(
        f"{path}: not a manifest of GraphQL Code Generator or Relay ({{id: text}}) "
        f'nor of Apollo ({{"format": "{APOLLO_FORMAT}", ...}})'
    )


def _apollo_entries(data: dict[str, Any]) -> list[Entry]:
    if data.get("version") != 1:
        raise ManifestError(f"Apollo manifest version {data.get('version')!r}: only 1 is read")
    operations = data.get("operations")
    if not isinstance(operations, list):
        raise ManifestError("Apollo manifest without an `operations` list")
    entries = []
    for number, operation in enumerate(operations, 1):
        if not isinstance(operation, dict):
            raise ManifestError(f"Apollo manifest: operation {number} is not an object")
        document_id, body = operation.get("id"), operation.get("body")
        if not isinstance(document_id, str) or not isinstance(body, str):
            raise ManifestError(f"Apollo manifest: operation {number} needs `id` and `body`")
        entries.append(Entry(document_id, body))
    return entries


def check_entry(schema: GraphQLSchema, settings: Settings, entry: Entry) -> NewDocument | str:
    """The entry as a document to store, or why it is refused."""
    if not entry.document_id or len(entry.document_id) > MAX_DOCUMENT_ID_LENGTH:
        return f"the id must have 1 to {MAX_DOCUMENT_ID_LENGTH} characters"
    if SHA256_HEX.fullmatch(entry.document_id) and entry.document_id != sha256_of(entry.body):
        return "the id is a SHA-256, but not the SHA-256 of the document's text"
    try:
        document = parse(entry.body)
    except GraphQLError as e:
        return f"does not parse: {e.message}"
    rules = [
        *specified_rules,
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    errors = validate(schema, document, rules)
    if errors:
        return "invalid against the schema: " + "; ".join(e.message for e in errors[:3])
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return f"has {len(operations)} operations: a trusted document holds exactly one"
    operation = operations[0]
    return NewDocument(
        document_id=entry.document_id,
        body=entry.body,
        operation_name=operation.name.value if operation.name else None,
        operation_type=operation.operation.value,
    )


async def push_manifest(
    settings: Settings, schema: GraphQLSchema, path: Path, say: Callable[[str], None]
) -> PushReport:
    """Check every document, then store them all in one transaction, or none if any is
    refused (a client build is registered whole). Pushing the same manifest again adds
    nothing; an id already naming another text is refused."""
    report = PushReport()
    checked: list[NewDocument] = []
    for entry in read_manifest(path):
        outcome = check_entry(schema, settings, entry)
        if isinstance(outcome, str):
            report.refused += 1
            say(f"refused {entry.document_id}: {outcome}")
        else:
            checked.append(outcome)
    if report.refused:
        say(f"nothing stored: {report.refused} of {report.refused + len(checked)} refused")
        return report
    db = create_database(settings.database_url)
    try:
        async with db.sessions.begin() as session:
            for document in checked:
                _count(report, await register_document(session, document), document, say)
            if report.refused:
                raise _Conflicts
    except _Conflicts:
        say(f"nothing stored: {report.refused} of {len(checked)} refused")
        return report
    finally:
        await db.dispose()
    say(f"{report.added} added, {report.unchanged} unchanged")
    return report


class _Conflicts(Exception):
    """Raised in the transaction to roll it back: some ids name other texts already."""


def _count(
    report: PushReport, outcome: Registration, document: NewDocument, say: Callable[[str], None]
) -> None:
    name = document.operation_name or "(anonymous)"
    if outcome is Registration.ADDED:
        report.added += 1
        say(f"added {document.document_id} {document.operation_type} {name}")
    elif outcome is Registration.UNCHANGED:
        report.unchanged += 1
        say(f"unchanged {document.document_id} {document.operation_type} {name}")
    else:
        report.refused += 1
        say(f"refused {document.document_id}: this id names another text already")


async def registered_documents(settings: Settings) -> list[TrustedDocument]:
    db = create_database(settings.database_url)
    try:
        async with db.sessions() as session:
            return await list_documents(session)
    finally:
        await db.dispose()
