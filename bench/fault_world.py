"""What the fault scenarios (`faults.py`) run against: a private `redis-server` they may kill
and pause, two `hub serve` processes they may kill, stop and restart, and a PostgreSQL
database seeded with two writers, a public community and one thread per scenario.

Everything here is started and stopped by PID; never imported by the app.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import redis
from harness import (
    HOST,
    BenchError,
    Server,
    bench_settings,
    free_port,
    hub_argv,
    server_environment,
    start_server,
    stop_process,
    stop_server,
    wait_until_live,
)

from app.settings import Settings
from models.community import Community, CommunityMember, CommunityRole, CommunityVisibility
from models.db import create_database
from models.member import Member, Role
from models.thread import Thread
from resolvers.auth import issue_token

POOL_SIZE = 4  # connections each hub keeps; the PostgreSQL server is shared
STARTUP_SECONDS = 120.0  # a hub's start on a busy machine (two start at once)
EXIT_SECONDS = 30.0  # how long a signalled hub may take to exit
THREAD_IDS = (1_000_000, 2_000_000_000)  # far above anybody's: broker channels are shared


# --- the private broker ------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """A redis-server of the suite's own, on a port it keeps across restarts."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise BenchError("redis-server is not on PATH")
        self.process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", HOST, "--dir", str(self.directory)),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            with suppress(redis.RedisError, OSError):
                if self._client().ping():
                    return
            if self.process.poll() is not None:
                raise BenchError("redis-server exited at start-up")
            time.sleep(0.05)
        raise BenchError("redis-server did not answer PING")

    def kill(self) -> None:
        """SIGKILL: the broker vanishes without a word to its clients."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def pause_writes(self, seconds: float) -> None:
        """`CLIENT PAUSE <ms> WRITE`: PUBLISH blocks, PING still answers."""
        client = self._client()
        client.execute_command("CLIENT", "PAUSE", str(int(seconds * 1000)), "WRITE")  # type: ignore[no-untyped-call]

    def _client(self) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, socket_timeout=2.0)


# --- the hub processes ---------------------------------------------------------------------


@dataclass
class Hubs:
    """Two `hub serve` processes on fixed ports (a restarted one comes back on its own)."""

    settings: Settings
    broker_url: str
    workdir: Path
    servers: list[Server] = field(default_factory=list)
    ports: list[int] = field(default_factory=lambda: [free_port(), free_port()])

    def environment(self) -> dict[str, str]:
        env = server_environment(self.settings, self.broker_url)
        env["HUB_DATABASE_POOL_SIZE"] = str(POOL_SIZE)
        return env

    def start(self, *indexes: int) -> None:
        """Start the hubs at `indexes` together, then wait until each answers /livez."""
        started = []
        for index in indexes:
            port = self.ports[index]
            name = f"hub-{'ab'[index]}-{len(self.servers)}"
            server = start_server(name, hub_argv(port), port, self.environment(), self.workdir)
            self.servers.append(server)
            started.append(server)
        for server in started:
            wait_until_live(server, STARTUP_SECONDS)

    async def restart(self, index: int) -> None:
        await asyncio.to_thread(self.start, index)

    def current(self, index: int) -> Server:
        return [s for s in self.servers if s.port == self.ports[index]][-1]

    def signal(self, index: int, number: int) -> None:
        self.current(index).process.send_signal(number)

    async def wait_exit(self, index: int) -> int:
        process = self.current(index).process
        return await asyncio.to_thread(process.wait, EXIT_SECONDS)

    @property
    def http_urls(self) -> list[str]:
        return [f"http://{HOST}:{p}" for p in self.ports]

    @property
    def ws_urls(self) -> list[str]:
        return [f"ws://{HOST}:{p}/graphql" for p in self.ports]

    def stop_all(self) -> None:
        for server in self.servers:
            stop_server(server)
        self.servers.clear()


@contextmanager
def hubs(settings: Settings, broker_url: str, workdir: Path) -> Iterator[Hubs]:
    pair = Hubs(settings, broker_url, workdir)
    try:
        pair.start(0, 1)
        yield pair
    finally:
        pair.stop_all()


# --- the database --------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    settings: Settings
    dsn: str  # asyncpg
    community_id: int
    author_id: int
    writer_tokens: list[str]


async def seed(database_url: str, dsn: str) -> Seeded:
    """Two writers, members of one public community; a token each."""
    settings = bench_settings(database_url)
    db = create_database(database_url)
    try:
        async with db.sessions.begin() as session:
            writers = [
                Member(name=f"Writer {n}", email=f"writer{n}@faults.hub", password_hash="-")  # noqa: S106 - nobody signs in with it
                for n in (1, 2)
            ]
            session.add_all(writers)
            await session.flush()
            community = Community(
                slug="faults",
                name="Fault suite",
                visibility=CommunityVisibility.PUBLIC,
                created_by_id=writers[0].id,
            )
            session.add(community)
            await session.flush()
            session.add_all(
                CommunityMember(
                    community_id=community.id, member_id=w.id, role=CommunityRole.MEMBER
                )
                for w in writers
            )
            config = settings.auth_config()
            tokens = [await issue_token(session, config, w.id) for w in writers]
            assert all(w.role is Role.MEMBER for w in writers)
            return Seeded(settings, dsn, community.id, writers[0].id, tokens)
    finally:
        await db.dispose()


async def new_thread(seeded: Seeded, title: str) -> int:
    """A fresh thread for one scenario: its stream starts empty."""
    db = create_database(seeded.settings.database_url)
    try:
        async with db.sessions.begin() as session:
            thread = Thread(
                id=secrets.randbelow(THREAD_IDS[1] - THREAD_IDS[0]) + THREAD_IDS[0],
                community_id=seeded.community_id,
                author_id=seeded.author_id,
                title=title,
                body="A thread for the fault suite.",
            )
            session.add(thread)
            return int(thread.id)
    finally:
        await db.dispose()


def thread_global_id(key: int) -> str:
    return base64.urlsafe_b64encode(f"Thread:{key}".encode()).decode()


async def admin_execute(admin_url: str, statement: str, *args: object) -> object:
    """One statement on the maintenance database (not the bench's, which may refuse us)."""
    connection = await asyncpg.connect(admin_url)
    try:
        return await connection.fetchval(statement, *args)
    finally:
        await connection.close()


async def terminate_backends(admin_url: str, database: str, like: str = "%") -> int:
    """pg_terminate_backend on the database's connections whose query matches `like`."""
    count = await admin_execute(
        admin_url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid() AND query ILIKE $2",
        database,
        like,
    )
    assert isinstance(count, int)
    return count


async def allow_connections(admin_url: str, database: str, allowed: bool) -> None:
    value = "true" if allowed else "false"
    await admin_execute(admin_url, f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {value}')
