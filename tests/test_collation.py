"""Sorting and case-insensitive matching in the six scripts: names sort by the Unicode
Collation Algorithm (accents beside their letters, then Cyrillic, Arabic, Han), pages of the
directory follow that order; matching folds case and compatibility forms."""

from __future__ import annotations

from typing import Any

import httpx

from models.collation import match_key, sort_key
from tests.conftest import Factory, gql
from tests.knowledge import CREATE_RESOURCE, cast, ok, published, resource_input
from tests.search_knowledge import CREATE_INITIATIVE
from tests.test_answers_after_commit import INITIATIVE

# The order a reader expects, whatever the database's own collation.
NAMES_IN_ORDER = [
    "Andrés",
    "Ángel",
    "Élodie",
    "Émile",
    "eve",
    "Nadia",
    "Ñandú",
    "Ödön",
    "Olga",
    "Zoë",
    "Анна",
    "аня",
    "Борис",
    "أحمد",
    "محمد",
    "张伟",
]

DIRECTORY = """
query($after: String) {
  members(first: 5, after: $after) { nodes { name } pageInfo { hasNextPage endCursor } }
}
"""


def test_sort_keys_follow_the_unicode_collation_in_every_script() -> None:
    shuffled = sorted(NAMES_IN_ORDER, key=lambda name: name[::-1])
    assert sorted(shuffled, key=sort_key) == NAMES_IN_ORDER
    # and byte order is not it: a plain sort puts every accented capital after "Zoë"
    assert sorted(NAMES_IN_ORDER) != NAMES_IN_ORDER


def test_match_keys_fold_case_and_compatibility_forms() -> None:
    assert match_key("STRASSE") == match_key("straße")
    assert match_key("ÉDITIONS DU SUD") == match_key("éditions du sud")
    assert match_key("ПРООН") == match_key("проон")
    assert match_key("\uff21\uff22\uff23") == match_key("abc")  # full-width Latin letters
    assert match_key("\ufee1") == match_key("\u0645")  # an Arabic presentation form, its letter
    assert match_key("é") == match_key("e\u0301")  # composed and decomposed


async def test_the_directory_pages_through_names_in_collation_order(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given members named in four scripts (the viewer among them)
    members = [await factory.member(name=name) for name in reversed(NAMES_IN_ORDER)]
    viewer = members[0]

    # when a member pages through the directory five at a time
    names: list[str] = []
    after: str | None = None
    while True:
        body: dict[str, Any] = await gql(client, DIRECTORY, {"after": after}, member=viewer)
        assert "errors" not in body, body
        page = body["data"]["members"]
        names += [node["name"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then every name comes once, in the collation's order
    assert names == NAMES_IN_ORDER


async def test_the_publisher_filter_ignores_case_in_every_script(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given resources published by "Éditions du Sud" and by "ПРООН"
    people = await cast(factory)
    french = await published(client, people, title="Guide", publisher="Éditions du Sud")
    russian = await published(client, people, title="Доклад", publisher="ПРООН")
    query = "query($p: String) { resources(filter: {publisher: $p}) { nodes { id } } }"

    # when visitors filter by the publishers typed in capitals and in small letters
    found = {}
    for typed in ("ÉDITIONS DU SUD", "éditions du sud", "проон", "ПРООН"):
        body = await gql(client, query, {"p": typed})
        found[typed] = [node["id"] for node in body["data"]["resources"]["nodes"]]

    # then each finds its publisher's resource
    assert found == {
        "ÉDITIONS DU SUD": [french],
        "éditions du sud": [french],
        "проон": [russian],
        "ПРООН": [russian],
    }


TITLES_IN_ORDER = ["Ábaco", "eagle", "Élan", "Nadia", "Ñandú", "Zebra", "Доклад", "تقرير"]
LISTS = {
    "resources": """
    query($after: String) { resources(filter: {states: [DRAFT]}, orderBy: TITLE, first: 3,
      after: $after) { nodes { title } pageInfo { hasNextPage endCursor } } }
    """,
    "initiatives": """
    query($after: String) { initiatives(filter: {states: [DRAFT]}, orderBy: TITLE, first: 3,
      after: $after) { nodes { title } pageInfo { hasNextPage endCursor } } }
    """,
}


async def _titles_by_pages(client: httpx.AsyncClient, field: str, viewer: Any) -> list[str]:
    titles: list[str] = []
    after: str | None = None
    while True:
        body: dict[str, Any] = await gql(client, LISTS[field], {"after": after}, member=viewer)
        assert "errors" not in body, body
        page = body["data"][field]
        titles += [node["title"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            return titles
        after = page["pageInfo"]["endCursor"]


async def test_resources_and_initiatives_page_by_title_in_collation_order(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given an author's drafts titled in three scripts, with and without accents and capitals
    author = await factory.member()
    for title in reversed(TITLES_IN_ORDER):
        await ok(client, CREATE_RESOURCE, {"input": {"resource": resource_input(title)}}, author)
        initiative = {**INITIATIVE, "title": title}
        await ok(client, CREATE_INITIATIVE, {"input": {"initiative": initiative}}, author)
    # when the author pages through them by title, three at a time
    resources = await _titles_by_pages(client, "resources", author)
    initiatives = await _titles_by_pages(client, "initiatives", author)
    # then each title comes once, in the collation's order (by the bytes, "Élan" and "Ábaco"
    # came after "Zebra", and "eagle" after every capital)
    assert resources == TITLES_IN_ORDER
    assert initiatives == TITLES_IN_ORDER
