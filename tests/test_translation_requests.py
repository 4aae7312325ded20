"""Translation requests: members ask to have an item in a language, one request per item and
language counting who asked; translators list the open ones of items they see, most asked
first; a submitted translation closes the request, and asking after that opens it again."""

from __future__ import annotations

from typing import Any

import httpx

from models.member import Role
from tests.conftest import Factory, gql
from tests.knowledge import call, cast, codes, draft, published
from tests.test_translations import REMOVE_TRANSLATION, translate

REQUEST = """
mutation($input: RequestTranslationInput!) {
  requestTranslation(input: $input) {
    request { language requesterCount requestedByMe item { ... on Resource { id } } }
    errors { field code message }
  }
}
"""
LIST = """
query($language: String, $first: Int, $after: String) {
  translationRequests(language: $language, first: $first, after: $after) {
    totalCount
    edges { cursor node { language requesterCount requestedByMe
      item { __typename ... on Resource { id title } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def ask(client: httpx.AsyncClient, member: Any, item_id: str, language: str) -> Any:
    return await call(client, REQUEST, {"input": {"id": item_id, "language": language}}, member)


async def open_requests(
    client: httpx.AsyncClient, member: Any, language: str | None = None, **page: Any
) -> dict[str, Any]:
    body = await gql(client, LIST, {"language": language, **page}, member=member)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["translationRequests"]
    return result


def listed(result: dict[str, Any]) -> list[tuple[str, str, int, bool]]:
    return [
        (
            e["node"]["item"]["id"],
            e["node"]["language"],
            e["node"]["requesterCount"],
            e["node"]["requestedByMe"],
        )
        for e in result["edges"]
    ]


async def test_requests_count_each_member_once_and_close_when_translated(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given two published resources
    people = await cast(factory)
    wanted = await published(client, people, title="Fair recruitment toolkit")
    other = await published(client, people, title="Remittances guide")
    first, second = await factory.member(name="First"), await factory.member(name="Second")
    translator = await factory.member(name="Traductora", languages=("es",))

    # when two members ask for the first in Spanish (one twice, once as es-MX) and one asks
    # for the second in Spanish and in French
    answer = await ask(client, first, wanted, "es")
    await ask(client, first, wanted, "es")
    again = await ask(client, second, wanted, "es")
    await ask(client, second, other, "es")
    await ask(client, second, other, "fr")

    # then one request per item and language, counting each member once
    assert answer["errors"] == []
    assert answer["request"] == {
        "language": "es",
        "requesterCount": 1,
        "requestedByMe": True,
        "item": {"id": wanted},
    }
    assert again["request"]["requesterCount"] == 2
    # and a Spanish translator lists the Spanish ones, most asked first
    spanish = await open_requests(client, translator, "es-MX")
    assert listed(spanish) == [(wanted, "es", 2, False), (other, "es", 1, False)]
    assert spanish["totalCount"] == 2
    assert listed(await open_requests(client, second, "fr")) == [(other, "fr", 1, True)]
    assert len((await open_requests(client, translator))["edges"]) == 3
    # and pages follow each other
    page = await open_requests(client, translator, "es", first=1)
    rest = await open_requests(
        client, translator, "es", first=1, after=page["pageInfo"]["endCursor"]
    )
    assert [listed(page), listed(rest)] == [
        [(wanted, "es", 2, False)],
        [(other, "es", 1, False)],
    ]
    assert rest["pageInfo"]["hasNextPage"] is False

    # when the translator submits a Spanish translation of the first
    await translate(client, translator, wanted, "es", title="Guía de contratación equitativa")

    # then its request is closed; asking again is refused while the translation is current
    assert listed(await open_requests(client, translator, "es")) == [(other, "es", 1, False)]
    assert codes(await ask(client, first, wanted, "es")) == ["CONFLICT"]

    # when a moderator removes the translation and a member asks again
    target = {"input": {"itemId": wanted, "language": "es"}}
    assert (await call(client, REMOVE_TRANSLATION, target, people.moderator))["errors"] == []
    reopened = await ask(client, second, wanted, "es")

    # then the request is open again, counting from the new asker
    assert reopened["request"]["requesterCount"] == 1
    assert listed(await open_requests(client, translator, "es"))[1] == (wanted, "es", 1, False)


async def test_who_may_ask_and_who_sees_the_requests(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given a draft, a published resource with a tool's Spanish translation (not yet shown)
    people = await cast(factory)
    hidden = await draft(client, people.author, title="Draft toolkit")
    public = await published(client, people, title="Fair recruitment toolkit")
    tool_user = await factory.member(languages=("es",))
    await translate(client, tool_user, public, "es", machine=True, title="Herramienta")
    member = await factory.member()
    reviewer = await factory.member(role=Role.REVIEWER, languages=("es",))

    # when members ask
    anonymous = await ask(client, None, public, "fr")
    unseen = await ask(client, member, hidden, "fr")
    original = await ask(client, member, public, "en-GB")
    malformed = await ask(client, member, public, "not a tag!")
    not_an_item = await ask(client, member, people.member.global_id, "fr")
    machine_only = await ask(client, member, public, "es")
    on_draft = await ask(client, people.author, hidden, "fr")

    # then visitors, items one cannot see, the original's language and bad tags are refused;
    # a translation the asker cannot read yet does not stop the request
    assert codes(anonymous) == ["UNAUTHENTICATED"]
    assert codes(unseen) == ["NOT_FOUND"]
    assert codes(original) == ["INVALID"]
    assert codes(malformed) == ["INVALID"]
    assert codes(not_an_item) == ["NOT_FOUND"]
    assert machine_only["errors"] == []
    assert on_draft["errors"] == []
    # but a reviewer who reads the tool's Spanish is told it is translated
    assert codes(await ask(client, reviewer, public, "es")) == ["CONFLICT"]
    # and the draft's request is seen only by those who see the draft; visitors see none
    # (as many asked for each: the newer first)
    assert [e[0] for e in listed(await open_requests(client, people.author))] == [hidden, public]
    assert [e[0] for e in listed(await open_requests(client, member))] == [public]
    assert (await open_requests(client, None))["edges"] == []
