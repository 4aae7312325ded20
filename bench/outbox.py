"""The outbox under a crash: N members notified at once, `hub worker` processes delivering to
a local SMTP sink, the first one killed with SIGKILL in the middle, a second started after it.
Reports what the notifying transaction cost (seconds, SQL statements), messages per second per
worker process, and, at the sink: messages lost, duplicates (a worker killed between the send
and its record sends that message again after the lease; receivers drop it by its Message-ID,
the delivery's stable key), distinct Message-IDs.

With `--kills K`, K workers are killed one after the other (each once its share of the first
`--kill-after` of the messages arrived), and a last one sends the rest: duplicates per kill.
`--workers W` runs W worker processes at once (each killed one replaced at once by a new one),
each sending to an SMTP sink of its own, so that messages per second are counted per process.

When to kill (`--kill-on`): `messages` kills as soon as the sinks hold the share (polled every
10 ms, so right after an acceptance: inside the window between a `250` and its recorded
outcome more often than chance, the worst case); `random` waits from that moment a delay drawn
from a seeded random (`--seed`, up to `--random-delay` s), a moment independent of the
acceptances: what a crash does; `recorded` kills once the database counts the share sent;
`expansion` once the share of the notifications is written (in the middle of the fan-out
job). `--lease` (10 s) must exceed what a loaded worker takes to send a batch; a worker sends
nothing once its round's lease is nearly over (app/delivery.py).

Two scenarios:
- `moderation` (default): a public community's moderation notice to its N members (`notify()`
  called directly, one email each by the kind's default);
- `followed-resource` (issue 14's benchmark): N members follow GCM objective 6 and want
  FOLLOWED_TOPIC mail at once; a moderator publishes a resource on objective 6 through the
  API (`decideReviewItem`, in process): that request's seconds and statements are reported
  (it writes one fan-out job), then the workers expand the job into the N notifications and
  send the N emails. `--kill-on expansion` kills the first worker once `--kill-after` of the
  notifications are written (in the middle of the job's expansion) instead of once that
  share of the messages reached the sink; the notifications per follower are counted too.

    .venv/bin/python bench/outbox.py --members 2000
    .venv/bin/python bench/outbox.py --members 10000 --write-only   # the fan-out alone
    .venv/bin/python bench/outbox.py --scenario followed-resource --members 10000
    ... --scenario followed-resource --members 10000 --workers 2 --kills 4 --kill-on random
    HUB_DATABASE_URL=postgresql+asyncpg://root@127.0.0.1/hub_bench .venv/bin/python bench/outbox.py

Runs against a throwaway SQLite file unless HUB_DATABASE_URL is set (then it must be an empty
database of its own: it is migrated down and up). Bounded by a watchdog (`--timeout`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from statistics import median
from typing import Any

import httpx
from sqlalchemy import event, func, insert, select
from sqlalchemy.exc import DBAPIError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate
from app.main import create_app
from bench.harness import bench_settings, load_average, watchdog
from models.community import Community, CommunityMember, CommunityVisibility
from models.db import Database, create_database
from models.member import Member, Role
from models.notification import Notification, NotificationKind, TopicFollow, TopicKind
from models.outbox import Delivery, EmailFrequency, EmailPreference
from resolvers import notifications
from resolvers.auth import issue_token
from resolvers.unit_of_work import unit_of_work
from subscriptions.broadcast import create_broadcast
from tests.knowledge import CREATE_RESOURCE, DECIDE, SUBMIT, resource_input
from tests.mail import smtp_server

HUB = str(Path(sys.executable).with_name("hub"))


@dataclass
class Written:
    """What the notifying transaction cost: seconds, and SQL statements sent."""

    seconds: float
    statements: int


async def seed(url: str, members: int) -> Written:
    """N members of a public community, notified at once: what the notifying transaction
    (N notifications, N live events, N deliveries) cost."""
    db = create_database(url)
    sent = Counter[str]()

    def count(*_: object) -> None:
        sent["statements"] += 1

    try:
        async with db.sessions.begin() as session:
            people = [
                Member(name=f"Reader {i}", email=f"reader{i}@example.org", password_hash="-")  # noqa: S106 - no sign-in
                for i in range(members + 1)
            ]
            session.add_all(people)
            await session.flush()
            community = Community(slug="bench", name="Bench", visibility=CommunityVisibility.PUBLIC)
            session.add(community)
            await session.flush()
            session.add_all(
                CommunityMember(community_id=community.id, member_id=p.id) for p in people
            )
            ids = [p.id for p in people]
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        started = time.perf_counter()
        async with unit_of_work(db.sessions, None) as work:
            await notifications.notify(
                work,
                ids[1:],
                NotificationKind.MODERATION,
                actor_id=ids[0],
                subject={"community": community.id, "reason": "bench"},
            )
            # the live events of this bench have no subscribers: do not publish them
            work.events.clear()
        return Written(time.perf_counter() - started, sent["statements"])
    finally:
        await db.dispose()


OBJECTIVE = 6


async def seed_followers(db: Database, members: int) -> tuple[int, int]:
    """N members following objective 6 with FOLLOWED_TOPIC mail at once (the default is the
    weekly digest), an author and a moderator; returns (author, moderator)."""
    async with db.sessions.begin() as session:
        author = Member(name="Author", email="author@example.org", password_hash="-")  # noqa: S106
        moderator = Member(
            name="Moderator",
            email="moderator@example.org",
            password_hash="-",  # noqa: S106 - signs in by a token
            role=Role.MODERATOR,
        )
        session.add_all([author, moderator])
        await session.flush()
        people = [
            {"name": f"Follower {i}", "email": f"follower{i}@example.org", "password_hash": "-"}
            for i in range(members)
        ]
        ids = list(await session.scalars(insert(Member).returning(Member.id), people))
        await session.execute(
            insert(TopicFollow),
            [{"member_id": m, "topic": TopicKind.OBJECTIVE, "key": str(OBJECTIVE)} for m in ids],
        )
        await session.execute(
            insert(EmailPreference),
            [
                {
                    "member_id": m,
                    "kind": NotificationKind.FOLLOWED_TOPIC,
                    "frequency": EmailFrequency.IMMEDIATE,
                }
                for m in ids
            ],
        )
        return author.id, moderator.id


async def graphql(
    client: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    body = response.json()
    payload: dict[str, Any] = next(iter(body["data"].values()))
    if body.get("errors") or payload["errors"]:
        raise RuntimeError(f"the mutation failed: {body}")
    return payload


async def publish_followed_resource(url: str, members: int) -> Written:
    """Seed the followers, draft and submit a resource on their objective, then publish it
    (a moderator's `decideReviewItem`, through the API in process): that request's cost."""
    settings = bench_settings(url)
    db = create_database(url)
    broadcast = create_broadcast("memory://", namespace=settings.broadcast_namespace)
    await broadcast.connect()
    sent = Counter[str]()

    def count(*_: object) -> None:
        sent["statements"] += 1

    try:
        author_id, moderator_id = await seed_followers(db, members)
        async with db.sessions.begin() as session:
            config = settings.auth_config()
            author = await issue_token(session, config, author_id)
            moderator = await issue_token(session, config, moderator_id)
        app = create_app(settings, db, broadcast)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            draft = {"resource": resource_input("Ethical recruitment", objectives=[OBJECTIVE])}
            created = await graphql(client, author, CREATE_RESOURCE, {"input": draft})
            resource_id = created["resource"]["id"]
            await graphql(client, author, SUBMIT, {"id": resource_id})
            decision = {"id": resource_id, "decision": "APPROVE", "reason": "Bench."}
            event.listen(db.engine.sync_engine, "before_cursor_execute", count)
            started = time.perf_counter()
            await graphql(client, moderator, DECIDE, decision)
            seconds = time.perf_counter() - started
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        await app.state.response_cache.close()
        return Written(seconds, sent["statements"])
    finally:
        await broadcast.disconnect()
        await db.dispose()


async def read(url: str, statement: Any) -> list[Any]:
    """The rows of `statement`, on a connection of its own; a server that refuses connections
    for a while (the shared PostgreSQL at its limit: other engineers' suites) is asked again."""
    for _ in range(120):
        db = create_database(url)
        try:
            async with db.sessions() as session:
                return list((await session.execute(statement)).all())
        except DBAPIError as error:
            if "too many clients" not in str(error):
                raise
        finally:
            await db.dispose()
        await asyncio.sleep(1)
    raise RuntimeError("the database refused connections for two minutes")


async def told(url: str) -> Counter[int]:
    """FOLLOWED_TOPIC notifications per member."""
    rows = await read(
        url,
        select(Notification.member_id, func.count())
        .where(Notification.kind == NotificationKind.FOLLOWED_TOPIC)
        .group_by(Notification.member_id),
    )
    return Counter(dict(rows))


async def counts(url: str) -> Counter[str]:
    rows = await read(url, select(Delivery.state, func.count()).group_by(Delivery.state))
    return Counter({state.value: n for state, n in rows})


def cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """The CPU time (user and system) a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [HUB, "worker"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument(
        "--scenario", choices=("moderation", "followed-resource"), default="moderation"
    )
    parser.add_argument(
        "--kill-after", type=float, default=0.4, help="of the messages (or notifications)"
    )
    parser.add_argument(
        "--kill-on",
        choices=("messages", "random", "recorded", "expansion"),
        default="messages",
        help="when a worker is killed: `messages`, as soon as its share of the messages reached "
        "the sinks (polled every 10 ms: right after an acceptance, the worst case); `random`, "
        "that moment plus a delay drawn from a seeded random in [0, --random-delay] s (a moment "
        "independent of the acceptances); `recorded`, once the database counts that many "
        "messages sent; `expansion`, once that share of the notifications were written "
        "(followed-resource: in the middle of the fan-out job)",
    )
    parser.add_argument(
        "--random-delay", type=float, default=2.0, help="seconds, for --kill-on random"
    )
    parser.add_argument("--seed", type=int, default=14, help="of --kill-on random's delays")
    parser.add_argument(
        "--kills", type=int, default=1, help="workers killed, spread over --kill-after"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes running at once (a killed one is replaced at once)",
    )
    parser.add_argument(
        "--write-only", action="store_true", help="measure the notifying transaction alone"
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=10.0,
        help="seconds (a killed worker's deliveries are sent again after it); longer than a "
        "loaded worker takes to send a batch",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="sends at once per worker")
    parser.add_argument("--batch-size", type=int, default=50, help="deliveries claimed at once")
    parser.add_argument(
        "--fanout-batch-size", type=int, default=1000, help="followers per fan-out transaction"
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds, then give up")
    return parser.parse_args()


async def main() -> None:
    args = arguments()
    tmp = Path(tempfile.mkdtemp(prefix="hub-outbox-bench-"))
    url = os.environ.get("HUB_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    # Alembic runs its own event loop: off this one.
    await asyncio.to_thread(migrate.downgrade, url, "base")
    await asyncio.to_thread(migrate.upgrade, url)
    if args.scenario == "moderation":
        written = await seed(url, args.members)
        what = "the notifying transaction"
    else:
        written = await publish_followed_resource(url, args.members)
        what = "the publishing request (decideReviewItem)"
    print(
        f"members notified: {args.members}; {what}: "
        f"{written.seconds:.2f} s, {written.statements} SQL statements"
    )
    print(f"states: {dict(await counts(url))}")
    if not args.write_only:
        await deliver(url, tmp, args)


@dataclass
class Run:
    """One worker process: the messages its own sink received, seconds alive, CPU seconds,
    and whether it was killed."""

    messages: int
    seconds: float
    cpu: float
    killed: bool

    def line(self, number: int) -> str:
        ending = "then SIGKILL" if self.killed else "finished"
        return (
            f"worker {number}: {self.messages} messages in {self.seconds:.1f} s "
            f"({self.messages / max(self.seconds, 1e-9):.1f} messages/s), "
            f"{1000 * self.cpu / max(self.messages, 1):.1f} ms CPU per message "
            f"(start-up included), {ending}"
        )


@dataclass
class Worker:
    """A `hub worker` process sending to an SMTP sink of its own (so that what each process
    sent is counted apart)."""

    process: subprocess.Popen[bytes]
    inbox: Any
    started: float

    def stop(self, killed: bool) -> Run:
        cpu = cpu_seconds(self.process)
        if killed:
            self.process.send_signal(signal.SIGKILL)
        else:
            self.process.terminate()
        self.process.wait()
        seconds = time.perf_counter() - self.started
        return Run(len(self.inbox.messages), seconds, cpu, killed)


class Workers:
    """The worker processes of a run, each with its own sink; every sink's messages count."""

    def __init__(self, env: dict[str, str], log: Path, sinks: ExitStack) -> None:
        self.env, self.log, self.sinks = env, log, sinks
        self.running: list[Worker] = []
        self.inboxes: list[Any] = []
        self.runs: list[Run] = []

    def start(self) -> None:
        inbox, smtp_url = self.sinks.enter_context(smtp_server())
        self.inboxes.append(inbox)
        process = worker({**self.env, "HUB_SMTP_URL": smtp_url}, self.log)
        self.running.append(Worker(process, inbox, time.perf_counter()))

    def messages(self) -> list[Any]:
        return [m for inbox in self.inboxes for m in inbox.messages]

    def count(self) -> int:
        return sum(len(inbox.messages) for inbox in self.inboxes)

    def check(self) -> None:
        for running in self.running:
            if running.process.poll() is not None:
                raise RuntimeError(f"a worker ended by itself: see {self.log}")

    def kill_oldest(self) -> None:
        self.runs.append(self.running.pop(0).stop(killed=True))

    def stop_all(self) -> None:
        while self.running:
            self.runs.append(self.running.pop(0).stop(killed=False))


async def deliver(url: str, tmp: Path, args: argparse.Namespace) -> None:
    """`--workers` processes at once; at each of the `--kills` points (shares of
    `--kill-after`, by `--kill-on`) the oldest is killed with SIGKILL and a new one started;
    once nothing is pending, all are stopped. Then what reached the sinks: lost, duplicates,
    distinct Message-IDs."""
    env = {
        **os.environ,
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": url,
        "HUB_DELIVERY_LEASE_SECONDS": str(args.lease),
        "HUB_DELIVERY_POLL_SECONDS": "0.2",
        "HUB_DELIVERY_CONCURRENCY": str(args.concurrency),
        "HUB_DELIVERY_BATCH_SIZE": str(args.batch_size),
        "HUB_DELIVERY_FANOUT_BATCH_SIZE": str(args.fanout_batch_size),
        "HUB_SECRET_KEY": "bench-" + "b" * 40,
    }
    kill_points = [
        round(args.members * args.kill_after * (k + 1) / args.kills) for k in range(args.kills)
    ]
    delays = random.Random(args.seed)
    print(f"load average at the start: {load_average()}")
    with ExitStack() as sinks:
        workers = Workers(env, tmp / "worker.log", sinks)
        try:
            for _ in range(args.workers):
                workers.start()
            for point in kill_points:
                await until(workers, partial(reached, url, args.kill_on, workers, point))
                if args.kill_on == "random":
                    end = time.perf_counter() + delays.uniform(0, args.random_delay)
                    await until(workers, partial(elapsed, end))
                workers.kill_oldest()
                workers.start()
            await until(workers, partial(nothing_pending, url), poll=0.2)
        finally:
            workers.stop_all()
        messages = workers.messages()
    print(f"load average at the end: {load_average()}")
    await report(url, args, workers.runs, messages)


async def until(
    workers: Workers, condition: Callable[[], Awaitable[bool]], poll: float = 0.01
) -> None:
    while not await condition():
        workers.check()
        await asyncio.sleep(poll)


async def elapsed(end: float) -> bool:
    return time.perf_counter() >= end


async def nothing_pending(url: str) -> bool:
    return (await counts(url))["PENDING"] == 0


async def reached(url: str, kill_on: str, workers: Workers, kill_at: int) -> bool:
    """Whether a worker's time has come: messages at the sinks (`messages`, and `random`
    before its delay), messages recorded sent in the database, or notifications written (the
    fan-out job's progress); the database is read more slowly."""
    if kill_on in ("messages", "random"):
        return workers.count() >= kill_at
    await asyncio.sleep(0.1)
    if kill_on == "recorded":
        return (await counts(url))["SENT"] >= kill_at
    return sum((await told(url)).values()) >= kill_at


async def report(url: str, args: argparse.Namespace, runs: list[Run], messages: list[Any]) -> None:
    ids = Counter(str(m["Message-ID"]) for m in messages)
    # The members the scenario notifies (the author's own review-decision mail aside).
    recipients = {str(m["To"]) for m in messages} & expected_recipients(args)
    others = len({str(m["Message-ID"]) for m in messages if str(m["To"]) not in recipients})
    for number, run in enumerate(runs, 1):
        print(run.line(number))
    rates = [r.messages / max(r.seconds, 1e-9) for r in runs]
    print(
        f"worker processes: {len(runs)} ({args.workers} at once), "
        f"{median(rates):.1f} messages/s per process (median), "
        f"{1000 * sum(r.cpu for r in runs) / max(len(messages), 1):.1f} ms CPU per message "
        "(all processes, start-up included)"
    )
    print(f"states: {dict(await counts(url))}")
    if args.scenario == "followed-resource":
        per_member = await told(url)
        print(
            f"notifications: {sum(per_member.values())} for {len(per_member)} of the "
            f"{args.members} followers; lost {args.members - len(per_member)}, duplicates "
            f"{sum(n - 1 for n in per_member.values())}"
        )
    duplicates = sum(n - 1 for n in ids.values())
    killed = sum(r.killed for r in runs)
    print(
        f"at the sinks: {len(messages)} messages, {len(ids)} distinct Message-IDs, "
        f"{len(recipients)} of the {args.members} members notified; lost "
        f"{args.members - len(recipients)}, duplicates {duplicates} "
        f"({duplicates / max(killed, 1):.2f} per SIGKILL, kill on {args.kill_on}); "
        f"other messages: {others}"
    )
    # What a mailbox shows: a receiver drops a repeated Message-ID (the delivery's stable id,
    # which is what it is for), so a wire copy is not a second message; two messages with
    # different Message-IDs to one member would be (a notification or a mail written twice).
    per_mailbox = Counter(
        to for to, _ in {(str(m["To"]), str(m["Message-ID"])) for m in messages}
        if to in recipients
    )  # fmt: skip
    twice = sum(1 for n in per_mailbox.values() if n > 1)
    print(
        f"in the mailboxes (a repeated Message-ID dropped): exactly one message for "
        f"{sum(1 for n in per_mailbox.values() if n == 1)} of the {args.members} members; "
        f"lost {args.members - len(per_mailbox)}, duplicates {twice}"
    )


def expected_recipients(args: argparse.Namespace) -> set[str]:
    """The To header of each notified member's message, as the seeds name them."""
    if args.scenario == "moderation":
        return {f"Reader {i} <reader{i}@example.org>" for i in range(1, args.members + 1)}
    return {f"Follower {i} <follower{i}@example.org>" for i in range(args.members)}


if __name__ == "__main__":
    # The sink (aiosmtpd) warns of a deprecation at every sign-in.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    with watchdog(arguments().timeout):
        asyncio.run(main())
