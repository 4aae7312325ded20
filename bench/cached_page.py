"""Benchmark: the thread page answered from the response cache, against the same page executed.

Seeds a fresh PostgreSQL database as `thread_page.py` does, starts two hubs (`hub serve`, one
worker, production settings), one with the response cache off (`executor`) and one with it on
(`cached`), checks that both answer the same bytes, then drives both with wrk, alternately,
anonymous, and reports req/s, p50, p99 and server CPU per request. The document is the thread
page of `thread_page.py` without `reactedByViewer`: a viewer-specific field makes a document
uncacheable (schema/viewer_fields.py). Everything it starts it stops by PID; the database is
dropped at the end; a watchdog bounds the whole run.

With `--common`, the document is the common reduced query of `thread_page.py` (title + 50
posts + authors, no viewer-specific field), and the raw floor answering it (`raw_floor.py
--page thread-common`, the hub's bytes checked) runs side by side as the third row: ratios are
against it.

    .venv/bin/python bench/cached_page.py [--common] [--duration 15] [--rounds 2] ...
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import asdict
from functools import partial
from pathlib import Path

from harness import (
    Server,
    Summary,
    fetch,
    hub_argv,
    measure,
    print_load,
    run_with_database,
    save_results,
    server_environment,
    start_and_wait,
    summarize,
    table_row,
    wrk_runs_json,
)
from postgraphile import HUB_COMMON_QUERY
from side_by_side import check_raw_floor, raw_floor_argv
from thread_page import QUERY, SETUP_SECONDS, Options, parse_args, prepare_database

CACHED_QUERY = QUERY.replace(" reactedByViewer", "")
CACHE_BYTES = "32000000"


def benchmark(
    options: Options, common: bool, workdir: Path, database: str, servers: list[Server]
) -> str:
    print_load()
    settings, thread_id, _ = prepare_database(options, database)
    environment = server_environment(settings)  # the response cache off
    start_and_wait([("executor", hub_argv)], environment, workdir, servers)
    cached = {**environment, "HUB_RESPONSE_CACHE_MAX_BYTES": CACHE_BYTES}
    start_and_wait([("cached", hub_argv)], cached, workdir, servers)
    query = HUB_COMMON_QUERY if common else CACHED_QUERY
    body = json.dumps({"query": query, "variables": {"id": thread_id}}).encode()
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    executed, kept = fetch(servers[0], body, None), fetch(servers[1], body, None)
    if executed != kept or b'"errors"' in executed:
        raise SystemExit("the cached answer differs from the executed one")
    if common:
        start_and_wait(
            [("raw-common", partial(raw_floor_argv, "thread-common"))], environment, workdir,
            servers,
        )  # fmt: skip
        check_raw_floor(executed, fetch(servers[2], body, None))
    print(f"same bytes from all ({len(executed):,} bytes); measuring", flush=True)
    measure(servers, options.plan, body_file, None)
    document = {
        "options": asdict(options),
        "response_bytes": len(executed),
        "runs": wrk_runs_json(servers),
    }
    print(f"results: {save_results('cached_page', document)}")
    executor, cache = summarize(servers[0].runs), summarize(servers[1].runs)
    print_load("after the run")
    return "\n".join(
        [
            f"{'common query' if common else 'thread + posts(first: 50)'}, anonymous, "
            f"{options.plan.connections} connections, "
            f"{options.plan.rounds} x {options.plan.duration} s each",
            "",
            "| server | req/s | p50 (ms) | p99 (ms) | server CPU (ms/req) |",
            "|---|---:|---:|---:|---:|",
            table_row("hub, from the response cache", cache),
            table_row("hub, executed (cache off)", executor),
            *([table_row("raw floor, common query", summarize(servers[2].runs))] if common else []),
            "",
            f"cached/executed: {cache.rps / executor.rps:.1f}x the req/s, "
            f"{executor.cpu_ms_per_request / cache.cpu_ms_per_request:.1f}x less CPU per request",
            *([_against_raw(cache, summarize(servers[2].runs))] if common else []),
        ]
    )


def _against_raw(cache: Summary, raw: Summary) -> str:
    return (
        f"cached/raw floor: {cache.rps / raw.rps:.2f}x the req/s, "
        f"{cache.cpu_ms_per_request / raw.cpu_ms_per_request:.2f}x the server CPU per request"
    )


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    common = "--common" in arguments  # the common query, with the raw floor beside it
    options = parse_args([a for a in arguments if a != "--common"])
    if options.viewer != "anonymous":
        print("the response cache answers anonymous viewers only", file=sys.stderr)
        return 2
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    plan = options.plan
    budget = plan.budget_seconds(SETUP_SECONDS)
    if common:  # a third server
        budget += plan.warmup + 30 + plan.rounds * (plan.duration + 30)
    return run_with_database(options.admin_url, budget, partial(benchmark, options, common))


if __name__ == "__main__":
    sys.exit(main())
