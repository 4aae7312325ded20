"""Fixed-window counters kept in the database, so every app process counts the same."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.auth import RateLimitCounter
from models.base import utcnow
from models.db import upsert


def _window_start(now: datetime, window: timedelta) -> datetime:
    seconds = int(window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


async def hit(session: AsyncSession, key: str, *, limit: int, window: timedelta) -> bool:
    """Count one attempt under `key`; True when this attempt is over `limit` for the window."""
    start = _window_start(utcnow(), window)
    statement = (
        upsert(session, RateLimitCounter)
        .values(key=key, window_start=start, count=1)
        .on_conflict_do_update(
            index_elements=[RateLimitCounter.key, RateLimitCounter.window_start],
            set_={"count": RateLimitCounter.count + 1},
        )
        .returning(RateLimitCounter.count)
    )
    count = (await session.execute(statement)).scalar_one()
    await session.execute(
        delete(RateLimitCounter).where(
            RateLimitCounter.key == key, RateLimitCounter.window_start < start
        )
    )
    return int(count) > limit


async def count(session: AsyncSession, key: str, *, window: timedelta) -> int:
    """What was counted under `key` in the current window (nothing is counted by asking)."""
    start = _window_start(utcnow(), window)
    found = await session.scalar(
        select(RateLimitCounter.count).where(
            RateLimitCounter.key == key, RateLimitCounter.window_start == start
        )
    )
    return int(found or 0)
