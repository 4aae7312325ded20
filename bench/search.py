"""Benchmark: search with facets on PostgreSQL, 10 typical queries at 10 concurrent clients.

Creates a fresh PostgreSQL database, migrates it, seeds the demo (organisations, 1,000 members,
communities), then adds threads and posts with set-based `INSERT ... SELECT` (words drawn from a
fixed vocabulary, deterministically) and 10,000 resources with 500 initiatives (the demo's
knowledge seeder: mostly published, some superseded; their summaries and bodies then rewritten
from the same vocabulary), builds the search index through the app's own indexer
(`resolvers.search_index.rebuild`, the code writers use), runs `VACUUM ANALYZE`, prints
`EXPLAIN ANALYZE` of the real search statement, then starts the hub (`hub serve`, one worker,
production settings) and drives it with 10 concurrent HTTP clients cycling through 10 queries,
each asking for the first 20 hits, their snippets, `totalCount` and every facet. Reports p50,
p99 and req/s overall and per query, and the CPU the server (all its workers) and the client
spent per request. Everything it starts it stops by PID; the database is dropped at the end
(unless it was given with --database); a watchdog bounds the whole run.

    .venv/bin/python bench/search.py [--posts 100000] [--threads 10000] [--resources 10000]
        [--duration 20] [--workers 1] [--cache-entries N] [--writes-per-second R]
        [--database NAME]

--cache-entries 0 measures every search computed by the database (no answer cache);
--writes-per-second R adds a writer posting R replies a second during the run (each commit
moves the search epoch on, so cached answers are computed again);
--database NAME uses and keeps that existing database (`createdb -h 127.0.0.1 NAME` first): the
first run prepares it, later runs measure on it as it is (minutes saved per run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from statistics import median, quantiles
from typing import Any

import httpx
from harness import (
    ADMIN_URL,
    HEADERS,
    Server,
    bench_settings,
    check_admin_url,
    database_urls,
    hub_argv,
    issue_tokens,
    run_with_database,
    run_with_kept_database,
    save_results,
    server_environment,
    start_and_wait,
    tree_cpu_seconds,
    vacuum_analyze,
)
from sqlalchemy import event, text

from app import migrate
from app.seed import seed_demo, seed_knowledge
from models.db import create_database
from resolvers import search, search_index
from resolvers.pagination import PageRequest
from resolvers.policy import Viewer
from schema.relay import encode_id

QUERIES = [
    "recruitment fees",
    "remittances",
    '"labour migration"',
    "climate or displacement",
    "detention -children",
    "border management",
    "census data",
    "trafficking victims",
    "diaspora",
    "skills recognition",
]
GRAPHQL = """
query($q: String!) {
  search(query: $q, first: 20) {
    totalCount
    edges { score snippet isStale isSuperseded node { __typename ... on Thread { id title }
      ... on Post { id } ... on Member { id name } ... on Resource { id title }
      ... on Initiative { id title } ... on Webinar { id title } } }
    facets { kinds { kind count } objectives { number count } principles { letter count }
      countries { code count } regions { region count } languages { tag count } }
  }
}
"""
VOCABULARY = [
    "migration",
    "migrant",
    "migrants",
    "labour",
    "recruitment",
    "fees",
    "employer",
    "worker",
    "workers",
    "remittances",
    "transfer",
    "costs",
    "mobile",
    "money",
    "diaspora",
    "bonds",
    "investment",
    "climate",
    "displacement",
    "disaster",
    "relocation",
    "islands",
    "drought",
    "flood",
    "detention",
    "alternatives",
    "children",
    "families",
    "case",
    "management",
    "border",
    "guards",
    "screening",
    "human",
    "rights",
    "trafficking",
    "victims",
    "hotline",
    "shelter",
    "smuggling",
    "census",
    "data",
    "survey",
    "statistics",
    "evidence",
    "skills",
    "recognition",
    "qualification",
    "training",
    "return",
    "reintegration",
    "returnees",
    "consular",
    "protection",
    "embassy",
    "pensions",
    "social",
    "security",
    "portability",
    "integration",
    "inclusion",
    "xenophobia",
    "discrimination",
    "media",
    "identity",
    "documents",
    "statelessness",
    "pathways",
    "seasonal",
    "partnership",
    "visa",
    "policy",
    "programme",
    "project",
    "community",
    "city",
    "local",
    "national",
    "regional",
    "global",
    "cooperation",
    "dialogue",
    "review",
    "forum",
    "report",
    "guidance",
    "toolkit",
    "practice",
    "lessons",
    "pilot",
    "evaluation",
    "funding",
    "capacity",
    "support",
    "health",
    "education",
    "housing",
    "language",
    "access",
    "justice",
    "gender",
    "youth",
    "women",
    "youth",
    "rural",
    "urban",
    "corridor",
    "origin",
    "transit",
    "destination",
    "agreement",
    "bilateral",
    "law",
    "reform",
    "coordination",
]


def _seed_sql(threads: int, posts: int) -> list[str]:
    words = "ARRAY[" + ",".join(f"'{w}'" for w in VOCABULARY) + "]"
    n = len(VOCABULARY)

    def phrase(seed: str, count: int) -> str:
        # Deterministic pseudo-random text: for each (row, position) a hash picks a topical word
        # (15% of words, uniformly among the vocabulary) or one of 3,000 filler words, so that a
        # topical word is in about 2.5% of replies and two given ones meet in well under 0.1%.
        key = f"({seed})::text || ':' || k"
        return (
            f"(SELECT string_agg(CASE WHEN abs(hashtext({key} || 't')) % 100 < 15 "
            f"THEN ({words})[1 + abs(hashtext({key})) % {n}] "
            f"ELSE 'w' || abs(hashtext({key})) % 3000 END, ' ') "
            f"FROM generate_series(1, {count}) AS k)"
        )

    return [
        f"""INSERT INTO thread (community_id, author_id, title, body, pinned, locked,
            reply_count, created_at, last_activity_at)
        SELECT c.ids[1 + i % array_length(c.ids, 1)], m.ids[1 + i % array_length(m.ids, 1)],
               {phrase("i", 6)}, {phrase("i + 7", 40)}, false, false, 0,
               now() - make_interval(mins => i), now() - make_interval(mins => i)
        FROM generate_series(1, {threads}) AS i,
             (SELECT array_agg(id ORDER BY id) AS ids FROM community) AS c,
             (SELECT array_agg(id ORDER BY id) AS ids FROM member) AS m""",
        """INSERT INTO thread_objective (thread_id, objective_number)
        SELECT id, 1 + id % 23 FROM thread
        UNION SELECT id, 1 + (id * 7) % 23 FROM thread""",
        f"""INSERT INTO post (thread_id, author_id, body, version, created_at)
        SELECT t.ids[1 + i % array_length(t.ids, 1)], m.ids[1 + (i * 13) % array_length(m.ids, 1)],
               {phrase("i + 100003", 30)}, 1, now() - make_interval(secs => i)
        FROM generate_series(1, {posts}) AS i,
             (SELECT array_agg(id ORDER BY id) AS ids FROM thread) AS t,
             (SELECT array_agg(id ORDER BY id) AS ids FROM member) AS m""",
        "UPDATE thread SET reply_count = p.n FROM "
        "(SELECT thread_id, count(*) AS n FROM post GROUP BY thread_id) AS p "
        "WHERE p.thread_id = thread.id",
    ]


def _knowledge_sql() -> list[str]:
    """Varied text for the seeded resources and initiatives (their titles name a topic), and
    guiding principles for both, so the principles facet has something to count."""
    words = "ARRAY[" + ",".join(f"'{w}'" for w in VOCABULARY) + "]"
    n = len(VOCABULARY)

    def phrase(seed: str, count: int) -> str:
        key = f"({seed})::text || ':' || k"
        return (
            f"(SELECT string_agg(CASE WHEN abs(hashtext({key} || 't')) % 100 < 15 "
            f"THEN ({words})[1 + abs(hashtext({key})) % {n}] "
            f"ELSE 'w' || abs(hashtext({key})) % 3000 END, ' ') "
            f"FROM generate_series(1, {count}) AS k)"
        )

    return [
        f"UPDATE resource SET summary = {phrase('id + 500009', 25)}, "
        f"body = {phrase('id + 700001', 120)}",
        f"UPDATE initiative SET summary = {phrase('id + 900007', 25)}, "
        f"results = {phrase('id + 910003', 60)}",
        "INSERT INTO resource_principle (resource_id, principle_letter) "
        "SELECT id, chr(97 + id % 10) FROM resource ON CONFLICT DO NOTHING",
        "INSERT INTO initiative_principle (initiative_id, principle_letter) "
        "SELECT id, chr(97 + (id * 3) % 10) FROM initiative ON CONFLICT DO NOTHING",
    ]


async def prepare(
    url: str, threads: int, posts: int, resources: int, initiatives: int
) -> dict[str, Any]:
    settings = bench_settings(url)
    await seed_demo(settings, members=1000)
    db = create_database(url)
    try:
        started = time.perf_counter()
        async with db.sessions.begin() as session:
            for statement in _seed_sql(threads, posts):
                await session.execute(text(statement))
            await seed_knowledge(session, random.Random(2026), resources, initiatives)
            for statement in _knowledge_sql():
                await session.execute(text(statement))
        generated = time.perf_counter() - started
        started = time.perf_counter()
        async with db.sessions.begin() as session:
            indexed = await search_index.rebuild(session, batch=2000)
        indexing = time.perf_counter() - started
        async with db.sessions() as session:
            counts = {
                table: int(
                    (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                )
                for table in (
                    "member",
                    "thread",
                    "post",
                    "resource",
                    "initiative",
                    "search_document",
                    "search_facet",
                )
            }
    finally:
        await db.dispose()
    return {"counts": counts, "generate_s": generated, "index_s": indexing, "indexed": indexed}


async def is_empty(url: str) -> bool:
    """Whether the search index of the database at `url` holds nothing yet."""
    db = create_database(url)
    try:
        async with db.sessions() as session:
            count = await session.scalar(text("SELECT count(*) FROM search_document"))
            return not count
    finally:
        await db.dispose()


async def explain(url: str, query: str) -> str:
    """EXPLAIN ANALYZE of the statement the app runs for one page of `query` with its counts
    (a signed-in member)."""
    db = create_database(url)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "search_document" in statement and "ORDER BY" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        viewer = Viewer(member_id=2)
        await search.search(
            db.sessions,
            viewer,
            query,
            search.SearchFilter(),
            PageRequest(first=20),
            counts_wanted=True,  # as for the benchmark's operation, which asks for facets
        )
        statement, parameters = captured[0]
        async with db.engine.connect() as connection:
            rows = await connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
            )
            return "\n".join(str(r[0]) for r in rows)
    finally:
        await db.dispose()


CREATE_POST = """
mutation($input: CreatePostInput!) { createPost(input: $input) { post { id } errors { code } } }
"""


async def thread_to_write_in(url: str) -> str:
    """A thread of a community member1 belongs to (the writer posts there as member1)."""
    db = create_database(url)
    try:
        async with db.sessions() as session:
            thread_id = (
                await session.execute(
                    text(
                        "SELECT t.id FROM thread t JOIN community_member cm "
                        "ON cm.community_id = t.community_id JOIN member m ON m.id = cm.member_id "
                        "WHERE m.email = 'member1@demo.hub' ORDER BY t.id LIMIT 1"
                    )
                )
            ).scalar_one()
        return encode_id("Thread", int(thread_id))
    finally:
        await db.dispose()


async def write_replies(
    http: httpx.AsyncClient, url: str, token: str, thread: str, rate: float, deadline: float
) -> dict[str, int]:
    """One reply every 1/rate seconds until the deadline, with words the queries look for: each
    commit moves the search epoch on, so every cached answer is computed again."""
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    written = failed = 0
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        body = f"Reply {written}: remittances, diaspora bonds and recruitment fees."
        response = await http.post(
            f"{url}/graphql",
            json={"query": CREATE_POST, "variables": {"input": {"threadId": thread, "body": body}}},
            headers=headers,
        )
        answer = response.json()
        if (
            response.status_code == 200
            and "errors" not in answer
            and not (answer["data"]["createPost"]["errors"])
        ):
            written += 1
        else:
            failed += 1
        pause = started + (written + failed) / rate - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
    return {"written": written, "failed": failed}


async def drive(
    url: str,
    token: str,
    duration: float,
    clients: int,
    writes_per_second: float = 0.0,
    thread: str | None = None,
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {q: [] for q in QUERIES}
    totals: dict[str, int] = {}
    errors = 0
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    deadline = time.perf_counter() + duration

    async def client_loop(index: int, http: httpx.AsyncClient) -> None:
        nonlocal errors
        turn = index
        while time.perf_counter() < deadline:
            query = QUERIES[turn % len(QUERIES)]
            turn += 1
            started = time.perf_counter()
            response = await http.post(
                f"{url}/graphql",
                json={"query": GRAPHQL, "variables": {"q": query}},
                headers=headers,
            )
            elapsed = time.perf_counter() - started
            body = response.json()
            if response.status_code != 200 or "errors" in body:
                errors += 1
                continue
            latencies[query].append(elapsed * 1000)
            totals[query] = body["data"]["search"]["totalCount"]

    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    writes = {"written": 0, "failed": 0}
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        started = time.perf_counter()
        cpu_started = time.process_time()
        loops = [client_loop(i, http) for i in range(clients)]
        if writes_per_second > 0 and thread is not None:
            writer = write_replies(http, url, token, thread, writes_per_second, deadline)
            *_, writes = await asyncio.gather(*loops, writer)
        else:
            await asyncio.gather(*loops)
        elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_started
    every = [x for values in latencies.values() for x in values]

    def p99(values: list[float]) -> float:
        return quantiles(values, n=100)[98] if len(values) >= 2 else values[0]

    return {
        "writes": writes,
        "requests": len(every),
        "client_cpu_ms_per_request": 1000 * client_cpu / max(len(every), 1),
        "errors": errors,
        "rps": len(every) / elapsed,
        "p50_ms": median(every),
        "p99_ms": p99(every),
        "per_query": {
            q: {"n": len(v), "hits": totals.get(q), "p50_ms": median(v), "p99_ms": p99(v)}
            for q, v in latencies.items()
        },
    }


async def sample_answer(url: str, token: str) -> dict[str, Any]:
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{url}/graphql",
            json={"query": GRAPHQL, "variables": {"q": QUERIES[0]}},
            headers=headers,
        )
    body: dict[str, Any] = response.json()
    if "errors" in body:
        raise RuntimeError(f"search failed: {body}")
    return body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--initiatives", type=int, default=500)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1, help="hub serve --workers")
    parser.add_argument(
        "--cache-entries",
        type=int,
        default=None,
        help="HUB_SEARCH_CACHE_ENTRIES of the server (0: no cache; default: the app's)",
    )
    parser.add_argument(
        "--writes-per-second",
        type=float,
        default=0.0,
        help="a writer posting replies meanwhile (each one invalidates every cached answer)",
    )
    parser.add_argument(
        "--database",
        default=None,
        help="measure on this existing, prepared database and keep it (default: a new one, "
        "prepared, dropped at the end)",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    if (problem := check_admin_url(args.admin_url)) is not None:
        print(problem, file=sys.stderr)
        return 2

    def serve(port: int) -> list[str]:
        argv = hub_argv(port)
        argv[argv.index("--workers") + 1] = str(args.workers)
        return argv

    def body(workdir: Path, database: str, servers: list[Server]) -> str:
        dsn, url = database_urls(args.admin_url, database)
        migrate.upgrade(url)
        prepared: dict[str, Any] = {"counts": {}, "generate_s": 0.0, "index_s": 0.0}
        if args.database is None or asyncio.run(is_empty(url)):
            prepared = asyncio.run(
                prepare(url, args.threads, args.posts, args.resources, args.initiatives)
            )
        asyncio.run(vacuum_analyze(dsn))
        plan = asyncio.run(explain(url, QUERIES[1]))
        settings = bench_settings(url)
        token = asyncio.run(issue_tokens(settings, ["member1@demo.hub"]))[0]
        thread = asyncio.run(thread_to_write_in(url)) if args.writes_per_second else None
        environment = server_environment(settings)
        if args.cache_entries is not None:
            environment["HUB_SEARCH_CACHE_ENTRIES"] = str(args.cache_entries)
        start_and_wait([("hub", serve)], environment, workdir, servers)
        base = servers[0].url
        sample = asyncio.run(sample_answer(base, token))
        asyncio.run(drive(base, token, args.warmup, args.clients))
        pid = servers[0].process.pid
        cpu_before = tree_cpu_seconds(pid)
        result = asyncio.run(
            drive(base, token, args.duration, args.clients, args.writes_per_second, thread)
        )
        result["server_cpu_ms_per_request"] = (
            1000 * (tree_cpu_seconds(pid) - cpu_before) / max(result["requests"], 1)
        )
        setup = {
            "workers": args.workers,
            "cache_entries": args.cache_entries,
            "writes_per_second": args.writes_per_second,
        }
        document = {
            "prepared": prepared,
            "clients": args.clients,
            "duration_s": args.duration,
            "setup": setup,
            "result": result,
            "sample_total": sample["data"]["search"]["totalCount"],
            "explain": plan,
        }
        path = save_results("search", document)
        cache = "app default" if args.cache_entries is None else str(args.cache_entries)
        lines = [
            f"data: {json.dumps(prepared['counts'])}",
            f"generated in {prepared['generate_s']:.1f} s, indexed in {prepared['index_s']:.1f} s",
            f"EXPLAIN ANALYZE (query {QUERIES[1]!r}, signed-in member):",
            plan,
            "",
            f"server: {args.workers} worker(s), search cache entries: {cache}; "
            f"writes: {result['writes']['written']} replies written "
            f"({result['writes']['failed']} failed) at {args.writes_per_second}/s",
            f"{args.clients} clients, {args.duration:.0f} s: {result['requests']} requests, "
            f"{result['errors']} errors, {result['rps']:.1f} req/s, "
            f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"server CPU {result['server_cpu_ms_per_request']:.1f} ms per request, "
            f"client CPU {result['client_cpu_ms_per_request']:.1f} "
            f"(load average {os.getloadavg()[0]:.2f})",
            "| query | matches | requests | p50 ms | p99 ms |",
            "|---|---|---|---|---|",
            *(
                f"| `{q}` | {v['hits']} | {v['n']} | {v['p50_ms']:.1f} | {v['p99_ms']:.1f} |"
                for q, v in result["per_query"].items()
            ),
            f"saved {path}",
        ]
        return "\n".join(lines)

    if args.database is not None:
        return run_with_kept_database(args.admin_url, args.database, 1800, body)
    return run_with_database(args.admin_url, 1800, body)


if __name__ == "__main__":
    sys.exit(main())
