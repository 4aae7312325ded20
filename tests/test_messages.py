"""Error messages in the request's language: every message id of the code is in every shipped
gettext catalogue (and translated in each but English), and a refusal reads in the language
negotiated for the request while its `code` stays the contract."""

from __future__ import annotations

import re
from pathlib import Path
from string import Formatter

from babel.messages.pofile import read_po

from app.catalogues import computed_messages, message_ids
from schema.messages import CATALOGUE_LANGUAGES, LOCALE_DIR
from tests.conftest import gql
from tests.knowledge import CREATE_RESOURCE, resource_input

ROOT = Path(__file__).resolve().parents[1]
SET_ROLE = """
mutation($id: ID!) {
  setMemberRole(input: {memberId: $id, role: ADMIN}) { errors { field code message } }
}
"""


def shipped(language: str) -> dict[str, str]:
    path = ROOT / "schema" / LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        return {str(m.id): str(m.string) for m in read_po(file, locale=language) if m.id}


def test_every_message_id_is_in_every_shipped_catalogue():
    # given the constant messages the code can answer
    ids = set(message_ids())
    assert "Sign in to do this." in ids
    assert "No such join request." in ids  # not_found(field, message)
    assert "Hello %(name)s," in ids  # the email templates' texts
    assert "Published on a topic you follow: “%(title)s”" in ids
    assert len(ids) > 100
    for language in CATALOGUE_LANGUAGES:
        # then each catalogue has every one (`hub messages-update` adds new ones) ...
        catalogue = shipped(language)
        assert sorted(ids - set(catalogue)) == [], language
        assert sorted(set(catalogue) - ids) == [], language  # and none the code lost
        # ... translated in every language but the source's
        if language != "en":
            assert [i for i in ids if not catalogue[i]] == [], language


async def test_a_refusal_reads_in_the_negotiated_language_with_the_same_code(client, factory):
    # given a member without the right to set roles
    member = await factory.member(languages=("es",))
    target = await factory.member()

    async def refusal(headers: dict[str, str], who=member) -> dict[str, str]:
        body = await gql(client, SET_ROLE, {"id": target.global_id}, member=who, headers=headers)
        assert "errors" not in body, body
        [error] = body["data"]["setMemberRole"]["errors"]
        return error

    # when it asks in French, in English, and with no header (its declared Spanish decides)
    french = await refusal({"Accept-Language": "fr-FR,fr;q=0.9"})
    english = await refusal({"Accept-Language": "en"})
    declared = await refusal({})
    unknown = await refusal({"Accept-Language": "ru"})

    # then the message follows the negotiation, and the code never changes
    assert french["message"] == "Seuls les administrateurs attribuent les rôles."
    assert english["message"] == "Only admins set roles."
    assert declared["message"] == "Solo los administradores asignan roles."
    assert unknown["message"] == "Only admins set roles."  # no Russian catalogue yet
    assert {e["code"] for e in (french, english, declared, unknown)} == {"NOT_ALLOWED"}


def test_no_message_is_computed_where_it_is_written():
    # an f-string or a concatenation cannot be a catalogue's id: it would stay in English
    assert computed_messages() == []


def placeholders(message: str) -> set[str]:
    """`{name}` (UserError messages, str.format) and `%(name)s` (templates, gettext)."""
    if "%(" in message:
        return set(re.findall(r"%\((\w+)\)s", message))
    return {name for _, name, _, _ in Formatter().parse(message) if name}


def test_every_translation_keeps_the_place_holders_of_its_message():
    # given messages with values (`{limit}`), written once whatever the values
    ids = set(message_ids())
    valued = {i for i in ids if placeholders(i)}
    assert "Must be at most {max_length} characters." in valued
    assert "%(who)s replied in “%(title)s”" in valued
    assert len(valued) > 30
    # then each translation names exactly the values its message names
    for language in CATALOGUE_LANGUAGES:
        catalogue = shipped(language)
        broken = [
            i for i in valued if catalogue[i] and placeholders(catalogue[i]) != placeholders(i)
        ]
        assert broken == [], language


async def test_a_message_with_values_reads_in_the_negotiated_language(client, factory):
    # given a member who drafts a resource whose title is one character too long

    member = await factory.member()
    too_long = {"input": {"resource": resource_input("x" * 301)}}

    # when it is refused in French, in Spanish and in English
    answers = {}
    for language in ("fr", "es", "en"):
        headers = {"Accept-Language": language}
        body = await gql(client, CREATE_RESOURCE, too_long, member=member, headers=headers)
        assert "errors" not in body, body
        [error] = next(iter(body["data"].values()))["errors"]
        answers[language] = (error["message"], error["code"])

    # then the message names the limit in each language, and the code stays
    assert answers == {
        "fr": ("Au plus 300 caractères.", "TOO_LONG"),
        "es": ("Debe tener como máximo 300 caracteres.", "TOO_LONG"),
        "en": ("Must be at most 300 characters.", "TOO_LONG"),
    }


def test_messages_of_sub_packages_are_extracted_too(tmp_path):
    # resolvers/policy/ and resolvers/compiled/ are packages: their messages need catalogues too
    package = tmp_path / "resolvers" / "compiled"
    package.mkdir(parents=True)
    (tmp_path / "schema").mkdir()
    (tmp_path / "app" / "templates").mkdir(parents=True)
    (package / "pages.py").write_text(
        'def f(problems, n):\n    problems.add("page", "No such page.")\n'
        '    problems.add("page", f"Page {n} is gone.")\n',
        "utf-8",
    )
    assert message_ids(tmp_path) == {"No such page.": [("resolvers/compiled/pages.py", 2)]}
    assert computed_messages(tmp_path) == ["resolvers/compiled/pages.py:3: f'Page {n} is gone.'"]
