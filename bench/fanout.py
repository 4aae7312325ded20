"""Benchmark: live fan-out of thread events to many WebSocket subscribers.

Creates a fresh PostgreSQL database, seeds members and a public community with a thread
(`discussion.py`), then for each setup — one hub process (`memory://` broker), and two hub
processes sharing Redis — starts the hub(s) (`hub serve`, one worker each, production
settings), opens `--subscribers` subscriptions (`--per-socket` per graphql-transport-ws socket)
from a separate process (`fanout_client.py`), each subscribed to
`threadEvents(threadId, after: <thread.eventCursor>)`, and posts `--posts` replies `--interval`
seconds apart through HTTP (to the processes in turn). It reports latency per delivery (from
the mutation's send, from the event's `occurredAt`, from the mutation's response), deliveries
lost, the servers' memory per idle subscription (RSS from /proc), their CPU time, how many times
they executed an event (`probe/sitecustomize.py`), and how many times two processes serve one
(deliveries per CPU second of the busiest process; `--rounds` alternates the setups). Everything it starts it stops by PID; the
database is dropped at the end; a watchdog bounds the whole run.

    .venv/bin/python bench/fanout.py [--viewer anonymous|member] [--setups single,redis] ...
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import queue
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit

import httpx
from discussion import VIEWER_EMAIL, Discussion, seed_discussion
from floor import global_id
from harness import (
    ADMIN_URL,
    BENCH_DIR,
    HOST,
    BenchError,
    Server,
    bench_settings,
    check_admin_url,
    cpu_seconds,
    cpu_times,
    database_urls,
    hub_argv,
    issue_tokens,
    load_average,
    print_load,
    raise_open_files_limit,
    request_headers,
    rss_bytes,
    run_with_database,
    save_results,
    server_environment,
    start_and_wait,
    stop_process,
    stop_server,
    vacuum_analyze,
    wait_until_idle,
)

from app import migrate
from app.seed import seed_demo
from app.settings import Settings

Viewer = Literal["anonymous", "member"]
Setup = Literal["single", "redis"]
SETUPS: tuple[Setup, ...] = ("single", "redis")
SETUP_SECONDS = 300  # create, migrate, seed, issue tokens
PROBE_DIR = BENCH_DIR / "probe"  # sitecustomize.py: executions on SIGUSR1, see there
PROBE_LINE = re.compile(r"BENCH_FANOUT executions=(-?\d+) shared=(-?\d+)")
PUBLISH_LINE = re.compile(r"BENCH_PUBLISH (\S+) (\d+) ([\d.]+)")
POST_MUTATION = (
    "mutation($input: CreatePostInput!) { createPost(input: $input) { post { id } "
    "errors { code message } } }"
)
CURSOR_QUERY = "query($id: ID!) { thread(id: $id) { eventCursor } }"
POST_INDEX = re.compile(r"fanout post (-?\d+) ")
DRAIN_SECONDS = 30.0  # after the last post, how long every delivery may take
TARGET_P99_MS = 250.0
TARGET_KB_PER_SUBSCRIPTION = 32.0  # issue 17: at most 32 KB per subscription
TARGET_SCALE_OUT = 1.8  # issue 17: two processes serve at least 1.8x one
SPARE_FILES = 2_048  # open files beyond one per socket (logs, database, Redis, pipes)


@dataclass(frozen=True)
class Options:
    subscribers: int  # subscriptions in all
    per_socket: int  # subscriptions per socket
    posts: int
    interval: float
    batch: int
    batch_pause: float
    viewer: Viewer
    setups: tuple[Setup, ...]
    rounds: int  # the setups run this many times, alternately (single, redis, single, ...)
    client_processes: int
    compression: str
    server_deflate: bool
    client: str  # raw | websockets (fanout_client.py)
    ping_interval: float  # HUB_WS_PING_INTERVAL_SECONDS of the hubs (0: no keepalive pings)
    redis_url: str
    admin_url: str

    def scenario_seconds(self) -> int:
        """A generous bound for one setup: start, warm-up, connect, post, drain, stop."""
        connect = self.connect_seconds()
        return int(120 + connect + self.posts * self.interval + 180)

    def connect_seconds(self) -> float:
        """How long opening every socket and subscription may take."""
        batches = -(-self.sockets // self.batch)
        return 30 + self.subscribers / 10 + batches * self.batch_pause

    @property
    def sockets(self) -> int:
        return self.subscribers // self.per_socket

    def budget_seconds(self) -> int:
        return SETUP_SECONDS + self.rounds * len(self.setups) * self.scenario_seconds()


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1_000, help="subscriptions in all")
    parser.add_argument(
        "--per-socket", type=int, default=1, help="subscriptions per WebSocket (at most 20)"
    )
    parser.add_argument("--posts", type=int, default=20, help="posts created, one per interval")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between posts")
    parser.add_argument("--batch", type=int, default=100, help="sockets opened at a time")
    parser.add_argument(
        "--batch-pause", type=float, default=0.0, help="seconds between batches of sockets"
    )
    parser.add_argument(
        "--viewer",
        choices=["anonymous", "member"],
        default="anonymous",
        help="subscribers are anonymous, or signed-in members of the community (one token each)",
    )
    parser.add_argument(
        "--setups", default="single,redis", help="comma-separated: single (memory://), redis"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="run the setups this many times, alternately"
    )
    parser.add_argument(
        "--client-processes", type=int, default=1, help="subscriber processes (split evenly)"
    )
    parser.add_argument(
        "--compression",
        choices=["deflate", "none"],
        default="deflate",
        help="permessage-deflate offered by the subscribers (browsers offer it)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "websockets"],
        default="raw",
        help="the subscribers' WebSocket client: fanout_client.py's minimal one (no compression "
        "offered; a few µs per message) or the websockets library (offers deflate)",
    )
    parser.add_argument(
        "--server-deflate",
        action="store_true",
        help="let the hubs accept permessage-deflate (HUB_WS_PER_MESSAGE_DEFLATE=true)",
    )
    parser.add_argument(
        "--ping-interval",
        type=float,
        default=60.0,
        help="the hubs' keepalive ping interval in seconds (HUB_WS_PING_INTERVAL_SECONDS; "
        "0 turns pings off; the hub's default is 20)",
    )
    parser.add_argument("--redis-url", default=f"redis://{HOST}:6379/0", help="loopback Redis")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="maintenance database, loopback")
    args = parser.parse_args(argv)
    if problem := check_admin_url(args.admin_url):
        parser.error(problem)
    if urlsplit(args.redis_url).hostname not in (HOST, "localhost"):
        parser.error("--redis-url must point at 127.0.0.1")
    names = [s.strip() for s in args.setups.split(",") if s.strip()]
    setups = tuple(s for s in SETUPS if s in names)
    if not setups or len(setups) != len(names):
        parser.error(f"--setups takes a comma-separated list of {', '.join(SETUPS)}")
    if min(args.subscribers, args.posts, args.batch, args.client_processes, args.rounds) < 1:
        parser.error(
            "--subscribers, --posts, --batch, --client-processes and --rounds must be positive"
        )
    if not 1 <= args.per_socket <= 20 or args.subscribers % args.per_socket:
        parser.error("--per-socket must divide --subscribers and be between 1 and 20")
    return Options(
        subscribers=args.subscribers,
        per_socket=args.per_socket,
        posts=args.posts,
        interval=args.interval,
        batch=args.batch,
        batch_pause=args.batch_pause,
        viewer=args.viewer,
        setups=setups,
        rounds=args.rounds,
        client_processes=args.client_processes,
        compression=args.compression,
        server_deflate=args.server_deflate,
        client=args.client,
        ping_interval=args.ping_interval,
        redis_url=args.redis_url,
        admin_url=args.admin_url,
    )


# --- seed ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    settings: Settings
    dsn: str
    thread_id: str  # global ID
    poster_token: str
    subscriber_tokens: list[str] | None  # one per socket when the subscribers are signed in


def demo_members(options: Options) -> int:
    """Enough demo members for every subscriber to be a distinct plain member (about one in
    nine demo members is a reviewer; the first three are staff); anonymous subscribers need
    none of them (seeding 11,000 takes minutes)."""
    if options.viewer != "member":
        return 300
    return max(300, (options.sockets + 10) * 9 // 8 + 20)


async def seed(settings: Settings, dsn: str, options: Options) -> Seeded:
    await seed_demo(settings, members=demo_members(options))
    community_members = options.sockets + 1 if options.viewer == "member" else 50
    discussion: Discussion = await seed_discussion(settings, posts=5, members=community_members)
    await vacuum_analyze(dsn)
    emails = discussion.member_emails
    if options.viewer == "member":  # the poster first, then one member per socket
        tokens = await issue_tokens(settings, emails[: options.sockets + 1])
    else:
        tokens = await issue_tokens(settings, [VIEWER_EMAIL])
    return Seeded(
        settings=settings,
        dsn=dsn,
        thread_id=global_id("Thread", discussion.thread_id),
        poster_token=tokens[0],
        subscriber_tokens=tokens[1:] if options.viewer == "member" else None,
    )


def prepare_database(options: Options, database: str) -> Seeded:
    dsn, url = database_urls(options.admin_url, database)
    settings = bench_settings(url)
    print(f"database {database}: migrating and seeding {demo_members(options)} members", flush=True)
    migrate.upgrade(url)
    return asyncio.run(seed(settings, dsn, options))


# --- the subscriber processes --------------------------------------------------------------


class ClientProcess:
    """A `fanout_client.py` process; its stdout lines (READY, DONE) are read by a thread."""

    def __init__(self, argv: list[str], result_file: Path, log: IO[bytes]) -> None:
        self.result_file = result_file
        self.log = log
        self.process: subprocess.Popen[str] = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())

    def expect(self, prefix: str, timeout: float) -> dict[str, Any]:
        """The JSON after the next line starting with `prefix`."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            with suppress(queue.Empty):
                line = self.lines.get(timeout=min(left, 1.0))
                if line.startswith(prefix + " "):
                    data: dict[str, Any] = json.loads(line.removeprefix(prefix + " "))
                    return data
            if self.process.poll() is not None and self.lines.empty():
                break
        raise BenchError(f"the subscriber process {self.process.pid} never said {prefix}")

    def finish(self) -> dict[str, Any]:
        """STOP, wait for it to write its results, and read them."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            with suppress(BrokenPipeError):
                self.process.stdin.write("STOP\n")
                self.process.stdin.close()
        self.process.wait(timeout=60)
        self.log.close()
        document: dict[str, Any] = json.loads(self.result_file.read_text())
        return document


@dataclass(frozen=True)
class Load:
    """What one subscriber process does: `sockets` sockets, `per_socket` subscriptions each."""

    sockets: int
    per_socket: int
    expect: int  # events each subscription must receive


def client_argv(
    urls: list[str], seeded: Seeded, after: str, load: Load, options: Options
) -> list[str]:
    argv = [sys.executable, str(BENCH_DIR / "fanout_client.py")]
    for url in urls:
        argv += ["--url", url]
    argv += ["--thread-id", seeded.thread_id, "--after", after, "--sockets", str(load.sockets)]
    argv += ["--per-socket", str(load.per_socket), "--expect", str(load.expect)]
    argv += ["--batch", str(options.batch), "--pause", str(options.batch_pause)]
    argv += ["--compression", options.compression, "--client", options.client]
    argv += ["--timeout", str(120 + options.posts * options.interval)]
    return argv


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


@contextmanager
def subscriber_processes(
    servers: list[Server],
    seeded: Seeded,
    after: str,
    loads: list[Load],
    options: Options,
    workdir: Path,
) -> Iterator[list[ClientProcess]]:
    """Start one subscriber process per load; stopped by PID on the way out."""
    urls = [s.ws_url for s in servers]
    clients: list[ClientProcess] = []
    offset = 0
    try:
        for number, load in enumerate(loads):
            name = f"client-{time.monotonic_ns()}-{number}"
            argv = client_argv(urls, seeded, after, load, options)
            count = load.sockets
            argv += ["--result-file", str(workdir / f"{name}.json")]
            if seeded.subscriber_tokens is not None:
                tokens_file = workdir / f"{name}-tokens.json"
                tokens_file.write_text(json.dumps(seeded.subscriber_tokens[offset:][:count]))
                argv += ["--tokens-file", str(tokens_file)]
            offset += count
            log = (workdir / f"{name}.log").open("wb")
            clients.append(ClientProcess(argv, workdir / f"{name}.json", log))
        yield clients
    finally:
        for client in clients:
            stop_process(client.process)


def subscriptions_per_server(loads: list[Load], servers: int) -> list[int]:
    """Each subscriber process spreads its sockets round-robin over the servers."""
    per_server = [0] * servers
    for load in loads:
        for index in range(load.sockets):
            per_server[index % servers] += load.per_socket
    return per_server


def main_loads(options: Options) -> list[Load]:
    return [
        Load(sockets, options.per_socket, options.posts)
        for sockets in split(options.sockets, options.client_processes)
    ]


# --- HTTP: the cursor and the posts --------------------------------------------------------


def thread_cursor(server: Server, seeded: Seeded) -> str:
    body = {"query": CURSOR_QUERY, "variables": {"id": seeded.thread_id}}
    response = httpx.post(
        f"{server.url}/graphql", json=body, headers=request_headers(None), timeout=10.0
    )
    cursor = response.json()["data"]["thread"]["eventCursor"]
    if not isinstance(cursor, str):
        raise BenchError(f"no eventCursor: {response.text[:300]}")
    return cursor


@dataclass(frozen=True)
class Posted:
    index: int
    sent: float  # wall clock when the mutation was sent
    answered: float  # wall clock when its response arrived (the event was published by then)
    error: str | None = None  # the mutation failed (a write that did not answer): why


async def _post_one(
    client: httpx.AsyncClient, seeded: Seeded, index: int, at: float, run_id: str
) -> Posted:
    await asyncio.sleep(max(0.0, at - time.monotonic()))
    body = f"fanout post {index} of run {run_id}: does the employer pay?"
    variables = {"input": {"threadId": seeded.thread_id, "body": body}}
    sent = time.time()
    try:
        response = await client.post(
            "/graphql", json={"query": POST_MUTATION, "variables": variables}, timeout=30.0
        )
    except httpx.HTTPError as error:  # counted: writes must keep answering under load
        return Posted(index, sent, time.time(), f"{type(error).__name__}: {error}")
    answered = time.time()
    result = (response.json().get("data") or {}).get("createPost") or {}
    if response.status_code != 200 or result.get("errors") or not result.get("post"):
        return Posted(index, sent, answered, f"({response.status_code}) {response.text[:300]}")
    return Posted(index, sent, answered)


async def post_events(
    servers: list[Server], seeded: Seeded, indexes: list[int], interval: float
) -> list[Posted]:
    """One post per index, `interval` seconds apart (on schedule, even if one is slow), to the
    servers in turn, as a load balancer in front of them would spread the writes."""
    run_id = f"{time.time():.0f}"
    headers = request_headers(seeded.poster_token)
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=s.url, headers=headers))
            for s in servers
        ]
        start = time.monotonic()
        return await asyncio.gather(
            *(
                _post_one(clients[n % len(clients)], seeded, index, start + n * interval, run_id)
                for n, index in enumerate(indexes)
            )
        )


def log_problems(server: Server) -> int:
    """Lines of the server's log other than INFO lines (uvicorn's plain ones, the JSON ones of
    production logging), the banner and the probe's: warnings, errors, tracebacks."""
    text = server.log_path.read_text("utf-8", errors="replace")
    usual = ("INFO:", "Migration Network Hub", "  database ", "BENCH_FANOUT", "BENCH_PUBLISH")
    return sum(1 for line in text.splitlines() if line.strip() and not _usual(line, usual))


def _usual(line: str, usual: tuple[str, ...]) -> bool:
    if line.startswith(usual):
        return True
    with suppress(ValueError):
        record = json.loads(line)
        return isinstance(record, dict) and record.get("level") in ("DEBUG", "INFO")
    return False


# --- the probe: how many times the servers executed an event ------------------------------


def probe_environment(env: dict[str, str]) -> dict[str, str]:
    """The hub's environment with the probe importable as `sitecustomize`."""
    path = [str(PROBE_DIR), *filter(None, [env.get("PYTHONPATH")])]
    return env | {"PYTHONPATH": ":".join(path)}


def executions(server: Server) -> int:
    """Events the server has executed so far (shared results not counted): SIGUSR1 makes
    the probe print the counter to the server's log."""
    before = server.log_path.read_text("utf-8", errors="replace").count("BENCH_FANOUT")
    os.kill(server.process.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        text = server.log_path.read_text("utf-8", errors="replace")
        found = PROBE_LINE.findall(text)
        if len(found) > before:
            return int(found[-1][0])
        time.sleep(0.05)
    raise BenchError(f"{server.name}: no answer from the probe (bench/probe/sitecustomize.py)")


def event_key(stream: str, seq: int) -> str:
    return f"{stream}#{seq}"


def publish_times(servers: list[Server]) -> dict[str, float]:
    """When a server started publishing each event (by `event_key`), from the probe's lines."""
    times: dict[str, float] = {}
    for server in servers:
        text = server.log_path.read_text("utf-8", errors="replace")
        for stream, seq, at in PUBLISH_LINE.findall(text):
            times.setdefault(event_key(stream, int(seq)), float(at))
    return times


# --- one setup -----------------------------------------------------------------------------


@dataclass
class Phase:
    """Figures the orchestrator reads while the subscribers are connected."""

    setup_seconds: float = 0.0
    failed_at_setup: int = 0
    idle_wait_seconds: float = 0.0
    rss_idle: list[int] = field(default_factory=list)
    rss_after_events: list[int] = field(default_factory=list)
    server_cpu_s: float = 0.0
    server_cpu_each: list[float] = field(default_factory=list)  # per hub process
    server_system_cpu_s: float = 0.0  # of which in the kernel (loopback TCP is charged here)
    published: dict[str, float] = field(default_factory=dict)  # event_key: publishing started
    client_cpu_s: float = 0.0
    client_cpu_each: list[float] = field(default_factory=list)  # per subscriber process
    drain_seconds: float = 0.0
    executions: int = 0


def start_setup(
    setup: Setup, seeded: Seeded, options: Options, workdir: Path, servers: list[Server]
) -> list[Server]:
    broadcast = "memory://" if setup == "single" else options.redis_url
    names = ["hub-a"] if setup == "single" else ["hub-a", "hub-b"]
    started: list[Server] = []
    env = probe_environment(server_environment(seeded.settings, broadcast))
    env["HUB_WS_PER_MESSAGE_DEFLATE"] = "true" if options.server_deflate else "false"
    env["HUB_WS_PING_INTERVAL_SECONDS"] = str(options.ping_interval)
    specs: list[tuple[str, Callable[[int], list[str]]]] = [(n, hub_argv) for n in names]
    start_and_wait(specs, env, workdir, started)
    servers.extend(started)
    for server in started:
        ready = httpx.get(f"{server.url}/readyz", timeout=10.0)
        if ready.status_code != 200:
            raise BenchError(f"{server.name} is not ready: {ready.text}")
    return started


def warm_up(servers: list[Server], seeded: Seeded, options: Options, workdir: Path) -> None:
    """One subscriber per server and one post, so that every code path has run (imports,
    caches) before the baseline memory is read."""
    after = thread_cursor(servers[0], seeded)
    loads = [Load(len(servers), 1, 1)]
    with subscriber_processes(servers, seeded, after, loads, options, workdir) as clients:
        clients[0].expect("READY", 60)
        wait_until_idle([s.process.pid for s in servers])
        asyncio.run(post_events(servers[:1], seeded, [-1], 0.0))
        clients[0].expect("DONE", 60)
        clients[0].finish()
    wait_until_idle([s.process.pid for s in servers])


def idle_wait(pids: list[int], options: Options) -> float:
    """Seconds until the servers are idle, or NaN if they never are: idle sockets cost CPU too
    (uvicorn pings each every 20 s: 750 pings a second at 15,000), so the threshold grows with
    the sockets, and a server still busy after the wait is measured anyway (said in the log)."""
    quiet = max(0.05, options.sockets * 10e-6)
    try:
        return wait_until_idle(pids, quiet_cpu_s=quiet)
    except BenchError as error:
        print(f"  warning: {error} (memory read while busy)", flush=True)
        return float("nan")


def measure_fanout(
    servers: list[Server],
    seeded: Seeded,
    options: Options,
    workdir: Path,
    phase: Phase,
) -> tuple[list[Posted], list[dict[str, Any]]]:
    """Connect every subscriber, read memory, post, wait until every event is delivered."""
    pids = [s.process.pid for s in servers]
    after = thread_cursor(servers[0], seeded)
    with subscriber_processes(
        servers, seeded, after, main_loads(options), options, workdir
    ) as clients:
        ready = [c.expect("READY", options.connect_seconds()) for c in clients]
        phase.setup_seconds = max(r["setup_seconds"] for r in ready)
        phase.failed_at_setup = sum(r["failed"] for r in ready)
        phase.idle_wait_seconds = idle_wait(pids, options)
        phase.rss_idle = [rss_bytes(p) for p in pids]
        print(
            f"  {options.subscribers} subscriptions on {options.sockets} sockets in "
            f"{phase.setup_seconds:.1f} s",
            flush=True,
        )
        executions_before = sum(executions(s) for s in servers)
        cpu = [cpu_seconds(p) for p in pids], [cpu_seconds(c.process.pid) for c in clients]
        system_cpu = sum(cpu_times(p)[1] for p in pids)
        start = time.monotonic()
        posted = asyncio.run(
            post_events(servers, seeded, list(range(options.posts)), options.interval)
        )
        deadline = time.monotonic() + DRAIN_SECONDS + options.posts * options.interval
        for client in clients:
            # If events are missing, DONE never comes: STOP (in finish) collects what arrived.
            # One deadline for all the subscriber processes, not one each.
            with suppress(BenchError):
                client.expect("DONE", max(0.1, deadline - time.monotonic()))
        phase.drain_seconds = time.monotonic() - start
        phase.server_cpu_each = [
            cpu_seconds(p) - before for p, before in zip(pids, cpu[0], strict=True)
        ]
        phase.server_cpu_s = sum(phase.server_cpu_each)
        phase.server_system_cpu_s = sum(cpu_times(p)[1] for p in pids) - system_cpu
        phase.client_cpu_each = [
            cpu_seconds(c.process.pid) - before for c, before in zip(clients, cpu[1], strict=True)
        ]
        phase.client_cpu_s = sum(phase.client_cpu_each)
        phase.rss_after_events = [rss_bytes(p) for p in pids]
        phase.executions = sum(executions(s) for s in servers) - executions_before
        phase.published = publish_times(servers)
        results = [c.finish() for c in clients]
    return posted, results


# --- analysis ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of `values` (0 < q <= 100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


@dataclass
class Deliveries:
    expected: int = 0
    received: int = 0
    duplicates: int = 0
    out_of_order: int = 0  # subscriptions that saw events out of seq order
    problems: list[str] = field(default_factory=list)
    from_send_ms: list[float] = field(default_factory=list)
    from_answer_ms: list[float] = field(default_factory=list)
    from_event_ms: list[float] = field(default_factory=list)
    from_publish_ms: list[float] = field(default_factory=list)
    unpublished: int = 0  # deliveries of events the probe saw no publishing of
    first_arrival: dict[int, float] = field(default_factory=dict)
    last_arrival: dict[int, float] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return self.expected - self.received


@dataclass(frozen=True)
class Received:
    index: int | None  # the post's index; None if it is no post of ours
    stream: str
    seq: int
    occurred_at: float  # when the server wrote the event (before commit, so before publish)


def parse_event(raw: str) -> Received:
    event = json.loads(raw)["payload"]["data"]["threadEvents"]
    cursor = base64.urlsafe_b64decode(event["cursor"]).decode()
    post = event.get("post")
    match = POST_INDEX.search(post["body"]) if post else None
    return Received(
        index=int(match.group(1)) if match else None,
        stream=cursor.rpartition(":")[0].removeprefix("ev:"),  # schema.relay.encode_event_cursor
        seq=int(cursor.rpartition(":")[2]),
        occurred_at=datetime.fromisoformat(event["occurredAt"]).timestamp(),
    )


def add_subscription(
    found: Deliveries,
    subscription: dict[str, Any],
    posted: dict[int, Posted],
    published: dict[str, float],
) -> None:
    found.expected += len(posted)
    seen: set[int] = set()
    seqs: list[int] = []
    for arrived, raw in subscription["received"]:
        event = parse_event(raw)
        index = event.index
        seqs.append(event.seq)
        if index is None or index not in posted:
            found.problems.append(f"unexpected event: {raw[:200]}")
            continue
        if index in seen:
            found.duplicates += 1
            continue
        seen.add(index)
        found.from_send_ms.append(1000 * (arrived - posted[index].sent))
        found.from_answer_ms.append(1000 * (arrived - posted[index].answered))
        found.from_event_ms.append(1000 * (arrived - event.occurred_at))
        publishing = published.get(event_key(event.stream, event.seq))
        if publishing is None:
            found.unpublished += 1
        else:
            found.from_publish_ms.append(1000 * (arrived - publishing))
        found.first_arrival[index] = min(found.first_arrival.get(index, arrived), arrived)
        found.last_arrival[index] = max(found.last_arrival.get(index, arrived), arrived)
    found.received += len(seen)
    found.out_of_order += any(b <= a for a, b in pairwise(seqs))


def analyse(
    posted: list[Posted],
    results: list[dict[str, Any]],
    published: dict[str, float],
) -> Deliveries:
    by_index = {p.index: p for p in posted if p.error is None}  # failed posts publish nothing
    found = Deliveries()
    for result in results:
        for socket in result["sockets"]:
            found.problems += socket["problems"][:3]
        for subscription in result["subscriptions"]:
            add_subscription(found, subscription, by_index, published)
    return found


@dataclass
class Outcome:
    setup: Setup
    subscriptions_per_server: list[int]
    rss_baseline: list[int]
    phase: Phase
    deliveries: Deliveries
    mutation_ms: list[float]
    failed_posts: list[str]  # errors of the posts that did not answer
    load_before: str
    log_problems: int  # lines of warnings, errors and tracebacks in the servers' logs

    @property
    def kb_per_subscription(self) -> float:
        grown = sum(self.phase.rss_idle) - sum(self.rss_baseline)
        return grown / 1024 / sum(self.subscriptions_per_server)

    def us_per_delivery(self) -> float:
        """Server CPU per delivery received (µs): all the servers' CPU during the posts."""
        return 1e6 * self.phase.server_cpu_s / max(1, self.deliveries.received)

    def capacity(self) -> float:
        """Deliveries per CPU second of the busiest hub process: the rate this setup sustains
        when each of its processes has a core of its own (a process is one thread, so a core
        is its limit, and the busiest one is reached first)."""
        return self.deliveries.received / max(self.phase.server_cpu_each, default=float("nan"))

    def spread_ms(self) -> list[float]:
        """Per event: from its first delivery to its last."""
        d = self.deliveries
        return [1000 * (d.last_arrival[i] - d.first_arrival[i]) for i in d.first_arrival]


def run_setup(
    setup: Setup, seeded: Seeded, options: Options, workdir: Path, servers: list[Server]
) -> Outcome:
    load = load_average()
    print(f"setup {setup}: load average {load}", flush=True)
    started = start_setup(setup, seeded, options, workdir, servers)
    try:
        warm_up(started, seeded, options, workdir)
        baseline = [rss_bytes(s.process.pid) for s in started]
        phase = Phase()
        posted, results = measure_fanout(started, seeded, options, workdir, phase)
    finally:
        for server in started:
            stop_server(server)
    outcome = Outcome(
        log_problems=sum(log_problems(s) for s in started),
        setup=setup,
        subscriptions_per_server=subscriptions_per_server(main_loads(options), len(started)),
        rss_baseline=baseline,
        phase=phase,
        deliveries=analyse(posted, results, phase.published),
        mutation_ms=[1000 * (p.answered - p.sent) for p in posted],
        failed_posts=[f"post {p.index}: {p.error}" for p in posted if p.error is not None],
        load_before=load,
    )
    print(outcome_line(outcome), flush=True)
    return outcome


# --- report --------------------------------------------------------------------------------


def outcome_line(o: Outcome) -> str:
    d = o.deliveries
    return (
        f"  {o.setup}: {d.received}/{d.expected} delivered, lost {d.lost}, "
        f"publish→receive p50 {percentile(d.from_publish_ms, 50):.0f} ms, "
        f"p99 {percentile(d.from_publish_ms, 99):.0f} ms "
        f"(from send p99 {percentile(d.from_send_ms, 99):.0f} ms), "
        f"{o.kb_per_subscription:.1f} KB per subscription, "
        f"server CPU {o.phase.server_cpu_s:.1f} s ({o.us_per_delivery():.1f} µs per delivery), "
        f"subscriber processes' CPU {' / '.join(f'{c:.1f}' for c in o.phase.client_cpu_each)} s, "
        f"posts failed {len(o.failed_posts)}"
    )


def setup_label(o: Outcome) -> str:
    if o.setup == "single":
        return "1 process, memory://"
    return f"{len(o.subscriptions_per_server)} processes, Redis"


def latency_row(o: Outcome) -> str:
    d = o.deliveries
    publish, send, event = d.from_publish_ms, d.from_send_ms, d.from_event_ms
    return (
        f"| {setup_label(o)} | {d.received:,} / {d.expected:,} | {d.lost} | "
        f"{percentile(publish, 50):.0f} | **{percentile(publish, 99):.0f}** | "
        f"{max(publish, default=0):.0f} | "
        f"{percentile(send, 50):.0f} | {percentile(send, 99):.0f} | "
        f"{percentile(event, 50):.0f} | {percentile(event, 99):.0f} | "
        f"{percentile(o.mutation_ms, 50):.0f} |"
    )


def memory_row(o: Outcome) -> str:
    mib = 1024 * 1024
    baseline = " + ".join(f"{b / mib:.0f}" for b in o.rss_baseline)
    idle = " + ".join(f"{b / mib:.0f}" for b in o.phase.rss_idle)
    loaded = " + ".join(f"{b / mib:.0f}" for b in o.phase.rss_after_events)
    return (
        f"| {setup_label(o)} | {baseline} | {idle} | {loaded} | "
        f"**{o.kb_per_subscription:.1f}** | {o.phase.setup_seconds:.1f} | "
        f"{o.phase.server_cpu_s:.1f} ({o.phase.server_system_cpu_s:.1f}) | "
        f"{o.us_per_delivery():.1f} | "
        f"{' / '.join(f'{c:.1f}' for c in o.phase.client_cpu_each)} | {o.phase.executions} |"
    )


def verdicts(o: Outcome) -> str:
    d = o.deliveries
    p99 = percentile(d.from_publish_ms, 99)
    checks = [
        ("0 lost", d.lost == 0 and not d.duplicates),
        (
            f"p99 publish→receive < {TARGET_P99_MS:.0f} ms",
            p99 < TARGET_P99_MS and d.unpublished == 0,
        ),
        (
            f"<= {TARGET_KB_PER_SUBSCRIPTION:.0f} KB/subscription",
            o.kb_per_subscription <= TARGET_KB_PER_SUBSCRIPTION,
        ),
        (f"writes answered ({len(o.failed_posts)} failed)", not o.failed_posts),
    ]
    marks = ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in checks)
    extra = ""
    if (
        d.duplicates
        or d.out_of_order
        or d.problems
        or o.log_problems
        or o.phase.failed_at_setup
        or d.unpublished
    ):
        extra = (
            f"; sockets failed at setup {o.phase.failed_at_setup}, "
            f"deliveries without a publishing time {d.unpublished}, "
            f"duplicates {d.duplicates}, out of order {d.out_of_order}, "
            f"problems {len(d.problems)}: {d.problems[:3]}, "
            f"warnings or errors in the server logs: {o.log_problems}"
        )
    spread = o.spread_ms()
    return (
        f"- {setup_label(o)}: {marks}; an event reaches its last subscriber "
        f"{percentile(spread, 50):.0f} ms (median) after its first{extra} "
        f"(load average before: {o.load_before})"
    )


def scale_out(outcomes: list[Outcome]) -> list[str]:
    """Two processes against one, in this run: the ratio of their capacities (deliveries per
    CPU second of the busiest process), over every round (each round's ratio too). Wall-clock
    rates cannot show it on a machine whose cores the subscribers, Redis and PostgreSQL share
    with the hubs (bench/README.md)."""
    singles = [o for o in outcomes if o.setup == "single"]
    scaled = [o for o in outcomes if o.setup == "redis"]
    if not singles or not scaled:
        return []
    lines = [""]
    for n, (one, two) in enumerate(zip(singles, scaled, strict=False), start=1):
        each = " + ".join(f"{c:.2f}" for c in two.phase.server_cpu_each)
        lines.append(
            f"- scale-out, round {n}: one process {one.capacity():,.0f} deliveries per CPU second "
            f"({one.phase.server_cpu_s:.2f} s for {one.deliveries.received:,}); two processes "
            f"{two.capacity():,.0f} per CPU second of the busier ({each} s for "
            f"{two.deliveries.received:,}, subscriptions {two.subscriptions_per_server}): "
            f"{two.capacity() / one.capacity():.2f}x"
        )
    ratio = _pooled_capacity(scaled) / _pooled_capacity(singles)
    verdict = "met" if ratio >= TARGET_SCALE_OUT else "MISSED"
    lines.append(
        f"- scale-out over {len(scaled)} round(s): two processes serve **{ratio:.2f}x** one "
        f"(target >= {TARGET_SCALE_OUT}x: {verdict})"
    )
    return lines


def _pooled_capacity(outcomes: list[Outcome]) -> float:
    """Deliveries per CPU second of the busiest process, over several runs of one setup."""
    busiest = sum(max(o.phase.server_cpu_each, default=float("nan")) for o in outcomes)
    return sum(o.deliveries.received for o in outcomes) / busiest


def report(outcomes: list[Outcome], options: Options) -> str:
    lines = [
        f"{options.subscribers} subscriptions on {options.sockets} sockets ({options.viewer}, "
        f"{options.client} client, compression offered "
        f"{'none' if options.client == 'raw' else options.compression}, accepted by the server: "
        f"{options.server_deflate}, {options.client_processes} subscriber "
        "process(es)), "
        f"{options.posts} posts {options.interval * 1000:.0f} ms apart",
        "",
        "| setup | delivered | lost | publish→receive p50 (ms) | p99 | max | "
        "from send p50 | p99 | from event p50 | p99 | mutation p50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(latency_row(o) for o in outcomes),
        "",
        "| setup | RSS before (MiB) | RSS idle subscribed | RSS after events | "
        "KB per subscription | connect (s) | server CPU (s) (kernel) | µs per delivery | "
        "each subscriber process's CPU (s) | executions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(memory_row(o) for o in outcomes),
        "",
        *(verdicts(o) for o in outcomes),
        *scale_out(outcomes),
    ]
    return "\n".join(lines)


def outcome_json(o: Outcome) -> dict[str, Any]:
    d = o.deliveries
    return {
        "setup": o.setup,
        "load_before": o.load_before,
        "log_problems": o.log_problems,
        "subscriptions_per_server": o.subscriptions_per_server,
        "rss_baseline": o.rss_baseline,
        "phase": asdict(o.phase),
        "expected": d.expected,
        "received": d.received,
        "lost": d.lost,
        "duplicates": d.duplicates,
        "out_of_order": d.out_of_order,
        "problems": d.problems[:20],
        "latency_from_send_ms": {q: percentile(d.from_send_ms, q) for q in (50, 90, 99, 100)},
        "latency_from_answer_ms": {q: percentile(d.from_answer_ms, q) for q in (50, 90, 99, 100)},
        "latency_from_event_ms": {q: percentile(d.from_event_ms, q) for q in (50, 90, 99, 100)},
        "latency_publish_to_receive_ms": {
            q: percentile(d.from_publish_ms, q) for q in (50, 90, 99, 100)
        },
        "deliveries_without_publishing_time": d.unpublished,
        "mutation_ms": o.mutation_ms,
        "spread_ms": o.spread_ms(),
        "kb_per_subscription": o.kb_per_subscription,
        "us_per_delivery": o.us_per_delivery(),
        "deliveries_per_busiest_cpu_second": o.capacity(),
        "failed_posts": o.failed_posts,
    }


# --- the run -------------------------------------------------------------------------------


def benchmark(options: Options, workdir: Path, database: str, servers: list[Server]) -> str:
    print_load()
    raise_open_files_limit(options.sockets + SPARE_FILES)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < options.sockets + SPARE_FILES:
        raise BenchError(f"open files limited to {soft}: raise the hard limit (ulimit -Hn)")
    seeded = prepare_database(options, database)
    outcomes = [
        run_setup(setup, seeded, options, workdir, servers)
        for _ in range(options.rounds)
        for setup in options.setups
    ]
    document = {
        "options": asdict(options),
        "outcomes": [outcome_json(o) for o in outcomes],
    }
    print(f"results: {save_results(f'fanout-{options.viewer}', document)}")
    return report(outcomes, options)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return run_with_database(
        options.admin_url, options.budget_seconds(), partial(benchmark, options)
    )


if __name__ == "__main__":
    sys.exit(main())
