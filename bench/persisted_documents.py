"""Benchmark: what a trusted document costs against the same text sent whole (issue 17).

The thread page of `bench/thread_page.py` (same seed, same query), served by one hub process,
asked for three ways, alternately, with wrk: the text itself (parsed and validated once per
process by strawberry's caches, keyed by the text), the registered trusted document by
`documentId`, and the text made distinct on every request by its operation name (so every
request is parsed and validated: what the caches save). Reports server CPU ms per request for each.

    .venv/bin/python bench/persisted_documents.py [--viewer anonymous|member] [--duration 15] ...
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path

from harness import (
    ROTATING_LUA_SCRIPT,
    BenchError,
    Server,
    fetch,
    hub_argv,
    print_load,
    run_with_database,
    run_wrk,
    save_results,
    server_environment,
    start_and_wait,
    summarize,
    table_row,
    wrk_runs_json,
)
from thread_page import QUERY, SETUP_SECONDS, Options, parse_args, prepare_database

from app.manifests import push_manifest
from resolvers.documents import sha256_of
from schema import schema

DISTINCT_TEXTS = 5000  # above the parser's and validator's caches (512 each): every one misses


def variants(workdir: Path, thread_id: str) -> list[tuple[str, Path, Path | None]]:
    """(name, body file, wrk script or None for the plain POST script) of each way to ask."""
    variables = {"id": thread_id}
    text = workdir / "text.json"
    text.write_text(json.dumps({"query": QUERY, "variables": variables}))
    by_id = workdir / "by_id.json"
    by_id.write_text(json.dumps({"documentId": sha256_of(QUERY), "variables": variables}))
    distinct = workdir / "distinct.jsonl"
    distinct.write_text(
        "\n".join(
            json.dumps(
                {"query": QUERY.replace("query(", f"query Page{n}(", 1), "variables": variables}
            )
            for n in range(DISTINCT_TEXTS)
        )
        + "\n"
    )
    return [
        ("text", text, None),
        ("documentId", by_id, None),
        ("distinct text", distinct, ROTATING_LUA_SCRIPT),
    ]


def benchmark(options: Options, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    settings, thread_id, token = prepare_database(options, database)
    manifest = workdir / "persisted-documents.json"
    manifest.write_text(json.dumps({sha256_of(QUERY): QUERY}))
    report = asyncio.run(push_manifest(settings, schema._schema, manifest, print))
    if report.refused:
        raise BenchError("the thread page's query was refused as a trusted document")
    start_and_wait([("hub", hub_argv)], server_environment(settings), workdir, servers)
    ways = variants(workdir, thread_id)
    answers = {fetch(servers[0], path.read_bytes().splitlines()[0], token) for _, path, _ in ways}
    if len(answers) != 1:
        raise BenchError("the three ways do not answer the same bytes")
    views = {name: replace(servers[0], name=name, runs=[]) for name, _, _ in ways}
    plan = options.plan
    for name, path, script in ways:
        if plan.warmup:
            run_wrk(views[name], plan.warmup, plan.connections, path, token, *_script(script))
    for round_index in range(plan.rounds):
        order = ways if round_index % 2 == 0 else ways[::-1]
        for name, path, script in order:
            run = run_wrk(
                views[name], plan.duration, plan.connections, path, token, *_script(script)
            )
            views[name].runs.append(run)
            print(
                f"  round {round_index + 1} {name:>13}: {run.rps:8.1f} req/s  "
                f"p50 {run.p50_ms:6.2f} ms  server CPU {run.cpu_ms_per_request:5.2f} ms/req",
                flush=True,
            )
    document = {"options": str(options), "runs": wrk_runs_json(list(views.values()))}
    print(f"results: {save_results(f'persisted_documents-{options.viewer}', document)}")
    return "\n".join(
        [
            f"thread page, viewer {options.viewer}, {plan.connections} connections, "
            f"{plan.rounds} x {plan.duration} s each",
            "",
            "| request | req/s | p50 (ms) | p99 (ms) | server CPU (ms/req) |",
            "|---|---:|---:|---:|---:|",
            *(table_row(name, summarize(view.runs)) for name, view in views.items()),
        ]
    )


def _script(script: Path | None) -> tuple[Path, ...]:
    return () if script is None else (script,)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    budget = SETUP_SECONDS + 3 * (options.plan.warmup + 30)
    budget += 3 * options.plan.rounds * (options.plan.duration + 30)
    return run_with_database(options.admin_url, budget, partial(benchmark, options))


if __name__ == "__main__":
    sys.exit(main())
