"""The search cache: answers reused until a committed write may change them, in every process;
writes that cannot change an answer leave them be; nothing a search reads is declared neutral."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import event, select

from app.main import create_app
from app.settings import Settings
from models.db import Database
from models.member import Member, Role
from models.search import SEARCH_NEUTRAL_TABLES, SearchEpoch
from resolvers import search
from resolvers.pagination import PageRequest
from resolvers.policy import Viewer
from resolvers.search_cache import SearchCache
from subscriptions.broadcast import HubBroadcast
from tests.conftest import Factory, StatementCounter, api_client, make_settings
from tests.discussions import join, ok
from tests.search_corpus import (
    Corpus,
    build_corpus,
    create_community,
    create_post,
    create_thread,
    ids,
    run_search,
)

INVITE = """
mutation($c: ID!, $m: ID!) { inviteToCommunity(input: {communityId: $c, memberId: $m}) { ok } }
"""
MARK_READ = "mutation($id: ID!) { markThreadRead(input: {threadId: $id}) { errors { code } } }"


@pytest.fixture
async def corpus(client: httpx.AsyncClient, factory: Factory) -> Corpus:
    return await build_corpus(client, factory)


async def epoch(db: Database) -> int:
    async with db.sessions() as session:
        return int((await session.scalars(select(SearchEpoch.value))).one())


def reads_the_index(statements: StatementCounter) -> bool:
    return any("search_document" in s for s in statements.statements or [])


async def test_a_repeated_search_is_answered_without_reading_the_index_again(
    client: httpx.AsyncClient, corpus: Corpus, statements: StatementCounter, app: object
) -> None:
    cache = app.state.search_cache  # type: ignore[attr-defined]
    statements.reset()
    first = await run_search(client, "recruitment", corpus.author)
    assert reads_the_index(statements)
    statements.reset()
    again = await run_search(client, "recruitment", corpus.author)
    assert not reads_the_index(statements), statements.statements
    assert again == first
    assert first["edges"]
    assert (cache.stats.hits, cache.stats.misses) == (1, 1)
    # another viewer, another page or another filter is another answer
    statements.reset()
    await run_search(client, "recruitment", corpus.moderator)
    await run_search(client, "recruitment", corpus.author, first=1)
    await run_search(client, "recruitment", corpus.author, filter={"objectives": [6]})
    assert cache.stats.misses == 4


async def test_every_write_that_can_change_an_answer_is_seen_by_the_next_search(
    client: httpx.AsyncClient, corpus: Corpus, db: Database
) -> None:
    assert ids(await run_search(client, "kafala", corpus.author)) == []
    before = await epoch(db)
    post_id = await create_post(client, corpus.threads["fees"], corpus.author, "Reform the kafala.")
    assert await epoch(db) > before
    assert ids(await run_search(client, "kafala", corpus.author)) == [post_id]
    delete = "mutation($id: ID!) { deletePost(input: {postId: $id}) { errors { code } } }"
    await ok(client, delete, {"id": post_id}, corpus.author)
    assert ids(await run_search(client, "kafala", corpus.author)) == []


async def test_leaving_a_private_community_is_seen_though_no_document_changes(
    client: httpx.AsyncClient, factory: Factory, db: Database
) -> None:
    moderator = await factory.member(role=Role.MODERATOR)
    insider = await factory.member()
    room = await create_community(client, moderator, "closed-room", private=True)
    await ok(client, INVITE, {"c": room, "m": insider.global_id}, moderator)
    await join(client, room, insider)
    await create_thread(client, room, moderator, "Confidential quotas", "Kept inside.")
    assert (await run_search(client, "confidential", insider))["totalCount"] == 1
    assert (await run_search(client, "confidential", insider))["totalCount"] == 1  # cached
    before = await epoch(db)
    leave = "mutation($id: ID!) { leaveCommunity(input: {communityId: $id}) { errors { code } } }"
    await ok(client, leave, {"id": room}, insider)
    assert await epoch(db) == before + 1
    after = await run_search(client, "confidential", insider)
    assert (after["totalCount"], after["edges"]) == (0, [])


async def test_writes_no_answer_depends_on_leave_the_epoch_and_the_cache_alone(
    client: httpx.AsyncClient, corpus: Corpus, db: Database, app: object
) -> None:
    cache = app.state.search_cache  # type: ignore[attr-defined]
    await run_search(client, "recruitment", corpus.author)
    before = await epoch(db)
    await ok(client, MARK_READ, {"id": corpus.threads["fees"]}, corpus.author)
    assert await epoch(db) == before
    await run_search(client, "recruitment", corpus.author)
    assert cache.stats.hits == 1


async def test_a_rolled_back_write_does_not_move_the_epoch(db: Database, factory: Factory) -> None:
    member = await factory.member()
    before = await epoch(db)
    async with db.sessions() as session:
        row = await session.get(Member, member.id)
        assert row is not None
        row.name = "Renamed, then rolled back"
        await session.flush()
        await session.rollback()
    async with db.sessions.begin() as session:
        await session.get(Member, member.id)  # a read-only transaction that commits
    assert await epoch(db) == before
    async with db.sessions.begin() as session:
        row = await session.get(Member, member.id)
        assert row is not None
        row.name = "Renamed"
    assert await epoch(db) == before + 1


@pytest.fixture
async def second_client(
    settings: Settings, db: Database, broadcast: HubBroadcast
) -> AsyncIterator[httpx.AsyncClient]:
    """Another process's server: its own cache, the same database."""
    async with api_client(create_app(settings, db, broadcast)) as c:
        yield c


async def test_no_process_serves_an_answer_from_before_another_process_s_write(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, corpus: Corpus
) -> None:
    for _ in range(2):  # computed, then cached
        assert ids(await run_search(client, "kafala", corpus.author)) == []
        assert ids(await run_search(second_client, "kafala", corpus.author)) == []
    post_id = await create_post(
        second_client, corpus.threads["fees"], corpus.author, "Reform the kafala."
    )
    assert ids(await run_search(client, "kafala", corpus.author)) == [post_id]
    assert ids(await run_search(second_client, "kafala", corpus.author)) == [post_id]


async def test_writes_racing_with_cached_searches_on_two_processes_are_never_missed(
    client: httpx.AsyncClient, second_client: httpx.AsyncClient, corpus: Corpus
) -> None:
    """Each writer searches a word of its own on one process (nothing, and cached), posts it on
    the other, then searches again on the first: found every time, while readers keep both
    caches busy with a common query."""
    stop = asyncio.Event()

    async def keep_searching(http: httpx.AsyncClient) -> int:
        searches = 0
        while not stop.is_set():
            await run_search(http, "recruitment", corpus.author)
            searches += 1
        return searches

    async def write_then_find(index: int) -> list[str]:
        writer, reader = (client, second_client) if index % 2 else (second_client, client)
        word = f"zqword{index}x"
        assert ids(await run_search(reader, word, corpus.author)) == []  # cached, empty
        post_id = await create_post(writer, corpus.threads["fees"], corpus.author, f"On {word}.")
        found = ids(await run_search(reader, word, corpus.author))
        return [] if found == [post_id] else [f"{word}: {found} instead of {post_id}"]

    readers = [asyncio.ensure_future(keep_searching(c)) for c in (client, second_client)]
    misses = [m for ms in await asyncio.gather(*map(write_then_find, range(8))) for m in ms]
    stop.set()
    assert all(await asyncio.gather(*readers))  # the readers did search meanwhile
    assert misses == []


async def test_with_the_cache_off_every_search_reads_the_index(
    settings: Settings,
    db: Database,
    broadcast: HubBroadcast,
    corpus: Corpus,
    statements: StatementCounter,
) -> None:
    off = create_app(make_settings(settings.database_url, search_cache_entries=0), db, broadcast)
    async with api_client(off) as c:
        await run_search(c, "recruitment", corpus.author)
        statements.reset()
        await run_search(c, "recruitment", corpus.author)
        assert reads_the_index(statements)
        assert not any("search_epoch" in s for s in statements.statements or [])


async def test_no_statement_of_a_search_reads_a_table_declared_neutral(
    db: Database, corpus: Corpus, factory: Factory
) -> None:
    """What makes the cache safe: a write to a neutral table cannot change what these read."""
    moderator = await factory.member(role=Role.MODERATOR, languages=("es",))
    reader = await factory.member(languages=("fr",))
    seen: list[str] = []

    def capture(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    every_filter = search.SearchFilter(
        kinds=["THREAD", "POST", "MEMBER", "RESOURCE", "INITIATIVE", "WEBINAR"],
        objectives=[6],
        principles=["a"],
        countries=["MX"],
        languages=["es"],
    )
    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        for viewer in (
            Viewer(),
            Viewer(member_id=reader.id, role=Role.MEMBER),
            Viewer(member_id=moderator.id, role=Role.MODERATOR),
        ):
            for criteria in (search.SearchFilter(), every_filter):
                for counts_wanted in (True, False):
                    page = await search.search(
                        db.sessions,
                        viewer,
                        'recruitment or "labour migration" -xyz',
                        criteria,
                        PageRequest(first=5),
                        counts_wanted=counts_wanted,
                    )
                    await page.facets()
                    await page.count()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    assert len(seen) >= 12
    read = {t for t in SEARCH_NEUTRAL_TABLES if any(re.search(rf"\b{t}\b", s) for s in seen)}
    assert read == set()


# --- the cache itself ----------------------------------------------------------------------


async def test_simultaneous_identical_searches_are_computed_once() -> None:
    cache = SearchCache[str](entries=10)
    release = asyncio.Event()
    computed = 0

    async def compute() -> str:
        nonlocal computed
        computed += 1
        await release.wait()
        return "answer"

    waiting = [asyncio.ensure_future(cache.answer(7, "key", compute)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiting) == ["answer"] * 5
    assert computed == 1
    assert (cache.stats.misses, cache.stats.shared) == (1, 4)


async def test_a_failed_computation_is_not_shared_and_the_next_one_computes_again() -> None:
    cache = SearchCache[str](entries=10)
    release = asyncio.Event()
    calls = 0

    async def fails() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        raise RuntimeError("database went away")

    async def works() -> str:
        nonlocal calls
        calls += 1
        return "answer"

    failing = asyncio.ensure_future(cache.answer(1, "key", fails))
    await asyncio.sleep(0)
    waiter = asyncio.ensure_future(cache.answer(1, "key", works))
    await asyncio.sleep(0)
    release.set()
    with pytest.raises(RuntimeError):
        await failing
    assert await waiter == "answer"
    assert calls == 2


async def test_answers_of_an_older_epoch_are_never_served_nor_stored() -> None:
    cache = SearchCache[str](entries=10)

    async def answer(text: str) -> str:
        return text

    assert await cache.answer(5, "key", lambda: answer("at 5")) == "at 5"
    assert await cache.answer(5, "key", lambda: answer("again")) == "at 5"
    assert await cache.answer(6, "key", lambda: answer("at 6")) == "at 6"
    # a request that read the epoch before a write another one has seen computes, stores nothing
    assert await cache.answer(5, "key", lambda: answer("late reader")) == "late reader"
    assert await cache.answer(6, "key", lambda: answer("again")) == "at 6"
    assert len(cache) == 1


async def test_the_cache_holds_at_most_its_entries_least_recently_used_out_first() -> None:
    cache = SearchCache[str](entries=2)

    async def answer(text: str) -> str:
        return text

    for key in ("a", "b"):
        await cache.answer(1, key, lambda k=key: answer(k))
    await cache.answer(1, "a", lambda: answer("a"))  # "a" is now the most recent
    await cache.answer(1, "c", lambda: answer("c"))  # "b" goes
    assert len(cache) == 2
    assert await cache.answer(1, "b", lambda: answer("b recomputed")) == "b recomputed"
    assert await cache.answer(1, "c", lambda: answer("not recomputed")) == "c"
