"""Search through the API on a fixed corpus: relevance, query syntax, facets, index upkeep."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from tests.conftest import Factory, StatementCounter, gql
from tests.discussions import ok
from tests.search_corpus import (
    Corpus,
    build_corpus,
    create_community,
    create_post,
    create_thread,
    ids,
    profile,
    run_search,
)

# query -> the item that must be among the first three results
BEST_ANSWERS = {
    "recruitment fees": "fees",
    "remittance costs": "remittances",
    "search and rescue": "rescue",
    "detention children": "detention",
    "refugee doctors": "doctors",
    "climate displacement": "climate",
    "census": "census",
    "consular": "consular",
    "trafficking hotlines": "trafficking",
    "reintegration": "reintegration",
    "border guards human rights": "borders",
    "pensions social security": "pensions",
    "hate speech": "xenophobia",
    "statelessness": "identity",
    "seasonal worker schemes": "pathways",
    "diaspora bonds": "diaspora",
    "Nepal agencies": "nepal",
    "mobile money Senegal": "senegal",
    '"Missing Migrants Project"': "project",
    "Diallo remittances": "amara",
    "fair recruitment lawyer": "lucia",
    "statistician": "olga",
}


@pytest.fixture
async def corpus(client: httpx.AsyncClient, factory: Factory) -> Corpus:
    return await build_corpus(client, factory)


async def test_the_best_answer_of_each_query_is_in_the_top_three(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    misses = []
    for query, best in BEST_ANSWERS.items():
        result = await run_search(client, query, corpus.author, first=3)
        if corpus.id_of(best) not in ids(result):
            misses.append(f"{query!r}: {best} not in {[e['node'] for e in result['edges']]}")
    assert misses == []


async def test_hits_carry_scores_best_first_and_highlighted_snippets(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    result = await run_search(client, "recruitment", corpus.author)
    scores = [edge["score"] for edge in result["edges"]]
    assert scores == sorted(scores, reverse=True)
    assert all(score > 0 for score in scores)
    # the thread with the word in its title ranks above replies and profiles with it in the body
    assert ids(result)[0] == corpus.id_of("fees")
    snippet = result["edges"][0]["snippet"]
    assert "<mark>" in snippet.lower()
    assert "recruitment</mark>" in snippet.lower()


async def test_phrases_exclusions_and_or(client: httpx.AsyncClient, corpus: Corpus) -> None:
    # phrases: the words in this order, next to each other
    assert ids(await run_search(client, '"search and rescue"', corpus.author))[0] == (
        corpus.id_of("rescue")
    )
    assert ids(await run_search(client, '"rescue and search"', corpus.author)) == []
    # exclusion
    both = ids(await run_search(client, "migrant workers", corpus.author))
    assert {corpus.id_of("fees"), corpus.id_of("pensions")} <= set(both)
    without = ids(await run_search(client, "migrant workers -pensions", corpus.author))
    assert corpus.id_of("fees") in without
    assert corpus.id_of("pensions") not in without
    # punctuation and operators of either engine are words or nothing, never syntax errors
    for odd in ('NEAR(fees, 2) AND "unbalanced', "fees:* OR ^remittance", "'; --", "-fees", ""):
        result = await run_search(client, odd, corpus.author)
        assert result["totalCount"] == len(result["edges"])
    assert ids(await run_search(client, "-fees", corpus.author)) == []
    # or
    assert ids(await run_search(client, "consular diaspora", corpus.author)) == []
    either = ids(await run_search(client, "consular or diaspora", corpus.author))
    assert set(either) == {corpus.id_of("consular"), corpus.id_of("diaspora")}


def _direct_counts(result: dict[str, Any]) -> dict[str, Counter[str]]:
    """What the facets must say, counted from the hits themselves."""
    counts: dict[str, Counter[str]] = {
        k: Counter() for k in ("kinds", "objectives", "countries", "languages")
    }
    for edge in result["edges"]:
        node = edge["node"]
        counts["kinds"][node["__typename"].upper()] += 1
        if node["__typename"] == "Thread":
            objectives = node["objectives"]
        elif node["__typename"] == "Post":
            objectives = node["thread"]["objectives"]
        else:
            objectives = node["expertise"]
            if node["country"]:
                counts["countries"][node["country"]["code"]] += 1
            for tag in node["languages"]:
                counts["languages"][tag] += 1
        for objective in objectives:
            counts["objectives"][str(objective["number"])] += 1
        if node["__typename"] != "Member":
            counts["languages"]["en"] += 1  # the corpus community works in English
    return counts


async def test_facets_equal_the_counts_of_the_results(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    for query in ("migrants", "recruitment or remittances or data", "workers"):
        result = await run_search(client, query, corpus.author, first=100)
        assert result["totalCount"] == len(result["edges"]) > 0
        expected = _direct_counts(result)
        facets = result["facets"]
        assert Counter({f["kind"]: f["count"] for f in facets["kinds"]}) == expected["kinds"]
        got_objectives = Counter({str(f["number"]): f["count"] for f in facets["objectives"]})
        assert got_objectives == expected["objectives"]
        assert (
            Counter({f["code"]: f["count"] for f in facets["countries"]}) == (expected["countries"])
        )
        assert (
            Counter({f["tag"]: f["count"] for f in facets["languages"]}) == (expected["languages"])
        )


async def test_filters_narrow_results_and_facets(client: httpx.AsyncClient, corpus: Corpus) -> None:
    everything = await run_search(client, "recruitment or remittances", corpus.author)
    kinds = {f["kind"] for f in everything["facets"]["kinds"]}
    assert kinds == {"THREAD", "POST", "MEMBER"}
    members = await run_search(
        client, "recruitment or remittances", corpus.author, filter={"types": ["MEMBER"]}
    )
    assert {e["node"]["__typename"] for e in members["edges"]} == {"Member"}
    assert members["facets"]["kinds"] == [{"kind": "MEMBER", "count": members["totalCount"]}]
    africa = await run_search(
        client, "recruitment or remittances", corpus.author, filter={"regions": ["AFRICA"]}
    )
    assert ids(africa) == [corpus.id_of("amara")]
    assert africa["facets"]["regions"] == [{"region": "AFRICA", "count": 1}]
    by_objective = await run_search(
        client, "recruitment or remittances", corpus.author, filter={"objectives": [6]}
    )
    assert set(ids(by_objective)) == {
        corpus.id_of("fees"),
        corpus.id_of("nepal"),
        corpus.id_of("lucia"),
    }
    spanish = await run_search(
        client, "recruitment", corpus.author, filter={"languages": ["es-MX"]}
    )
    assert ids(spanish) == [corpus.id_of("lucia")]
    future = await run_search(
        client, "recruitment", corpus.author, filter={"createdAfter": "2999-01-01T00:00:00Z"}
    )
    assert (future["totalCount"], future["edges"]) == (0, [])
    bad = await gql(
        client,
        '{ search(query: "x", filter: {objectives: [99]}) { totalCount } }',
        member=corpus.author,
    )
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_results_page_forward_without_gaps_or_repeats(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    whole = ids(await run_search(client, "migrants or migrant or migration", corpus.author))
    assert len(whole) > 5
    seen: list[str] = []
    after = None
    while True:
        page = await run_search(
            client, "migrants or migrant or migration", corpus.author, first=2, after=after
        )
        seen += ids(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == whole


async def test_a_new_post_is_findable_at_once_an_edit_replaces_it_and_a_deletion_removes_it(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    # given
    assert ids(await run_search(client, "kafala", corpus.author)) == []
    # when: a reply is written
    post_id = await create_post(client, corpus.threads["fees"], corpus.author, "Reform the kafala.")
    # then
    assert ids(await run_search(client, "kafala", corpus.author)) == [post_id]
    # when: it is edited
    edit = """mutation($id: ID!) { editPost(input: {postId: $id, body: "Reform sponsorship.",
      expectedVersion: 1}) { errors { code } } }"""
    await ok(client, edit, {"id": post_id}, corpus.author)
    assert ids(await run_search(client, "kafala", corpus.author)) == []
    assert ids(await run_search(client, "sponsorship", corpus.author)) == [post_id]
    # when: it is deleted
    delete = "mutation($id: ID!) { deletePost(input: {postId: $id}) { errors { code } } }"
    await ok(client, delete, {"id": post_id}, corpus.author)
    # then: gone for everyone, moderators included
    for viewer in (corpus.author, corpus.moderator, None):
        result = await run_search(client, "sponsorship", viewer)
        assert (ids(result), result["totalCount"]) == ([], 0)


async def test_results_in_the_viewer_s_languages_are_boosted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given: the same words in a French and a Spanish community
    moderator = await factory.member(role=__import__("models.member").member.Role.MODERATOR)
    french = await create_community(client, moderator, "francophone", languages=("fr",))
    spanish = await create_community(client, moderator, "hispanophone", languages=("es",))
    text = "Regularization program 2027"
    in_french = await create_thread(client, french, moderator, text, text)
    in_spanish = await create_thread(client, spanish, moderator, text, text)
    reader = await factory.member()
    # when / then
    await profile(client, reader, languages=["es"])
    assert ids(await run_search(client, "regularization program", reader))[0] == in_spanish
    await profile(client, reader, languages=["fr"])
    assert ids(await run_search(client, "regularization program", reader))[0] == in_french


async def test_a_result_page_runs_the_same_statements_at_any_size(
    client: httpx.AsyncClient, corpus: Corpus, statements: StatementCounter
) -> None:
    # (one kind of result: each kind present on a page costs its loader's one query)
    counts = []
    query = "migrants or migrant or migration or workers or hotlines or skills or children"
    for size in (2, 10):
        statements.reset()
        result = await run_search(
            client, query, corpus.author, first=size, filter={"types": ["THREAD"]}
        )
        assert len(result["edges"]) == size
        counts.append(statements.count)
    assert counts[0] == counts[1]


async def test_search_reindex_indexes_content_written_before_search_existed(
    client: httpx.AsyncClient, factory: Factory, database_url: str
) -> None:
    # given: a member written straight to the database, as before migration 0005
    from tests.test_cli import env_for, hub

    member = await factory.member(name="Zeynep Preexisting", is_expert=True)
    assert ids(await run_search(client, "Zeynep", member)) == []
    # when
    result = await hub("search-reindex", env=env_for(database_url))
    # then
    assert result.exit_code == 0, result.output
    assert "indexed 1 items" in result.output
    assert ids(await run_search(client, "Zeynep", member)) == [member.global_id]


async def test_a_page_is_the_same_whether_or_not_counts_are_asked_for(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    # (with counts, one statement reads the page and the counts; without, a plain page query)
    hits_only = """query($q: String!, $after: String) { search(query: $q, first: 4, after: $after) {
      pageInfo { hasNextPage endCursor } edges { score snippet node {
        ... on Thread { id } ... on Post { id } ... on Member { id } } } } }"""
    query = "migrants or migrant or migration or workers"
    after = None
    for _ in range(2):
        with_counts = await run_search(client, query, corpus.author, first=4, after=after)
        body = await gql(client, hits_only, {"q": query, "after": after}, member=corpus.author)
        alone = body["data"]["search"]
        assert [e["node"]["id"] for e in alone["edges"]] == ids(with_counts)
        assert [(e["score"], e["snippet"]) for e in alone["edges"]] == [
            (e["score"], e["snippet"]) for e in with_counts["edges"]
        ]
        assert alone["pageInfo"] == with_counts["pageInfo"]
        assert alone["pageInfo"]["hasNextPage"]
        after = alone["pageInfo"]["endCursor"]


async def test_snippets_show_the_text_of_markdown_not_its_markup(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    from models.member import Role

    moderator = await factory.member(role=Role.MODERATOR)
    community_id = await create_community(client, moderator, "markup")
    thread_id = await create_thread(
        client, community_id, moderator, "Cooperation", "Opening words about cooperation."
    )
    await create_post(
        client,
        thread_id,
        moderator,
        "# Quarantine rules\n\n**Bold** claims about _quarantine_ and [a link](https://who.int).",
    )
    result = await run_search(client, "quarantine", moderator)
    [snippet] = [edge["snippet"] for edge in result["edges"]]
    assert "<mark>" in snippet.lower()
    for markup in ("#", "**", "_quarantine_", "](", "https://who.int"):
        assert markup not in snippet, snippet
