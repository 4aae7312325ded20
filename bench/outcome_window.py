"""The duplicate window, sampled (issue 14): how many messages the SMTP sink has accepted whose
outcome the worker has not yet committed, at moments drawn from a seeded random, i.e. how many
messages a `kill -9` at that moment would have sent twice. No process is killed: the worker
runs in this process (the sink too, in aiosmtpd's thread), and a sampling thread reads three
counters at random moments: messages accepted by the sink (before its 250 leaves), outcomes
handed to the writer (`OutcomeWriter.record` called: the 250 was read and the coroutine got
the loop back) and outcomes committed (`OutcomeWriter.written`). The mean of accepted minus
committed is the expected duplicates of a kill at a random moment; split in two at the hand-
over: the 250's way back and the wait for the loop, then the recording itself.

    .venv/bin/python bench/outcome_window.py --members 1000
    HUB_DATABASE_URL=postgresql+asyncpg://root@127.0.0.1/NAME .venv/bin/python bench/outcome_window.py

Works on any code with `DeliveryWorker.from_settings(db, settings)` and `OutcomeWriter.record`
/ `.written` (before and after this change alike). Runs against a throwaway SQLite file unless
HUB_DATABASE_URL is set (then an empty database of its own: it is migrated down and up)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate
from app.delivery import DeliveryWorker
from bench.harness import load_average, watchdog
from bench.outbox import seed
from models.db import create_database
from tests.conftest import make_settings
from tests.mail import smtp_server


class Counters:
    def __init__(self, inbox: Any, worker: DeliveryWorker) -> None:
        self.inbox, self.worker = inbox, worker
        self.handed = 0
        self.samples: list[tuple[int, int, int]] = []

    def sample(self) -> None:
        # committed first: a sample never counts a committed outcome as not handed over
        committed = self.worker.outcomes.written
        handed = self.handed
        accepted = len(self.inbox.messages)
        self.samples.append((accepted, handed, committed))


def count_hand_overs(counters: Counters) -> None:
    """Count the outcomes handed to the writer (instrumentation of the bench, not the app)."""
    writer = counters.worker.outcomes
    record = writer.record

    async def counted(*args: Any) -> bool:
        counters.handed += 1
        return await record(*args)

    writer.record = counted  # type: ignore[method-assign,assignment]


def sampling(counters: Counters, seed: int, every: float, stop: threading.Event) -> None:
    rng = random.Random(seed)  # the moments of the samples
    while not stop.wait(rng.uniform(0, 2 * every)):
        counters.sample()


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="hub-window-bench-"))
    url = os.environ.get("HUB_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    await asyncio.to_thread(migrate.downgrade, url, "base")
    await asyncio.to_thread(migrate.upgrade, url)
    await seed(url, args.members)
    db = create_database(url, pool_size=4, max_overflow=2)
    with smtp_server() as (inbox, smtp_url):
        settings = make_settings(
            url,
            smtp_url=smtp_url,
            delivery_concurrency=args.concurrency,
            delivery_batch_size=args.batch_size,
        )
        worker = DeliveryWorker.from_settings(db, settings)
        counters = Counters(inbox, worker)
        count_hand_overs(counters)
        stop = threading.Event()
        sampler = threading.Thread(target=sampling, args=(counters, args.seed, args.every, stop))
        print(f"load average at the start: {load_average()}")
        cpu, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        sampler.start()
        try:
            while len(inbox.messages) < args.members:
                await worker.run_round()
        finally:
            stop.set()
            sampler.join()
        seconds = time.perf_counter() - started
        used = resource.getrusage(resource.RUSAGE_SELF)
        await db.dispose()
    report(args, counters, seconds, used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime)


def report(args: argparse.Namespace, counters: Counters, seconds: float, cpu: float) -> None:
    messages = len(counters.inbox.messages)
    samples = counters.samples
    unrecorded = [a - c for a, _, c in samples]
    on_the_way = [a - h for a, h, _ in samples]
    recording = [h - c for _, h, c in samples]
    rate = messages / seconds
    print(f"load average at the end: {load_average()}")
    print(
        f"{messages} messages in {seconds:.1f} s: {rate:.1f} messages/s, "
        f"{1000 * cpu / messages:.1f} ms CPU per message (worker and sink in one process), "
        f"concurrency {args.concurrency}, {counters.worker.outcomes.commits} recording commits"
    )
    print(
        f"{len(samples)} samples at random moments: accepted but not committed "
        f"mean {mean(unrecorded):.2f} (max {max(unrecorded)}) = the expected duplicates of a "
        f"kill; of which the 250's way back and the wait for the loop {mean(on_the_way):.2f}, "
        f"the recording {mean(recording):.2f}"
    )
    print(
        f"window by Little's law: {1000 * mean(unrecorded) / rate:.1f} ms per message "
        f"({1000 * mean(on_the_way) / rate:.1f} ms before the hand-over, "
        f"{1000 * mean(recording) / rate:.1f} ms recording)"
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--every", type=float, default=0.02, help="mean seconds between samples")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--timeout", type=int, default=900)
    return parser.parse_args()


if __name__ == "__main__":
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    with watchdog(arguments().timeout):
        asyncio.run(run(arguments()))
