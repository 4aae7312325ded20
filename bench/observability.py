"""Benchmark: what observability costs per request, in server CPU.

Three hub servers side by side on one seeded database, each `hub serve` with one worker and
production settings (JSON log lines on), serving one page of the member directory
(members_page.py's query):

- **metrics off**: `HUB_METRICS_ENABLED=0` (the request's log line only);
- **metrics on**: the default (Prometheus recording of every operation and its SQL);
- **tracing 10%**: metrics on, and OpenTelemetry traces sampled at 10%
  (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.1`), exported by
  OTLP/HTTP to a sink in this process that answers every export with 200.

wrk drives them alternately (ABBA...), and the report gives server CPU ms per request of each
against metrics off. Everything it starts it stops by PID; the database is dropped at the end.

    .venv/bin/python bench/observability.py [--duration 15] [--rounds 2] ...
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from harness import (
    ADMIN_URL,
    HOST,
    LoadPlan,
    Server,
    Summary,
    add_load_arguments,
    check_admin_url,
    free_port,
    hub_argv,
    load_plan,
    measure,
    print_load,
    run_with_database,
    save_results,
    server_environment,
    start_server,
    summarize,
    wait_until_live,
    wrk_runs_json,
)
from members_page import QUERY, Options, prepare_database

SETUP_SECONDS = 300
STARTUP_SECONDS = 120.0  # per server, on a shared machine
TARGETS = {"metrics on": 0.05, "tracing 10%": 0.15}  # at most this much above metrics off


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that takes every export (an empty protobuf answer is valid)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet


@contextmanager
def otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer((HOST, free_port()), _Sink)
    thread = threading.Thread(target=server.serve_forever, name="otlp sink", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000, help="demo members to seed")
    add_load_arguments(parser)
    parser.add_argument("--admin-url", default=ADMIN_URL, help="maintenance database, loopback")
    args = parser.parse_args(argv)
    if problem := check_admin_url(args.admin_url):
        parser.error(problem)
    return Options(args.members, load_plan(parser, args), "anonymous", args.admin_url)


def report(plan: LoadPlan, summaries: dict[str, Summary]) -> str:
    base = summaries["metrics off"].cpu_ms_per_request
    lines = [
        f"members(first: 50), anonymous, {plan.connections} connections, "
        f"{plan.rounds} x {plan.duration} s each",
        "",
        "| server | req/s | p50 (ms) | p99 (ms) | server CPU (ms/req) | vs metrics off | target |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in summaries.items():
        extra = s.cpu_ms_per_request / base - 1
        target = f"≤ +{TARGETS[name]:.0%}" if name in TARGETS else ""
        lines.append(
            f"| {name} | {s.rps:.0f} | {s.p50_ms:.1f} | {s.p99_ms:.1f} | "
            f"{s.cpu_ms_per_request:.2f} | {extra:+.1%} | {target} |"
        )
    return "\n".join(lines)


def benchmark(options: Options, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    settings, _ = prepare_database(options, database)
    # No background loops (live repair, reminders): their CPU, divided by each server's own
    # request count, would count against whichever server the scheduler served least.
    base = server_environment(settings) | {
        "HUB_LIVE_REPAIR_INTERVAL_SECONDS": "0",
        "HUB_WEBINAR_REMINDER_INTERVAL_SECONDS": "0",
    }
    with otlp_sink() as endpoint:
        environments = {
            "metrics off": base | {"HUB_METRICS_ENABLED": "0"},
            "metrics on": base,
            "tracing 10%": base
            | {
                "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "0.1",
            },
        }
        for name, env in environments.items():  # one at a time: start-up is CPU-bound
            port = free_port()
            servers.append(start_server(name.replace(" ", "-"), hub_argv(port), port, env, workdir))
            wait_until_live(servers[-1], STARTUP_SECONDS)
        body_file = workdir / "body.json"
        body_file.write_text(json.dumps({"query": QUERY}))
        measure(servers, options.plan, body_file, None)
    summaries = {name: summarize(s.runs) for name, s in zip(environments, servers, strict=True)}
    document = {"options": asdict(options), "runs": wrk_runs_json(servers)}
    print(f"results: {save_results('observability', document)}")
    print_load("after the run")
    return report(options.plan, summaries)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    budget = options.plan.budget_seconds(SETUP_SECONDS) + 2 * (
        options.plan.warmup + options.plan.rounds * options.plan.duration
    )
    return run_with_database(options.admin_url, budget, partial(benchmark, options))


if __name__ == "__main__":
    sys.exit(main())
