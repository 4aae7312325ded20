"""`/metrics`: who may read it, and counters that move by exactly what happened — in one
process, and summed over two worker processes of `hub serve` (issue 16)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from app.main import create_app
from models.db import Database
from subscriptions import metrics as metrics_module
from tests.conftest import Factory, api_client, gql, make_settings
from tests.live import connect
from tests.services import hub_serve, hub_serve_environment

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: Samples, name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(app: Starlette) -> Samples:
    async with api_client(app, "127.0.0.1") as local:
        response = await local.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_are_for_loopback_listed_addresses_and_the_token(
    database_url: str, db: Database
) -> None:
    settings = make_settings(
        database_url, metrics_token="s3cret-metrics-token", metrics_allowed_addresses="10.0.0.9"
    )
    app = create_app(settings, db)
    for address, headers, status in [
        ("203.0.113.7", {}, 404),
        ("203.0.113.7", {"Authorization": "Bearer wrong"}, 404),
        ("203.0.113.7", {"Authorization": "Bearer s3cret-metrics-token"}, 200),
        ("10.0.0.9", {}, 200),
        ("127.0.0.1", {}, 200),
    ]:
        async with api_client(app, address) as client:
            response = await client.get("/metrics", headers=headers)
        assert response.status_code == status, (address, headers)


async def test_operations_move_their_counters_by_what_happened(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
) -> None:
    member = await factory.member()
    before = await scrape(app)
    for size in (5, 6, 7):  # three pages: one answer would be kept for the member's scope
        await gql(
            client, f"query Directory {{ members(first: {size}) {{ totalCount }} }}", member=member
        )
    refused = 'mutation Flag { flagContent(input: {postId: "UG9zdDo5OTk5", reason: "x"}) { ok errors { code } } }'
    await gql(client, refused, member=member)
    await client.post("/graphql", json={"query": "query Broken { members("})
    after = await scrape(app)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ops = "hub_graphql_operations_total"
    assert moved(ops, operation="Directory", type="query", outcome="ok") == 3
    assert moved(ops, operation="Flag", type="mutation", outcome="user_error") == 1
    assert moved(ops, operation="anonymous", type="unknown", outcome="request_error") == 1
    assert moved("hub_graphql_operation_seconds_count", type="query") == 3
    # every operation's SQL is counted, and the directory's page ran statements
    assert moved("hub_sql_statements_per_operation_count") == 5
    assert moved("hub_sql_statements_per_operation_sum") >= 3
    assert value(after, "hub_db_pool_connections", state="size") >= 0


async def test_open_sockets_are_counted(app: Starlette, factory: Factory) -> None:
    member = await factory.member()
    before = value(await scrape(app), "hub_websocket_connections")
    async with connect(app, member.token):
        during = value(await scrape(app), "hub_websocket_connections")
    await asyncio.sleep(0)  # the handler's last step runs
    after = value(await scrape(app), "hub_websocket_connections")
    assert (during - before, after - before) == (1, 0)


@pytest.fixture
def multiprocess_dir(tmp_path: Path) -> Path:
    path = tmp_path / "metrics"
    path.mkdir()
    return path


def counted_per_file(path: Path, scratch: Path) -> list[float]:
    """The `Pair` operations counted in each process's file, read one file at a time."""
    counted = []
    for number, file in enumerate(sorted(path.glob("counter_*.db"))):
        alone = scratch / f"alone-{number}"
        alone.mkdir()
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))  # type: ignore[no-untyped-call]
        found = samples(generate_latest(registry).decode())
        counted.append(
            value(
                found, "hub_graphql_operations_total", operation="Pair", type="query", outcome="ok"
            )
        )
    return counted


async def test_two_workers_sum_their_counters(
    database_url: str, multiprocess_dir: Path, tmp_path: Path
) -> None:
    """`hub serve --workers 2` with prometheus-client's multiprocess mode: requests land on
    either worker, and `/metrics` (served by either) counts every one."""
    env = hub_serve_environment(
        database_url,
        HUB_SECRET_KEY="metrics-test-" + "z" * 40,
        PROMETHEUS_MULTIPROC_DIR=str(multiprocess_dir),
    )
    async with hub_serve(env, tmp_path / "serve.log", "--workers", "2") as (_, base):
        query = {"query": "query Pair { gcmObjectives { number } }"}
        for _ in range(40):
            # a new connection each time, so that both workers take some
            async with httpx.AsyncClient(base_url=base, timeout=5) as fresh:
                assert (await fresh.post("/graphql", json=query)).status_code == 200
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            scraped = samples((await client.get("/metrics")).text)
    total = value(
        scraped, "hub_graphql_operations_total", operation="Pair", type="query", outcome="ok"
    )
    assert total == 40
    # each worker's own file: together they hold every request (the supervisor may add one)
    per_worker = counted_per_file(multiprocess_dir, tmp_path)
    assert sum(per_worker) == 40
    assert len(per_worker) >= 2


async def test_live_subscriptions_are_counted_by_kind_of_stream(
    app: Starlette, client: httpx.AsyncClient, factory: Factory
) -> None:
    from tests.discussions import community, post, thread
    from tests.live import THREAD_EVENTS, thread_cursor

    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    cursor = await thread_cursor(client, thread_id, moderator.token)
    name = "hub_live_subscriptions"
    before = value(await scrape(app), name, stream="thread")
    async with connect(app, moderator.token) as socket:
        await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": cursor})
        # the server joins it to its stream's group ...
        assert await settles(app, name, before + 1, stream="thread")
        # and an event's way to the sockets is timed
        lag = "hub_live_delivery_lag_seconds_count"
        delivered = value(await scrape(app), lag)
        await post(client, thread_id, moderator, "Timed on its way")
        await socket.next_payloads(1)
        assert value(await scrape(app), lag) == delivered + 1
    # ... and lets it go when the socket closes
    assert await settles(app, name, before, stream="thread")


async def settles(app: Starlette, name: str, expected: float, **labels: str) -> bool:
    """Whether the metric comes to `expected` within 5 s (the server works on its own time)."""
    for _ in range(500):
        if value(await scrape(app), name, **labels) == expected:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_callers_waiting_for_a_pooled_connection_are_counted(database_url: str) -> None:
    """The pool's queue: with its one connection taken, a second checkout waits, and the
    gauge (read as `/metrics` reads it) says so; once served, it says 0 again."""
    from app.metrics import record_pool
    from models.db import create_database

    if not database_url.startswith("postgresql"):
        pytest.skip("the counting pool is PostgreSQL's (SQLite's file needs no queue)")
    db = create_database(database_url, pool_size=1, max_overflow=0)
    waiting = metrics_module.POOL_CONNECTIONS.labels("waiting")

    def gauge() -> float:
        record_pool(db.engine)
        return float(waiting._value.get())

    try:
        async with db.engine.connect() as held:
            await held.exec_driver_sql("SELECT 1")
            second = asyncio.create_task(_checkout(db))
            for _ in range(500):
                if gauge() == 1:
                    break
                await asyncio.sleep(0.01)
            assert gauge() == 1
        await asyncio.wait_for(second, 10)
        assert gauge() == 0
    finally:
        await db.dispose()


async def _checkout(db: Database) -> None:
    async with db.engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")
