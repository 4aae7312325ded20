"""Every translatable kind follows the one convention: initiatives, webinars, communities and
calls for practices answer their text in the reader's language with `…Text` saying which, list
their translations, and an edit of the original (a webinar's update, an initiative's approved
revision) marks the changed fields' translations OUTDATED."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models.base import utcnow
from tests.conftest import gql
from tests.discussions import CREATE_COMMUNITY, community
from tests.knowledge import approve, call, cast, ok
from tests.test_initiative_revisions import edit
from tests.test_initiatives import CREATE_CALL, approved_initiative, create
from tests.test_translations import translate
from tests.test_webinars import UPDATE_WEBINAR
from tests.webinars import staff, webinar

NODE = """
query($id: ID!) {
  node(id: $id) {
    ... on Initiative { title results resultsText { language status } }
    ... on Webinar { title descriptionHtml titleText { language status direction } }
    ... on Community { name nameText { language status } }
    ... on CallForPractices { theme themeText { language status } }
    ... on Initiative { textTranslations { nodes { field language status } } }
    ... on Webinar { textTranslations { nodes { field language status } } }
    ... on Community { textTranslations { nodes { field language status } } }
    ... on CallForPractices { textTranslations { nodes { field language status } } }
  }
}
"""


async def read(client: Any, item_id: str, reader: Any) -> dict[str, Any]:
    body = await gql(client, NODE, {"id": item_id}, member=reader)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["node"]
    return found


def statuses(found: dict[str, Any]) -> dict[str, str]:
    return {n["field"]: n["status"] for n in found["textTranslations"]["nodes"]}


async def test_webinars_communities_and_calls_answer_in_the_readers_language(client, factory):
    # given a webinar, a community and a call, each translated into French or Arabic
    people = await cast(factory)
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, description="**Live** session")
    community_id, _ = await community(client, factory)
    deadline = (utcnow() + timedelta(days=30)).isoformat()
    opened = await ok(
        client,
        CREATE_CALL,
        {"input": {"theme": "Skills mobility", "objectives": [18], "deadline": deadline}},
        people.moderator,
    )
    call_id = opened["call"]["id"]
    translator = await factory.member(languages=("fr", "ar"))
    assert (await translate(client, translator, webinar_id, "ar", title="ندوة"))["errors"] == []
    await translate(client, translator, webinar_id, "fr", description="Séance **en direct**")
    await translate(client, translator, community_id, "fr", name="Migration de main-d'œuvre")
    await translate(client, translator, call_id, "fr", theme="Mobilité des compétences")
    reader = await factory.member(languages=("fr",))
    arabic_reader = await factory.member(languages=("ar",))

    # when they are read
    seminar_fr = await read(client, webinar_id, reader)
    seminar_ar = await read(client, webinar_id, arabic_reader)
    group = await read(client, community_id, reader)
    answer = await read(client, call_id, reader)

    # then French where translated, the original marked where not, Arabic right to left
    assert seminar_fr["titleText"] == {"language": "en", "status": "ORIGINAL", "direction": "ltr"}
    assert seminar_fr["descriptionHtml"] == "<p>Séance <strong>en direct</strong></p>\n"
    assert seminar_ar["title"] == "ندوة"
    assert seminar_ar["titleText"] == {"language": "ar", "status": "HUMAN", "direction": "rtl"}
    assert group["name"] == "Migration de main-d'œuvre"
    assert group["nameText"] == {"language": "fr", "status": "HUMAN"}
    assert answer["theme"] == "Mobilité des compétences"
    assert statuses(answer) == {"theme": "HUMAN"}

    # when the organiser changes the webinar's description (not its title)
    await ok(
        client,
        UPDATE_WEBINAR,
        {"input": {"webinarId": webinar_id, "description": "A new text"}},
        organiser,
    )

    # then only the description's translation is OUTDATED, and French readers get the new text
    after = await read(client, webinar_id, reader)
    assert after["descriptionHtml"] == "<p>A new text</p>\n"
    assert {
        (n["field"], n["language"]): n["status"] for n in after["textTranslations"]["nodes"]
    } == {
        ("title", "ar"): "HUMAN",
        ("description", "fr"): "OUTDATED",
    }


async def test_an_approved_revision_of_an_initiative_outdates_the_changed_fields(client, factory):
    # given a published initiative whose title and results are translated into Spanish
    people = await cast(factory)
    initiative_id = await approved_initiative(client, people)
    translator = await factory.member(languages=("es",))
    await translate(client, translator, initiative_id, "es", title="Alianza", results="Resultados")
    reader = await factory.member(languages=("es",))
    assert (await read(client, initiative_id, reader))["title"] == "Alianza"

    # when the author's revision changing the title only is approved
    revision = await edit(client, people.author, initiative_id, "Skills partnership, phase 2")
    assert revision["errors"] == [], revision
    await approve(client, people, revision["initiative"]["id"])

    # then the title's translation is OUTDATED (the reader gets the new English title, marked)
    # and the results' stays in use
    after = await read(client, initiative_id, reader)
    assert after["title"] == "Skills partnership, phase 2"
    assert after["results"] == "Resultados"
    assert after["resultsText"] == {"language": "es", "status": "HUMAN"}
    assert statuses(after) == {"title": "OUTDATED", "results": "HUMAN"}
    refused = await call(
        client,
        "mutation($i: TranslationTargetInput!) { verifyTranslation(input: $i) { errors { code } } }",
        {"i": {"itemId": initiative_id, "language": "es"}},
        people.moderator,
    )
    assert refused["errors"] == [{"code": "NOT_ALLOWED"}]  # the moderator declared no Spanish


async def test_new_items_are_written_in_the_language_their_creators_say(client, factory):
    # given an author, a moderator and a webinar organiser
    people = await cast(factory)
    organiser = await staff(factory)
    deadline = (utcnow() + timedelta(days=30)).isoformat()

    # when each creates an item written in French, Spanish, Arabic and Russian
    initiative = await create(client, people.author, title="Partenariat", language="fr")
    webinar_id = await webinar(client, organiser, title="Seminario", language="es")
    opened = await ok(
        client,
        CREATE_CALL,
        {
            "input": {
                "theme": "تنقل المهارات",
                "objectives": [18],
                "deadline": deadline,
                "language": "ar",
            }
        },
        people.moderator,
    )
    group = await ok(
        client,
        CREATE_COMMUNITY,
        {
            "input": {
                "slug": "trudovaya-migratsiya",
                "name": "Трудовая миграция",
                "visibility": "PUBLIC",
                "language": "ru",
            }
        },
        people.moderator,
    )
    malformed = await create(client, people.author, language="not a tag!")

    # then each reads as an original in that language (Arabic right to left)
    author_view = await read(client, initiative["initiative"]["id"], people.author)
    assert author_view["resultsText"] == {"language": "fr", "status": "ORIGINAL"}
    seminar = await read(client, webinar_id, None)
    assert seminar["titleText"] == {"language": "es", "status": "ORIGINAL", "direction": "ltr"}
    assert (await read(client, opened["call"]["id"], None))["themeText"] == {
        "language": "ar",
        "status": "ORIGINAL",
    }
    assert (await read(client, group["community"]["id"], None))["nameText"] == {
        "language": "ru",
        "status": "ORIGINAL",
    }
    # and a malformed tag is refused, a translation into the original's language too
    assert [e["field"] for e in malformed["errors"]] == ["language"]
    translator = await factory.member(languages=("es",))
    same = await translate(client, translator, webinar_id, "es", title="Otro")
    assert [e["code"] for e in same["errors"]] == ["INVALID"]


async def test_a_right_to_left_body_is_rendered_in_a_block_that_says_so(client, factory):
    # given a webinar whose description is translated into Arabic
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, description="**Live** session")
    translator = await factory.member(languages=("ar",))
    await translate(client, translator, webinar_id, "ar", description="جلسة **مباشرة**")

    # when an Arabic and a French reader read it
    arabic = await read(client, webinar_id, await factory.member(languages=("ar",)))
    french = await read(client, webinar_id, await factory.member(languages=("fr",)))

    # then the Arabic HTML says its direction and language; the English original does not
    assert arabic["descriptionHtml"] == (
        '<div dir="rtl" lang="ar">\n<p>جلسة <strong>مباشرة</strong></p>\n</div>\n'
    )
    assert french["descriptionHtml"] == "<p><strong>Live</strong> session</p>\n"
