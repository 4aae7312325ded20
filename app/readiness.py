"""Waiting for the database and the broker (`hub check`)."""

from __future__ import annotations

import asyncio
import time

from app.settings import Settings
from models.db import create_database
from subscriptions.broker import BrokerUnavailable, ping_broker


async def _problems(settings: Settings) -> list[str]:
    problems = []
    db = create_database(settings.database_url)
    try:
        async with asyncio.timeout(5):
            await db.ping()
    except Exception as e:
        problems.append(f"database at {redacted(settings.database_url)}: {type(e).__name__}: {e}")
    finally:
        await db.dispose()
    try:
        await ping_broker(settings.broadcast_url)
    except BrokerUnavailable as e:
        problems.append(f"broker at {redacted(settings.broadcast_url)}: {e}")
    return problems


def redacted(url: str) -> str:
    """The URL without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{location}"


async def wait_until_ready(settings: Settings, *, seconds: float, started: float) -> list[str]:
    while True:
        problems = await _problems(settings)
        if not problems or time.monotonic() - started >= seconds:
            return problems
        await asyncio.sleep(1.0)
