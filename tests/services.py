"""Services the tests need beyond the database: a private redis-server, and the rule for a
service that is not configured (skip locally, fail in CI where HUB_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest
import redis.asyncio as redis

from subscriptions.postgres_backend import asyncpg_url

WAIT = 15.0  # seconds any single wait may take before the test fails instead of hanging


def unavailable(reason: str) -> NoReturn:
    """Skip a test whose service is not configured, or fail it when CI requires services."""
    if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, and HUB_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


def postgres_url() -> str:
    url = os.environ.get("HUB_DATABASE_URL", "")
    if urlsplit(url).scheme.removesuffix("+asyncpg") not in ("postgres", "postgresql"):
        unavailable("HUB_DATABASE_URL does not name a PostgreSQL database")
    return asyncpg_url(url)


def shared_redis_url() -> str:
    url = os.environ.get("HUB_BROADCAST_URL", "")
    if urlsplit(url).scheme not in ("redis", "rediss"):
        unavailable("HUB_BROADCAST_URL does not name a Redis server")
    return url


def redis_server_binary() -> str:
    return shutil.which("redis-server") or unavailable("redis-server is not on PATH")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PrivateRedis:
    """A redis-server of this test's own, so it can be killed and restarted without touching
    the shared one."""

    binary: str
    directory: Path
    port: int = field(default_factory=free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            self.binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
            *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(WAIT):
            while not await self._answers_ping():
                assert self.process.returncode is None, "redis-server exited at start-up"
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(WAIT):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()

    async def command(self, *args: str) -> object:
        client = redis.Redis.from_url(self.url)
        try:
            return await client.execute_command(*args)
        finally:
            await client.aclose()

    async def _answers_ping(self) -> bool:
        try:
            await self.command("PING")
        except (redis.ConnectionError, OSError):
            return False
        return True


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(redis_server_binary(), tmp_path)
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


def hub_serve_environment(database_url: str, **extra: str) -> dict[str, str]:
    """What a `hub serve` of a test runs with: the test's database and broker, test settings."""
    from tests.conftest import broadcast_url_for_tests

    return {
        **os.environ,
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": database_url,
        "HUB_BROADCAST_URL": broadcast_url_for_tests(),
        "HUB_ALLOW_PROCESS_LOCAL": "1",
        "HUB_SECRET_KEY": "serve-test-" + "s" * 40,
        **extra,
    }


@asynccontextmanager
async def hub_serve(
    environment: dict[str, str], log: Path, *options: str
) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """A real `hub serve --no-migrate` on a free port, live (its `/livez` answers): the process
    and its base URL. Stopped (SIGTERM) at the end unless the test ended it; its output in
    `log`."""
    import httpx

    port = free_port()
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("hub")),
            *("serve", "--no-migrate", "--port", str(port), *options),
            env=environment,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                async with asyncio.timeout(60):
                    while True:
                        try:
                            if (await client.get("/livez")).status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        await asyncio.sleep(0.2)
            yield process, base
        finally:
            if process.returncode is None:
                process.terminate()
            async with asyncio.timeout(30):
                await process.wait()
