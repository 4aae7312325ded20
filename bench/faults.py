"""The fault suite (issue 12): each scenario runs against two real `hub serve` processes,
a PostgreSQL database it creates and drops, and a private `redis-server` it may kill, pause
and restart. Subscribers (spread over both processes) resume from their last cursor whenever
their socket ends; writers retry with an idempotency key until answered. Each scenario prints
expected vs delivered, duplicates, out of order, lost, answers that lied, and the latency
around the fault; the run exits 1 if any lost, duplicate, out-of-order or lie was seen.

    .venv/bin/python bench/faults.py [--scenario NAME[,NAME...]] [--subscribers 500] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fault_clients import Subscriber, Writer
from fault_tally import Tally, check_answers, committed, count_deliveries, measure_latency
from fault_world import (
    Hubs,
    PrivateRedis,
    Seeded,
    allow_connections,
    hubs,
    new_thread,
    seed,
    terminate_backends,
    thread_global_id,
)
from harness import (
    ADMIN_URL,
    BenchError,
    check_admin_url,
    create_bench_database,
    database_urls,
    drop_bench_database,
    load_average,
    raise_open_files_limit,
    wait_until_idle,
    watchdog,
)

from app import migrate

Fault = Callable[["Run"], Awaitable[None]]


@dataclass(frozen=True)
class Options:
    scenarios: list[str]
    subscribers: int
    quick: bool
    admin_url: str

    def seconds(self, quick: float, full: float) -> float:
        return quick if self.quick else full


@dataclass
class Run:
    """One scenario under way: what its fault may touch."""

    options: Options
    hubs: Hubs
    redis: PrivateRedis
    database: str
    fault_start: float = 0.0
    fault_end: float = 0.0

    def began(self) -> None:
        self.fault_start = time.time()

    def ended(self) -> None:
        self.fault_end = time.time()


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: Fault
    broker: str = "redis"  # or "postgres": the NOTIFY broker
    writes: tuple[int, int] = (30, 200)  # per writer: quick, full
    writers: int = 2
    interval: float = 0.05  # seconds between a writer's writes
    churners: int = 0  # subscribers that drop and resume every 1-3 s
    slow_readers: int = 0


# --- the faults ----------------------------------------------------------------------------


async def _settle(run: Run) -> None:
    """Let the writers run a while before the fault (a baseline)."""
    await asyncio.sleep(run.options.seconds(1.0, 3.0))


async def broker_killed(run: Run) -> None:
    await _settle(run)
    run.began()
    run.redis.kill()
    await asyncio.sleep(run.options.seconds(1.0, 3.0))
    await asyncio.to_thread(run.redis.start)
    run.ended()


async def listen_terminated(run: Run) -> None:
    await _settle(run)
    run.began()
    for _ in range(int(run.options.seconds(3, 8))):
        await terminate_backends(run.options.admin_url, run.database, "LISTEN%")
        await asyncio.sleep(0.7)
    run.ended()


async def broker_stalled(run: Run) -> None:
    await _settle(run)
    run.began()
    seconds = run.options.seconds(3.0, 25.0)
    run.redis.pause_writes(seconds)
    await asyncio.sleep(seconds)
    run.ended()


async def server_killed(run: Run) -> None:
    await _hub_signalled(run, signal.SIGKILL, then_wait=1.0)


async def _hub_signalled(run: Run, number: int, then_wait: float = 0.0) -> None:
    """Signal hub A, wait for it to exit, then start it again (its subscribers resume on B)."""
    await _settle(run)
    run.began()
    run.hubs.signal(0, number)
    await run.hubs.wait_exit(0)
    await asyncio.sleep(then_wait)
    await run.hubs.restart(0)
    run.ended()


async def database_down(run: Run) -> None:
    await _settle(run)
    run.began()
    await allow_connections(run.options.admin_url, run.database, allowed=False)
    try:
        await terminate_backends(run.options.admin_url, run.database)
        await asyncio.sleep(run.options.seconds(2.0, 4.0))
    finally:
        await allow_connections(run.options.admin_url, run.database, allowed=True)
    run.ended()


async def sigterm(run: Run) -> None:
    await _hub_signalled(run, signal.SIGTERM)


async def no_fault(run: Run) -> None:
    """Churn and slow readers are their own fault: the window is the rest of the run."""
    await _settle(run)
    run.began()
    await asyncio.sleep(run.options.seconds(3.0, 10.0))
    run.ended()


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("broker-killed", broker_killed),
        Scenario("listen-terminated", listen_terminated, broker="postgres"),
        Scenario("broker-stalled", broker_stalled, writes=(30, 300)),
        Scenario("server-killed", server_killed, writes=(60, 500), interval=0.0),
        Scenario("churn", no_fault, churners=100),
        Scenario("database-down", database_down),
        Scenario("slow-reader", no_fault, slow_readers=5, interval=0.0, writes=(30, 300)),
        Scenario("sigterm", sigterm),
    ]
}
SUBSCRIBE_SECONDS = 180.0  # for every subscriber to subscribe, then for the hubs to idle
BROKERS = ("postgres", "redis")  # the scenarios of a broker share a pair of hubs
QUICK = ["broker-killed", "broker-stalled", "server-killed", "sigterm"]


# --- one scenario --------------------------------------------------------------------------


async def run_scenario(
    scenario: Scenario, options: Options, seeded: Seeded, redis: PrivateRedis, pair: Hubs
) -> Tally:
    """Subscribe, write while the fault happens, drain, then count against the database."""
    thread_key = await new_thread(seeded, f"Scenario {scenario.name}")
    thread_id = thread_global_id(thread_key)
    run = Run(options, pair, redis, database=seeded.dsn.rsplit("/", 1)[1])
    subscribers = _subscribers(scenario, options, pair.ws_urls, thread_id, thread_key)
    stop_reading = asyncio.Event()
    reading = [asyncio.create_task(s.run(stop_reading)) for s in subscribers]
    try:
        await _until_subscribed(subscribers, pair)
        for subscriber in subscribers:
            subscriber.churning.set()  # churners start dropping and resuming now
        _progress(scenario.name, f"{len(subscribers)} subscribed; writing, then the fault")
        writers = await _write_through(scenario, run, seeded, thread_id, thread_key)
        written = time.monotonic()
        _progress(scenario.name, "writes answered; draining")
        stored = await committed(seeded.dsn, thread_key)
        await _drain(subscribers, stored.seqs, options.seconds(20.0, 60.0))
        drain = time.monotonic() - written
    finally:
        stop_reading.set()
        await asyncio.gather(*reading, return_exceptions=True)
    tally = Tally(scenario.name, len(subscribers), drain_s=drain)
    count_deliveries(tally, subscribers, stored.seqs)
    measure_latency(tally, subscribers, (run.fault_start, run.fault_end))
    check_answers(tally, writers, stored)
    return tally


async def _write_through(
    scenario: Scenario, run: Run, seeded: Seeded, thread_id: str, thread_key: int
) -> list[Writer]:
    """The writers, each writing its share while the fault happens; once all are answered."""
    writers = [
        Writer(f"{scenario.name}-{thread_key}-w{n}", token, run.hubs.http_urls, thread_id,
               scenario.interval)
        for n, token in enumerate(seeded.writer_tokens[: scenario.writers])
    ]  # fmt: skip
    count = int(run.options.seconds(*scenario.writes))
    writing = [asyncio.create_task(w.run(count)) for w in writers]
    await scenario.fault(run)
    await asyncio.gather(*writing)
    return writers


def _progress(name: str, what: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {name}: {what}", flush=True)


def _subscribers(
    scenario: Scenario, options: Options, urls: list[str], thread_id: str, thread_key: int
) -> list[Subscriber]:
    stream = f"thread:{thread_key}"
    churners = min(scenario.churners, options.subscribers)
    subscribers = []
    for index in range(options.subscribers):
        churn = (1.0, 3.0) if index < churners else None
        slow = 0.05 if index >= options.subscribers - scenario.slow_readers else 0.0
        subscribers.append(Subscriber(index, urls, thread_id, stream, slow, churn))
    return subscribers


async def _until_subscribed(subscribers: list[Subscriber], pair: Hubs) -> None:
    """Until every subscriber has subscribed once and both hubs are idle (done setting the
    subscriptions up). Subscriptions start from seq 0, so nothing written earlier would be
    missed; this keeps setting up out of the baseline latency."""
    deadline = time.monotonic() + SUBSCRIBE_SECONDS
    while any(s.connections == 0 or not s.subscribed for s in subscribers):
        if time.monotonic() > deadline:
            raise BenchError("the subscribers did not all subscribe")
        await asyncio.sleep(0.2)
    pids = [pair.current(i).process.pid for i in (0, 1)]
    await asyncio.to_thread(wait_until_idle, pids, 0.1, SUBSCRIBE_SECONDS)


async def _drain(subscribers: list[Subscriber], seqs: list[int], seconds: float) -> None:
    """Until every subscriber has every committed event, or `seconds` pass."""
    wanted = set(seqs)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(wanted <= {seq for seq, _, _ in s.received} for s in subscribers):
            return
        await asyncio.sleep(0.2)


# --- the run -------------------------------------------------------------------------------


async def run_all(options: Options, workdir: Path, database: str) -> list[Tally]:
    dsn, url = database_urls(options.admin_url, database)
    await asyncio.to_thread(migrate.upgrade, url)
    seeded = await seed(url, dsn)
    redis = PrivateRedis(workdir)
    redis.start()
    tallies = []
    try:
        for broker in BROKERS:
            names = [n for n in options.scenarios if SCENARIOS[n].broker == broker]
            if not names:
                continue
            url = redis.url if broker == "redis" else seeded.settings.database_url
            with hubs(seeded.settings, url, workdir) as pair:  # shared by the scenarios
                _progress(broker, "both hubs live")
                for name in names:
                    tallies.append(await _one(SCENARIOS[name], options, seeded, redis, pair))
    finally:
        redis.stop()
    return tallies


async def _one(
    scenario: Scenario, options: Options, seeded: Seeded, redis: PrivateRedis, pair: Hubs
) -> Tally:
    _progress(scenario.name, f"load average {load_average()}")
    tally = await run_scenario(scenario, options, seeded, redis, pair)
    print(tally.line(), flush=True)
    for note in tally.notes[:5]:
        print(f"    {note}", flush=True)
    return tally


def main(options: Options) -> int:
    raise_open_files_limit()
    database = f"hub_faults_{os.getpid()}"
    print(f"{os.cpu_count()} CPUs, load average {load_average()}; {options}", flush=True)
    budget = 300 + len(options.scenarios) * (90 if options.quick else 240)
    with watchdog(budget), tempfile.TemporaryDirectory(prefix="hub-faults-") as tmp:
        asyncio.run(create_bench_database(options.admin_url, database))
        try:
            tallies = asyncio.run(run_all(options, Path(tmp), database))
        except BenchError as e:
            print(f"fault suite failed: {e}", file=sys.stderr)
            return 2
        finally:
            asyncio.run(drop_bench_database(options.admin_url, database))
    print(f"load average after: {load_average()}")
    failed = [t.scenario for t in tallies if t.failed]
    print("FAILED: " + ", ".join(failed) if failed else "every scenario: 0 lost, 0 duplicates, "
          "0 out of order, 0 answers that lied")  # fmt: skip
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scenario", help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="short faults, fewer writes")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="maintenance database, loopback")
    args = parser.parse_args(argv)
    if problem := check_admin_url(args.admin_url):
        parser.error(problem)
    default = QUICK if args.quick else list(SCENARIOS)
    names = [n.strip() for n in args.scenario.split(",")] if args.scenario else default
    if unknown := [n for n in names if n not in SCENARIOS]:
        parser.error(f"unknown scenario {unknown}; choose from {', '.join(SCENARIOS)}")
    if args.subscribers < 1:
        parser.error("--subscribers must be positive")
    return Options(names, args.subscribers, args.quick, args.admin_url)


if __name__ == "__main__":
    sys.exit(main(parse_args()))
