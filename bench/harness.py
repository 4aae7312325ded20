"""What every benchmark here shares: a throwaway PostgreSQL database, servers started and
stopped by PID, a watchdog, wrk runs with server CPU time, and reporting helpers.

Used by `members_page.py`, `thread_page.py` and `fanout.py`; never imported by the app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from types import FrameType
from typing import IO, Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from sqlalchemy import select

from app.settings import Settings
from models.db import create_database
from models.member import Member
from resolvers.auth import issue_token

BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "post_graphql.lua"
ROTATING_LUA_SCRIPT = BENCH_DIR / "post_graphql_rotating.lua"
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"
ADMIN_URL = f"postgresql://root@{HOST}:5432/postgres"
ORIGIN = "https://hub.example.org"
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/graphql-response+json, application/json",
}
STARTUP_SECONDS = 90.0  # a busy shared machine (load 10+) has taken more than 30 s
CLEANUP_SECONDS = 60  # a fresh watchdog for stopping the servers and dropping the database
NOISY_LOAD = 1.0  # load average above which a run is flagged as noisy
OPEN_FILES = 8_192  # sockets: 1,000 WebSocket subscribers need more than the usual 1,024


class BenchError(Exception):
    """The benchmark cannot give a meaningful figure; the message says why."""


class BenchTimeout(BenchError):
    """The watchdog fired: the whole run took longer than its budget."""


# --- command line and watchdog -------------------------------------------------------------


def check_admin_url(admin_url: str) -> str | None:
    """Why `admin_url` is not acceptable (not loopback), or None."""
    if urlsplit(admin_url).hostname not in (HOST, "localhost"):
        return "--admin-url must point at 127.0.0.1"
    return None


def _raise_timeout(signum: int, frame: FrameType | None) -> None:
    raise BenchTimeout("the benchmark overran its time budget")


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def watchdog(seconds: int) -> Iterator[None]:
    """SIGALRM after `seconds` (and SIGTERM) unwind through every `finally`: cleanup runs."""
    signal.signal(signal.SIGALRM, _raise_timeout)
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)


def raise_open_files_limit(wanted: int = OPEN_FILES) -> None:
    """Raise the soft limit on open files (inherited by the servers started afterwards)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# --- database ------------------------------------------------------------------------------


def database_urls(admin_url: str, name: str) -> tuple[str, str]:
    """(asyncpg DSN, SQLAlchemy URL) of the bench database `name`, on the admin's server."""
    parts = urlsplit(admin_url)
    dsn = parts._replace(path=f"/{name}").geturl()
    return dsn, dsn.replace("postgresql://", "postgresql+asyncpg://", 1)


async def create_bench_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop_bench_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def vacuum_analyze(dsn: str) -> None:
    """Fresh planner statistics, and no autovacuum surprise mid-run."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def bench_settings(database_url: str) -> Settings:
    """Production settings, as the hub would be deployed (errors masked, no introspection)."""
    return Settings(
        _env_file=None,
        env="production",
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        allowed_origins=[ORIGIN],
        # Benchmarks of reads measure one process at a time unless they pass a shared broker.
        allow_process_local=True,
    )


async def issue_tokens(settings: Settings, emails: list[str]) -> list[str]:
    """A bearer token for each member named by e-mail, in order."""
    db = create_database(settings.database_url)
    try:
        async with db.sessions.begin() as session:
            rows = await session.execute(
                select(Member.email, Member.id).where(Member.email.in_(emails))
            )
            ids: dict[str, int] = dict(rows.all())
            missing = [e for e in emails if e not in ids]
            if missing:
                raise BenchError(f"no demo members {missing[:5]}")
            config = settings.auth_config()
            return [await issue_token(session, config, ids[e]) for e in emails]
    finally:
        await db.dispose()


# --- servers -------------------------------------------------------------------------------


@dataclass
class WrkRun:
    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    server_cpu_s: float
    max_ms: float = 0.0  # user + system CPU the server process used during the run

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.server_cpu_s / max(self.requests, 1)


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]
    runs: list[WrkRun] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/graphql"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment(settings: Settings, broadcast_url: str = "memory://") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV=settings.env,
        HUB_DATABASE_URL=settings.database_url,
        HUB_SECRET_KEY=settings.secret_key.get_secret_value(),
        HUB_ALLOWED_ORIGINS=",".join(settings.allowed_origins),
        HUB_BROADCAST_URL=broadcast_url,
        # memory:// across several workers loses live updates between them; the benchmarks that
        # run several workers on it measure reads (and search's epoch lives in the database).
        HUB_ALLOW_PROCESS_LOCAL="1" if broadcast_url.startswith("memory") else "0",
        # The executor is what the page benchmarks measure: the response cache would answer
        # their repeated public reads (bench/cached_page.py measures it, and turns it on).
        HUB_RESPONSE_CACHE_MAX_BYTES="0",
    )
    # HUB_COMPILE_TEXTS=false in the benchmark's environment: the hub's plain-text rows run
    # through the executor (the text is otherwise compiled after its first answer).
    if os.environ.get("HUB_COMPILE_TEXTS"):
        env["HUB_COMPILE_TEXTS"] = os.environ["HUB_COMPILE_TEXTS"]
    return env


def start_server(
    name: str, argv: list[str], port: int, env: dict[str, str], workdir: Path
) -> Server:
    log_path = workdir / f"{name}.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        argv, env=env, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
    )
    return Server(name=name, port=port, process=process, log_path=log_path, log=log)


def hub_argv(port: int) -> list[str]:
    """`hub serve` with one worker: uvicorn, uvloop, httptools, access log on."""
    hub = Path(sys.executable).parent / "hub"
    serve = ["serve", "--no-migrate", "--workers", "1"]
    return [str(hub), *serve, "--host", HOST, "--port", str(port)]


def script_argv(script: str, port: int) -> list[str]:
    """A floor in this directory, run as `python bench/<script> --port N`."""
    return [sys.executable, str(BENCH_DIR / script), "--port", str(port)]


def log_tail(server: Server, lines: int = 20) -> str:
    text = server.log_path.read_text("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def wait_until_live(server: Server, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited at start-up:\n{log_tail(server)}")
        with suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/livez", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"{server.name} did not answer /livez in {seconds:.0f} s")


def start_and_wait(
    specs: list[tuple[str, Callable[[int], list[str]]]],
    env: dict[str, str],
    workdir: Path,
    servers: list[Server],
) -> None:
    """Start every (name, argv) on a free port, appended to `servers` as soon as started (so
    cleanup sees them), then wait until each answers /livez."""
    for name, argv in specs:
        port = free_port()
        servers.append(start_server(name, argv(port), port, env, workdir))
    for server in servers:
        wait_until_live(server)
        print(f"{server.name} (pid {server.process.pid}) live on {server.url}", flush=True)


def stop_server(server: Server) -> None:
    """SIGTERM to the server's PID, then SIGKILL if it has not exited within 10 s."""
    stop_process(server.process)
    server.log.close()


def stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM to `process` (by PID), then SIGKILL if it has not exited within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- same answer ---------------------------------------------------------------------------


def request_headers(token: str | None) -> dict[str, str]:
    return HEADERS | ({"Authorization": f"Bearer {token}"} if token else {})


def fetch(server: Server, body: bytes, token: str | None) -> bytes:
    response = httpx.post(
        f"{server.url}/graphql", content=body, headers=request_headers(token), timeout=10.0
    )
    if response.status_code != 200:
        raise BenchError(f"{server.name} answered {response.status_code}: {response.text[:500]}")
    return response.content


def first_difference(a: Any, b: Any, path: str = "$") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(a.keys() | b.keys()):
            if a.get(key, ...) != b.get(key, ...):
                return first_difference(a.get(key), b.get(key), f"{path}.{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y:
                return first_difference(x, y, f"{path}[{index}]")
    return f"{path}: hub {json.dumps(a)[:200]} / floor {json.dumps(b)[:200]}"


def same_json(hub_body: bytes, floor_body: bytes) -> dict[str, Any]:
    """The hub's answer, after checking that the floor's is the same JSON without errors."""
    hub, floor = json.loads(hub_body), json.loads(floor_body)
    if "errors" in hub:
        raise BenchError(f"the hub answered errors: {hub['errors']}")
    if hub != floor:
        raise BenchError(f"the floor differs from the hub at {first_difference(hub, floor)}")
    data: dict[str, Any] = hub["data"]
    return data


# --- process figures -----------------------------------------------------------------------


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc): less noisy than req/s on a shared box."""
    return sum(cpu_times(pid))


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its children (uvicorn's worker processes)."""
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with suppress(OSError):
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == pid:
                total += cpu_seconds(int(stat.parent.name))
    return total


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for pid {pid}")


def wait_until_idle(pids: list[int], quiet_cpu_s: float = 0.05, timeout: float = 60.0) -> float:
    """Wait until the processes together use less than `quiet_cpu_s` of CPU in a second; the
    seconds waited. Used to tell that the server has finished setting subscriptions up."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        before = sum(cpu_seconds(p) for p in pids)
        time.sleep(1.0)
        if sum(cpu_seconds(p) for p in pids) - before < quiet_cpu_s:
            return time.monotonic() - start
    raise BenchError(f"the servers were still busy after {timeout:.0f} s")


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def print_load(when: str = "before the run") -> None:
    print(f"{os.cpu_count()} CPUs, load average {load_average()} {when}", flush=True)
    if os.getloadavg()[0] > NOISY_LOAD:
        print("warning: the machine is busy; figures will be noisy")


# --- wrk -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadPlan:
    connections: int
    duration: int
    warmup: int
    rounds: int

    def budget_seconds(self, setup_seconds: int = 300) -> int:
        """Upper bound of a two-server run (setup, warm-ups, rounds), enforced by SIGALRM."""
        per_run = 30
        return (
            setup_seconds
            + 2 * (self.warmup + per_run)
            + 2 * self.rounds * (self.duration + per_run)
        )


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The wrk load options every two-server benchmark takes."""
    parser.add_argument("--connections", type=int, default=10, help="wrk connections")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per server")
    parser.add_argument("--rounds", type=int, default=2, help="measured runs per server")


def load_plan(parser: argparse.ArgumentParser, args: argparse.Namespace) -> LoadPlan:
    if min(args.connections, args.duration, args.rounds) < 1 or args.warmup < 0:
        parser.error("--connections, --duration and --rounds must be positive")
    return LoadPlan(args.connections, args.duration, args.warmup, args.rounds)


def run_wrk(
    server: Server,
    seconds: float,
    connections: int,
    body_file: Path,
    token: str | None,
    script: Path = LUA_SCRIPT,
) -> WrkRun:
    """wrk with one thread and `connections` connections for `seconds`, POSTing the body in
    `body_file` (post_graphql.lua), or each line of it in turn (post_graphql_rotating.lua).
    Any socket error, non-2xx answer or GraphQL error fails the run."""
    argv = [
        "wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:g}s",
        "--timeout", "10s", "-s", str(script), f"{server.url}/graphql",
    ]  # fmt: skip
    env = os.environ | {
        "BENCH_BODY_FILE": str(body_file),
        "BENCH_BODIES_FILE": str(body_file),
        "BENCH_AUTHORIZATION": f"Bearer {token}" if token else "",
    }
    cpu_before = tree_cpu_seconds(server.process.pid)
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    server_cpu_s = tree_cpu_seconds(server.process.pid) - cpu_before
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    latency = data["latency_us"]
    run = WrkRun(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["errors"],
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        server_cpu_s=server_cpu_s,
        max_ms=latency["max"] / 1000,
    )
    if any(run.errors.values()) or server.process.poll() is not None:
        raise BenchError(f"{server.name}: errors under load {run.errors}:\n{log_tail(server)}")
    return run


def measure(servers: list[Server], plan: LoadPlan, body_file: Path, token: str | None) -> None:
    """Warm every server up, then alternate them (ABBA...) so that drift hits all alike."""
    for server in servers:
        if plan.warmup:
            run_wrk(server, plan.warmup, plan.connections, body_file, token)
    for round_index in range(plan.rounds):
        order = servers if round_index % 2 == 0 else servers[::-1]
        for server in order:
            run = run_wrk(server, plan.duration, plan.connections, body_file, token)
            server.runs.append(run)
            print(
                f"  round {round_index + 1} {server.name:>5}: {run.rps:8.1f} req/s  "
                f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  "
                f"server CPU {run.cpu_ms_per_request:5.2f} ms/req",
                flush=True,
            )


@dataclass(frozen=True)
class Summary:
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float


def summarize(runs: list[WrkRun]) -> Summary:
    """Requests over time across runs; latency percentiles as the median over runs."""
    return Summary(
        rps=sum(r.requests for r in runs) / sum(r.seconds for r in runs),
        p50_ms=median(r.p50_ms for r in runs),
        p99_ms=median(r.p99_ms for r in runs),
        cpu_ms_per_request=1000 * sum(r.server_cpu_s for r in runs) / sum(r.requests for r in runs),
    )


def table_row(name: str, s: Summary) -> str:
    """One server's line of a markdown table: req/s, p50, p99, server CPU per request."""
    return (
        f"| {name} | {s.rps:.0f} | {s.p50_ms:.1f} | {s.p99_ms:.1f} | {s.cpu_ms_per_request:.2f} |"
    )


def wrk_runs_json(servers: list[Server]) -> dict[str, Any]:
    return {
        s.name: [
            asdict(r) | {"rps": r.rps, "cpu_ms_per_request": r.cpu_ms_per_request} for r in s.runs
        ]
        for s in servers
    }


def git_state() -> str:
    """`git describe --always --dirty` of the code under test (best effort)."""
    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        cwd=BENCH_DIR,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def save_results(name: str, document: dict[str, Any]) -> Path:
    """Write `document` (plus machine facts) to bench/results/<name>-<time>.json."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "code": git_state(),
        **document,
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


# --- the run -------------------------------------------------------------------------------

Body = Callable[[Path, str, list[Server]], str]


def run_with_database(admin_url: str, budget_seconds: int, body: Body) -> int:
    """Create a database, run `body(workdir, database, servers)` under a watchdog, print its
    report; whatever happens, stop every server it started (by PID) and drop the database."""
    return _run(admin_url, None, budget_seconds, body)


def run_with_kept_database(admin_url: str, database: str, budget_seconds: int, body: Body) -> int:
    """The same on an existing database, kept afterwards (to measure again without preparing
    the data again)."""
    return _run(admin_url, database, budget_seconds, body)


def _run(admin_url: str, kept: str | None, budget_seconds: int, body: Body) -> int:
    database = kept or f"hub_bench_{os.getpid()}_{secrets.token_hex(3)}"
    servers: list[Server] = []
    created = False
    with (
        watchdog(budget_seconds),
        tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp,
    ):
        try:
            if kept is None:
                asyncio.run(create_bench_database(admin_url, database))
                created = True
            print(body(Path(tmp), database, servers))
            return 0
        except BenchError as e:
            print(f"benchmark failed: {e}", file=sys.stderr)
            return 1
        finally:
            signal.alarm(CLEANUP_SECONDS)
            for server in servers:
                stop_server(server)
            if created:
                asyncio.run(drop_bench_database(admin_url, database))
                print(f"dropped database {database}", file=sys.stderr)
