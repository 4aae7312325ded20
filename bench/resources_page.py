"""Benchmark: one page of 50 resources filtered by an objective, with their objectives,
organisation and relations, over GraphQL, against a floor.

Creates a fresh PostgreSQL database, migrates it, seeds demo members and ≥10,000 resources
(`app.seed.seed_knowledge`: some superseded, some contradicted), starts the hub (`hub serve`,
one worker, production settings) and the floor (`bench/resources_floor.py`: the same SQL and
the same JSON without GraphQL), checks that both answer the same JSON, then drives both with
wrk, alternately, and reports req/s, p50, p99 and the ratio hub/floor. Everything it starts it
stops by PID; the database is dropped at the end; a watchdog bounds the whole run.

    .venv/bin/python bench/resources_page.py [--viewer anonymous|member] [--duration 15] ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Literal

from harness import (
    ADMIN_URL,
    BenchError,
    LoadPlan,
    Server,
    add_load_arguments,
    bench_settings,
    check_admin_url,
    database_urls,
    fetch,
    hub_argv,
    issue_tokens,
    load_plan,
    print_load,
    run_with_database,
    same_json,
    script_argv,
    server_environment,
    start_and_wait,
    vacuum_analyze,
)
from side_by_side import (
    Row,
    check_raw_floor,
    measure_and_report,
    page_rows,
    plan_budget,
    raw_floor_argv,
)
from trusted import by_document_id, push_trusted

from app import migrate
from app.seed import seed_demo, seed_knowledge
from app.settings import Settings
from models.db import create_database

PAGE_SIZE = 50
OBJECTIVE = 6
QUERY = (
    "query($objective: Int!) { resources(first: 50, filter: {objectives: [$objective]}) { "
    "edges { cursor node { id title kind publishedOn objectives { number shortTitle } "
    "organization { id name kind } supersedes { id title } "
    "contradictedBy { note resource { id title } } } } pageInfo { hasNextPage endCursor } } }"
)
VIEWER_EMAIL = "member1@demo.hub"
SETUP_SECONDS = 300  # create, migrate, seed, start the servers
ROWS = 4  # the hub (its text, its compiled trusted document), the SQLAlchemy and raw floors
Viewer = Literal["anonymous", "member"]


@dataclass(frozen=True)
class Options:
    resources: int
    members: int
    plan: LoadPlan
    viewer: Viewer
    admin_url: str


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--resources", type=int, default=10_000, help="resources to seed")
    parser.add_argument("--members", type=int, default=300, help="demo members to seed")
    add_load_arguments(parser)
    parser.add_argument(
        "--viewer",
        choices=["anonymous", "member"],
        default="anonymous",
        help="anonymous, or a signed-in member (bearer token)",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL, help="maintenance database, loopback")
    args = parser.parse_args(argv)
    if problem := check_admin_url(args.admin_url):
        parser.error(problem)
    if args.resources < 1_000:
        parser.error("--resources must be at least 1,000: the filtered page must be full")
    return Options(
        resources=args.resources,
        members=args.members,
        plan=load_plan(parser, args),
        viewer=args.viewer,
        admin_url=args.admin_url,
    )


async def seed(settings: Settings, dsn: str, options: Options) -> str | None:
    """Members, then the resources; the viewer's token."""
    await seed_demo(settings, members=options.members)
    db = create_database(settings.database_url)
    try:
        async with db.sessions.begin() as session:
            await seed_knowledge(session, random.Random(73195), options.resources, 0)
    finally:
        await db.dispose()
    await vacuum_analyze(dsn)
    if options.viewer == "anonymous":
        return None
    return (await issue_tokens(settings, [VIEWER_EMAIL]))[0]


def check_same_answer(hub_body: bytes, floor_body: bytes) -> bool:
    """Both bodies must be the same JSON: a full page with more to come, organisations on
    every resource, and relations on some. True if the bodies are byte-equal too."""
    page = same_json(hub_body, floor_body)["resources"]
    edges = page["edges"]
    if len(edges) != PAGE_SIZE or not page["pageInfo"]["hasNextPage"]:
        raise BenchError(f"the page is not a full page of {PAGE_SIZE}: seed more resources")
    nodes = [e["node"] for e in edges]
    if not all(n["organization"] and n["objectives"] for n in nodes):
        raise BenchError("the page lacks organisations or objectives: check the seed")
    if not any(n["supersedes"] or n["contradictedBy"] for n in nodes):
        raise BenchError("the page has no relations: check the seed")
    return hub_body == floor_body


def prepare_database(options: Options, database: str) -> tuple[Settings, str | None]:
    dsn, url = database_urls(options.admin_url, database)
    settings = bench_settings(url)
    print(
        f"database {database}: migrating, seeding {options.members} members and "
        f"{options.resources:,} resources",
        flush=True,
    )
    migrate.upgrade(url)
    token = asyncio.run(seed(settings, dsn, options))
    return settings, token


def benchmark(options: Options, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    settings, token = prepare_database(options, database)
    push_trusted(settings, workdir, [QUERY])
    specs: list[tuple[str, Callable[[int], list[str]]]] = [
        ("hub", hub_argv),
        ("floor", partial(script_argv, "resources_floor.py")),
        ("raw", partial(raw_floor_argv, "resources")),
    ]
    start_and_wait(specs, server_environment(settings), workdir, servers)
    body = json.dumps({"query": QUERY, "variables": {"objective": OBJECTIVE}}).encode()
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    answer = fetch(servers[0], body, token)
    byte_equal = check_same_answer(answer, fetch(servers[1], body, token))
    check_raw_floor(answer, fetch(servers[2], body, token))
    compiled = by_document_id(workdir, "compiled.json", QUERY, {"objective": OBJECTIVE})
    check_raw_floor(fetch(servers[0], compiled.read_bytes(), token), answer)
    print(
        f"same JSON from the hub and both floors ({len(answer):,} bytes; SQLAlchemy floor "
        f"byte-equal: {byte_equal}; raw floor byte-equal: True)",
        flush=True,
    )
    facts = {
        "options": asdict(options),
        "response_bytes": len(answer),
        "sqlalchemy_floor_byte_equal": byte_equal,
    }
    title = (
        f"resources(first: 50) of objective {OBJECTIVE} with objectives, organisation and "
        f"relations, {options.resources:,} resources, viewer {options.viewer}, "
        f"{options.plan.connections} connections, {options.plan.rounds} x {options.plan.duration} s each"
    )
    rows = page_rows(servers, body_file, token)
    rows.insert(1, Row("hub, compiled trusted document", servers[0], compiled, token))
    return measure_and_report(
        f"resources_page-{options.viewer}", title, rows, facts, options.plan,
        options.admin_url, database,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    return run_with_database(
        options.admin_url,
        plan_budget(options.plan, ROWS, SETUP_SECONDS),
        partial(benchmark, options),
    )


if __name__ == "__main__":
    sys.exit(main())
