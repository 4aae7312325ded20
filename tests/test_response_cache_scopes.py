"""The response cache for signed-in viewers (policy.ScopedViewer, policy.scope_audience): an
answer is kept for the permission scope its execution read of the viewer, shared by every
viewer in that scope, never by another scope, and never when it read who the viewer is."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from app.cached_responses import WRITE_VERSION_HEADER
from app.main import create_app
from models.db import Database, create_database
from models.member import Role
from resolvers.policy import ScopedViewer, Viewer, scope_audience
from subscriptions.broadcast import create_broadcast
from tests import conftest
from tests.conftest import Factory, api_client, make_settings
from tests.test_response_cache import PAGE, Counter, public_thread, statements_of

DIRECTORY = "query Directory { members(first: 20) { nodes { name isExpert } } }"
RENAME = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { errors { code } } }"


async def read(
    client: httpx.AsyncClient, query: str, who: conftest.TestMember | None, **extra: Any
) -> Any:
    headers = {**(who.headers if who else {}), **extra.pop("headers", {})}
    return await client.post("/graphql", json={"query": query, "variables": extra}, headers=headers)


def names(response: httpx.Response) -> list[str]:
    return [n["name"] for n in response.json()["data"]["members"]["nodes"]]


async def test_members_of_one_scope_share_an_answer_and_other_scopes_do_not(
    app: Starlette, client: httpx.AsyncClient, factory: Factory, db: Database
):
    # given two members, a moderator, and one expert among them
    first = await factory.member(name="Ana")
    second = await factory.member(name="Bo")
    moderator = await factory.member(name="Mod", role=Role.MODERATOR)
    await factory.member(name="Expert", is_expert=True)
    counter = Counter(db)
    # when the first member reads the directory, then the second
    ran_first, by_first = await statements_of(counter, read(client, DIRECTORY, first))
    ran_second, by_second = await statements_of(counter, read(client, DIRECTORY, second))
    # then the second is answered from the first's answer: only their token is looked up
    assert by_second.content == by_first.content
    assert set(names(by_first)) == {"Ana", "Bo", "Mod", "Expert"}
    assert ran_first > ran_second
    assert len(app.state.response_cache) == 1
    # and a moderator (another scope) and the public (another audience) are not
    ran_moderator, by_moderator = await statements_of(counter, read(client, DIRECTORY, moderator))
    assert ran_moderator == ran_first
    assert by_moderator.content == by_first.content  # the same data; kept apart all the same
    assert len(app.state.response_cache) == 2
    public = await read(client, DIRECTORY, None)
    assert names(public) == ["Expert"]
    assert len(app.state.response_cache) == 3
    # and a signed-in answer is never for an HTTP cache
    got = await client.get("/graphql", params={"query": DIRECTORY}, headers=second.headers)
    assert got.headers["cache-control"] == "private, no-store"
    assert "etag" not in got.headers


async def test_an_answer_that_read_who_the_viewer_is_stays_theirs(
    app: Starlette, client: httpx.AsyncClient, factory: Factory, db: Database
):
    # given a public thread (a member's thread page depends on their memberships)
    thread_id, _ = await public_thread(client, factory)
    member = await factory.member()
    counter = Counter(db)
    # when the member reads it twice
    ran_first, first = await statements_of(counter, read(client, PAGE, member, id=thread_id))
    ran_again, again = await statements_of(counter, read(client, PAGE, member, id=thread_id))
    # then nothing was kept: both executed
    assert first.content == again.content
    assert ran_again == ran_first
    assert len(app.state.response_cache) == 0


def test_a_scope_is_the_values_of_what_was_read_and_never_an_identity():
    member = ScopedViewer(Viewer(member_id=1, role=Role.MEMBER, organization_id=7, token_id=3))
    other = ScopedViewer(Viewer(member_id=2, role=Role.MEMBER, organization_id=8, token_id=4))
    member.record()
    assert not member.is_staff
    consulted = member.read()
    assert consulted == frozenset({"is_staff"})
    assert scope_audience(member, consulted) == scope_audience(other, consulted)
    assert member.organization_id == 7  # not recording any more
    assert member.read() == frozenset({"is_staff"})
    other.record()
    assert other.organization_id == 8
    by_organization = other.read()
    assert scope_audience(member, by_organization) != scope_audience(other, by_organization)
    other.record()
    assert other.member_id == 2
    assert scope_audience(other, other.read()) is None
    assert other.logged_id() == 2


async def test_a_member_who_saw_a_write_is_never_answered_from_before_it(
    client: httpx.AsyncClient, database_url: str, factory: Factory
):
    # given another process whose broker never brings this one's writes, keeping the
    # directory for the members' scope
    reader_member = await factory.member(name="Reader")
    writer = await factory.member(name="Before")
    database = create_database(database_url, pool_size=2, max_overflow=0)
    deaf = create_broadcast("memory://")
    await deaf.connect()
    other = create_app(make_settings(database_url, broadcast_url="memory://"), database, deaf)
    try:
        async with api_client(other) as reader:
            kept = await read(reader, DIRECTORY, reader_member)
            assert "Before" in names(kept)
            # when a member renames themself through this process
            response = await client.post(
                "/graphql",
                json={"query": RENAME, "variables": {"i": {"name": "After"}}},
                headers=writer.headers,
            )
            seen = {WRITE_VERSION_HEADER: response.headers[WRITE_VERSION_HEADER]}
            stale = await read(reader, DIRECTORY, reader_member)
            fresh = await read(reader, DIRECTORY, reader_member, headers=seen)
    finally:
        await other.state.response_cache.close()
        await deaf.disconnect()
        await database.dispose()
    # then a member who has not seen it may get the kept answer; one who has, never
    assert "After" not in names(stale)
    assert "After" in names(fresh)
    assert "Before" not in names(fresh)


# --- no answer crosses viewers: every ordered pair of the visibility matrix ---------------------


async def test_no_viewer_is_ever_answered_with_what_another_viewer_may_see(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
):
    """The visibility matrix's seven viewers and its private objects: for every read of the
    matrix and every ordered pair (A, B), B asking right after A gets exactly what B gets from
    an empty cache. A scope that left out something the policy read of the viewer would hand B
    A's answer here."""
    from prometheus_client import REGISTRY

    from tests.test_visibility_matrix import (
        COUNTS,
        LOOKUPS,
        TYPES,
        answer,
        people,
        private_community,
        private_objects,
    )

    crowd = await people(factory)
    community_id = await private_community(client, factory, crowd)
    objects = {"community": community_id, **await private_objects(client, crowd, community_id)}
    reads: list[tuple[str, dict[str, Any]]] = [
        (COUNTS, {"c": community_id}),
        ("query { members(first: 50) { nodes { name email } } }", {}),
        ("query { communities(first: 50) { nodes { name } } }", {}),
    ]
    for key, object_id in objects.items():
        node = f"{{ id __typename ... on {TYPES[key]} {{ id }} }}"
        reads.append((f"query($id: ID!) {{ node(id: $id) {node} }}", {"id": object_id}))
        reads.append((f"query($id: ID!) {{ nodes(ids: [$id]) {node} }}", {"id": object_id}))
        if key in LOOKUPS:
            reads.append((f"query($id: ID!) {{ {LOOKUPS[key]} }}", {"id": object_id}))
    cache = app.state.response_cache

    async def alone(query: str, variables: dict[str, Any], who: Any) -> Any:
        cache.drop("test")
        return await answer(client, query, variables, who)

    def hits() -> float:
        return REGISTRY.get_sample_value("hub_response_cache_total", {"result": "hit"}) or 0.0

    hits_before = hits()
    crossed = []
    for query, variables in reads:
        own = {v: await alone(query, variables, p) for v, p in crowd.items()}
        for first, first_person in crowd.items():
            for then, then_person in crowd.items():
                if first is then:
                    continue
                await alone(query, variables, first_person)
                got = await answer(client, query, variables, then_person)
                if got != own[then]:
                    crossed.append(f"{then.value} after {first.value}: {query} {variables}")
    assert not crossed, f"{len(crossed)} answer(s) crossed viewers:\n" + "\n".join(crossed)
    # and the cache did share answers between viewers (else this proves nothing of scopes)
    # (60 of the 924 second answers came from the cache when this was written: the directory,
    # the communities and the counts within the plain members' scope)
    assert hits() - hits_before > 0


async def test_members_of_one_scope_who_read_different_languages_never_share_an_answer(
    client: httpx.AsyncClient, factory: Factory, db: Database
):
    """The key of a signed-in answer leaves out the member's declared languages (loading them
    would cost every request a statement): an execution that needs them reads who the viewer
    is to load them, so its answer stays theirs (today the translations' own visibility reads
    it too; either is enough). A document without translated text is still shared."""
    from tests.discussions import community
    from tests.test_translations import translate

    community_id, _ = await community(client, factory)
    translator = await factory.member(languages=("fr",))
    await translate(client, translator, community_id, "fr", name="Migration de main-d'œuvre")
    french = await factory.member(languages=("fr",))
    english = await factory.member(languages=("en",))
    query = "query { communities(first: 10) { nodes { name nameText { language } } } }"
    first = await read(client, query, french)
    then = await read(client, query, english)
    again = await read(client, query, english)

    def names_of(response: httpx.Response) -> list[str]:
        return [n["name"] for n in response.json()["data"]["communities"]["nodes"]]

    assert "Migration de main-d'œuvre" in names_of(first)
    assert "Migration de main-d'œuvre" not in names_of(then)
    assert then.content == again.content
    # and a document without translated text is shared by the same two members
    ran_french, by_french = await statements_of(Counter(db), read(client, DIRECTORY, french))
    ran_english, by_english = await statements_of(Counter(db), read(client, DIRECTORY, english))
    assert by_english.content == by_french.content
    assert ran_english < ran_french
