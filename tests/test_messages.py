"""Error messages in the request's language: every message id of the code is in every shipped
gettext catalogue (and translated in each but English), and a refusal reads in the language
negotiated for the request while its `code` stays the contract."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

from app.catalogues import message_ids
from schema.messages import CATALOGUE_LANGUAGES, LOCALE_DIR
from tests.conftest import gql

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
