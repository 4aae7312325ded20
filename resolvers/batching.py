"""Batch reads for DataLoaders: one `IN` query, answers in the order of the keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

V = TypeVar("V")


async def values_by_owner(
    sessions: async_sessionmaker[AsyncSession],
    owner: InstrumentedAttribute[int],
    value: InstrumentedAttribute[V],
    owner_ids: Sequence[int],
    sort_key: Callable[[V], Any] | None = None,
) -> list[list[V]]:
    """For each owner id, the sorted values of `value` in rows whose `owner` is that id (the
    tags of threads, the languages of members, ...)."""
    async with sessions() as session:
        rows = await session.execute(select(owner, value).where(owner.in_(owner_ids)))
        values: dict[int, list[V]] = defaultdict(list)
        for owner_id, item in rows:
            values[owner_id].append(item)
    return [sorted(values[i], key=sort_key) for i in owner_ids]  # type: ignore[type-var, arg-type]
