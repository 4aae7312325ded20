"""Helpers of the persisted-operation tests: manifests written as the client tools write them,
and pushed with the real `hub documents push`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from app.cli import cli
from resolvers.documents import sha256_of
from tests.conftest import TEST_SECRET, broadcast_url_for_tests

DIRECTORY = "query Directory($first: Int!) { members(first: $first) { totalCount } }"
OBJECTIVE = "query Objective($number: Int!) { gcmObjective(number: $number) { number title } }"
UPDATE_BIO = (
    "mutation UpdateBio($bio: String!) { updateProfile(input: {bio: $bio}) "
    "{ member { bio } errors { code } } }"
)
THREAD_EVENTS = (
    "subscription ThreadEvents($threadId: ID!, $after: String) "
    "{ threadEvents(threadId: $threadId, after: $after) "
    "{ __typename ... on ThreadEvent { kind post { body } } } }"
)


def codegen_manifest(*documents: str) -> dict[str, str]:
    """GraphQL Code Generator's persisted-documents.json: the SHA-256 of each text as its id."""
    return {sha256_of(d): d for d in documents}


def relay_manifest(ids_and_texts: dict[str, str]) -> dict[str, str]:
    """Relay's persisted queries: the ids the compiler chose (MD5 by default), to each text."""
    return dict(ids_and_texts)


def apollo_manifest(*documents: tuple[str, str, str]) -> dict[str, Any]:
    """Apollo's persisted-query-manifest.json; each operation as (name, type, body)."""
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha256_of(body), "name": name, "type": kind, "body": body}
            for name, kind, body in documents
        ],
    }


def env_for(database_url: str) -> dict[str, str]:
    return {
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": database_url,
        "HUB_BROADCAST_URL": broadcast_url_for_tests(),
        "HUB_SECRET_KEY": TEST_SECRET,
    }


async def hub(database_url: str, *args: str) -> Result:
    # The commands call asyncio.run themselves: run them off this test's event loop.
    return await asyncio.to_thread(CliRunner().invoke, cli, list(args), env=env_for(database_url))


async def push(database_url: str, directory: Path, manifest: Any, name: str = "m.json") -> Result:
    path = directory / name
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return await hub(database_url, "documents", "push", str(path))
