"""Search across languages: a translation is indexed in its own language, so a Spanish query
finds an English resource through its Spanish translation; each item is one result, saying which
language matched; the language facet counts translations; who finds a translation follows the
translations' visibility; the index follows every change of a translation, and `hub doctor`'s
consistency check sees translations."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import delete

from models.db import Database
from models.member import Role
from models.search import SearchDocument
from resolvers.search_index import index_drift
from tests.conftest import Factory, gql
from tests.knowledge import UPDATE_RESOURCE, approve, call, cast, draft, ok, published
from tests.test_translations import REMOVE_TRANSLATION, VERIFY_TRANSLATION, translate

SEARCH = """
query($query: String!, $filter: SearchFilter) {
  search(query: $query, filter: $filter, first: 10) {
    totalCount
    edges { node { ... on Resource { id } } snippet matchedLanguage matchedStatus }
    facets { languages { tag count } kinds { kind count } objectives { number count } }
  }
}
"""

SPANISH_TITLE = "Guía para la contratación equitativa de trabajadores migrantes"
SPANISH_SUMMARY = "Cómo contratar sin cobrar comisiones a los trabajadores en Kenia."


async def search(
    client: httpx.AsyncClient, query: str, member: Any = None, **filter: Any
) -> dict[str, Any]:
    variables: dict[str, Any] = {"query": query, "filter": filter or None}
    body = await gql(client, SEARCH, variables, member=member)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["search"]
    return result


async def test_a_spanish_query_finds_an_english_resource_by_its_verified_spanish_translation(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given an English resource translated into Spanish, the translation verified
    people = await cast(factory)
    resource_id = await published(client, people, title="Fair recruitment of migrant workers")
    translator = await factory.member(name="Traductora", languages=("es",))
    reviewer = await factory.member(name="Revisora", role=Role.REVIEWER, languages=("es",))
    submitted = await translate(
        client, translator, resource_id, "es", title=SPANISH_TITLE, summary=SPANISH_SUMMARY
    )
    assert submitted["errors"] == []
    target = {"input": {"itemId": resource_id, "language": "es"}}
    assert (await call(client, VERIFY_TRANSLATION, target, reviewer))["errors"] == []

    # when anyone searches in Spanish, in English, and for a word both texts share
    spanish = await search(client, "contratación equitativa")
    english = await search(client, "recruitment migrant")
    both = await search(client, "migrant OR migrantes")

    # then the Spanish words find the resource through its Spanish translation, the snippet in
    # Spanish
    assert [e["node"]["id"] for e in spanish["edges"]] == [resource_id]
    hit = spanish["edges"][0]
    assert (hit["matchedLanguage"], hit["matchedStatus"]) == ("es", "VERIFIED")
    assert "<mark>contratación</mark>" in hit["snippet"]
    assert spanish["facets"]["languages"] == [{"tag": "es", "count": 1}]
    # and the English words find it through the original
    assert [(e["matchedLanguage"], e["matchedStatus"]) for e in english["edges"]] == [
        ("en", "ORIGINAL")
    ]
    # and a query both match finds the item once, counted once per kind and objective, and
    # once in each language it matched in
    assert [e["node"]["id"] for e in both["edges"]] == [resource_id]
    assert both["totalCount"] == 1
    assert both["facets"]["kinds"] == [{"kind": "RESOURCE", "count": 1}]
    assert both["facets"]["objectives"] == [{"number": 6, "count": 1}]
    assert both["facets"]["languages"] == [
        {"tag": "en", "count": 1},
        {"tag": "es", "count": 1},
        {"tag": "fr", "count": 1},  # the original's other language, declared by its author
    ]
    # and the language filter takes translations: the resource is available in Spanish
    filtered = await search(client, "migrant OR migrantes", languages=["es"])
    assert [(e["matchedLanguage"]) for e in filtered["edges"]] == ["es"]


async def test_a_spanish_reader_gets_the_spanish_match_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given a resource whose original and Spanish translation both hold the query's word
    people = await cast(factory)
    resource_id = await published(client, people, title="Kenya recruitment toolkit")
    translator = await factory.member(languages=("es",))
    await translate(client, translator, resource_id, "es", title="Kenya: guía de contratación")
    reader = await factory.member(languages=("es",))

    # when a Spanish-speaking member and an anonymous visitor search for it
    for_reader = await search(client, "Kenya", reader)
    for_anyone = await search(client, "Kenya")

    # then each gets the item once; the reader through the Spanish text (their language is
    # boosted), the visitor through the original (a human translation weighs less)
    assert [(e["node"]["id"], e["matchedLanguage"]) for e in for_reader["edges"]] == [
        (resource_id, "es")
    ]
    assert [(e["node"]["id"], e["matchedLanguage"]) for e in for_anyone["edges"]] == [
        (resource_id, "en")
    ]


async def test_who_finds_a_translation_follows_the_translations_visibility(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given a published resource with a tool's Spanish translation, and a draft with a human
    # one
    people = await cast(factory)
    public_id = await published(client, people, title="Fair recruitment toolkit")
    author_es = await factory.member(name="Autora", languages=("es",))
    draft_id = await draft(client, author_es, title="Remittances guide", language="en")
    translator = await factory.member(name="Traductora", languages=("es",))
    await translate(client, translator, public_id, "es", machine=True, title="Herramienta justa")
    assert (await translate(client, author_es, draft_id, "es", title="Guía de remesas"))[
        "errors"
    ] == []
    other = await factory.member(languages=("es",))
    reviewer = await factory.member(role=Role.REVIEWER, languages=("es",))

    # when the translator, another member, a visitor and a Spanish-speaking reviewer search
    # then the tool's translation is found by its translator and reviewers who speak Spanish
    # only, until it is verified
    assert len((await search(client, "herramienta", translator))["edges"]) == 1
    assert len((await search(client, "herramienta", reviewer))["edges"]) == 1
    assert (await search(client, "herramienta", other))["edges"] == []
    assert (await search(client, "herramienta"))["edges"] == []
    assert (await search(client, "herramienta"))["facets"]["languages"] == []
    # and the draft's translation is found by whoever sees the draft only
    assert len((await search(client, "remesas", author_es))["edges"]) == 1
    assert (await search(client, "remesas", other))["edges"] == []

    # when a reviewer verifies the tool's translation
    target = {"input": {"itemId": public_id, "language": "es"}}
    assert (await call(client, VERIFY_TRANSLATION, target, reviewer))["errors"] == []

    # then everyone finds it
    found = await search(client, "herramienta")
    assert [(e["matchedLanguage"], e["matchedStatus"]) for e in found["edges"]] == [
        ("es", "VERIFIED")
    ]

    # when a moderator removes it, nobody finds it any more
    assert (await call(client, REMOVE_TRANSLATION, target, people.moderator))["errors"] == []
    assert (await search(client, "herramienta", reviewer))["edges"] == []


async def test_an_edit_of_the_original_keeps_the_translation_findable_as_outdated(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given a resource translated into French
    people = await cast(factory)
    resource_id = await published(client, people, title="Fair recruitment toolkit")
    translator = await factory.member(languages=("fr",))
    await translate(client, translator, resource_id, "fr", title="Recrutement équitable")

    # when its author edits the original's title (a revision) and the edit is approved
    changed = await ok(
        client,
        UPDATE_RESOURCE,
        {"input": {"resourceId": resource_id, "resource": {"title": "Fair recruitment, 2nd"}}},
        people.author,
    )
    await approve(client, people, changed["resource"]["id"])

    # then the French text is still found, marked OUTDATED
    found = await search(client, "recrutement")
    assert [(e["matchedLanguage"], e["matchedStatus"]) for e in found["edges"]] == [
        ("fr", "OUTDATED")
    ]


async def test_the_index_consistency_check_sees_translations(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    # given a resource with a Spanish translation, indexed as it was written (the factory's
    # members are not indexed: only resources are looked at)
    people = await cast(factory)
    resource_id = await published(client, people, title="Fair recruitment toolkit")
    translator = await factory.member(languages=("es",))
    await translate(client, translator, resource_id, "es", title="Guía de contratación")
    async with db.sessions() as session:
        assert [d for d in await index_drift(session) if d.kind == "RESOURCE"] == []

    # when the translation's document is lost behind the app's back
    async with db.sessions.begin() as session:
        await session.execute(delete(SearchDocument).where(SearchDocument.translation == "es"))

    # then the check reports it missing
    async with db.sessions() as session:
        drifts = await index_drift(session)
    resources = [(d.missing, d.stale) for d in drifts if d.kind == "RESOURCE"]
    assert resources == [(1, 0)]
