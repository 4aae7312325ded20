"""The broker named by HUB_BROADCAST_URL: memory (embedded), Redis, or PostgreSQL."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import asyncpg
import redis.asyncio as redis

SCHEMES = ("memory", "redis", "rediss", "postgres", "postgresql", "postgresql+asyncpg")


class BrokerUnavailable(Exception):
    pass


def check_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise ValueError(f"HUB_BROADCAST_URL: unsupported scheme {scheme!r}; use one of {SCHEMES}")
    return scheme


PROBE_CHANNEL = "hub:readiness-probe"  # nobody subscribes to it


async def ping_broker(url: str, within_seconds: float = 3.0) -> None:
    """Raise BrokerUnavailable unless the broker takes a message within `within_seconds`: a
    Redis that answers PING but accepts no writes (`CLIENT PAUSE WRITE`, a full memory with
    `noeviction`) blocks PUBLISH, so that is what is asked."""
    scheme = check_url(url)
    try:
        async with asyncio.timeout(within_seconds):
            if scheme in ("redis", "rediss"):
                client = redis.from_url(url)
                try:
                    await client.publish(PROBE_CHANNEL, "ready?")
                finally:
                    await client.aclose()
            elif scheme.startswith("postgres"):
                connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
                try:
                    await connection.fetchval("SELECT 1")
                finally:
                    await connection.close()
    except (OSError, TimeoutError, redis.RedisError, asyncpg.PostgresError) as e:
        raise BrokerUnavailable(f"{scheme} broker unreachable: {type(e).__name__}: {e}") from e
