"""GCM objectives and guiding principles, as seeded by the first migration."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow
from models.reference import GcmObjective, GuidingPrinciple
from resolvers.batching import rows_by_ids

Sessions = async_sessionmaker[AsyncSession]

OBJECTIVE_COLUMNS = (GcmObjective.number, GcmObjective.short_title, GcmObjective.title)


async def all_objectives(sessions: Sessions) -> list[AnyRow]:
    async with sessions() as session:
        statement = select(*OBJECTIVE_COLUMNS).order_by(GcmObjective.number)
        return list((await session.execute(statement)).all())


async def objectives_by_numbers(sessions: Sessions, numbers: Sequence[int]) -> list[AnyRow | None]:
    statement = select(*OBJECTIVE_COLUMNS).where(GcmObjective.number.in_(numbers))
    return await rows_by_ids(sessions, statement, numbers, key="number")


async def all_guiding_principles(sessions: Sessions) -> list[AnyRow]:
    async with sessions() as session:
        statement = select(GuidingPrinciple.letter, GuidingPrinciple.name).order_by(
            GuidingPrinciple.letter
        )
        return list((await session.execute(statement)).all())
