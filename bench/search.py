"""Benchmark: search with facets on PostgreSQL, 10 typical queries at 10 concurrent clients.

Creates a fresh PostgreSQL database, migrates it, seeds the demo (organisations, 1,000 members,
communities), then adds threads and posts with set-based `INSERT ... SELECT` (words drawn from a
fixed vocabulary, deterministically) and 10,000 resources with 500 initiatives (the demo's
knowledge seeder: mostly published, some superseded; their summaries and bodies then rewritten
from the same vocabulary), builds the search index through the app's own indexer
(`resolvers.search_index.rebuild`, the code writers use), runs `VACUUM ANALYZE`, prints
`EXPLAIN ANALYZE` of the real search statement of each query, then starts the hub (`hub serve`,
one worker per core unless told, production settings) and measures it with wrk (one thread, 10
connections) POSTing the 10 queries in turn, each asking for the first 20 hits, their snippets,
`totalCount` and every facet (bench/post_graphql_rotating.lua; any GraphQL error fails the
run). Reports req/s, p50/p90/p99/max latency and the CPU the server (all its workers) spent per
request. Everything it starts it stops by PID; the database is dropped at the end (unless it
was given with --database); a watchdog bounds the whole run.

    .venv/bin/python bench/search.py [--posts 100000] [--threads 10000] [--resources 10000]
        [--duration 20] [--workers CORES] [--cache-entries N] [--writes-per-second R]
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
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
from harness import (
    ADMIN_URL,
    HEADERS,
    ROTATING_LUA_SCRIPT,
    BenchError,
    Server,
    WrkRun,
    bench_settings,
    check_admin_url,
    database_urls,
    hub_argv,
    issue_tokens,
    run_with_database,
    run_with_kept_database,
    run_wrk,
    save_results,
    server_environment,
    start_and_wait,
    vacuum_analyze,
)
from sqlalchemy import event, select, text

from app import migrate
from app.seed import seed_demo, seed_knowledge
from models.db import create_database
from models.member import Member
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


async def explain(url: str, queries: list[str]) -> dict[str, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of the statement the app runs for one page of each query with
    its counts, for member1 (the member the load is measured for), as the cache computes it (each run three times: the
    last plan is kept, warm)."""
    db = create_database(url)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "search_document" in statement and "ORDER BY" in statement:
            captured.append((statement, parameters))

    plans: dict[str, list[str]] = {}
    try:
        async with db.sessions() as session:
            member = (
                await session.execute(
                    select(Member.id, Member.role, Member.organization_id).where(
                        Member.email == "member1@demo.hub"
                    )
                )
            ).one()
        viewer = Viewer(
            member_id=member.id, role=member.role, organization_id=member.organization_id
        )
        event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
        for query in queries:
            captured.clear()
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
                for _ in range(3):
                    rows = await connection.exec_driver_sql(
                        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                    )
                plans[query] = [str(r[0]) for r in rows]
    finally:
        await db.dispose()
    return plans


def execution_ms(plan: list[str]) -> float:
    return float(plan[-1].split()[-2])  # "Execution Time: 12.345 ms"


CREATE_POST = """
mutation($input: CreatePostInput!) { createPost(input: $input) { post { id } errors { code } } }
"""


async def thread_to_write_in(url: str) -> str:
    """A thread of a public community (the writer, a moderator, posts there)."""
    db = create_database(url)
    try:
        async with db.sessions() as session:
            thread_id = (
                await session.execute(
                    text(
                        "SELECT t.id FROM thread t JOIN community c ON c.id = t.community_id "
                        "WHERE c.visibility = 'PUBLIC' ORDER BY t.id LIMIT 1"
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


async def measure(
    server: Server,
    bodies: Path,
    token: str,
    duration: float,
    clients: int,
    writes_per_second: float = 0.0,
    thread: str | None = None,
    writer: str | None = None,
) -> tuple[WrkRun, dict[str, int]]:
    """wrk (one thread, `clients` connections) POSTing the 10 queries in turn for `duration`,
    with the writer posting replies meanwhile if asked."""
    run = asyncio.to_thread(run_wrk, server, duration, clients, bodies, token, ROTATING_LUA_SCRIPT)
    if writes_per_second <= 0 or thread is None or writer is None:
        return await run, {"written": 0, "failed": 0}
    async with httpx.AsyncClient(timeout=30) as http:
        deadline = time.perf_counter() + duration
        return await asyncio.gather(
            run, write_replies(http, server.url, writer, thread, writes_per_second, deadline)
        )


async def totals(url: str, token: str) -> dict[str, int]:
    """Each query's `totalCount` for the member (after checking the answer has no error)."""
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    found: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        for query in QUERIES:
            response = await http.post(
                f"{url}/graphql",
                json={"query": GRAPHQL, "variables": {"q": query}},
                headers=headers,
            )
            body: dict[str, Any] = response.json()
            if response.status_code != 200 or "errors" in body:
                raise BenchError(f"search {query!r} failed: {body}")
            found[query] = int(body["data"]["search"]["totalCount"])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--resources", type=int, default=10_000)
    parser.add_argument("--initiatives", type=int, default=500)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="hub serve --workers (default: one per core, as deployed)",
    )
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
        plans = asyncio.run(explain(url, QUERIES))
        settings = bench_settings(url)
        token, writer = asyncio.run(
            issue_tokens(settings, ["member1@demo.hub", "moderator@demo.hub"])
        )
        thread = asyncio.run(thread_to_write_in(url)) if args.writes_per_second else None
        environment = server_environment(settings)
        if args.cache_entries is not None:
            environment["HUB_SEARCH_CACHE_ENTRIES"] = str(args.cache_entries)
        start_and_wait([("hub", serve)], environment, workdir, servers)
        server = servers[0]
        matches = asyncio.run(totals(server.url, token))
        bodies = workdir / "bodies.jsonl"
        bodies.write_text(
            "".join(json.dumps({"query": GRAPHQL, "variables": {"q": q}}) + "\n" for q in QUERIES)
        )
        load_before = os.getloadavg()[0]
        asyncio.run(measure(server, bodies, token, args.warmup, args.clients))
        run, writes = asyncio.run(
            measure(
                server,
                bodies,
                token,
                args.duration,
                args.clients,
                args.writes_per_second,
                thread,
                writer,
            )
        )
        setup = {
            "workers": args.workers,
            "cache_entries": args.cache_entries,
            "writes_per_second": args.writes_per_second,
            "load_average_before": load_before,
        }
        document = {
            "prepared": prepared,
            "clients": args.clients,
            "duration_s": args.duration,
            "setup": setup,
            "result": asdict(run) | {"rps": run.rps, "cpu_ms_per_request": run.cpu_ms_per_request},
            "writes": writes,
            "matches": matches,
            "explain": plans,
        }
        path = save_results("search", document)
        cache = "app default" if args.cache_entries is None else str(args.cache_entries)
        lines = [
            f"data: {json.dumps(prepared['counts'])}",
            f"generated in {prepared['generate_s']:.1f} s, indexed in {prepared['index_s']:.1f} s",
            f"EXPLAIN (ANALYZE, BUFFERS) (query {QUERIES[1]!r}, signed-in member):",
            *plans[QUERIES[1]],
            "",
            "| query | matches (member1) | database time of its statement (ms) |",
            "|---|---|---|",
            *(f"| `{q}` | {matches[q]:,} | {execution_ms(plans[q]):.1f} |" for q in QUERIES),
            "",
            f"server: {args.workers} worker(s), search cache entries: {cache}; writer: "
            f"{writes['written']} replies ({writes['failed']} failed) at "
            f"{args.writes_per_second:g}/s; load average before {load_before:.2f}",
            f"wrk, {args.clients} connections, {args.duration:g} s: {run.requests} requests, "
            f"{run.rps:.1f} req/s, p50 {run.p50_ms:.1f} ms, p90 {run.p90_ms:.1f} ms, "
            f"p99 {run.p99_ms:.1f} ms, max {run.max_ms:.1f} ms, "
            f"server CPU {run.cpu_ms_per_request:.2f} ms per request, errors {run.errors}",
            f"saved {path}",
        ]
        return "\n".join(lines)

    if args.database is not None:
        return run_with_kept_database(args.admin_url, args.database, 1800, body)
    return run_with_database(args.admin_url, 1800, body)


if __name__ == "__main__":
    sys.exit(main())
