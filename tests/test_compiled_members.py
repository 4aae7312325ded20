"""Compiled trusted documents of the member directory answer exactly what the executor answers
(the fixtures and helpers of tests/test_compiled_documents.py): for every document of a corpus
(the page benchmark's query, and variations: aliases, fragments, skip/include, every filter,
pages after a cursor, hidden emails), every viewer of the visibility matrix, the bodies are the
same bytes, and a compiled answer runs one statement per `members` field. On PostgreSQL the
compiled fast path (app/compiled_front.py, resolvers/compiled/members_json.py) answers them:
each answer is counted as its own, with its statements on its own pool."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete
from starlette.applications import Starlette

from app.compiled import CompiledAnswers
from models.db import Database
from models.member import Member
from models.organization import OrganizationKind
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

from members_page import QUERY as MEMBERS_PAGE_QUERY

pytest_plugins = ["tests.test_compiled_documents"]  # its `apps` fixture

MEMBERS_FULL = """
query Directory($n: Int, $after: String, $filter: MemberFilterInput, $orgs: Boolean!) {
  __typename
  directory: members(first: $n, after: $after, filter: $filter) {
    __typename
    pageInfo { ...Info }
    edges { c: cursor node { ...Person organization @include(if: $orgs) { ...Org } } }
    nodes { id email n2: name }
  }
}
fragment Person on Member {
  __typename id name country { code __typename } bio isExpert role createdAt updatedAt email
  ... on Member { name }
}
fragment Org on Organization { __typename id name kind country { code } createdAt }
fragment Info on PageInfo { hasNextPage hasPreviousPage startCursor endCursor }
"""
MEMBERS_LITERALS = """
{
  experts: members(first: 4, filter: {isExpert: true}) { nodes { id name isExpert } }
  staff: members(filter: {roles: [ADMIN, MODERATOR]}) { edges { node { name role } } }
  kenya: members(filter: {country: "KE", organizationKind: GOVERNMENT}) {
    nodes { name organization { name kind } }
  }
  speakers: members(filter: {languages: ["fr"], objectives: [3, 5]}) { nodes { name } }
  french: members(filter: {language: "fr"}) { pageInfo { hasNextPage } nodes { name } }
}
"""
MEMBERS_DOCUMENTS = {
    "members-page": MEMBERS_PAGE_QUERY,
    "members-full": MEMBERS_FULL,
    "members-literals": MEMBERS_LITERALS,
    "typename": TYPENAME,
}
MEMBERS_UNSUPPORTED = {
    "members-total": "{ members { totalCount } }",
    "members-last": "{ members(last: 2) { nodes { name } } }",
    "members-languages": "{ members { nodes { name languages } } }",
    "members-country-name": "{ members { nodes { country { name } } } }",
}


@dataclass
class Directory:
    people: dict[V, Person | None]
    deleted: int

    def headers(self, viewer: V) -> dict[str, str]:
        person = self.people[viewer]
        return person.headers if person is not None else {}


async def build_directory(factory: Factory, db: Database) -> Directory:
    """The matrix's viewers, and members of every kind the directory shows or hides: experts
    and not, with and without organisations, countries, languages and expertise, names in
    several scripts; and one member deleted."""
    crowd = await people(factory)
    return Directory(crowd, await directory_members(factory, db, "Ministère «Ñ»"))


async def directory_members(factory: Factory, db: Database, government_name: str) -> int:
    """The directory's members (not its viewers): experts and not, with and without
    organisations, countries, languages and expertise, names in several scripts; and one
    member deleted, whose id is returned."""
    government = await factory.organization(OrganizationKind.GOVERNMENT, government_name, "KE")
    network = await factory.organization(OrganizationKind.CIVIL_SOCIETY, "Réseau 🌍")
    for i, name in enumerate(["Ängel", "zed", "Émile", "Олег", "李雷", "ángel", "Bob", "Çelik"]):
        await factory.member(
            name=name,
            is_expert=i % 2 == 0,
            organization_id=(government, network, None)[i % 3],
            country=("KE", None, "FR")[i % 3],
            languages=(("fr",), ("fr-CA", "en"), ())[i % 3],
            expertise=((3,), (5, 7), ())[i % 3],
        )
    gone = await factory.member(name="Deleted Expert", is_expert=True)
    async with db.sessions.begin() as session:
        await session.execute(delete(Member).where(Member.id == gone.id))
    return gone.id


FILTERS: list[dict[str, Any] | None] = [
    None,
    {"isExpert": False},
    {"roles": ["MEMBER"], "organizationKind": "CIVIL_SOCIETY"},
    {"languages": ["fr", "en"], "country": "KE"},
    {"objectives": [5]},
]


async def members_variables(
    apps: tuple[Starlette, Starlette], headers: dict[str, str]
) -> list[dict[str, Any]]:
    """Pages of every size and filter, and the page after the first page's end cursor (as the
    executor gave it to this viewer)."""
    first = {"documentId": "members-full", "variables": {"n": 3, "orgs": False}}
    async with api_client(apps[1]) as client:
        page = (await client.post("/graphql", json=first, headers=headers)).json()
    after = page["data"]["directory"]["pageInfo"]["endCursor"]
    sets: list[dict[str, Any]] = [
        {"n": n, "filter": f, "orgs": True} for n in (None, 3, 0, 100) for f in FILTERS
    ]
    sets += [
        {"n": 2, "after": after, "orgs": o, "filter": f} for o in (True, False) for f in FILTERS
    ]
    return sets


async def test_compiled_directory_pages_are_the_executors_bytes_for_every_viewer(
    apps: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given: the matrix's viewers, a directory of every kind of member, the corpus pushed
    directory = await build_directory(factory, db)
    await push(db, MEMBERS_DOCUMENTS)
    await read_once(apps, MEMBERS_DOCUMENTS)
    roots = {"members-page": 1, "members-full": 1, "members-literals": 5}
    compared = 0
    for viewer in V:
        headers = directory.headers(viewer)
        # what signing in costs the view; the fast path looks the token up once
        sign_in = await count(apps[1], {"documentId": "typename"}, headers, statements)
        await count(apps[0], {"documentId": "typename"}, headers, statements)
        for document_id in MEMBERS_DOCUMENTS:
            variable_sets = [{}]
            if document_id == "members-full":
                variable_sets = await members_variables(apps, headers)
            for variables in variable_sets:
                body = {"documentId": document_id, "variables": variables}
                described = (viewer, document_id, variables)
                # when
                fast, (compiled, executed) = await answered_fast(apps[0], both(apps, body, headers))
                reads = await count(apps[0], body, headers, statements)
                # then: on PostgreSQL the fast path answered, one statement per root (the
                # token checked inside it, or alone when there is none)
                assert fast == (0 if db.is_sqlite else 1), described
                assert compiled.status_code == executed.status_code == 200
                assert compiled.content == executed.content, described
                assert "errors" not in compiled.json(), compiled.json()
                wanted = roots.get(document_id, 0)
                if fast and viewer is not V.ANONYMOUS:
                    assert reads == max(wanted, 1), described
                else:
                    assert reads - sign_in == wanted, described
                compared += 1
    assert compared == len(V) * (3 + len(await members_variables(apps, {})))


def test_only_the_supported_directory_documents_compile() -> None:
    answers = CompiledAnswers(schema._schema, Limits(), limit_rules(Limits()), record=False)
    for document_id, body in MEMBERS_DOCUMENTS.items():
        assert answers.compile(body) is not None, document_id
    for document_id, body in MEMBERS_UNSUPPORTED.items():
        assert answers.compile(body) is None, document_id


def members_fallbacks() -> list[dict[str, Any]]:
    """Requests of compiled directory documents that the executor answers (with errors)."""
    full = "members-full"
    return [
        {"documentId": full, "variables": {"n": 101, "orgs": True}},
        {"documentId": full, "variables": {"n": -1, "orgs": True}},
        {"documentId": full, "variables": {"after": "bm90IGEgY3Vyc29y", "orgs": True}},
        {"documentId": full, "variables": {"orgs": True, "filter": {"country": "Kenya"}}},
        {"documentId": full, "variables": {"orgs": True, "filter": {"objectives": [99]}}},
        {"documentId": full, "variables": {"orgs": True, "filter": {"roles": ["KING"]}}},
        {"documentId": full, "variables": {"orgs": "yes"}},
    ] + [{"documentId": d, "variables": {}} for d in MEMBERS_UNSUPPORTED]


async def test_directory_requests_the_compiled_path_must_not_answer_get_the_executors_errors(
    apps: tuple[Starlette, Starlette],
    db: Database,
    factory: Factory,
    statements: StatementCounter,
) -> None:
    # given
    directory = await build_directory(factory, db)
    await push(db, {**MEMBERS_DOCUMENTS, **MEMBERS_UNSUPPORTED})
    await read_once(apps, {**MEMBERS_DOCUMENTS, **MEMBERS_UNSUPPORTED})
    for viewer in (V.ANONYMOUS, V.ADMIN):
        headers = directory.headers(viewer)
        for body in members_fallbacks():
            # when
            fast, (compiled, executed) = await answered_fast(apps[0], both(apps, body, headers))
            reads = [await count(a, body, headers, statements, any_status=True) for a in apps]
            # then: the same bytes, and the executor's statements (it ran, not the fast path)
            assert fast == 0, body
            assert compiled.status_code == executed.status_code, body
            assert compiled.content == executed.content, body
            assert reads[0] == reads[1], (body, reads)
