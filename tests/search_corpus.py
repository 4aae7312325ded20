"""A fixed corpus for the search tests, built through the API (so the index is kept by the same
writes as in production): threads, replies and member profiles on GCM topics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from models.member import Role
from tests.conftest import Factory, TestMember, gql
from tests.discussions import CREATE_COMMUNITY, CREATE_POST, CREATE_THREAD, join, ok

UPDATE_PROFILE = """
mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { errors { field code } } }
"""

# key: (title, body, tags, objectives)
THREADS: dict[str, tuple[str, str, list[str], list[int]]] = {
    "fees": (
        "Fair recruitment fees for migrant workers",
        "Employers, not workers, should pay recruitment fees. The Employer Pays Principle ends "
        "debt bondage.",
        ["recruitment"],
        [6],
    ),
    "remittances": (
        "Remittance costs in West Africa",
        "Sending money home through mobile wallets cuts remittance transfer costs below three "
        "percent.",
        ["remittances"],
        [20],
    ),
    "rescue": (
        "Missing migrants and search and rescue at sea",
        "Coordinating search and rescue in the Mediterranean saves lives; identifying the dead "
        "informs families.",
        [],
        [8],
    ),
    "detention": (
        "Alternatives to immigration detention for children",
        "Community-based case management replaces detention of children and families.",
        [],
        [13],
    ),
    "doctors": (
        "Skills recognition for refugee doctors",
        "Recognition of foreign medical qualifications lets refugee doctors practise in hospitals.",
        ["skills"],
        [18],
    ),
    "climate": (
        "Climate displacement in Pacific islands",
        "Sea level rise and cyclones drive planned relocation of island communities.",
        ["climate"],
        [2],
    ),
    "census": (
        "Disaggregated migration data and the census",
        "National statistical offices add migration questions to the census and labour force "
        "surveys.",
        ["data"],
        [1],
    ),
    "consular": (
        "Consular protection for nationals abroad",
        "Embassies assist citizens in distress: consular cards, hotlines and legal aid.",
        [],
        [14],
    ),
    "trafficking": (
        "Counter-trafficking hotlines",
        "Victims of human trafficking reach help through multilingual hotlines and shelters.",
        [],
        [10],
    ),
    "reintegration": (
        "Return and sustainable reintegration",
        "Reintegration grants and psychosocial support help returnees rebuild livelihoods.",
        [],
        [21],
    ),
    "borders": (
        "Border management with human rights",
        "Integrated border management trains guards on human rights and the screening of "
        "vulnerable people.",
        [],
        [11],
    ),
    "pensions": (
        "Portability of social security benefits",
        "Bilateral agreements let migrant workers carry pensions and social security across "
        "borders.",
        [],
        [22],
    ),
    "xenophobia": (
        "Hate speech and xenophobia online",
        "Media literacy campaigns counter xenophobic hate speech against migrants.",
        [],
        [17],
    ),
    "identity": (
        "Legal identity documents for stateless migrants",
        "Birth registration and identity documents prevent statelessness.",
        [],
        [4],
    ),
    "pathways": (
        "Regular pathways for labour mobility",
        "Seasonal worker schemes and skills partnerships open regular migration pathways.",
        ["skills"],
        [5],
    ),
    "diaspora": (
        "Diaspora investment bonds",
        "Diaspora bonds channel savings into development projects back home.",
        [],
        [19],
    ),
}
# key: (thread key, body)
POSTS: dict[str, tuple[str, str]] = {
    "nepal": ("fees", "Recruitment agencies in Nepal still charge workers high fees."),
    "senegal": (
        "remittances",
        "Mobile money pilots in Senegal lowered transfer costs for families.",
    ),
    "project": (
        "rescue",
        "The Missing Migrants Project records deaths on the central Mediterranean route.",
    ),
}
# key: (name, bio, country, languages, expertise)
MEMBERS: dict[str, tuple[str, str, str, list[str], list[int]]] = {
    "amara": (
        "Amara Diallo",
        "Economist specialising in remittances and financial inclusion in Senegal.",
        "SN",
        ["fr"],
        [20],
    ),
    "lucia": (
        "Lucía Fernández",
        "Labour lawyer working on fair recruitment in Latin America.",
        "MX",
        ["es"],
        [6],
    ),
    "olga": (
        "Olga Petrova",
        "Statistician building migration data systems.",
        "RU",
        ["ru"],
        [1],
    ),
}


@dataclass
class Corpus:
    moderator: TestMember
    author: TestMember
    community_id: str
    threads: dict[str, str] = field(default_factory=dict)
    posts: dict[str, str] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)

    def id_of(self, key: str) -> str:
        return {**self.threads, **self.posts, **self.members}[key]


async def create_community(
    client: httpx.AsyncClient,
    moderator: TestMember,
    slug: str,
    *,
    private: bool = False,
    languages: tuple[str, ...] = ("en",),
) -> str:
    payload = await ok(
        client,
        CREATE_COMMUNITY,
        {
            "input": {
                "slug": slug,
                "name": slug.replace("-", " ").title(),
                "visibility": "PRIVATE" if private else "PUBLIC",
                "objectives": [],
                "languages": list(languages),
            }
        },
        moderator,
    )
    return str(payload["community"]["id"])


async def create_thread(
    client: httpx.AsyncClient,
    community_id: str,
    author: TestMember,
    title: str,
    body: str,
    tags: list[str] | None = None,
    objectives: list[int] | None = None,
) -> str:
    payload = await ok(
        client,
        CREATE_THREAD,
        {
            "input": {
                "communityId": community_id,
                "title": title,
                "body": body,
                "tags": tags or [],
                "objectives": objectives or [],
            }
        },
        author,
    )
    return str(payload["thread"]["id"])


async def create_post(
    client: httpx.AsyncClient, thread_id: str, author: TestMember, body: str
) -> str:
    payload = await ok(
        client, CREATE_POST, {"input": {"threadId": thread_id, "body": body}}, author
    )
    return str(payload["post"]["id"])


async def profile(client: httpx.AsyncClient, member: TestMember, **changes: Any) -> None:
    await ok(client, UPDATE_PROFILE, {"input": changes}, member)


async def build_corpus(client: httpx.AsyncClient, factory: Factory) -> Corpus:
    moderator = await factory.member(role=Role.MODERATOR, name="Mod Erator")
    author = await factory.member(name="Thread Author")
    community_id = await create_community(client, moderator, "gcm-practice")
    await join(client, community_id, author)
    corpus = Corpus(moderator, author, community_id)
    for key, (title, body, tags, objectives) in THREADS.items():
        corpus.threads[key] = await create_thread(
            client, community_id, author, title, body, tags, objectives
        )
    for key, (thread_key, body) in POSTS.items():
        corpus.posts[key] = await create_post(client, corpus.threads[thread_key], author, body)
    for key, (name, bio, country, languages, expertise) in MEMBERS.items():
        member = await factory.member(is_expert=True)
        await profile(
            client,
            member,
            name=name,
            bio=bio,
            country=country,
            languages=languages,
            expertise=expertise,
        )
        corpus.members[key] = member.global_id
    return corpus


SEARCH = """
query($query: String!, $filter: SearchFilter, $first: Int, $after: String) {
  search(query: $query, filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      score snippet
      node {
        __typename
        ... on Thread { id title objectives { number } }
        ... on Post { id body thread { objectives { number } } }
        ... on Member { id name expertise { number } country { code } languages }
      }
    }
    facets {
      kinds { kind count } objectives { number count } principles { letter count }
      countries { code count } regions { region count } languages { tag count }
    }
  }
}
"""


async def run_search(
    client: httpx.AsyncClient,
    query: str,
    member: TestMember | None = None,
    **variables: Any,
) -> dict[str, Any]:
    body = await gql(client, SEARCH, {"query": query, **variables}, member=member)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["search"]
    return result


def ids(result: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in result["edges"]]
