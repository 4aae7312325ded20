"""`hub documents push` and `list`: the manifests GraphQL Code Generator, Relay and Apollo
write, each document checked against the schema, a build registered whole or not at all, and
pushing again changes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from models.db import Database
from models.document import TrustedDocument
from resolvers.documents import sha256_of
from tests.documents import (
    DIRECTORY,
    OBJECTIVE,
    THREAD_EVENTS,
    UPDATE_BIO,
    apollo_manifest,
    codegen_manifest,
    hub,
    push,
    relay_manifest,
)

UNKNOWN_FIELD = "query Broken { membersss { totalCount } }"


async def stored(db: Database) -> dict[str, tuple[str, str | None, str]]:
    """document id -> (operation type, name, sha256) of every registered document."""
    async with db.sessions() as session:
        rows = (await session.execute(select(TrustedDocument))).scalars()
        return {r.document_id: (r.operation_type, r.operation_name, r.sha256) for r in rows}


async def test_codegen_manifest_is_registered_and_listed(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    # given a Code Generator build of a query, a mutation and a subscription
    manifest = codegen_manifest(DIRECTORY, UPDATE_BIO, THREAD_EVENTS)
    # when it is pushed
    result = await push(database_url, tmp_path, manifest)
    # then each document is stored with what it is, and said so
    assert result.exit_code == 0, result.output
    assert await stored(db) == {
        sha256_of(DIRECTORY): ("query", "Directory", sha256_of(DIRECTORY)),
        sha256_of(UPDATE_BIO): ("mutation", "UpdateBio", sha256_of(UPDATE_BIO)),
        sha256_of(THREAD_EVENTS): ("subscription", "ThreadEvents", sha256_of(THREAD_EVENTS)),
    }
    assert result.output.count("added ") == 3
    assert "3 added, 0 unchanged" in result.output
    listing = await hub(database_url, "documents", "list")
    assert listing.exit_code == 0, listing.output
    assert f"{sha256_of(UPDATE_BIO)}\tmutation\tUpdateBio\t" in listing.output
    assert "3 trusted documents" in listing.output


async def test_relay_manifest_keeps_the_compilers_ids(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    manifest = relay_manifest({"5f1e0c2d9a8b7c6d5e4f3a2b1c0d9e8f": OBJECTIVE, "dir": DIRECTORY})
    result = await push(database_url, tmp_path, manifest)
    assert result.exit_code == 0, result.output
    assert await stored(db) == {
        "5f1e0c2d9a8b7c6d5e4f3a2b1c0d9e8f": ("query", "Objective", sha256_of(OBJECTIVE)),
        "dir": ("query", "Directory", sha256_of(DIRECTORY)),
    }


async def test_apollo_manifest_is_registered_and_pushing_again_changes_nothing(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    manifest = apollo_manifest(
        ("Objective", "query", OBJECTIVE), ("UpdateBio", "mutation", UPDATE_BIO)
    )
    first = await push(database_url, tmp_path, manifest)
    again = await push(database_url, tmp_path, manifest)
    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert "2 added, 0 unchanged" in first.output
    assert "0 added, 2 unchanged" in again.output
    assert set(await stored(db)) == {sha256_of(OBJECTIVE), sha256_of(UPDATE_BIO)}


async def test_an_invalid_document_is_refused_by_line_and_nothing_is_stored(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    # given a build with a valid query, one against a field that does not exist, one that does
    # not parse, one with two operations, and an id claiming to be a hash it is not
    manifest = {
        sha256_of(OBJECTIVE): OBJECTIVE,
        sha256_of(UNKNOWN_FIELD): UNKNOWN_FIELD,
        "broken-syntax": "query {",
        "two-operations": f"{OBJECTIVE}\n{DIRECTORY}",
        "a" * 64: DIRECTORY,
    }
    # when it is pushed
    result = await push(database_url, tmp_path, manifest)
    # then each refusal has its line, and the build is not registered at all
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("refused ")]
    assert len(lines) == 4, result.output
    assert f"refused {sha256_of(UNKNOWN_FIELD)}: invalid against the schema" in result.output
    assert "refused broken-syntax: does not parse" in result.output
    assert "refused two-operations: has 2 operations" in result.output
    assert f"refused {'a' * 64}: the id is a SHA-256, but not the SHA-256" in result.output
    assert "nothing stored: 4 of 5 refused" in result.output
    assert await stored(db) == {}


async def test_an_id_naming_another_text_is_refused_and_the_build_not_stored(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    assert (await push(database_url, tmp_path, relay_manifest({"q1": OBJECTIVE}))).exit_code == 0
    result = await push(database_url, tmp_path, relay_manifest({"q2": DIRECTORY, "q1": DIRECTORY}))
    assert result.exit_code == 1
    assert "refused q1: this id names another text already" in result.output
    assert set(await stored(db)) == {"q1"}
    async with db.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(TrustedDocument))
    assert count == 1


async def test_a_file_that_is_no_manifest_is_an_error(database_url: str, tmp_path: Path) -> None:
    for content in ([OBJECTIVE], {"format": "apollo-persisted-query-manifest", "version": 2}):
        result = await push(database_url, tmp_path, content)
        assert result.exit_code == 2
        assert "error:" in result.output
