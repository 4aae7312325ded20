"""What a piece of work read: the tables named by the SQL it ran, and whether it read the clock.

The response cache (app/response_cache.py) keeps an answer until a write to one of the tables
its execution read. The tables are found in the SQL text itself, as the driver receives it, so
every statement counts whatever built it (ORM, Core, raw text, a DataLoader batch): a table's
name appearing as a whole word means the table may have been read. A column or alias spelt
like a table only makes the answer depend on one table more (it is dropped a bit more often),
never less. An answer that read the clock (`models.base.utcnow()`, or `now()` in SQL) changes
with time alone: it is not kept at all.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import AsyncEngine

CLOCK_IN_SQL = re.compile(r"\b(now\s*\(|current_timestamp|current_date|localtimestamp)", re.I)


@dataclass
class Reads:
    """Filled while set in `READS`; DataLoader tasks started meanwhile share the object."""

    tables: set[str] = field(default_factory=set)
    statements: int = 0
    clock: bool = False


READS: ContextVar[Reads | None] = ContextVar("hub_reads", default=None)


@contextmanager
def recording_reads() -> Iterator[Reads]:
    reads = Reads()
    token = READS.set(reads)
    try:
        yield reads
    finally:
        READS.reset(token)


def note_clock_read() -> None:
    reads = READS.get()
    if reads is not None:
        reads.clock = True


class TableNames:
    """Finds the names of `tables` in SQL text (one regular expression, results remembered per
    distinct statement)."""

    def __init__(self, tables: Collection[str]) -> None:
        names = sorted(tables, key=len, reverse=True)
        self._pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
        self.find = lru_cache(maxsize=4096)(self._find)

    def _find(self, statement: str) -> tuple[frozenset[str], bool]:
        return frozenset(self._pattern.findall(statement)), bool(CLOCK_IN_SQL.search(statement))


def record_reads(engine: AsyncEngine, tables: Collection[str]) -> None:
    """Note the tables of every statement `engine` runs in the work that is recording."""
    names = TableNames(tables)

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        reads = READS.get()
        if reads is None:
            return
        found, clock = names.find(statement)
        reads.tables.update(found)
        reads.statements += 1
        reads.clock = reads.clock or clock

    sqlalchemy_event.listen(engine.sync_engine, "before_cursor_execute", before)
