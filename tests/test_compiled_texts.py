"""Plain texts compiled (app/compiled.py, `CompiledTexts`; issue 17 point 3): a document sent
whole (or by an automatic persisted query's hash) that the compiler supports is compiled once the
executor has answered it without an error, and answered by its plan from then on. The answers
are the executor's bytes for every viewer of the visibility matrix (the corpus and world of
tests/test_compiled_documents.py), requests the plan must not answer get the executor's errors,
and a flood of distinct texts costs no parse or validation beyond the executor's own and keeps
at most the configured number of verdicts."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette

from app.compiled import CompiledAnswers
from app.main import create_app
from models.db import Database
from schema import Limits, limit_rules, schema
from schema.extensions import cached_text_misses
from subscriptions.broadcast import HubBroadcast
from tests.conftest import Factory, StatementCounter, api_client
from tests.test_compiled_documents import (
    DOCUMENTS,
    UNSUPPORTED,
    V,
    World,
    build_world,
    count,
    expected,
    fallbacks,
    settings,
    variable_sets,
)
from tests.test_logs import json_lines

OFF = {"compile_trusted_documents": False, "compile_texts": False}


@asynccontextmanager
async def hubs(
    database_url: str, db: Database, broadcast: HubBroadcast, *overrides: dict[str, Any]
) -> AsyncIterator[list[Starlette]]:
    """One hub per set of settings' overrides, on one database (response caches off: every
    answer is computed); their caches and fast paths closed after."""
    made = [create_app(settings(database_url, **o), db, broadcast) for o in overrides]
    for application in made:
        await application.state.response_cache.ready(db.sessions)
    try:
        yield made
    finally:
        for application in made:
            await application.state.response_cache.close()
            await application.state.compiled_front.close()


@pytest.fixture
async def apps(
    database_url: str, db: Database, broadcast: HubBroadcast
) -> AsyncIterator[tuple[Starlette, Starlette]]:
    """The hub compiling plain texts (the default), and the hub compiling nothing."""
    async with hubs(database_url, db, broadcast, {}, OFF) as made:
        yield made[0], made[1]


@pytest.fixture
async def world(apps: tuple[Starlette, Starlette], db: Database, factory: Factory) -> World:
    """The visibility matrix's world (tests/test_compiled_documents.py), built through the
    hub compiling nothing."""
    async with api_client(apps[1]) as client:
        return await build_world(client, factory, db)


def answered(application: Starlette) -> int:
    """Requests the compiled fast path (app/compiled_front.py) answered."""
    count: int = application.state.compiled_front.answered
    return count


async def both(
    apps: tuple[Starlette, Starlette], body: dict[str, Any], headers: dict[str, str]
) -> tuple[httpx.Response, httpx.Response]:
    answers = []
    for application in apps:
        async with api_client(application) as client:
            answers.append(await client.post("/graphql", json=body, headers=headers))
    return answers[0], answers[1]


def as_text(body: dict[str, Any]) -> dict[str, Any]:
    """A trusted document's request of the corpus, with its text sent whole instead."""
    texts = {**DOCUMENTS, **UNSUPPORTED}
    return {
        "query": texts[body["documentId"]],
        **{k: v for k, v in body.items() if k != "documentId"},
    }


async def test_plain_texts_answer_the_executors_bytes_in_one_statement_per_thread(
    apps: tuple[Starlette, Starlette],
    db: Database,
    world: World,
    statements: StatementCounter,
) -> None:
    # given: the visibility matrix's world; each text answered once by the executor
    for document_id, text in DOCUMENTS.items():
        first = variable_sets(world, document_id)[0]
        await both(apps, {"query": text, "variables": first}, {})
    compared = 0
    for viewer in V:
        headers = world.headers(viewer)
        sign_in = await count(apps[0], {"query": "{ __typename }"}, headers, statements)
        for document_id, text in DOCUMENTS.items():
            for variables in variable_sets(world, document_id):
                body = {"query": text, "variables": variables}
                # when
                fast = answered(apps[0])
                compiled, executed = await both(apps, body, headers)
                fast = answered(apps[0]) - fast
                reads = await count(apps[0], body, headers, statements)
                # then: on PostgreSQL the fast path answered, in front of the view
                assert fast == (0 if db.is_sqlite else 1), (viewer, document_id, variables)
                # the executor's bytes, read by one statement per thread root field
                assert compiled.status_code == executed.status_code == 200
                assert compiled.content == executed.content, (viewer, document_id, variables)
                assert "errors" not in compiled.json(), compiled.json()
                wanted = expected(document_id, variables)
                if fast and viewer is not V.ANONYMOUS:
                    # the token is checked inside the data's statement, or alone when none
                    assert reads == max(wanted, 1), (viewer, document_id, variables)
                else:
                    assert reads - sign_in == wanted, (document_id, variables)
                compared += 1
    assert compared == len(V) * sum(len(variable_sets(world, d)) for d in DOCUMENTS)


async def test_a_persisted_query_hash_runs_the_remembered_text_compiled(
    apps: tuple[Starlette, Starlette], db: Database, world: World, statements: StatementCounter
) -> None:
    # given: Apollo's protocol: hash and text once (the view checks and keeps it, even when
    # the text is compiled), then the hash alone
    text = DOCUMENTS["thread-page"]
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": _sha256(text)}}
    variables = {"id": world.public_thread}
    registered = []
    for _ in range(2):
        fast = answered(apps[0])
        await both(apps, {"query": text, "variables": variables, "extensions": persisted}, {})
        registered.append(answered(apps[0]) - fast)
    body = {"variables": variables, "extensions": persisted}
    # when
    fast = answered(apps[0])
    compiled, executed = await both(apps, body, {})
    fast = answered(apps[0]) - fast
    reads = [await count(a, body, {}, statements) for a in apps]
    # then: the remembered text's plan, by the fast path on PostgreSQL
    assert registered == [0, 0]
    assert fast == (0 if db.is_sqlite else 1)
    assert compiled.content == executed.content
    assert reads[0] == 1 < reads[1], reads


async def test_requests_a_texts_plan_must_not_answer_get_the_executors_errors(
    apps: tuple[Starlette, Starlette], world: World, statements: StatementCounter
) -> None:
    # given: every text of the corpus answered once without an error (so compiled if it can be)
    for text in {**DOCUMENTS, **UNSUPPORTED}.values():
        thread_id = world.public_thread
        variables = {"id": thread_id, "a": thread_id, "b": thread_id, "authors": True}
        answered = await both(apps, {"query": text, "variables": variables}, {})
        assert "errors" not in answered[0].json(), text
    for viewer in (V.ANONYMOUS, V.COMMUNITY_MODERATOR):
        headers = world.headers(viewer)
        for document_id, body in fallbacks(world):
            plain = as_text(body)
            # when
            compiled, executed = await both(apps, plain, headers)
            reads = [await count(a, plain, headers, statements, any_status=True) for a in apps]
            # then: the same bytes, and the executor's statements (it ran)
            assert compiled.status_code == executed.status_code, plain
            assert compiled.content == executed.content, plain
            assert reads[0] == reads[1], (document_id, plain, reads)


def flood() -> list[str]:
    """Distinct texts: supported ones answered without error, unsupported ones, and ones
    that fail (syntax, validation, depth)."""
    texts = []
    for i in range(6):
        texts.append(f"query Page{i}($id: ID!) {{ thread(id: $id) {{ t{i}: title }} }}")
        texts.append(f"query Other{i} {{ communities(first: {i + 1}) {{ edges {{ cursor }} }} }}")
        texts.append(f"query Broken{i} {{ thread(id: ")
        texts.append(f"query Invalid{i} {{ thread(id: 1) {{ nope{i} }} }}")
    return texts


async def test_a_flood_of_distinct_texts_adds_no_parse_or_validation_and_keeps_few(
    database_url: str, db: Database, broadcast: HubBroadcast
) -> None:
    # given: a hub keeping the verdicts of 4 texts, and one compiling nothing
    async with hubs(database_url, db, broadcast, {"compiled_text_entries": 4}, OFF) as made:
        work = await _flooded(made)
    # then: the same parses and validations with and without compiling texts
    assert work[0] == work[1], work
    assert work[1][1] > 0
    compiled = made[0].state.compiled
    assert len(compiled.texts) == 4
    assert made[1].state.compiled is None


async def _flooded(made: list[Starlette]) -> list[tuple[int, int]]:
    """The parses and validations each hub did for `flood()`, each text sent twice."""
    work = []
    for application, salt in zip(made, ("on", "off"), strict=True):
        texts = [f"# {salt}\n{text}" for text in flood()]  # new texts for each hub
        before = cached_text_misses()
        # when: each text sent twice
        async with api_client(application) as client:
            for text in texts + texts:
                variables = {"id": "VGhyZWFkOjE="} if "$id" in text else {}
                await client.post("/graphql", json={"query": text, "variables": variables})
        after = cached_text_misses()
        work.append((after[0] - before[0], after[1] - before[1]))
    return work


async def test_texts_that_fail_are_not_compiled_and_the_setting_turns_it_off(
    database_url: str, db: Database, broadcast: HubBroadcast
) -> None:
    # given
    text = DOCUMENTS["common"]
    body = {"query": text, "variables": {"id": "VGhyZWFkOjE="}}
    bad = {"query": text, "variables": {}}
    seen = []
    async with hubs(database_url, db, broadcast, {}, {"compile_texts": False}) as made:
        for application in made:
            texts = application.state.compiled.texts  # trusted documents still compile
            # when: a failing request (a missing variable), then the text answered
            async with api_client(application) as client:
                assert "errors" in (await client.post("/graphql", json=bad)).json()
                learned = len(texts)
                assert "errors" not in (await client.post("/graphql", json=body)).json()
            seen.append((learned, texts.plan(text) is not None))
    # then: compiled once answered without an error; never with HUB_COMPILE_TEXTS=false
    assert seen == [(0, True), (0, False)]


async def test_the_log_line_and_the_counter_name_a_compiled_texts_operation(
    apps: tuple[Starlette, Starlette], caplog: pytest.LogCaptureFixture
) -> None:
    # given
    caplog.set_level(logging.INFO, logger="hub.request")
    text = "query NamedPage($id: ID!) { thread(id: $id) { id title } }"
    body = {"query": text, "variables": {"id": "VGhyZWFkOjE="}}
    counted = {"operation": "NamedPage", "type": "query", "outcome": "ok"}
    before = REGISTRY.get_sample_value("hub_graphql_operations_total", counted) or 0
    # when: the executor's answer, then the compiled one
    async with api_client(apps[0]) as client:
        for _ in range(2):
            assert (await client.post("/graphql", json=body)).status_code == 200
    # then
    lines = [line for line in json_lines(caplog) if line["logger"] == "hub.request"]
    described = [(line["operation_name"], line["compiled"]) for line in lines]
    assert described == [("NamedPage", False), ("NamedPage", True)]
    assert REGISTRY.get_sample_value("hub_graphql_operations_total", counted) == before + 2


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    "text",
    [
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Thread") { name } }',
        "query($id: ID!) { thread(id: $id) { title } __schema { types { name } } }",
    ],
)
def test_introspection_is_never_compiled(text: str) -> None:
    # Introspection fields are not the Query type's fields: the compiler leaves them to the
    # executor (it once looked them up there, and every introspection text failed with a 500).
    answers = CompiledAnswers(schema._schema, Limits(), limit_rules(Limits()), record=False)
    assert answers.compile(text) is None
