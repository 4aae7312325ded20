"""Compiled trusted documents of the resources page answer exactly what the executor answers
(the fixtures and helpers of tests/test_compiled_documents.py): for every document of a corpus
(the page benchmark's query, and variations: aliases, fragments, skip/include, every order,
filters, pages after a cursor), every viewer of the visibility matrix and a reviewer, with and
without `Accept-Language`, over drafts, resources in review, confirmed and proposed relations
and translated titles, the bodies are the same bytes, and a compiled answer runs one statement
per `resources` field. On PostgreSQL the compiled fast path (app/compiled_front.py,
resolvers/compiled/resources_json.py) answers them all, titles a signed-in member reads in
their declared languages (no `Accept-Language`) too; and a member who changes those languages
gets the executor's titles on the very next request."""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from app.compiled import CompiledAnswers
from app.seed.knowledge import seed_knowledge
from models.db import Database
from models.member import Role
from models.organization import OrganizationKind
from models.resource import RelationKind, RelationStatus, Resource, ResourceRelation
from models.review import ReviewState
from models.translation import TranslatableKind, Translation, TranslationStatus
from schema import Limits, limit_rules, schema
from tests.conftest import Factory, StatementCounter, api_client
from tests.conftest import TestMember as Person
from tests.test_compiled_documents import (
    TYPENAME,
    V,
    answered_fast,
    both,
    count,
    people,
    push,
    read_once,
)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from resources_page import QUERY as RESOURCES_PAGE_QUERY

pytest_plugins = ["tests.test_compiled_documents"]  # its `apps` fixture

RESOURCES_FULL = """
query Resources(
  $n: Int, $after: String, $filter: ResourceFilterInput, $order: ResourceOrder = NEWEST,
  $relations: Boolean = true
) {
  list: resources(first: $n, after: $after, filter: $filter, orderBy: $order) {
    __typename
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges {
      cursor
      node {
        ...Plain
        organization { ...Org }
        objectives { __typename id number shortTitle }
        supersedes @include(if: $relations) { ...Plain }
        supersededBy @include(if: $relations) { id title isSuperseded }
        contradictedBy @include(if: $relations) { note resource { ...Plain } }
        contradicts @skip(if: $relations) { note resource { t: title } }
      }
    }
    nodes { id title }
  }
}
fragment Plain on Resource {
  __typename id title kind link publisher publishedOn language sourceType doi isGlobal
  isGeneral isSuperseded createdAt mergedAt
}
fragment Org on Organization { __typename id name kind country { code } createdAt }
"""
RESOURCES_LITERALS = """
{
  titled: resources(first: 7, orderBy: TITLE) { nodes { title } edges { cursor } }
  reviewed: resources(first: 4, orderBy: RECENTLY_REVIEWED, filter: {kinds: [TOOL, DATASET]}) {
    edges { cursor node { id title contradicts { note resource { id } } } }
  }
  mine: resources(filter: {states: [DRAFT, SUBMITTED, IN_REVIEW]}) { nodes { id title } }
}
"""
RESOURCES_DOCUMENTS = {
    "resources-page": RESOURCES_PAGE_QUERY,
    "resources-full": RESOURCES_FULL,
    "resources-literals": RESOURCES_LITERALS,
    "typename": TYPENAME,
}
RESOURCES_UNSUPPORTED = {
    "resources-summary": "{ resources { nodes { summary } } }",
    "resources-title-text": "{ resources { nodes { titleText { text } } } }",
    "resources-end-objectives": "{ resources { nodes { supersedes { objectives { number } } } } }",
    "resources-objective-title": "{ resources { nodes { objectives { title } } } }",
    "resources-total": "{ resources { totalCount } }",
}
LANGUAGES = [None, "fr", "es-MX, en;q=0.5"]


@dataclass
class Library:
    """The viewers of the resources page: the matrix's, and a reviewer (who sees what they
    review and machine translations in their languages)."""

    people: dict[str, Person | None]

    def headers(self, viewer: str, language: str | None) -> dict[str, str]:
        person = self.people[viewer]
        headers = person.headers if person is not None else {}
        return headers | ({"Accept-Language": language} if language else {})


async def build_library(factory: Factory, db: Database) -> Library:
    """Resources of every state (drafts, in review with reviewers assigned, published),
    superseded and contradicted ones, a proposed relation and one to a draft, titles
    translated (human, machine, verified, outdated), authors with and without organisations,
    viewers with declared languages."""
    crowd: dict[str, Person | None] = {v.value: p for v, p in (await people(factory)).items()}
    government = await factory.organization(OrganizationKind.GOVERNMENT, "Ministère «Ñ»", "KE")
    for i in range(3):
        await factory.member(name=f"Author {i}", organization_id=(government, None, government)[i])
    crowd["reviewer"] = await factory.member(name="Reviewer", role=Role.REVIEWER, languages=("fr",))
    crowd["speaker"] = await factory.member(name="Speaker", languages=("es", "fr"))
    async with db.sessions.begin() as session:
        await seed_knowledge(session, random.Random(73195), 120, 0)
    async with db.sessions.begin() as session:
        ids = list((await session.scalars(select(Resource.id).order_by(Resource.id))).all())
        await _translate_and_relate(session, ids, crowd)
    return Library(crowd)


async def _translate_and_relate(
    session: AsyncSession, ids: list[int], crowd: dict[str, Person | None]
) -> None:
    member, author = crowd[V.MEMBER.value], crowd[V.AUTHOR.value]
    assert member is not None
    assert author is not None
    statuses = [
        ("fr", TranslationStatus.HUMAN, None),
        ("fr", TranslationStatus.MACHINE, member.id),
        ("es", TranslationStatus.VERIFIED, None),
        ("es", TranslationStatus.OUTDATED, None),
        ("es-MX", TranslationStatus.HUMAN, None),
    ]
    for i, resource_id in enumerate(ids):
        for j, (language, status, translator) in enumerate(statuses):
            if (i + j) % 3 == 0:
                session.add(
                    Translation(
                        kind=TranslatableKind.RESOURCE, item_id=resource_id, field="title",
                        language=language, text=f"«{language}» titre {i} ✓", status=status,
                        translator_id=translator,
                    )
                )  # fmt: skip
    await session.execute(update(Resource).where(Resource.id.in_(ids[::7])).values(language="fr"))
    session.add_all(
        [
            ResourceRelation(
                from_id=ids[3], to_id=ids[4], kind=RelationKind.CONTRADICTS, note="Proposed.",
                status=RelationStatus.PROPOSED, proposed_by_id=member.id,
            ),
            ResourceRelation(
                from_id=ids[5], to_id=ids[6], kind=RelationKind.SUPERSEDES, note="Draft's.",
                status=RelationStatus.CONFIRMED,
            ),
        ]
    )  # fmt: skip
    await session.execute(
        update(Resource)
        .where(Resource.id == ids[5])
        .values(state=ReviewState.DRAFT, author_id=author.id)
    )


RESOURCE_FILTERS: list[dict[str, Any] | None] = [
    None,
    {"objectives": [6]},
    {"states": ["DRAFT", "SUBMITTED", "IN_REVIEW", "APPROVED"]},
    {"kinds": ["TOOL"], "countries": ["KE"], "publisher": "iom"},
    {"languages": ["fr"], "publishedFrom": "2018-01-01"},
    {"publisher": "o'brien\\' or true -- «ñ»"},  # quoted in the statement's text: no match
]


async def resources_variables(
    apps: tuple[Starlette, Starlette], headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Every order, page size and filter; the page after the first page's end cursor."""
    sets: list[dict[str, Any]] = []
    for order in ("NEWEST", "RECENTLY_REVIEWED", "TITLE"):
        first = {"documentId": "resources-full", "variables": {"n": 4, "order": order}}
        async with api_client(apps[1]) as client:
            page = (await client.post("/graphql", json=first, headers=headers)).json()
        after = page["data"]["list"]["pageInfo"]["endCursor"]
        sets += [{"n": 3, "after": after, "order": order}, {"order": order, "relations": False}]
    sets += [{"n": n, "filter": f} for n in (None, 0, 100) for f in RESOURCE_FILTERS]
    return sets


def fast_answers(db: Database) -> int:
    """1 when the fast path answers a request of the corpus: on PostgreSQL, every viewer's
    (titles in a member's declared languages included)."""
    return 0 if db.is_sqlite else 1


async def test_compiled_resources_pages_are_the_executors_bytes_for_every_viewer(
    apps: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given: every viewer, resources of every state, relations, translated titles
    library = await build_library(factory, db)
    await push(db, RESOURCES_DOCUMENTS)
    await read_once(apps, RESOURCES_DOCUMENTS)
    roots = {"resources-page": 1, "resources-full": 1, "resources-literals": 3}
    for viewer in library.people:
        signed_in = library.people[viewer] is not None
        for language in LANGUAGES:
            headers = library.headers(viewer, language)
            # what signing in costs the view; the fast path looks the token up once
            sign_in = await count(apps[1], {"documentId": "typename"}, headers, statements)
            await count(apps[0], {"documentId": "typename"}, headers, statements)
            for document_id in RESOURCES_DOCUMENTS:
                variable_sets: list[dict[str, Any]] = [{"objective": 6}]
                if document_id == "resources-full":
                    variable_sets = await resources_variables(apps, headers)
                    if language is not None:  # what a title's language changes: every order
                        variable_sets = variable_sets[:6]
                for variables in variable_sets:
                    body = {"documentId": document_id, "variables": variables}
                    described = (viewer, language, document_id, variables)
                    # when
                    fast, (compiled, executed) = await answered_fast(
                        apps[0], both(apps, body, headers)
                    )
                    reads = await count(apps[0], body, headers, statements)
                    # then: the fast path answered all, titles in declared languages too, one
                    # statement per root (the token checked inside it, or alone)
                    assert fast == fast_answers(db), described
                    assert compiled.status_code == executed.status_code == 200
                    assert compiled.content == executed.content, described
                    assert "errors" not in compiled.json(), compiled.json()
                    wanted = roots.get(document_id, 0)
                    if fast and signed_in:
                        assert reads == max(wanted, 1), described
                    else:
                        assert reads - sign_in == wanted, described


UPDATE_LANGUAGES = """
mutation($languages: [String!]) {
  updateProfile(input: {languages: $languages}) { errors { code } member { languages } }
}
"""


async def test_a_member_who_changes_languages_reads_the_executors_titles_next_request(
    apps: tuple[Starlette, Starlette], db: Database, factory: Factory
) -> None:
    # given: a member who declared Spanish then French, and a page read by the fast path
    library = await build_library(factory, db)
    await push(db, RESOURCES_DOCUMENTS)
    await read_once(apps, RESOURCES_DOCUMENTS)
    headers = library.headers("speaker", None)
    body = {"documentId": "resources-full", "variables": {"n": 30, "relations": False}}
    fast, (before, executed) = await answered_fast(apps[0], both(apps, body, headers))
    assert fast == fast_answers(db)
    assert before.content == executed.content
    for languages in (["fr", "es"], []):
        # when: they change their languages (through the other process) between two requests
        change = {"query": UPDATE_LANGUAGES, "variables": {"languages": languages}}
        async with api_client(apps[1]) as client:
            changed = (await client.post("/graphql", json=change, headers=headers)).json()
        assert changed["data"]["updateProfile"] == {
            "errors": [],
            "member": {"languages": languages},
        }
        fast, (after, executed) = await answered_fast(apps[0], both(apps, body, headers))
        # then: the very next answer is the executor's, in the new languages (the view's: the
        # statement found the member's languages changed), and the next one the fast path's
        assert after.status_code == executed.status_code == 200
        assert after.content == executed.content, languages
        assert after.content != before.content, languages
        assert fast == 0
        fast, (again, executed) = await answered_fast(apps[0], both(apps, body, headers))
        assert fast == fast_answers(db)
        assert again.content == executed.content == after.content, languages
        before = after


async def test_fast_resources_answers_carry_the_views_headers(
    apps: tuple[Starlette, Starlette], db: Database, factory: Factory
) -> None:
    # given: the page's document, read once by each process
    library = await build_library(factory, db)
    await push(db, RESOURCES_DOCUMENTS)
    await read_once(apps, RESOURCES_DOCUMENTS)
    body = {"documentId": "resources-page", "variables": {"objective": 6}}
    for language in LANGUAGES:
        headers = library.headers(V.ANONYMOUS.value, language) | {"X-Request-ID": "req-17"}
        for method in ("POST", "GET"):
            # when
            fast, (answer, executed) = await answered_fast(
                apps[0], both(apps, body, headers, method)
            )
            # then: the same status, bytes and headers in the same order
            assert fast == (0 if db.is_sqlite else 1), (language, method)
            assert answer.status_code == executed.status_code == 200
            assert answer.content == executed.content, (language, method)
            assert answer.headers.multi_items() == executed.headers.multi_items(), method


async def test_the_fast_paths_literals_keep_their_meaning_on_a_server_without_standard_strings(
    apps: tuple[Starlette, Starlette], db: Database
) -> None:
    # given: a database whose sessions default to backslash escapes in string literals
    if db.is_sqlite:
        pytest.skip("the fast path runs on PostgreSQL only")
    async with db.engine.connect() as connection:
        name = (await connection.execute(text("SELECT current_database()"))).scalar_one()
    alter = f'ALTER DATABASE "{name}" SET standard_conforming_strings = '
    async with db.engine.connect() as connection:
        await (await connection.execution_options(isolation_level="AUTOCOMMIT")).execute(
            text(alter + "off")
        )
    try:
        # when: the fast path opens its connections
        front = apps[0].state.compiled_front
        setting = await front.pool.fetch(lambda c: c.fetchval("SHOW standard_conforming_strings"))
    finally:
        async with db.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(
                text(f'ALTER DATABASE "{name}" RESET standard_conforming_strings')
            )
    # then: its sessions read literals as the statements mean them (a publisher filter such as
    # `o'brien\\' or true --` stays one string)
    assert setting == "on"


def test_only_the_supported_resources_documents_compile() -> None:
    answers = CompiledAnswers(schema._schema, Limits(), limit_rules(Limits()), record=False)
    for document_id, body in RESOURCES_DOCUMENTS.items():
        assert answers.compile(body) is not None, document_id
    for document_id, body in RESOURCES_UNSUPPORTED.items():
        assert answers.compile(body) is None, document_id


def resources_fallbacks() -> list[dict[str, Any]]:
    """Requests of compiled resources documents that the executor answers (with errors)."""
    full = "resources-full"
    return [
        {"documentId": full, "variables": {"n": 101}},
        {"documentId": full, "variables": {"after": "bm90IGEgY3Vyc29y"}},
        {"documentId": full, "variables": {"filter": {"objectives": [99]}}},
        {"documentId": full, "variables": {"filter": {"countries": ["Kenya"]}}},
        {"documentId": full, "variables": {"filter": {"states": ["LOST"]}}},
    ] + [{"documentId": d, "variables": {}} for d in RESOURCES_UNSUPPORTED]


async def test_resources_requests_the_compiled_path_must_not_answer_get_the_executors_errors(
    apps: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given
    library = await build_library(factory, db)
    await push(db, {**RESOURCES_DOCUMENTS, **RESOURCES_UNSUPPORTED})
    await read_once(apps, {**RESOURCES_DOCUMENTS, **RESOURCES_UNSUPPORTED})
    for viewer in (V.ANONYMOUS.value, "reviewer"):
        headers = library.headers(viewer, None)
        for body in resources_fallbacks():
            # when
            fast, (compiled, executed) = await answered_fast(apps[0], both(apps, body, headers))
            reads = [await count(a, body, headers, statements, any_status=True) for a in apps]
            # then: the same bytes, and the executor's statements (it ran, not the fast path)
            assert fast == 0, body
            assert compiled.status_code == executed.status_code, body
            assert compiled.content == executed.content, body
            assert reads[0] == reads[1], (body, reads)
