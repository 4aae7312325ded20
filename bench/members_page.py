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
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from types import FrameType
from typing import IO, Any, Literal
from urllib.parse import urlsplit

import asyncpg
import httpx
from sqlalchemy import select

from app import migrate
from app.seed import seed_demo
from app.settings import Settings
from models.db import create_database
from models.member import Member
from resolvers.auth import issue_token

BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "post_graphql.lua"
RESULTS_DIR = BENCH_DIR / "results"
HOST = "127.0.0.1"
ADMIN_URL = f"postgresql://root@{HOST}:5432/postgres"
ORIGIN = "https://hub.example.org"
SIGNED_IN_EMAIL = "member1@demo.hub"
PAGE_SIZE = 50
QUERY = (
    "{ members(first: 50) { edges { cursor node { id name country { code } isExpert "
    "organization { id name kind } } } pageInfo { hasNextPage endCursor } } }"
)
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/graphql-response+json, application/json",
}
SETUP_SECONDS = 300  # create, migrate, seed, start both servers
STARTUP_SECONDS = 30.0
CLEANUP_SECONDS = 60  # a fresh watchdog for stopping the servers and dropping the database
TARGET_RATIO = 0.20  # the hub should serve at least this share of the floor's req/s
NOISY_LOAD = 1.0  # load average above which the run is flagged as noisy
Viewer = Literal["anonymous", "member"]


class BenchError(Exception):
    """The benchmark cannot give a meaningful figure; the message says why."""


class BenchTimeout(BenchError):
    """The watchdog fired: the whole run took longer than its budget."""


@dataclass(frozen=True)
class Options:
    members: int
    connections: int
    duration: int
    warmup: int
    rounds: int
    viewer: Viewer
    admin_url: str

    def budget_seconds(self) -> int:
        """Upper bound of the whole run, enforced by SIGALRM."""
        per_run = 30
        return (
            SETUP_SECONDS
            + 2 * (self.warmup + per_run)
            + 2 * self.rounds * (self.duration + per_run)
        )


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    server_cpu_s: float  # user + system CPU the server process used during the run

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


# --- command line and watchdog -------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000, help="demo members to seed")
    parser.add_argument("--connections", type=int, default=10, help="wrk connections")
    parser.add_argument("--duration", type=int, default=15, help="seconds per measured run")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per server")
    parser.add_argument("--rounds", type=int, default=2, help="measured runs per server")
    parser.add_argument(
        "--viewer",
        choices=["anonymous", "member"],
        default="anonymous",
        help="anonymous (public expert directory) or a signed-in member (bearer token)",
    )
    parser.add_argument("--admin-url", default=ADMIN_URL, help="maintenance database, loopback")
    args = parser.parse_args(argv)
    if urlsplit(args.admin_url).hostname not in (HOST, "localhost"):
        parser.error("--admin-url must point at 127.0.0.1")
    if min(args.members, args.connections, args.duration, args.rounds) < 1 or args.warmup < 0:
        parser.error("--members, --connections, --duration and --rounds must be positive")
    return Options(
        members=args.members,
        connections=args.connections,
        duration=args.duration,
        warmup=args.warmup,
        rounds=args.rounds,
        viewer=args.viewer,
        admin_url=args.admin_url,
    )


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


def bench_settings(database_url: str) -> Settings:
    """Production settings, as the hub would be deployed (errors masked, no introspection)."""
    return Settings(
        _env_file=None,
        env="production",
        database_url=database_url,
        secret_key=secrets.token_urlsafe(48),
        allowed_origins=[ORIGIN],
    )


async def seed(settings: Settings, dsn: str, members: int, viewer: Viewer) -> str | None:
    """Demo data, fresh planner statistics, and a bearer token when a member is the viewer."""
    await seed_demo(settings, members=members)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("VACUUM ANALYZE")  # no autovacuum surprise mid-run
    finally:
        await connection.close()
    if viewer == "anonymous":
        return None
    db = create_database(settings.database_url)
    try:
        async with db.sessions.begin() as session:
            member_id = await session.scalar(
                select(Member.id).where(Member.email == SIGNED_IN_EMAIL)
            )
            if member_id is None:
                raise BenchError(f"no demo member {SIGNED_IN_EMAIL}")
            return await issue_token(session, settings.auth_config(), member_id)
    finally:
        await db.dispose()


# --- servers -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def server_environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        HUB_ENV=settings.env,
        HUB_DATABASE_URL=settings.database_url,
        HUB_SECRET_KEY=settings.secret_key.get_secret_value(),
        HUB_ALLOWED_ORIGINS=",".join(settings.allowed_origins),
        HUB_BROADCAST_URL="memory://",  # the query path never touches the broker
    )
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
    hub = Path(sys.executable).parent / "hub"
    serve = ["serve", "--no-migrate", "--workers", "1"]
    return [str(hub), *serve, "--host", HOST, "--port", str(port)]


def floor_argv(port: int) -> list[str]:
    return [sys.executable, str(BENCH_DIR / "floor.py"), "--port", str(port)]


def log_tail(server: Server, lines: int = 20) -> str:
    text = server.log_path.read_text("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def wait_until_live(server: Server) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited at start-up:\n{log_tail(server)}")
        with suppress(httpx.TransportError):
            if httpx.get(f"{server.url}/livez", timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"{server.name} did not answer /livez in {STARTUP_SECONDS:.0f} s")


def stop_server(server: Server) -> None:
    """SIGTERM to the server's PID, then SIGKILL if it has not exited within 10 s."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    server.log.close()


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


def check_same_answer(hub_body: bytes, floor_body: bytes) -> bool:
    """Both bodies must be the same JSON, a full page with more to come; True if byte-equal."""
    hub, floor = json.loads(hub_body), json.loads(floor_body)
    if "errors" in hub:
        raise BenchError(f"the hub answered errors: {hub['errors']}")
    if hub != floor:
        raise BenchError(f"the floor differs from the hub at {first_difference(hub, floor)}")
    page = hub["data"]["members"]
    if len(page["edges"]) != PAGE_SIZE or not page["pageInfo"]["hasNextPage"]:
        raise BenchError(f"the page is not a full page of {PAGE_SIZE}: seed more members")
    return hub_body == floor_body


# --- load ----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc): less noisy than req/s on a shared box."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    server: Server, seconds: int, options: Options, body_file: Path, token: str | None
) -> WrkRun:
    argv = [
        "wrk", "-t", "1", "-c", str(options.connections), "-d", f"{seconds}s",
        "--timeout", "10s", "-s", str(LUA_SCRIPT), f"{server.url}/graphql",
    ]  # fmt: skip
    env = os.environ | {
        "BENCH_BODY_FILE": str(body_file),
        "BENCH_AUTHORIZATION": f"Bearer {token}" if token else "",
    }
    cpu_before = cpu_seconds(server.process.pid)
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    server_cpu_s = cpu_seconds(server.process.pid) - cpu_before
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
    )
    if any(run.errors.values()) or server.process.poll() is not None:
        raise BenchError(f"{server.name}: errors under load {run.errors}:\n{log_tail(server)}")
    return run


def measure(servers: list[Server], options: Options, body_file: Path, token: str | None) -> None:
    """Warm both up, then alternate them (ABBA...) so that drift hits both alike."""
    for server in servers:
        if options.warmup:
            run_wrk(server, options.warmup, options, body_file, token)
    for round_index in range(options.rounds):
        order = servers if round_index % 2 == 0 else servers[::-1]
        for server in order:
            run = run_wrk(server, options.duration, options, body_file, token)
            server.runs.append(run)
            print(
                f"  round {round_index + 1} {server.name:>5}: {run.rps:8.1f} req/s  "
                f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  "
                f"server CPU {run.cpu_ms_per_request:5.2f} ms/req",
                flush=True,
            )


# --- report --------------------------------------------------------------------------------


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
    return (
        f"| {name} | {s.rps:.0f} | {s.p50_ms:.1f} | {s.p99_ms:.1f} | {s.cpu_ms_per_request:.2f} |"
    )


def report(hub: Summary, floor: Summary, options: Options) -> str:
    ratio = hub.rps / floor.rps
    cpu_ratio = floor.cpu_ms_per_request / hub.cpu_ms_per_request
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    return "\n".join(
        [
            f"members(first: 50), viewer {options.viewer}, {options.connections} connections, "
            f"{options.rounds} x {options.duration} s each",
            "",
            "| server | req/s | p50 (ms) | p99 (ms) | server CPU (ms/req) |",
            "|---|---:|---:|---:|---:|",
            table_row("hub (GraphQL)", hub),
            table_row("floor (Starlette, same SQL)", floor),
            "",
            f"ratio hub/floor: {ratio:.1%} of the floor's req/s ({verdict} the "
            f"{TARGET_RATIO:.0%} target); by server CPU per request: {cpu_ratio:.1%}",
        ]
    )


def save_results(servers: list[Server], options: Options, byte_equal: bool) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"members_page-{options.viewer}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "options": asdict(options),
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "bodies_byte_equal": byte_equal,
        "runs": {
            s.name: [
                asdict(r) | {"rps": r.rps, "cpu_ms_per_request": r.cpu_ms_per_request}
                for r in s.runs
            ]
            for s in servers
        },
    }
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


# --- the run -------------------------------------------------------------------------------


def print_load() -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} before the run", flush=True)
    if os.getloadavg()[0] > NOISY_LOAD:
        print("warning: the machine is busy; req/s will be noisy (CPU ms/req less so)")


def prepare_database(options: Options, database: str) -> tuple[Settings, str | None]:
    """Migrated and seeded; the settings both servers use, and the viewer's token if any."""
    dsn, url = database_urls(options.admin_url, database)
    settings = bench_settings(url)
    print(f"database {database}: migrating and seeding {options.members} members", flush=True)
    migrate.upgrade(url)
    return settings, asyncio.run(seed(settings, dsn, options.members, options.viewer))


def start_servers(settings: Settings, workdir: Path, servers: list[Server]) -> None:
    """Hub then floor, appended to `servers` as soon as started (so cleanup sees them)."""
    env = server_environment(settings)
    for name, argv in (("hub", hub_argv), ("floor", floor_argv)):
        port = free_port()
        servers.append(start_server(name, argv(port), port, env, workdir))
    for server in servers:
        wait_until_live(server)
        print(f"{server.name} (pid {server.process.pid}) live on {server.url}", flush=True)


def benchmark(options: Options, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    settings, token = prepare_database(options, database)
    start_servers(settings, workdir, servers)
    body = json.dumps({"query": QUERY}).encode()
    body_file = workdir / "body.json"
    body_file.write_bytes(body)
    byte_equal = check_same_answer(fetch(servers[0], body, token), fetch(servers[1], body, token))
    print(f"same JSON from both (byte-equal: {byte_equal}); measuring", flush=True)
    measure(servers, options, body_file, token)
    print(f"results: {save_results(servers, options, byte_equal)}")
    return report(summarize(servers[0].runs), summarize(servers[1].runs), options)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is required: apt-get install -y wrk", file=sys.stderr)
        return 2
    database = f"hub_bench_{os.getpid()}_{secrets.token_hex(3)}"
    servers: list[Server] = []
    created = False
    with (
        watchdog(options.budget_seconds()),
        tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp,
    ):
        try:
            asyncio.run(create_bench_database(options.admin_url, database))
            created = True
            print(benchmark(options, Path(tmp), database, servers))
            return 0
        except BenchError as e:
            print(f"benchmark failed: {e}", file=sys.stderr)
            return 1
        finally:
            signal.alarm(CLEANUP_SECONDS)
            for server in servers:
                stop_server(server)
            if created:
                asyncio.run(drop_bench_database(options.admin_url, database))
                print(f"dropped database {database}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
