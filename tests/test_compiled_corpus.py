"""The differential test of compiled trusted documents over a corpus nobody wrote for it (issue
17, section 2): every query operation mined from the tests, the benchmarks and README.md, and
documents generated over the compiler's supported set (tests/document_corpus.py), pushed as
trusted documents and sent by every viewer of the visibility matrix (and a reviewer, and a
member naming a language) over one world of threads, members and resources: the compiling
app's bytes equal the executing app's, on the database under test (SQLite, or PostgreSQL with
its fast path, app/compiled_front.py).

It cannot pass vacuously: the mined documents that compile include the benchmarks' pages and
README.md's examples and are at least `MINED_COMPILED_FLOOR`; every generated document
compiles; and every answer of a compiled document without an error was answered compiled (the
request's log line says `compiled=true`)."""

from __future__ import annotations

import functools
import logging
import os
import random
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    OperationDefinitionNode,
    parse,
    print_ast,
    type_from_ast,
)
from sqlalchemy import select
from starlette.applications import Starlette

from app.compiled import CompiledAnswers
from app.seed.knowledge import seed_knowledge
from models.community import Community
from models.db import Database
from models.member import Role
from models.resource import Resource
from resolvers.pagination import encode_cursor
from schema import Limits, limit_rules, schema
from schema.relay import decode_int_id, encode_id
from subscriptions.broadcast import HubBroadcast
from tests.conftest import Factory, api_client
from tests.document_corpus import Generator, Mined, mine
from tests.test_compiled_documents import V, World, build_world, compiling_and_executing, push
from tests.test_compiled_members import directory_members
from tests.test_compiled_resources import _translate_and_relate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from members_page import QUERY as MEMBERS_PAGE_QUERY
from postgraphile import HUB_COMMON_QUERY
from resources_page import QUERY as RESOURCES_PAGE_QUERY
from thread_page import QUERY as THREAD_PAGE_QUERY

# The mined documents that compiled when this test was written: more may come, never fewer.
MINED_COMPILED_FLOOR = 31
# The generated documents: a fixed seed and count (a longer search for differences: set
# HUB_CORPUS_SEED and HUB_CORPUS_GENERATED, e.g. 1000 documents with another seed).
SEED = int(os.environ.get("HUB_CORPUS_SEED", "17"))
RESOURCES = 60  # seeded: three supersessions, six contradictions
GENERATED = int(os.environ.get("HUB_CORPUS_GENERATED", "120"))
# Who sends the documents that do not compile (they run through the executor on both apps:
# the compiling app's fallback is compared), besides the anonymous first reads.
FALLBACK_VIEWERS = ("admin",)


def _printed(text: str) -> str:
    return print_ast(parse(text))


def _readme_examples() -> list[str]:
    """The README's examples of compiled documents (its "Compiled trusted documents")."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    section = readme.split("### Compiled trusted documents", 1)[1].split("\n### ", 1)[0]
    return [b.split("```", 1)[0] for b in section.split("```graphql\n")[1:]]


def important() -> dict[str, str]:
    """Documents the mined corpus must hold and compile: the benchmarks' pages, the common
    query, README.md's examples."""
    found = {
        "bench thread page": THREAD_PAGE_QUERY,
        "bench members page": MEMBERS_PAGE_QUERY,
        "bench resources page": RESOURCES_PAGE_QUERY,
        "bench common query": HUB_COMMON_QUERY,
    }
    found |= {f"README example {i}": t for i, t in enumerate(_readme_examples())}
    return {name: _printed(text) for name, text in found.items()}


@functools.cache
def mined() -> tuple[Mined, ...]:
    return tuple(mine(schema._schema))


def compiler() -> CompiledAnswers:
    return CompiledAnswers(schema._schema, Limits(), limit_rules(Limits()), record=False)


def test_the_mined_corpus_holds_the_known_documents_and_every_generated_one_compiles() -> None:
    # given
    answers = compiler()
    # when
    corpus = mined()
    compiled = [m for m in corpus if answers.compile(m.text) is not None]
    generated = Generator(schema._schema, SEED).documents(GENERATED, {})
    # then
    print(f"mined {len(corpus)}, compiled {len(compiled)}, fall back {len(corpus) - len(compiled)}")
    assert len(compiled) >= MINED_COMPILED_FLOOR, [m.name for m in compiled]
    texts = {m.text for m in compiled}
    missing = [name for name, text in important().items() if text not in texts]
    assert not missing, missing
    assert len(_readme_examples()) >= 3
    refused = [g.text for g in generated if answers.compile(g.text) is None]
    assert not refused, refused[:3]
    assert len({g.text for g in generated}) == GENERATED


# --- the world, its viewers, and the variables ---------------------------------------------


@dataclass
class Values:
    """What variables are filled with: the world's IDs, and its viewers' headers."""

    world: World
    member: str
    resource: str
    community: str
    viewers: dict[str, dict[str, str]]

    @property
    def threads(self) -> list[str]:
        """Every kind of thread ID: public, private, deleted, missing, another type's."""
        world = self.world
        missing = encode_id("Thread", 999_999)
        return [world.public_thread, world.private_thread, world.deleted_thread, missing,
                world.a_post]  # fmt: skip

    @property
    def post_cursor(self) -> str:
        post = decode_int_id(self.world.a_post, "Post")
        assert post is not None
        return encode_cursor("posts", (post,))

    def generation(self) -> dict[str, object]:
        """The generator's named values (tests/document_corpus.py's `THREAD_IDS`...)."""
        names = ("publicThread", "privateThread", "deletedThread", "missingThread", "aPost")
        return dict(zip(names, self.threads, strict=True)) | {"postCursor": self.post_cursor}


async def build(client: httpx.AsyncClient, factory: Factory, db: Database) -> Values:
    """The threads world (its people are the viewers), the directory's members and the
    library's resources (tests/test_compiled_resources.py's, fewer: drafts, resources in
    review, supersessions, contradictions, a proposed relation, a relation to the author's
    draft, translated titles), and a reviewer, in one database."""
    world = await build_world(client, factory, db)
    await directory_members(factory, db, "Wizara «Ñ»")
    reviewer = await factory.member(name="Reviewer", role=Role.REVIEWER, languages=("fr",))
    async with db.sessions.begin() as session:
        await seed_knowledge(session, random.Random(73195), RESOURCES, 0)
    async with db.sessions.begin() as session:
        ids = list((await session.scalars(select(Resource.id).order_by(Resource.id))).all())
        await _translate_and_relate(session, ids, {v.value: p for v, p in world.people.items()})
    async with db.sessions() as session:
        resource = (await session.scalars(select(Resource.id).order_by(Resource.id))).first()
        community = (await session.scalars(select(Community.id).order_by(Community.id))).first()
    assert resource is not None
    assert community is not None
    viewers = {v.value: world.headers(v) for v in V}
    viewers["reviewer"] = reviewer.headers
    viewers["plain member, in French"] = world.headers(V.MEMBER) | {"Accept-Language": "fr"}
    member = world.people[V.MEMBER]
    assert member is not None
    return Values(
        world, member.global_id, encode_id("Resource", resource),
        encode_id("Community", community), viewers,
    )  # fmt: skip


def variable_sets(text: str, values: Values) -> list[dict[str, Any]]:
    """A mined operation's variables, filled by type and name: each kind of thread for the IDs
    that name no other type, then Booleans false; nullable ones without a known value left
    out (the executor's and the compiler's defaults)."""
    operation = next(d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode))
    base: dict[str, Any] = {}
    threads: list[str] = []
    booleans: list[str] = []
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        kind = type_from_ast(schema._schema, definition.type)  # type: ignore[arg-type]
        if definition.default_value is not None:
            continue
        value = _value(name, kind, values)
        if value is _THREAD:
            threads.append(name)
            value = values.threads[0]
        if value is True:
            booleans.append(name)
        if value is not None:
            base[name] = value
    sets = [base]
    for i, _ in enumerate(values.threads[1:] if threads else (), start=1):
        sets.append(
            base | {n: values.threads[(i + j) % len(values.threads)] for j, n in enumerate(threads)}
        )
    if booleans:
        sets.append(base | dict.fromkeys(booleans, False))
    return sets


_THREAD = object()


def _value(name: str, kind: Any, values: Values) -> Any:
    """A variable's value by its type and name (`_THREAD`: an ID that names no other type)."""
    required = isinstance(kind, GraphQLNonNull)
    named = kind.of_type if required else kind
    lowered = name.lower()
    if isinstance(named, GraphQLList):
        if not required:
            return None
        inner = _value(name, named.of_type, values)
        return [values.threads[0] if inner is _THREAD else inner]
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    if isinstance(named, GraphQLInputObjectType):
        return {} if required else None
    assert isinstance(named, GraphQLScalarType)
    if named.name == "ID":
        for word, value in (
            ("member", values.member), ("resource", values.resource),
            ("community", values.community), ("post", values.world.a_post),
        ):  # fmt: skip
            if word in lowered:
                return value
        return _THREAD
    if named.name == "Int":
        return 6 if "objective" in lowered or "number" in lowered else 3
    if named.name == "Boolean":
        return True
    if named.name == "String":
        if not required:
            return None
        return {"language": "fr", "query": "migration", "q": "migration"}.get(lowered, "x")
    return None if not required else "x"


def two_pages(text: str) -> bool:
    """Whether a selection holds `posts` under two response keys: the compiler plans one page
    of a thread, and such a request runs through the executor (schema/compiled_run.py)."""
    document = parse(text)
    keys: dict[int, set[str]] = {}

    def walk(node: Any, parent: int) -> None:
        for selection in getattr(getattr(node, "selection_set", None), "selections", ()) or ():
            if isinstance(selection, FieldNode) and selection.name.value == "posts":
                keys.setdefault(parent, set()).add((selection.alias or selection.name).value)
            walk(selection, id(selection) if isinstance(selection, FieldNode) else parent)

    for definition in document.definitions:
        walk(definition, id(definition))
    return any(len(k) > 1 for k in keys.values())


# --- the test -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    document_id: str
    text: str
    variable_sets: list[dict[str, Any]]
    compiles: bool


def cases(values: Values) -> list[Case]:
    answers = compiler()
    found = []
    for i, m in enumerate(mined()):
        compiles = answers.compile(m.text) is not None
        found.append(Case(f"mined-{i}", m.text, variable_sets(m.text, values), compiles))
    for g in Generator(schema._schema, SEED).documents(GENERATED, values.generation()):
        found.append(Case(g.name, g.text, [g.variables], True))
    return found


@pytest.fixture
async def corpus_apps(
    database_url: str, db: Database, broadcast: HubBroadcast
) -> AsyncIterator[tuple[Starlette, Starlette]]:
    async with compiling_and_executing(database_url, db, broadcast) as made:
        yield made


@dataclass
class Tally:
    requests: int = 0
    compiled: int = 0
    fast: int = 0


async def test_every_document_of_the_corpus_answers_the_executors_bytes_for_every_viewer(
    corpus_apps: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given: threads, members and resources of every kind, the corpus pushed as trusted
    # documents, each read once by each app
    apps = corpus_apps
    caplog.set_level(logging.INFO, logger="hub.request")
    async with api_client(apps[1]) as client:
        values = await build(client, factory, db)
    corpus = cases(values)
    await push(db, {c.document_id: c.text for c in corpus})
    tally = Tally()
    async with api_client(apps[0]) as compiling, api_client(apps[1]) as executing:
        clients = (compiling, executing)
        for case in corpus:
            await _send(clients, case, case.variable_sets[0], {}, caplog, Tally())
        # when / then
        for viewer, headers in values.viewers.items():
            for case in corpus:
                if not case.compiles and viewer not in FALLBACK_VIEWERS:
                    continue
                sets = case.variable_sets if case.compiles else case.variable_sets[:1]
                for variables in sets:
                    await _send(clients, case, variables, headers, caplog, tally, viewer)
    fast_front = apps[0].state.compiled_front.answered
    print(f"compared {tally.requests}, compiled {tally.compiled}, fast path {fast_front}")
    # then: most answers were compiled; on PostgreSQL the fast path answered threads
    assert tally.compiled > len(values.viewers) * GENERATED
    assert (fast_front > len(values.viewers) * 50) != db.is_sqlite


async def _send(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
    case: Case,
    variables: dict[str, Any],
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    tally: Tally,
    viewer: str = "",
) -> None:
    body = {"documentId": case.document_id, "variables": variables}
    caplog.clear()
    compiled = await clients[0].post("/graphql", json=body, headers=headers)
    answered_compiled = any(getattr(r, "compiled", False) for r in _lines(caplog))
    executed = await clients[1].post("/graphql", json=body, headers=headers)
    described = (viewer, case.document_id, case.text, variables)
    assert compiled.status_code == executed.status_code, described
    assert compiled.content == executed.content, described
    tally.requests += 1
    tally.compiled += answered_compiled
    if not case.compiles:
        assert not answered_compiled, described
    elif "errors" not in compiled.json() and not two_pages(case.text):
        assert answered_compiled, (described, compiled.json())


def _lines(caplog: pytest.LogCaptureFixture) -> Iterator[logging.LogRecord]:
    return (r for r in caplog.records if r.name == "hub.request")
