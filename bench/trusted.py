"""The page benchmarks' trusted documents: pushed before the hub starts (the hub compiles them,
app/compiled.py), and request bodies that name them by their SHA-256 (`documentId`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from harness import BenchError

from app.manifests import push_manifest
from app.settings import Settings
from resolvers.documents import sha256_of
from schema import schema


def push_trusted(settings: Settings, workdir: Path, queries: Sequence[str]) -> None:
    """The queries as trusted documents (by their SHA-256), as `hub documents push` does."""
    manifest = workdir / "compiled-documents.json"
    manifest.write_text(json.dumps({sha256_of(q): q for q in queries}))
    report = asyncio.run(push_manifest(settings, schema._schema, manifest, print))
    if report.refused:
        raise BenchError("the page's queries were refused as trusted documents")


def by_document_id(workdir: Path, name: str, query: str, variables: dict[str, object]) -> Path:
    """A request body naming `query` by its SHA-256 (a pushed trusted document)."""
    path = workdir / name
    path.write_text(json.dumps({"documentId": sha256_of(query), "variables": variables}))
    return path
