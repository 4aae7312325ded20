"""Benchmark: a page answered from the response cache, against the same page executed.

Seeds a fresh PostgreSQL database as the page's own benchmark does (`--page thread`, the
default: `thread_page.py`; `members`: `members_page.py`; `resources`: `resources_page.py`),
starts two hubs (`hub serve`, one worker, production settings), one with the response cache
off (`executor`) and one with it on (`cached`), checks that both answer the same bytes, then
drives both with wrk, alternately, anonymous, and reports req/s, p50, p99 and server CPU per
request. The thread page's document is `thread_page.py`'s without `reactedByViewer`: a
viewer-specific field makes a document uncacheable (schema/viewer_fields.py). Everything it
starts it stops by PID; the database is dropped at the end; a watchdog bounds the whole run.

With `--common` (the thread page), the document is the common reduced query of
`thread_page.py` (title + 50 posts + authors, no viewer-specific field). With `--common`, and
always for the members and resources pages, the raw floor answering the same document
(`raw_floor.py`, the hub's bytes checked) runs side by side as the third row: ratios are
against it. Page options (`--members`, `--resources`, `--posts`, the load options) are the
page benchmark's own.

With `--viewer member` (the thread page), a signed-in member of the community reads the thread
page itself (`thread_page.py`'s document, `reactedByViewer` included: an answer the cache never
keeps), beside the raw floor answering the member's page (`raw_floor.py --page thread`, bytes
checked): what the response cache being on costs a request it cannot answer (the compiled
fast path answers it on both hubs once the text is compiled).

    .venv/bin/python bench/cached_page.py [--page thread|members|resources] [--common]
        [--viewer member] [--duration 15] [--rounds 2] ...
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import members_page
import resources_page
import thread_page
from harness import (
    LoadPlan,
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

from app.settings import Settings

CACHED_QUERY = thread_page.QUERY.replace(" reactedByViewer", "")
CACHE_BYTES = "32000000"
PAGES = ("thread", "members", "resources")


@dataclass(frozen=True)
class Page:
    """What the benchmark asks of one page: its seeded database, its document and variables,
    and the raw floor's page answering the same document (None: no raw row)."""

    title: str
    plan: LoadPlan
    admin_url: str
    options: Any  # the page benchmark's own options (for the results file)
    # database -> settings, variables, the viewer's token (None: anonymous)
    prepare: Callable[[str], tuple[Settings, dict[str, Any], str | None]]
    query: str
    raw_page: str | None
    setup_seconds: int
    viewer: str = "anonymous"


def thread(argv: list[str], common: bool) -> Page:
    options = thread_page.parse_args(argv)
    member = options.viewer == "member"  # the member's own page: the raw floor beside it

    def prepare(database: str) -> tuple[Settings, dict[str, Any], str | None]:
        settings, thread_id, token = thread_page.prepare_database(options, database)
        return settings, {"id": thread_id}, token

    return Page(
        "common query" if common else "thread page" if member else "thread + posts(first: 50)",
        options.plan,
        options.admin_url,
        options,
        prepare,
        HUB_COMMON_QUERY if common else thread_page.QUERY if member else CACHED_QUERY,
        "thread-common" if common else "thread" if member else None,
        thread_page.SETUP_SECONDS,
        options.viewer,
    )


def members(argv: list[str]) -> Page:
    options = members_page.parse_args(argv)

    def prepare(database: str) -> tuple[Settings, dict[str, Any], str | None]:
        return members_page.prepare_database(options, database)[0], {}, None

    return Page(
        f"members(first: 50), {options.members:,} members",
        options.plan,
        options.admin_url,
        options,
        prepare,
        members_page.QUERY,
        "members",
        members_page.SETUP_SECONDS,
    )


def resources(argv: list[str]) -> Page:
    options = resources_page.parse_args(argv)

    def prepare(database: str) -> tuple[Settings, dict[str, Any], str | None]:
        settings = resources_page.prepare_database(options, database)[0]
        return settings, {"objective": resources_page.OBJECTIVE}, None

    return Page(
        f"resources(first: 50) of objective {resources_page.OBJECTIVE}, "
        f"{options.resources:,} resources",
        options.plan,
        options.admin_url,
        options,
        prepare,
        resources_page.QUERY,
        "resources",
        resources_page.SETUP_SECONDS,
    )


def benchmark(page: Page, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    settings, variables, token = page.prepare(database)
    environment = server_environment(settings)  # the response cache off
    start_and_wait([("executor", hub_argv)], environment, workdir, servers)
    cached = {**environment, "HUB_RESPONSE_CACHE_MAX_BYTES": CACHE_BYTES}
    start_and_wait([("cached", hub_argv)], cached, workdir, servers)
    asked: dict[str, Any] = {"query": page.query}
    if variables:
        asked["variables"] = variables
    body = json.dumps(asked).encode()
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    executed, kept = fetch(servers[0], body, token), fetch(servers[1], body, token)
    if executed != kept or b'"errors"' in executed:
        raise SystemExit("the cached answer differs from the executed one")
    if page.raw_page is not None:
        raw = partial(raw_floor_argv, page.raw_page)
        start_and_wait([(f"raw-{page.raw_page}", raw)], environment, workdir, servers)
        check_raw_floor(executed, fetch(servers[2], body, token))
    print(f"same bytes from all ({len(executed):,} bytes); measuring", flush=True)
    measure(servers, page.plan, body_file, token)
    document = {
        "options": asdict(page.options),
        "query": page.query,
        "response_bytes": len(executed),
        "runs": wrk_runs_json(servers),
    }
    print(f"results: {save_results('cached_page', document)}")
    print_load("after the run")
    return report(page, [summarize(server.runs) for server in servers])


def report(page: Page, summaries: list[Summary]) -> str:
    executor, cache = summaries[0], summaries[1]
    raw = summaries[2] if page.raw_page is not None else None
    signed_in = page.viewer != "anonymous"
    return "\n".join(
        [
            f"{page.title}, {page.viewer}, {page.plan.connections} connections, "
            f"{page.plan.rounds} x {page.plan.duration} s each",
            "",
            "| server | req/s | p50 (ms) | p99 (ms) | server CPU (ms/req) |",
            "|---|---:|---:|---:|---:|",
            table_row(
                "hub, cache on (the viewer's page: never kept)"
                if signed_in
                else "hub, from the response cache",
                cache,
            ),
            table_row("hub, cache off", executor),
            *([table_row(f"raw floor, {page.raw_page}", raw)] if raw else []),
            "",
            f"cache on/off: {cache.rps / executor.rps:.2f}x the req/s, "
            f"{cache.cpu_ms_per_request / executor.cpu_ms_per_request:.2f}x the server CPU "
            "per request",
            *([_against_raw(cache, raw)] if raw else []),
            *([_against_raw(executor, raw, "cache off")] if raw and signed_in else []),
        ]
    )


def _against_raw(hub: Summary, raw: Summary, which: str = "cache on") -> str:
    return (
        f"{which}/raw floor: {hub.rps / raw.rps:.2f}x the req/s, "
        f"{hub.cpu_ms_per_request / raw.cpu_ms_per_request:.2f}x the server CPU per request"
    )


def page_of(arguments: list[str]) -> Page | str:
    """The page asked (`--page NAME`, default thread) with its own options; or a complaint."""
    name = "thread"
    if "--page" in arguments:
        at = arguments.index("--page")
        if at + 1 >= len(arguments) or arguments[at + 1] not in PAGES:
            return f"--page takes one of: {', '.join(PAGES)}"
        name = arguments[at + 1]
        del arguments[at : at + 2]
    common = "--common" in arguments  # the thread page's common query, the raw floor beside it
    if common and name != "thread":
        return "--common is the thread page's (the other pages always have the raw floor row)"
    rest = [a for a in arguments if a != "--common"]
    builders: dict[str, Callable[[list[str]], Page]] = {
        "thread": partial(thread, common=common),
        "members": members,
        "resources": resources,
    }
    page = builders[name](rest)
    if getattr(page.options, "viewer", "anonymous") != "anonymous" and (name != "thread" or common):
        return "--viewer member is the thread page's own page (no --common, no other page)"
    return page


def main(argv: list[str] | None = None) -> int:
    page = page_of(list(sys.argv[1:] if argv is None else argv))
    if isinstance(page, str):
        print(page, file=sys.stderr)
        return 2
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    plan = page.plan
    budget = plan.budget_seconds(page.setup_seconds)
    if page.raw_page is not None:  # a third server
        budget += plan.warmup + 30 + plan.rounds * (plan.duration + 30)
    return run_with_database(page.admin_url, budget, partial(benchmark, page))


if __name__ == "__main__":
    sys.exit(main())
