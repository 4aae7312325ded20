"""Maintenance jobs run from the command line."""

from __future__ import annotations

from datetime import timedelta

from app.settings import Settings
from models.base import utcnow
from models.db import create_database
from models.event import prune_events


async def prune_event_log(settings: Settings, older_than_days: int) -> int:
    """Delete events older than the given age; returns how many were deleted."""
    db = create_database(settings.database_url)
    try:
        async with db.sessions.begin() as session:
            return await prune_events(session, utcnow() - timedelta(days=older_than_days))
    finally:
        await db.dispose()


async def rebuild_search_index(settings: Settings) -> int:
    """Index every searchable item again, in one transaction; returns how many were looked at."""
    from resolvers import search_index, search_sources  # noqa: F401 - registers the sources

    db = create_database(settings.database_url)
    try:
        async with db.sessions.begin() as session:
            return await search_index.rebuild(session)
    finally:
        await db.dispose()
