"""`hub doctor`: what an operator should fix before (or while) serving, one line per problem.

Checks: the settings (secret strength, allowed origins, event retention against a session's
length), the database (reachable, migrated to the code's head revision, clock skew), the pool
sized for the processes against PostgreSQL's `max_connections`, the data (the search index
against what it indexes, the event log against its retention), and the broker (a message
published and received back)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrate
from app.readiness import redacted
from app.settings import DEFAULT_SECRET_KEY, Settings
from models.base import utcnow
from models.db import Database, create_database
from models.event import oldest_event_time
from resolvers import search_index
from subscriptions.broadcast import create_broadcast

MAX_CLOCK_SKEW = timedelta(seconds=2)
PRUNE_GRACE = timedelta(days=1)  # `hub prune-events` runs daily
RESERVED_CONNECTIONS = 3  # per process: the broker's two (postgres://) and the reminder job's


def settings_problems(settings: Settings) -> list[str]:
    problems = []
    secret = settings.secret_key.get_secret_value()
    if secret == DEFAULT_SECRET_KEY or len(secret) < 32:
        problems.append("settings: HUB_SECRET_KEY is the default or shorter than 32 characters")
    if not settings.allowed_origins or "*" in settings.allowed_origins:
        problems.append("settings: HUB_ALLOWED_ORIGINS is empty or '*'")
    if settings.env != "production":
        problems.append(f"settings: HUB_ENV is {settings.env!r}, not 'production'")
    return problems


async def database_problems(db: Database, settings: Settings, workers: int) -> list[str]:
    where = redacted(settings.database_url)
    try:
        async with asyncio.timeout(5):
            async with db.sessions() as session:
                now = (await session.execute(text("SELECT CURRENT_TIMESTAMP"))).scalar_one()
                limit = await _max_connections(session)
            async with db.sessions() as session:  # a failed read aborts a PostgreSQL transaction
                revision = await _revision(session)
    except Exception as e:
        return [f"database at {where}: unreachable ({type(e).__name__}: {e})"]
    problems = []
    head = migrate.head()
    if revision != head:
        problems.append(
            f"database at {where}: schema at revision {revision or 'none'}, the code needs "
            f"{head}: run `hub migrate upgrade`"
        )
    skew = _skew(now)
    if skew is not None and skew > MAX_CLOCK_SKEW:
        problems.append(f"database at {where}: its clock is {skew.total_seconds():.1f} s off ours")
    needed = workers * (settings.database_pool_size + settings.database_max_overflow + 3)
    if limit is not None and needed > limit:
        problems.append(
            f"database at {where}: {workers} process(es) may open {needed} connections, above "
            f"max_connections {limit}: lower HUB_DATABASE_POOL_SIZE / _MAX_OVERFLOW"
        )
    return problems


async def _revision(session: AsyncSession) -> str | None:
    """The database's schema revision; None before any migration."""
    try:
        revision = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except DBAPIError:
        return None
    return str(revision) if revision is not None else None


async def _max_connections(session: AsyncSession) -> int | None:
    if session.get_bind().dialect.name != "postgresql":
        return None
    return int((await session.execute(text("SHOW max_connections"))).scalar_one())


def _skew(database_now: object) -> timedelta | None:
    if not isinstance(database_now, datetime):
        return None  # SQLite answers text: same machine, same clock
    if database_now.tzinfo is None:
        database_now = database_now.replace(tzinfo=UTC)
    return abs(datetime.now(UTC) - database_now)


async def data_problems(db: Database, settings: Settings) -> list[str]:
    """The search index against the data, and the event log against its retention."""
    from resolvers import search_sources  # noqa: F401 - registers the sources

    try:
        async with asyncio.timeout(60), db.sessions() as session:
            if await _revision(session) != migrate.head():
                return []  # reported already: the data are checked once migrated
        async with asyncio.timeout(60), db.sessions() as session:
            drifts = await search_index.index_drift(session)
            oldest = await oldest_event_time(session)
    except Exception as e:
        return [f"data: not checked ({type(e).__name__}: {e})"]
    problems = [
        f"search index: {d.kind} has {d.missing} item(s) missing from the index and {d.stale} "
        "document(s) of items that are gone: run `hub search-reindex`"
        for d in drifts
    ]
    retention = timedelta(days=settings.event_retention_days)
    if oldest is not None and utcnow() - oldest > retention + PRUNE_GRACE:
        age = (utcnow() - oldest).days
        problems.append(
            f"event log: its oldest event is {age} days old, beyond HUB_EVENT_RETENTION_DAYS "
            f"({settings.event_retention_days}): run `hub prune-events` daily"
        )
    return problems


def retention_problems(settings: Settings) -> list[str]:
    """A client may come back with a cursor as old as its session: the log must reach back
    that far, or it resumes with a resync instead of the events it missed."""
    session = timedelta(hours=settings.token_ttl_hours)
    if timedelta(days=settings.event_retention_days) < session:
        return [
            f"event log: HUB_EVENT_RETENTION_DAYS ({settings.event_retention_days}) is shorter "
            f"than a session (HUB_TOKEN_TTL_HOURS {settings.token_ttl_hours}): clients back "
            "after that long get ResyncRequired instead of what they missed"
        ]
    return []


async def broker_problems(settings: Settings) -> list[str]:
    """Publish on a channel of our own and read it back."""
    where = redacted(settings.broadcast_url)
    broadcast = create_broadcast(settings.broadcast_url, namespace=settings.broadcast_namespace)
    channel, message = f"doctor:{secrets.token_hex(4)}", "round trip"
    connected = False
    try:
        async with asyncio.timeout(5):
            await broadcast.connect()
            connected = True
            async with broadcast.subscribe(channel) as subscriber:
                await broadcast.publish(channel, message)
                received = (await subscriber.get()).message
    except Exception as e:
        return [f"broker at {where}: no round trip ({type(e).__name__}: {e})"]
    finally:
        if connected:
            await broadcast.disconnect()
    if received != message:
        return [f"broker at {where}: sent {message!r}, received {received!r}"]
    return []


async def examine(settings: Settings, workers: int) -> list[str]:
    db = create_database(settings.database_url)
    try:
        return [
            *settings_problems(settings),
            *retention_problems(settings),
            *await database_problems(db, settings, workers),
            *await data_problems(db, settings),
            *await broker_problems(settings),
        ]
    finally:
        await db.dispose()
