"""The outbox under a crash: N members notified at once (a public community's moderation
notice, one email each), `hub worker` processes delivering to a local SMTP sink, the first one
killed with SIGKILL in the middle, a second started after it. Reports what the writing
transaction cost (seconds, SQL statements), messages per second per worker process, and, at
the sink: messages lost, duplicates (a worker killed between the send and its record sends
that message again after the lease; receivers drop it by its Message-ID, the delivery's stable
key), distinct Message-IDs.

    .venv/bin/python bench/outbox.py --members 2000
    .venv/bin/python bench/outbox.py --members 10000 --write-only   # the fan-out alone
    HUB_DATABASE_URL=postgresql+asyncpg://root@127.0.0.1/hub_bench .venv/bin/python bench/outbox.py

Runs against a throwaway SQLite file unless HUB_DATABASE_URL is set (then it must be an empty
database of its own: it is migrated down and up)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import event, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import migrate
from models.community import Community, CommunityMember, CommunityVisibility
from models.db import create_database
from models.member import Member
from models.notification import NotificationKind
from models.outbox import Delivery
from resolvers import notifications
from resolvers.unit_of_work import unit_of_work
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


async def counts(url: str) -> Counter[str]:
    db = create_database(url)
    try:
        async with db.sessions() as session:
            rows = await session.execute(
                select(Delivery.state, func.count()).group_by(Delivery.state)
            )
            return Counter({state.value: n for state, n in rows})
    finally:
        await db.dispose()


def worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [HUB, "worker"], env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--kill-after", type=float, default=0.4, help="of the messages")
    parser.add_argument(
        "--write-only", action="store_true", help="measure the notifying transaction alone"
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hub-outbox-bench-"))
    url = os.environ.get("HUB_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    # Alembic runs its own event loop: off this one.
    await asyncio.to_thread(migrate.downgrade, url, "base")
    await asyncio.to_thread(migrate.upgrade, url)
    written = await seed(url, args.members)
    print(
        f"members notified: {args.members}; the notifying transaction: "
        f"{written.seconds:.2f} s, {written.statements} SQL statements"
    )
    if args.write_only:
        print(f"states: {dict(await counts(url))}")
        return
    with smtp_server() as (inbox, smtp_url):
        env = {
            **os.environ,
            "HUB_ENV": "test",
            "HUB_DATABASE_URL": url,
            "HUB_SMTP_URL": smtp_url,
            "HUB_DELIVERY_LEASE_SECONDS": "3",
            "HUB_DELIVERY_POLL_SECONDS": "0.2",
            "HUB_SECRET_KEY": "bench-" + "b" * 40,
        }
        first = worker(env, tmp / "worker.log")
        started = time.perf_counter()
        while len(inbox.messages) < args.members * args.kill_after:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = len(inbox.messages)
        first_seconds = time.perf_counter() - started
        second = worker(env, tmp / "worker.log")
        second_started = time.perf_counter()
        try:
            while (await counts(url))["PENDING"] > 0:  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.2)
        finally:
            second.terminate()
            second.wait()
        second_seconds = time.perf_counter() - second_started
    ids = Counter(str(m["Message-ID"]) for m in inbox.messages)
    recipients = {str(m["To"]) for m in inbox.messages}
    print(f"worker 1: {killed_at} messages in {first_seconds:.1f} s, then SIGKILL")
    print(
        f"worker 1: {killed_at / first_seconds:.0f} messages/s; worker 2: "
        f"{(len(inbox.messages) - killed_at) / second_seconds:.0f} messages/s "
        f"(incl. waiting {env['HUB_DELIVERY_LEASE_SECONDS']} s for the killed one's leases)"
    )
    print(f"states: {dict(await counts(url))}")
    print(
        f"at the sink: {len(inbox.messages)} messages, {len(ids)} distinct Message-IDs, "
        f"{len(recipients)} recipients; lost {args.members - len(recipients)}, "
        f"duplicates {sum(n - 1 for n in ids.values())}"
    )


if __name__ == "__main__":
    asyncio.run(main())
