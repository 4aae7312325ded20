"""Benchmark: a thread with its first 50 posts (authors, reactions) over GraphQL, against the
raw floor, with the SQLAlchemy floor and PostGraphile side by side.

Creates a fresh PostgreSQL database, migrates it, seeds demo members and a public community
with one long thread (`discussion.py`), starts the hub (`hub serve`, one worker, production
settings), the SQLAlchemy floor (`bench/thread_floor.py`: the hub's SQL and JSON without
GraphQL), the raw floor (`bench/raw_floor.py`: one hand-written statement, asyncpg, bare ASGI)
and PostGraphile 4 (`postgraphile.py`, one Node process); checks that the floors answer the
hub's JSON (the raw floor byte for byte) and that PostGraphile and the hub answer the same
posts on a common reduced query; then drives every row with wrk in turn, alternately, and
reports req/s, p50, p99, server and database CPU per request, and the ratios against the raw
floor. Everything it starts it stops by PID; the database is dropped at the end; a watchdog
bounds the whole run.

    .venv/bin/python bench/thread_page.py [--viewer anonymous|member] [--duration 15] ...
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import postgraphile
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
    database_urls,
    fetch,
    free_port,
    hub_argv,
    issue_tokens,
    load_plan,
    print_load,
    run_with_database,
    same_json,
    script_argv,
    server_environment,
    start_and_wait,
    start_server,
    vacuum_analyze,
)
from side_by_side import (
    RAW_FLOOR,
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

PAGE_SIZE = 50
QUERY = (
    "query($id: ID!) { thread(id: $id) { title replyCount posts(first: 50) { edges { cursor "
    "node { id body createdAt author { id name } reactions { kind count reactedByViewer } } } "
    "pageInfo { hasNextPage endCursor } } } }"
)
SETUP_SECONDS = 600  # create, migrate, seed, install PostGraphile, start the servers
Viewer = Literal["anonymous", "member"]


@dataclass(frozen=True)
class Options:
    posts: int
    members: int
    community_members: int
    plan: LoadPlan
    viewer: Viewer
    admin_url: str
    postgraphile: bool

    @property
    def rows(self) -> int:
        return 8 if self.postgraphile else 4


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
    parser.add_argument(
        "--no-postgraphile",
        dest="postgraphile",
        action="store_false",
        help="leave out PostGraphile and the hub's row on the common query",
    )
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
        postgraphile=args.postgraphile,
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


def push_compiled(settings: Settings, workdir: Path) -> None:
    """The page's query and the common query as trusted documents: the hub compiles them and
    answers `documentId` requests with one statement."""
    push_trusted(settings, workdir, (QUERY, postgraphile.HUB_COMMON_QUERY))


def thread_rows(
    workdir: Path, servers: list[Server], thread_id: str, token: str | None
) -> tuple[list[Row], dict[str, object]]:
    """The hub (its text, and its compiled trusted document), the SQLAlchemy floor and the raw
    floor on the page, their answers checked."""
    body = json.dumps({"query": QUERY, "variables": {"id": thread_id}}).encode()
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    answer = fetch(servers[0], body, token)
    byte_equal = check_same_answer(answer, fetch(servers[1], body, token))
    check_raw_floor(answer, fetch(servers[2], body, token))
    compiled = by_document_id(workdir, "compiled.json", QUERY, {"id": thread_id})
    check_raw_floor(fetch(servers[0], compiled.read_bytes(), token), answer)
    print(
        f"same JSON from the hub and both floors ({len(answer):,} bytes; SQLAlchemy floor "
        f"byte-equal: {byte_equal}; raw floor byte-equal: True)",
        flush=True,
    )
    facts: dict[str, object] = {
        "response_bytes": len(answer),
        "sqlalchemy_floor_byte_equal": byte_equal,
    }
    rows = page_rows(servers, body_file, token)
    rows.insert(1, Row("hub, compiled trusted document", servers[0], compiled, token))
    return rows, facts


def common_rows(
    workdir: Path, servers: list[Server], dsn: str, env: dict[str, str], thread_key: int
) -> tuple[list[Row], dict[str, int]]:
    """PostGraphile, the hub and the raw floor on the common reduced query (anonymous), the
    raw floor's answer byte-equal to the hub's, PostGraphile's the same posts."""
    start_and_wait(
        [("raw-common", partial(raw_floor_argv, "thread-common"))], env, workdir, servers
    )
    raw = servers[-1]
    port = free_port()
    peer = start_server("postgraphile", postgraphile.argv(dsn, port), port, env, workdir)
    servers.append(peer)
    postgraphile.wait_until_answering(peer)
    print(f"postgraphile (pid {peer.process.pid}) live on {peer.url}", flush=True)
    hub_body = json.dumps(
        {
            "query": postgraphile.HUB_COMMON_QUERY,
            "variables": {"id": global_id("Thread", thread_key)},
        }
    ).encode()
    peer_body = json.dumps(
        {"query": postgraphile.COMMON_QUERY, "variables": {"id": thread_key}}
    ).encode()
    sizes = postgraphile.check_common_answers(servers[0], hub_body, peer, peer_body)
    check_raw_floor(fetch(servers[0], hub_body, None), fetch(raw, hub_body, None))
    (workdir / "common-hub.json").write_bytes(hub_body)
    variables = {"id": global_id("Thread", thread_key)}
    compiled = by_document_id(
        workdir, "common-compiled.json", postgraphile.HUB_COMMON_QUERY, variables
    )
    check_raw_floor(fetch(servers[0], compiled.read_bytes(), None), fetch(raw, hub_body, None))
    (workdir / "common-postgraphile.json").write_bytes(peer_body)
    baseline = f"{RAW_FLOOR}, common query"
    rows = [
        Row(f"PostGraphile {postgraphile.VERSION}, common query", peer,
            workdir / "common-postgraphile.json", None, baseline),
        Row("hub (GraphQL), common query", servers[0], workdir / "common-hub.json", None,
            baseline),
        Row("hub, compiled trusted document, common query", servers[0], compiled, None,
            baseline),
        Row(baseline, raw, workdir / "common-hub.json", None, baseline),
    ]  # fmt: skip
    return rows, sizes


def benchmark(options: Options, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    if options.postgraphile:
        postgraphile.install()
    settings, thread_id, token = prepare_database(options, database)
    push_compiled(settings, workdir)
    env = server_environment(settings)
    specs: list[tuple[str, Callable[[int], list[str]]]] = [
        ("hub", hub_argv),
        ("floor", partial(script_argv, "thread_floor.py")),
        ("raw", partial(raw_floor_argv, "thread")),
    ]
    start_and_wait(specs, env, workdir, servers)
    rows, facts = thread_rows(workdir, servers, thread_id, token)
    facts["options"] = asdict(options)
    notes = []
    if options.postgraphile:
        dsn = database_urls(options.admin_url, database)[0]
        thread_key = int(base64.urlsafe_b64decode(thread_id).decode().partition(":")[2])
        more, sizes = common_rows(workdir, servers, dsn, env, thread_key)
        rows += more
        facts |= sizes | {"node": postgraphile.node_version()}
        notes.append(
            "The common query (title + 50 posts + authors) is answered anonymously by "
            "PostGraphile, the hub and a raw floor (its ratios are against that raw floor); "
            "PostGraphile shows every author (no row-level security), the hub only experts to "
            "anonymous viewers."
        )
    title = (
        f"thread + posts(first: 50) with authors and reactions, viewer {options.viewer}, "
        f"{options.plan.connections} connections, {options.plan.rounds} x {options.plan.duration} s each"
    )
    return measure_and_report(
        f"thread_page-{options.viewer}", title, rows, facts, options.plan,
        options.admin_url, database, notes,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    return run_with_database(
        options.admin_url,
        plan_budget(options.plan, options.rows, SETUP_SECONDS),
        partial(benchmark, options),
    )


if __name__ == "__main__":
    sys.exit(main())
