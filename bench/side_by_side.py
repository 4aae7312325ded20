"""Several servers measured in one run, side by side, against the raw floor (issue 17).

A page benchmark starts its rows' servers (the hub, the SQLAlchemy floor, the raw floor, and
for the thread page PostGraphile with the hub on a common reduced query), checks their
answers, then `measure_rows` warms each row up and measures the rows in turn, alternating the
order every round (ABBA...) so that drift on the shared machine hits all alike. Per run it
records the server process's CPU time (`/proc`) and the CPU time of the database's backends
serving this benchmark's database (the raw floor builds its JSON in PostgreSQL: its cost
there must show). `report` prints one table with the ratios against the raw floor.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import asyncpg
from harness import (
    BENCH_DIR,
    BenchError,
    LoadPlan,
    Server,
    WrkRun,
    cpu_seconds,
    git_state,
    print_load,
    run_wrk,
    save_results,
)

RAW_FLOOR = "raw floor"


@dataclass
class Row:
    """One line of the table: a server answering one request body."""

    name: str
    server: Server
    body_file: Path
    token: str | None
    baseline: str = RAW_FLOOR  # the row of the raw floor answering the same request
    runs: list[WrkRun] = field(default_factory=list)
    database_cpu_s: list[float] = field(default_factory=list)


def plan_budget(plan: LoadPlan, rows: int, setup_seconds: int) -> int:
    """Upper bound of a run of `rows` rows (setup, warm-ups, rounds), enforced by SIGALRM."""
    per_run = 30
    return setup_seconds + rows * (plan.warmup + per_run + plan.rounds * (plan.duration + per_run))


# --- the database's share ------------------------------------------------------------------


def backend_pids(admin_url: str, database: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected to `database` (on this machine)."""

    async def query() -> list[int]:
        connection = await asyncpg.connect(admin_url)
        try:
            rows = await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1", database
            )
            return [int(r["pid"]) for r in rows]
        finally:
            await connection.close()

    return asyncio.run(query())


def backends_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds of each backend still alive."""
    seconds: dict[int, float] = {}
    for pid in pids:
        with suppress(OSError):
            seconds[pid] = cpu_seconds(pid)
    return seconds


@dataclass
class DatabaseCpu:
    """CPU the database spent for this benchmark: its backends' CPU time over a run (backends
    that start during the run count from zero; one that ends during it is missed)."""

    admin_url: str
    database: str

    def snapshot(self) -> dict[int, float]:
        return backends_cpu(backend_pids(self.admin_url, self.database))

    def since(self, before: dict[int, float]) -> float:
        after = self.snapshot()
        return sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in after.items())


# --- the runs ------------------------------------------------------------------------------


def measure_rows(rows: list[Row], plan: LoadPlan, database: DatabaseCpu) -> None:
    """Warm every row up, then alternate the rows (ABBA...) for `plan.rounds` rounds."""
    for row in rows:
        if plan.warmup:
            run_wrk(row.server, plan.warmup, plan.connections, row.body_file, row.token)
    for round_index in range(plan.rounds):
        for row in rows if round_index % 2 == 0 else rows[::-1]:
            before = database.snapshot()
            run = run_wrk(row.server, plan.duration, plan.connections, row.body_file, row.token)
            row.database_cpu_s.append(database.since(before))
            row.runs.append(run)
            print(
                f"  round {round_index + 1} {row.name:>28}: {run.rps:8.1f} req/s  "
                f"p50 {run.p50_ms:7.2f} ms  p99 {run.p99_ms:7.2f} ms  "
                f"server CPU {run.cpu_ms_per_request:6.2f} ms/req  "
                f"database CPU {1000 * row.database_cpu_s[-1] / max(run.requests, 1):5.2f} ms/req",
                flush=True,
            )


@dataclass(frozen=True)
class RowSummary:
    name: str
    baseline: str
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    database_cpu_ms: float


def summarize_row(row: Row) -> RowSummary:
    """Requests over time across runs; latency percentiles as the median over runs."""
    requests = sum(r.requests for r in row.runs)
    return RowSummary(
        name=row.name,
        baseline=row.baseline,
        rps=requests / sum(r.seconds for r in row.runs),
        p50_ms=median(r.p50_ms for r in row.runs),
        p99_ms=median(r.p99_ms for r in row.runs),
        cpu_ms=1000 * sum(r.server_cpu_s for r in row.runs) / requests,
        database_cpu_ms=1000 * sum(row.database_cpu_s) / requests,
    )


def report(title: str, rows: list[Row], notes: list[str]) -> str:
    """The table of every row, with req/s and CPU per request against the raw floor that
    answers the same request."""
    summaries = [summarize_row(r) for r in rows]
    by_name = {s.name: s for s in summaries}
    lines = [
        title,
        "",
        "| server | req/s | p50 (ms) | p99 (ms) | server CPU (ms/req) | database CPU (ms/req) "
        "| req/s vs raw floor | server CPU / raw floor's | server + database CPU / raw floor's |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        raw = by_name[s.baseline]
        total = (s.cpu_ms + s.database_cpu_ms) / (raw.cpu_ms + raw.database_cpu_ms)
        lines.append(
            f"| {s.name} | {s.rps:.0f} | {s.p50_ms:.1f} | {s.p99_ms:.1f} | {s.cpu_ms:.2f} "
            f"| {s.database_cpu_ms:.2f} | {s.rps / raw.rps:.1%} | {s.cpu_ms / raw.cpu_ms:.1f}x "
            f"| {total:.1f}x |"
        )
    return "\n".join([*lines, "", *notes])


def rows_json(rows: list[Row]) -> dict[str, Any]:
    return {
        r.name: [
            asdict(run)
            | {
                "rps": run.rps,
                "cpu_ms_per_request": run.cpu_ms_per_request,
                "database_cpu_s": database_cpu_s,
            }
            for run, database_cpu_s in zip(r.runs, r.database_cpu_s, strict=True)
        ]
        for r in rows
    }


# --- the raw floor's row -------------------------------------------------------------------


def raw_floor_argv(page: str, port: int) -> list[str]:
    """`python bench/raw_floor.py --page P --port N`."""
    return [sys.executable, str(BENCH_DIR / "raw_floor.py"), "--page", page, "--port", str(port)]


def check_raw_floor(hub_body: bytes, raw_body: bytes) -> None:
    """The raw floor must answer the hub's bytes, or the benchmark measures nothing."""
    if raw_body == hub_body:
        return
    at = next(
        (i for i, (a, b) in enumerate(zip(hub_body, raw_body, strict=False)) if a != b),
        min(len(hub_body), len(raw_body)),
    )
    raise BenchError(
        f"the raw floor's answer differs from the hub's at byte {at}: "
        f"hub {hub_body[max(0, at - 80) : at + 80]!r} / raw {raw_body[max(0, at - 80) : at + 80]!r}"
    )


def versions(admin_url: str) -> dict[str, str]:
    """PostgreSQL's and Python's versions, and the code under test."""

    async def server_version() -> str:
        connection = await asyncpg.connect(admin_url)
        try:
            return str(await connection.fetchval("SHOW server_version"))
        finally:
            await connection.close()

    return {
        "postgresql": asyncio.run(server_version()),
        "python": sys.version.split()[0],
        "code": git_state(),
    }


def page_rows(servers: list[Server], body_file: Path, token: str | None) -> list[Row]:
    """The rows of a page: the hub, the SQLAlchemy floor and the raw floor, started in that
    order, on the same request."""
    return [
        Row("hub (GraphQL)", servers[0], body_file, token),
        Row("SQLAlchemy floor", servers[1], body_file, token),
        Row(RAW_FLOOR, servers[2], body_file, token),
    ]


def measure_and_report(
    name: str, title: str, rows: list[Row], facts: dict[str, Any], plan: LoadPlan,
    admin_url: str, database: str, notes: list[str] = [],  # noqa: B006 - never mutated
) -> str:  # fmt: skip
    """Measure the rows, save the raw figures to bench/results/, return the report."""
    print_load("before measuring")
    measure_rows(rows, plan, DatabaseCpu(admin_url, database))
    facts = facts | versions(admin_url)
    print(f"results: {save_results(name, {**facts, 'runs': rows_json(rows)})}")
    return report(title, rows, [*notes, f"versions: {versions_line(facts)}"])


def versions_line(facts: dict[str, Any]) -> str:
    keys = ("postgresql", "python", "node", "code")
    return ", ".join(f"{k} {facts[k]}" for k in keys if k in facts)
