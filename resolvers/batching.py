"""Batch reads for DataLoaders: one `IN` query, answers in the order of the keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from models.db import AnyRow, AnySelect

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


async def rows_by_ids(
    sessions: async_sessionmaker[AsyncSession],
    statement: AnySelect,
    ids: Sequence[int],
    key: str = "id",
) -> list[AnyRow | None]:
    """The rows of `statement` (already narrowed to `ids` and to what the viewer may see), one
    per id in the order asked, the id read from the row's column `key`: None where a row is
    missing or hidden."""
    async with sessions() as session:
        rows = (await session.execute(statement)).all()
    by_id = {getattr(row, key): row for row in rows}
    return [by_id.get(i) for i in ids]
