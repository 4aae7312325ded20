"""GCM objectives and guiding principles, as seeded by the first migration, and their titles
in other languages (seeded by migration 0013 from models/reference/gcm_translations.json)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow
from models.reference import GcmObjective, GuidingPrinciple
from models.translation import ReferenceTranslation
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


async def principles_by_letters(sessions: Sessions, letters: Sequence[str]) -> list[AnyRow | None]:
    statement = select(GuidingPrinciple.letter, GuidingPrinciple.name).where(
        GuidingPrinciple.letter.in_(letters)
    )
    async with sessions() as session:
        by_letter = {row.letter: row for row in (await session.execute(statement)).all()}
    return [by_letter.get(letter) for letter in letters]


async def titles_by_keys(sessions: Sessions, keys: Sequence[tuple[str, str]]) -> list[list[AnyRow]]:
    """For each (kind, key) of the reference data, its titles in other languages (one query
    for the batch)."""
    statement = select(
        ReferenceTranslation.kind,
        ReferenceTranslation.key,
        ReferenceTranslation.language,
        ReferenceTranslation.text,
        ReferenceTranslation.source,
    ).where(tuple_(ReferenceTranslation.kind, ReferenceTranslation.key).in_(list(keys)))
    found: dict[tuple[str, str], list[AnyRow]] = defaultdict(list)
    async with sessions() as session:
        for row in (await session.execute(statement)).all():
            found[(row.kind, row.key)].append(row)
    return [sorted(found[key], key=lambda r: str(r.language)) for key in keys]
