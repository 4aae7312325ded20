"""CPU per request of the hub's ASGI app called in process (no uvicorn, no wrk, no floor): a
quick A/B of a code change on the thread or members page, steadier than req/s on a busy box.

Creates `hub_bench_cpu_<pid>` on PostgreSQL, migrates and seeds it as `thread_page.py` does,
opens the app's lifespan, warms up, then sends `--requests` POSTs from `--concurrency`
coroutines straight into the ASGI app and divides the process's CPU time by the requests.
Every answer must be the first one, byte for byte. The database is dropped at the end.

    .venv/bin/python bench/exec_cpu.py [--page thread|members|common] [--viewer anonymous|member]
    .venv/bin/python bench/exec_cpu.py --page common --cache --requests 20000   # cache hits
    .venv/bin/python bench/exec_cpu.py --executor   # the text never compiled (HUB_COMPILE_TEXTS=false)
    PYTHONPATH=/tmp/other-checkout .venv/bin/python bench/exec_cpu.py   # the other code
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import logging.config
import os
import sys
import time
from pathlib import Path
from typing import Any

from discussion import VIEWER_EMAIL, seed_discussion
from floor import global_id
from harness import (
    ADMIN_URL,
    bench_settings,
    create_bench_database,
    database_urls,
    drop_bench_database,
    issue_tokens,
    vacuum_analyze,
)
from members_page import QUERY as MEMBERS_QUERY
from postgraphile import HUB_COMMON_QUERY
from thread_page import QUERY as THREAD_QUERY

from app import migrate
from app.logs import log_config
from app.main import create_app
from app.seed import seed_demo

GC_SETTINGS = {"settled": None, "default": (700, 10, 10), "off": (0, 0, 0)}


async def call(app: Any, body: bytes, token: str | None) -> bytes:
    """One POST /graphql through the whole ASGI stack (middleware included)."""
    headers = [(b"content-type", b"application/json"), (b"host", b"127.0.0.1")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


async def measure(args: argparse.Namespace, url: str, dsn: str) -> None:
    settings = bench_settings(url)
    await asyncio.to_thread(migrate.upgrade, url)
    await seed_demo(settings, members=300)
    discussion = await seed_discussion(settings, posts=80, members=100)
    await vacuum_analyze(dsn)
    token = (await issue_tokens(settings, [VIEWER_EMAIL]))[0] if args.viewer == "member" else None
    if args.page in ("thread", "common"):
        query = THREAD_QUERY if args.page == "thread" else HUB_COMMON_QUERY
        variables = {"id": global_id("Thread", discussion.thread_id)}
        body = json.dumps({"query": query, "variables": variables}).encode()
    else:
        body = json.dumps({"query": MEMBERS_QUERY}).encode()
    if not args.cache:  # the executor, as the page benchmarks measure it
        settings = settings.model_copy(update={"response_cache_max_bytes": 0})
    if args.executor:  # plain texts not compiled either (app/compiled.py, CompiledTexts)
        settings = settings.model_copy(update={"compile_texts": False})
    app = create_app(settings)
    if args.log:  # the server's request lines (to stderr), as `hub serve` writes them
        logging.config.dictConfig(log_config(production=True))
    async with app.router.lifespan_context(app):
        if (thresholds := GC_SETTINGS[args.gc]) is not None:
            gc.unfreeze()
            gc.set_threshold(*thresholds)
            if args.gc == "off":
                gc.disable()
        first = await call(app, body, token)
        for _ in range(30):
            await call(app, body, token)

        async def client(requests: int) -> None:
            for _ in range(requests):
                if await call(app, body, token) != first:
                    raise SystemExit("an answer differed from the first")

        per_client = args.requests // args.concurrency
        profile = cProfile.Profile() if args.profile else None
        cpu, wall = time.process_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        await asyncio.gather(*(client(per_client) for _ in range(args.concurrency)))
        if profile is not None:
            profile.disable()
            profile.dump_stats(args.profile)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = per_client * args.concurrency
    print(
        f"{args.page} page, {args.viewer}, gc {args.gc}{', cached' if args.cache else ''}"
        f"{', executor only' if args.executor else ''}: {len(first):,} bytes, "
        f"CPU {1000 * cpu / done:.2f} ms/request, wall {1000 * wall / done:.2f} ms/request, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if args.save:
        await asyncio.to_thread(Path(args.save).write_bytes, first)


async def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--page", choices=["thread", "members", "common"], default="thread",
                        help="common: the reduced thread query of cached_page.py --common")  # fmt: skip
    parser.add_argument("--cache", action="store_true",
                        help="the response cache on (32 MB): measures its hits")  # fmt: skip
    parser.add_argument("--viewer", choices=["anonymous", "member"], default="anonymous")
    parser.add_argument(
        "--executor",
        action="store_true",
        help="HUB_COMPILE_TEXTS=false: the text through the executor, never compiled",
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--gc", choices=list(GC_SETTINGS), default="settled",
                        help="settled: the app's own (app/main.py); default: Python's; off")  # fmt: skip
    parser.add_argument("--log", action="store_true", help="write the request log lines (stderr)")
    parser.add_argument("--profile", help="cProfile the measured requests into this file")
    parser.add_argument("--save", help="write the answer's bytes to this file (to compare)")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    name = f"hub_bench_cpu_{os.getpid()}"
    dsn, url = database_urls(args.admin_url, name)
    await create_bench_database(args.admin_url, name)
    try:
        await measure(args, url, dsn)
    finally:
        await drop_bench_database(args.admin_url, name)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
