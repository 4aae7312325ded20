"""Benchmark: a thread with its first 50 posts (authors, reactions) over GraphQL, against a floor.

Creates a fresh PostgreSQL database, migrates it, seeds demo members and a public community
with one long thread (`discussion.py`), starts the hub (`hub serve`, one worker, production
settings) and the floor (`bench/thread_floor.py`: the same SQL and the same JSON without
GraphQL), checks that both answer the same JSON, then drives both with wrk, alternately, and
reports req/s, p50, p99 and the ratio hub/floor. Everything it starts it stops by PID; the
database is dropped at the end; a watchdog bounds the whole run.

    .venv/bin/python bench/thread_page.py [--viewer anonymous|member] [--duration 15] ...
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

from discussion import VIEWER_EMAIL, seed_discussion
from floor import global_id
from harness import (
    ADMIN_URL,
    BenchError,
    LoadPlan,
    Server,
    add_load_arguments,
    bench_settings,
    check_admin_url,
    comparison_report,
    database_urls,
    fetch,
    hub_argv,
    issue_tokens,
    load_plan,
    measure,
    print_load,
    run_with_database,
    same_json,
    save_results,
    script_argv,
    server_environment,
    start_and_wait,
    summarize,
    vacuum_analyze,
    wrk_runs_json,
)

from app import migrate
from app.seed import seed_demo
from app.settings import Settings

PAGE_SIZE = 50
QUERY = (
    "query($id: ID!) { thread(id: $id) { title replyCount posts(first: 50) { edges { cursor "
    "node { id body createdAt author { id name } reactions { kind count reactedByViewer } } } "
    "pageInfo { hasNextPage endCursor } } } }"
)
SETUP_SECONDS = 300  # create, migrate, seed, start both servers
TARGET_RATIO = 0.20  # the hub should serve at least this share of the floor's req/s
Viewer = Literal["anonymous", "member"]


@dataclass(frozen=True)
class Options:
    posts: int
    members: int
    community_members: int
    plan: LoadPlan
    viewer: Viewer
    admin_url: str


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=80, help="posts in the thread (> 50)")
    parser.add_argument("--members", type=int, default=300, help="demo members to seed")
    parser.add_argument(
        "--community-members", type=int, default=100, help="members of the community (authors)"
    )
    add_load_arguments(parser)
    parser.add_argument(
        "--viewer",
        choices=["anonymous", "member"],
        default="anonymous",
        help="anonymous, or a signed-in member of the community (bearer token)",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL, help="maintenance database, loopback")
    args = parser.parse_args(argv)
    if problem := check_admin_url(args.admin_url):
        parser.error(problem)
    if args.posts <= PAGE_SIZE:
        parser.error(f"--posts must exceed {PAGE_SIZE}: the page must be full, with more after")
    if not 2 <= args.community_members <= args.members // 2:
        parser.error("--community-members must be between 2 and half of --members")
    return Options(
        posts=args.posts,
        members=args.members,
        community_members=args.community_members,
        plan=load_plan(parser, args),
        viewer=args.viewer,
        admin_url=args.admin_url,
    )


async def seed(settings: Settings, dsn: str, options: Options) -> tuple[str, str | None]:
    """Members, the community and its thread; the thread's global ID and the viewer's token."""
    await seed_demo(settings, members=options.members)
    discussion = await seed_discussion(
        settings, posts=options.posts, members=options.community_members
    )
    await vacuum_analyze(dsn)
    thread_id = global_id("Thread", discussion.thread_id)
    if options.viewer == "anonymous":
        return thread_id, None
    return thread_id, (await issue_tokens(settings, [VIEWER_EMAIL]))[0]


def check_same_answer(hub_body: bytes, floor_body: bytes) -> bool:
    """Both bodies must be the same JSON: a full page with more to come, some authors visible,
    reactions on every post. True if the bodies are byte-equal too."""
    thread = same_json(hub_body, floor_body)["thread"]
    if thread is None:
        raise BenchError("the thread is missing from the answer")
    edges = thread["posts"]["edges"]
    if len(edges) != PAGE_SIZE or not thread["posts"]["pageInfo"]["hasNextPage"]:
        raise BenchError(f"the page is not a full page of {PAGE_SIZE}: seed more posts")
    authors = [e["node"]["author"] for e in edges]
    if not any(authors) or not all(e["node"]["reactions"] for e in edges):
        raise BenchError("the page lacks visible authors or reactions: check the seed")
    return hub_body == floor_body


def prepare_database(options: Options, database: str) -> tuple[Settings, str, str | None]:
    """Migrated and seeded: the servers' settings, the thread's ID, the viewer's token."""
    dsn, url = database_urls(options.admin_url, database)
    settings = bench_settings(url)
    print(
        f"database {database}: migrating, seeding {options.members} members and a thread of "
        f"{options.posts} posts",
        flush=True,
    )
    migrate.upgrade(url)
    thread_id, token = asyncio.run(seed(settings, dsn, options))
    return settings, thread_id, token


def benchmark(options: Options, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    settings, thread_id, token = prepare_database(options, database)
    specs: list[tuple[str, Callable[[int], list[str]]]] = [
        ("hub", hub_argv),
        ("floor", partial(script_argv, "thread_floor.py")),
    ]
    start_and_wait(specs, server_environment(settings), workdir, servers)
    body = json.dumps({"query": QUERY, "variables": {"id": thread_id}}).encode()
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    answer = fetch(servers[0], body, token)
    byte_equal = check_same_answer(answer, fetch(servers[1], body, token))
    print(
        f"same JSON from both ({len(answer):,} bytes, byte-equal: {byte_equal}); measuring",
        flush=True,
    )
    measure(servers, options.plan, body_file, token)
    document = {
        "options": asdict(options),
        "bodies_byte_equal": byte_equal,
        "response_bytes": len(answer),
        "runs": wrk_runs_json(servers),
    }
    print(f"results: {save_results(f'thread_page-{options.viewer}', document)}")
    title = (
        f"thread + posts(first: 50) with authors and reactions, viewer {options.viewer}, "
        f"{options.plan.connections} connections, {options.plan.rounds} x {options.plan.duration} s each"
    )
    return comparison_report(
        title, summarize(servers[0].runs), summarize(servers[1].runs), TARGET_RATIO
    )


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    return run_with_database(
        options.admin_url, options.plan.budget_seconds(SETUP_SECONDS), partial(benchmark, options)
    )


if __name__ == "__main__":
    sys.exit(main())
