"""A fixed corpus of resources, initiatives and webinars for the search tests, written through
the API (drafts, review decisions, webinar scheduling), so the index is kept by the same writes
as in production."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import Factory, TestMember, gql
from tests.knowledge import (
    ASSIGN,
    CREATE_RESOURCE,
    DECIDE,
    SUBMIT,
    Cast,
    cast,
    ok,
    resource_input,
)
from tests.webinars import CREATE_WEBINAR, in_hours

CREATE_INITIATIVE = """
mutation($input: CreateInitiativeInput!) {
  createInitiative(input: $input) { initiative { id state } errors { field code message } }
}
"""

# key: (title, summary, body, objectives, principles, countries, language)
RESOURCES: dict[str, tuple[str, str, str, list[int], list[str], list[str], str]] = {
    "fees": (
        "Fair recruitment fees toolkit",
        "How employers pay recruitment fees instead of migrant workers.",
        "Checklists for labour inspectors and recruitment agencies.",
        [6],
        ["e"],
        ["KE"],
        "en",
    ),
    "remittances": (
        "Remittance transfer cost calculator",
        "Compare the cost of sending money home.",
        "Mobile wallets, banks and money transfer operators compared by corridor.",
        [20],
        ["c"],
        ["SN"],
        "en",
    ),
    "rescue": (
        "Guidance on search and rescue at sea",
        "Coordinating rescue of migrants in distress.",
        "Duties of coastal states and shipmasters.",
        [8],
        ["b", "e"],
        ["IT", "GR"],
        "en",
    ),
    "relocation": (
        "Planned relocation in the Pacific",
        "Climate displacement of island communities.",
        "Sea level rise and cyclones: community consultations before relocation.",
        [2],
        ["d"],
        ["FJ"],
        "en",
    ),
    "pensions": (
        "Portability of pensions and social security",
        "Bilateral agreements that keep benefits when workers move.",
        "Totalisation of contribution periods.",
        [22],
        ["a", "e"],
        ["PH"],
        "en",
    ),
    "detencion": (
        "Alternativas a la detención de niños migrantes",
        "Gestión de casos en la comunidad para familias.",
        "Los niños no deben ser detenidos por su situación migratoria.",
        [13],
        ["f", "i"],
        ["MX"],
        "es",
    ),
    # Noise: the words of other queries in the body only.
    "statistics": (
        "Labour migration statistics yearbook",
        "Figures on migrant workers by sector.",
        "Chapters on recruitment fees, remittance costs, pensions and rescue at sea.",
        [1],
        ["j"],
        ["DE"],
        "en",
    ),
}

# key: (title, summary, results, objectives, principles, countries)
INITIATIVES: dict[str, tuple[str, str, str, list[int], list[str], list[str]]] = {
    "nurses": (
        "Skills partnership for nurses",
        "Training nurses before departure to Germany.",
        "1,200 nurses placed in hospitals.",
        [18],
        ["d"],
        ["PH", "DE"],
    ),
    "hotline": (
        "Anti-trafficking hotline for domestic workers",
        "A multilingual hotline answering day and night.",
        "3,000 calls answered; 140 victims referred.",
        [10],
        ["g", "e"],
        ["LB"],
    ),
    "returnees": (
        "Community reintegration of returnees",
        "Small business grants for returning migrants.",
        "800 returnees started businesses.",
        [21],
        ["h"],
        ["GH"],
    ),
}

# key: (title, description, objectives, languages)
WEBINARS: dict[str, tuple[str, str, list[int], list[str]]] = {
    "diaspora": (
        "Diaspora bonds for development",
        "How diaspora bonds finance infrastructure in countries of origin.",
        [19],
        ["en"],
    ),
    "census": (
        "Counting migrants in the census",
        "Questions on country of birth and citizenship in census rounds.",
        [1],
        ["fr"],
    ),
}

SEARCH = """
query($query: String!, $filter: SearchFilter, $first: Int, $after: String) {
  search(query: $query, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      score snippet isStale isSuperseded
      node {
        __typename
        ... on Resource {
          id title state language principles objectives { number } countries { code }
          otherLanguages isStale isSuperseded
        }
        ... on Initiative { id title state principles objectives { number } countries { code } }
        ... on Webinar { id title objectives { number } languages interpretationLanguages }
        ... on Thread { id }
        ... on Post { id }
        ... on Member { id }
      }
    }
    facets {
      kinds { kind count } objectives { number count } principles { letter count }
      countries { code count } regions { region count } languages { tag count }
    }
  }
}
"""


@dataclass
class KnowledgeCorpus:
    people: Cast
    resources: dict[str, str] = field(default_factory=dict)
    initiatives: dict[str, str] = field(default_factory=dict)
    webinars: dict[str, str] = field(default_factory=dict)

    def id_of(self, key: str) -> str:
        return {**self.resources, **self.initiatives, **self.webinars}[key]


async def run_search(
    client: httpx.AsyncClient, query: str, member: TestMember | None = None, **variables: Any
) -> dict[str, Any]:
    body = await gql(client, SEARCH, {"query": query, **variables}, member=member)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["search"]
    return result


def ids(result: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in result["edges"]]


async def decide(
    client: httpx.AsyncClient, moderator: TestMember, item_id: str, decision: str = "APPROVE"
) -> dict[str, Any]:
    variables = {"id": item_id, "decision": decision, "reason": "Decided for the test."}
    return dict((await ok(client, DECIDE, variables, moderator))["item"])


async def resource_draft(
    client: httpx.AsyncClient,
    author: TestMember,
    title: str,
    summary: str = "",
    body: str = "",
    objectives: list[int] | None = None,
    principles: list[str] | None = None,
    countries: list[str] | None = None,
    language: str = "en",
) -> str:
    values = resource_input(
        title,
        summary=summary,
        body=body,
        objectives=objectives or [6],
        principles=principles or [],
        countries=countries or ["KE"],
        language=language,
        otherLanguages=[],
        publisher="",
    )
    payload = await ok(client, CREATE_RESOURCE, {"input": {"resource": values}}, author)
    return str(payload["resource"]["id"])


async def publish(client: httpx.AsyncClient, people: Cast, item_id: str) -> None:
    """Submitted by its author, approved by a moderator deciding alone."""
    await ok(client, SUBMIT, {"id": item_id}, people.author)
    assert (await decide(client, people.moderator, item_id))["state"] == "APPROVED"


async def assign(client: httpx.AsyncClient, people: Cast, item_id: str) -> None:
    variables = {"id": item_id, "reviewer": people.un_reviewer.global_id}
    await ok(client, ASSIGN, variables, people.moderator)


async def build_knowledge_corpus(client: httpx.AsyncClient, factory: Factory) -> KnowledgeCorpus:
    corpus = KnowledgeCorpus(people=await cast(factory))
    people = corpus.people
    for key, (
        title,
        summary,
        body,
        objectives,
        principles,
        countries,
        language,
    ) in RESOURCES.items():
        resource_id = await resource_draft(
            client, people.author, title, summary, body, objectives, principles, countries, language
        )
        await publish(client, people, resource_id)
        corpus.resources[key] = resource_id
    for key, (title, summary, results, objectives, principles, countries) in INITIATIVES.items():
        values = {
            "title": title,
            "status": "ONGOING",
            "summary": summary,
            "results": results,
            "replicability": "",
            "objectives": objectives,
            "principles": principles,
            "countries": countries,
        }
        payload = await ok(
            client, CREATE_INITIATIVE, {"input": {"initiative": values}}, people.author
        )
        initiative_id = str(payload["initiative"]["id"])
        await publish(client, people, initiative_id)
        corpus.initiatives[key] = initiative_id
    for key, (title, description, objectives, languages) in WEBINARS.items():
        values = {
            "title": title,
            "description": description,
            "startsAt": in_hours(48),
            "endsAt": in_hours(49.5),
            "capacity": 100,
            "visibility": "PUBLIC",
            "objectives": objectives,
            "languages": languages,
        }
        payload = await ok(client, CREATE_WEBINAR, {"input": values}, people.moderator)
        corpus.webinars[key] = str(payload["webinar"]["id"])
    return corpus
