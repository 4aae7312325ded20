"""Benchmark: one page of the member directory over GraphQL, against a hand-written floor.

Creates a fresh PostgreSQL database, migrates and seeds it, starts the hub (`hub serve`, one
worker, production settings) and the floor (`bench/floor.py`: the same SQL and the same JSON
without GraphQL, one worker), checks that both answer the same JSON, then drives both with wrk,
alternately, and reports req/s, p50 and p99 and the ratio hub/floor. Everything it starts it
stops by PID; the database is dropped at the end; a watchdog bounds the whole run.

    .venv/bin/python bench/members_page.py [--viewer anonymous|member] [--duration 15] ...
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from app.seed import seed_demo
from app.settings import Settings

SIGNED_IN_EMAIL = "member1@demo.hub"
PAGE_SIZE = 50
QUERY = (
    "{ members(first: 50) { edges { cursor node { id name country { code } isExpert "
    "organization { id name kind } } } pageInfo { hasNextPage endCursor } } }"
)
SETUP_SECONDS = 300  # create, migrate, seed, start the servers
ROWS = 4  # the hub (its text, its compiled trusted document), the SQLAlchemy and raw floors
Viewer = Literal["anonymous", "member"]


@dataclass(frozen=True)
class Options:
    members: int
    plan: LoadPlan
    viewer: Viewer
    admin_url: str


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000, help="demo members to seed")
    add_load_arguments(parser)
    parser.add_argument(
        "--viewer",
        choices=["anonymous", "member"],
        default="anonymous",
        help="anonymous (public expert directory) or a signed-in member (bearer token)",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL, help="maintenance database, loopback")
    args = parser.parse_args(argv)
    if problem := check_admin_url(args.admin_url):
        parser.error(problem)
    if args.members < 1:
        parser.error("--members must be positive")
    return Options(
        members=args.members,
        plan=load_plan(parser, args),
        viewer=args.viewer,
        admin_url=args.admin_url,
    )


async def seed(settings: Settings, dsn: str, members: int, viewer: Viewer) -> str | None:
    """Demo data, fresh planner statistics, and a bearer token when a member is the viewer."""
    await seed_demo(settings, members=members)
    await vacuum_analyze(dsn)
    if viewer == "anonymous":
        return None
    return (await issue_tokens(settings, [SIGNED_IN_EMAIL]))[0]


def check_same_answer(hub_body: bytes, floor_body: bytes) -> bool:
    """Both bodies must be the same JSON, a full page with more to come; True if byte-equal."""
    page = same_json(hub_body, floor_body)["members"]
    if len(page["edges"]) != PAGE_SIZE or not page["pageInfo"]["hasNextPage"]:
        raise BenchError(f"the page is not a full page of {PAGE_SIZE}: seed more members")
    return hub_body == floor_body


def prepare_database(options: Options, database: str) -> tuple[Settings, str | None]:
    """Migrated and seeded; the settings both servers use, and the viewer's token if any."""
    dsn, url = database_urls(options.admin_url, database)
    settings = bench_settings(url)
    print(f"database {database}: migrating and seeding {options.members} members", flush=True)
    migrate.upgrade(url)
    return settings, asyncio.run(seed(settings, dsn, options.members, options.viewer))


def benchmark(options: Options, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    settings, token = prepare_database(options, database)
    push_trusted(settings, workdir, [QUERY])
    specs: list[tuple[str, Callable[[int], list[str]]]] = [
        ("hub", hub_argv),
        ("floor", partial(script_argv, "floor.py")),
        ("raw", partial(raw_floor_argv, "members")),
    ]
    start_and_wait(specs, server_environment(settings), workdir, servers)
    body = json.dumps({"query": QUERY}).encode()
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    answer = fetch(servers[0], body, token)
    byte_equal = check_same_answer(answer, fetch(servers[1], body, token))
    check_raw_floor(answer, fetch(servers[2], body, token))
    compiled = by_document_id(workdir, "compiled.json", QUERY, {})
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
        f"members(first: 50), viewer {options.viewer}, {options.plan.connections} connections, "
        f"{options.plan.rounds} x {options.plan.duration} s each"
    )
    rows = page_rows(servers, body_file, token)
    rows.insert(1, Row("hub, compiled trusted document", servers[0], compiled, token))
    return measure_and_report(
        f"members_page-{options.viewer}", title, rows, facts, options.plan,
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
