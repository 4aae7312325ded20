"""Translations of curated content: who writes, verifies and removes them, what readers get in
their languages (through a field, `node` and a list), OUTDATED after an edit of the original,
and translations of drafts following the draft's visibility."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from models.member import Role
from tests.conftest import Factory, gql

if TYPE_CHECKING:
    from tests.conftest import TestMember as Person

from tests.knowledge import UPDATE_RESOURCE, approve, call, cast, codes, draft, ok, published
from tests.live import connect

SUBMIT_TRANSLATION = """
mutation($input: SubmitTranslationInput!) {
  submitTranslation(input: $input) { itemId language errors { field code message } }
}
"""
VERIFY_TRANSLATION = """
mutation($input: TranslationTargetInput!) {
  verifyTranslation(input: $input) { itemId language errors { field code message } }
}
"""
REMOVE_TRANSLATION = """
mutation($input: TranslationTargetInput!) {
  removeTranslation(input: $input) { itemId language errors { field code message } }
}
"""
NODE = """
query($id: ID!) {
  node(id: $id) {
    ... on Resource {
      title summary bodyHtml
      titleText { text language status direction }
      summaryText { text language status }
      textTranslations(first: 10) { nodes { field language status text translator { name } } }
    }
  }
}
"""
LIST = "{ resources(first: 10) { nodes { id title titleText { language status } } } }"
FIELD = "query($id: ID!) { resource(id: $id) { title titleText(language: $lang) { text language status } } }"


async def translate(
    client: httpx.AsyncClient,
    member: Person,
    item_id: str,
    language: str,
    machine: bool = False,
    **texts: str,
) -> dict[str, Any]:
    fields = [{"field": name, "text": text} for name, text in texts.items()]
    variables = {
        "input": {"itemId": item_id, "language": language, "texts": fields, "machine": machine}
    }
    return await call(client, SUBMIT_TRANSLATION, variables, member)


async def node(
    client: httpx.AsyncClient, item_id: str, member: Person | None, **headers: str
) -> dict[str, Any] | None:
    body = await gql(client, NODE, {"id": item_id}, member=member, headers=headers)
    assert "errors" not in body, body
    result: dict[str, Any] | None = body["data"]["node"]
    return result


async def test_a_french_speaking_member_reads_french_where_translated_and_marked_english_elsewhere(
    client, factory: Factory
):
    # given a published resource translated into French (its title only), and another not
    people = await cast(factory)
    translated = await published(client, people, title="Fair recruitment toolkit")
    untranslated = await published(client, people, title="Remittances guide")
    translator = await factory.member(name="Traductrice", languages=("fr",))
    payload = await translate(
        client, translator, translated, "fr", title="Boîte à outils du recrutement équitable"
    )
    assert payload == {"itemId": translated, "language": "fr", "errors": []}
    reader = await factory.member(name="Lectrice", languages=("fr",))

    # when the French-speaking member reads both through `node`
    french = await node(client, translated, reader)
    english = await node(client, untranslated, reader)

    # then the title is French, marked HUMAN; the untranslated summary and the other resource
    # stay English, marked ORIGINAL
    assert french is not None
    assert english is not None
    assert french["title"] == "Boîte à outils du recrutement équitable"
    assert french["titleText"] == {
        "text": "Boîte à outils du recrutement équitable",
        "language": "fr",
        "status": "HUMAN",
        "direction": "ltr",
    }
    assert french["summaryText"] == {
        "text": "How to recruit without fees.",
        "language": "en",
        "status": "ORIGINAL",
    }
    assert french["textTranslations"]["nodes"] == [
        {
            "field": "title",
            "language": "fr",
            "status": "HUMAN",
            "text": "Boîte à outils du recrutement équitable",
            "translator": {"name": "Traductrice"},
        }
    ]
    assert english["titleText"] == {
        "text": "Remittances guide",
        "language": "en",
        "status": "ORIGINAL",
        "direction": "ltr",
    }
    # and the same through a list
    body = await gql(client, LIST, member=reader)
    titles = {n["id"]: (n["title"], n["titleText"]) for n in body["data"]["resources"]["nodes"]}
    assert titles[translated] == (
        "Boîte à outils du recrutement équitable",
        {"language": "fr", "status": "HUMAN"},
    )
    assert titles[untranslated] == ("Remittances guide", {"language": "en", "status": "ORIGINAL"})
    # and through a field with an explicit language, whoever asks
    query = FIELD.replace("query($id: ID!)", "query($id: ID!, $lang: String)")
    body = await gql(client, query, {"id": translated, "lang": "fr-CA"})
    assert body["data"]["resource"] == {
        "title": "Fair recruitment toolkit",
        "titleText": {
            "text": "Boîte à outils du recrutement équitable",
            "language": "fr",
            "status": "HUMAN",
        },
    }


async def test_accept_language_decides_for_anonymous_readers_and_over_declared_languages(
    client, factory: Factory
):
    # given a resource translated into Spanish and French
    people = await cast(factory)
    resource_id = await published(client, people)
    await translate(client, await factory.member(languages=("es",)), resource_id, "es", title="Kit")
    await translate(
        client, await factory.member(languages=("fr",)), resource_id, "fr", title="Boîte"
    )
    reader = await factory.member(languages=("fr",))

    # when readers send Accept-Language
    anonymous_es = await node(client, resource_id, None, **{"Accept-Language": "es-MX, fr;q=0.5"})
    member_es = await node(client, resource_id, reader, **{"Accept-Language": "es;q=0.9, *;q=0.1"})
    english_first = await node(client, resource_id, reader, **{"Accept-Language": "en, fr"})
    nothing = await node(client, resource_id, None)

    # then the header's order decides, over the declared languages; without it the original
    assert anonymous_es is not None
    assert member_es is not None
    assert english_first is not None
    assert nothing is not None
    assert (anonymous_es["title"], anonymous_es["titleText"]["language"]) == ("Kit", "es")
    assert member_es["title"] == "Kit"
    assert english_first["titleText"]["status"] == "ORIGINAL"
    assert nothing["titleText"]["language"] == "en"


async def test_an_edit_of_the_original_marks_its_translations_outdated(client, factory: Factory):
    # given a draft with a French title and summary
    people = await cast(factory)
    resource_id = await draft(client, people.author)
    translator = await factory.member(languages=("fr",))
    payload = await translate(
        client, translator, resource_id, "fr", title="Titre", summary="Résumé"
    )
    # a draft is not found by others (in the translator's declared French)
    assert payload["errors"] == [
        {"field": "itemId", "code": "NOT_FOUND", "message": "Cet élément n'existe pas."}
    ]
    await approve(client, people, resource_id)
    await translate(client, translator, resource_id, "fr", title="Titre", summary="Résumé")
    reader = await factory.member(languages=("fr",))
    before = await node(client, resource_id, reader)
    assert before is not None
    assert before["title"] == "Titre"

    # when the author edits the title (a revision) and it is approved
    changed = await ok(
        client,
        UPDATE_RESOURCE,
        {"input": {"resourceId": resource_id, "resource": {"title": "Fair recruitment, 2nd ed."}}},
        people.author,
    )
    revision_id = changed["resource"]["id"]
    await approve(client, people, revision_id)

    # then the French title is OUTDATED and the reader gets the new English title, marked;
    # the summary, unchanged, keeps its French translation
    after = await node(client, resource_id, reader)
    assert after is not None
    assert after["titleText"] == {
        "text": "Fair recruitment, 2nd ed.",
        "language": "en",
        "status": "ORIGINAL",
        "direction": "ltr",
    }
    statuses = {n["field"]: n["status"] for n in after["textTranslations"]["nodes"]}
    assert statuses == {"summary": "HUMAN", "title": "OUTDATED"}
    assert after["summaryText"]["language"] == "fr"
    # an explicit request still gets the outdated text, marked
    query = FIELD.replace("query($id: ID!)", "query($id: ID!, $lang: String)")
    body = await gql(client, query, {"id": resource_id, "lang": "fr"})
    assert body["data"]["resource"]["titleText"]["status"] == "OUTDATED"


async def test_translations_follow_the_items_visibility_and_machine_ones_wait_for_verification(
    client, factory: Factory
):
    # given a French-speaking author's draft, translated by the author
    people = await cast(factory)
    author = await factory.member(name="Autrice", languages=("fr",))
    draft_id = await draft(client, author)
    payload = await translate(client, author, draft_id, "fr", title="Brouillon")
    assert payload["errors"] == []
    reviewer = await factory.member(role=Role.REVIEWER, languages=("fr",))
    outsider = await factory.member(languages=("fr",))

    # then the draft and its translations are the author's (and staff's) only
    assert await node(client, draft_id, None) is None
    assert await node(client, draft_id, outsider) is None
    mine = await node(client, draft_id, author)
    assert mine is not None
    assert mine["title"] == "Brouillon"
    staff = await node(client, draft_id, people.moderator)
    assert staff is not None
    assert [n["language"] for n in staff["textTranslations"]["nodes"]] == ["fr"]

    # given a published resource with a MACHINE translation
    resource_id = await published(client, people)
    machine = await translate(client, outsider, resource_id, "fr", machine=True, title="Machine")
    assert machine["errors"] == []

    async def seen_by(member: Person | None) -> list[str]:
        found = await node(client, resource_id, member, **{"Accept-Language": "fr"})
        assert found is not None
        return [n["status"] for n in found["textTranslations"]["nodes"]]

    # then the public and other members do not see it until a reviewer who speaks French
    # verifies it; its translator, the reviewer and staff do
    assert await seen_by(None) == []
    assert await seen_by(people.member) == []
    assert await seen_by(outsider) == ["MACHINE"]
    assert await seen_by(reviewer) == ["MACHINE"]
    assert await seen_by(people.moderator) == ["MACHINE"]
    target = {"input": {"itemId": resource_id, "language": "fr"}}
    refused = await call(client, VERIFY_TRANSLATION, target, people.un_reviewer)  # no French
    assert codes(refused) == ["NOT_ALLOWED"]
    verified = await call(client, VERIFY_TRANSLATION, target, reviewer)
    assert verified["errors"] == []
    assert await seen_by(None) == ["VERIFIED"]
    public = await node(client, resource_id, None, **{"Accept-Language": "fr"})
    assert public is not None
    assert public["titleText"]["status"] == "VERIFIED"


async def test_who_may_translate_verify_and_remove(client, factory: Factory):
    # given a published resource
    people = await cast(factory)
    resource_id = await published(client, people)
    french = await factory.member(languages=("fr",))
    spanish_reviewer = await factory.member(role=Role.REVIEWER, languages=("es",))

    # when members translate
    undeclared = await translate(client, people.member, resource_id, "fr", title="Titre")
    malformed = await translate(client, french, resource_id, "not a tag!", title="Titre")
    original = await translate(
        client, await factory.member(languages=("en",)), resource_id, "en", title="T"
    )
    unknown_field = await translate(client, french, resource_id, "fr", publisher="Éditeur")
    anonymous = await call(
        client,
        SUBMIT_TRANSLATION,
        {"input": {"itemId": resource_id, "language": "fr", "texts": []}},
        None,
    )
    scripted = await translate(
        client, french, resource_id, "fr", body="<script>x()</script>**Gras**"
    )

    # then only a declared language, another than the original's, is taken
    assert codes(undeclared) == ["NOT_ALLOWED"]
    assert codes(malformed) == ["INVALID"]
    assert codes(original) == ["INVALID"]
    assert "INVALID" in codes(unknown_field)
    assert codes(anonymous) == ["UNAUTHENTICATED"]
    assert scripted["errors"] == []
    # and a translated body is sanitized like the original
    found = await node(client, resource_id, french)
    assert found is not None
    assert "<script>" not in found["bodyHtml"]
    assert "<strong>Gras</strong>" in found["bodyHtml"]

    # when the translator verifies their own, a reviewer without French verifies, a member
    # removes, then a moderator removes
    target = {"input": {"itemId": resource_id, "language": "fr"}}
    own = await call(client, VERIFY_TRANSLATION, target, french)
    foreign = await call(client, VERIFY_TRANSLATION, target, spanish_reviewer)
    by_member = await call(client, REMOVE_TRANSLATION, target, french)
    removed = await call(client, REMOVE_TRANSLATION, target, people.moderator)
    again = await call(client, REMOVE_TRANSLATION, target, people.moderator)

    # then only the moderator's removal is done, and readers get the original again
    assert codes(own) == ["NOT_ALLOWED"]
    assert codes(foreign) == ["NOT_ALLOWED"]
    assert codes(by_member) == ["NOT_ALLOWED"]
    assert removed == {"itemId": resource_id, "language": "fr", "errors": []}
    assert codes(again) == ["NOT_FOUND"]
    after = await node(client, resource_id, french)
    assert after is not None
    assert after["textTranslations"]["nodes"] == []
    assert after["titleText"]["status"] == "ORIGINAL"


async def test_a_websocket_states_its_language_in_connection_init(app, client, factory: Factory):
    # given a resource translated into Spanish
    people = await cast(factory)
    resource_id = await published(client, people)
    await translate(client, await factory.member(languages=("es",)), resource_id, "es", title="Kit")
    query = "query($id: ID!) { resource(id: $id) { title titleText { language status } } }"

    # when sockets read it with `language` in connection_init, and without
    async with connect(app, language="es") as spanish:
        await spanish.subscribe(query, {"id": resource_id})
        [in_spanish] = await spanish.next_payloads(1)
    async with connect(app, language=["fr", "es"]) as listed:
        await listed.subscribe(query, {"id": resource_id})
        [from_list] = await listed.next_payloads(1)
    async with connect(app) as plain:
        await plain.subscribe(query, {"id": resource_id})
        [original] = await plain.next_payloads(1)

    # then the socket's language decides, as Accept-Language does over HTTP
    assert in_spanish["resource"] == {
        "title": "Kit",
        "titleText": {"language": "es", "status": "HUMAN"},
    }
    assert from_list["resource"]["title"] == "Kit"
    assert original["resource"]["titleText"] == {"language": "en", "status": "ORIGINAL"}
