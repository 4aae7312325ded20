"""The write version: one counter, moved on by every committed transaction that writes, and the
tables each such transaction wrote.

The response cache (app/response_cache.py) keeps answers per process and drops those that read
a table a later write changed. The version gives every write a place in one order that all
processes agree on: it is incremented in the writing transaction, last, under the row's lock,
so versions are handed out in commit order, one apart, and a rolled-back transaction uses none.
A process that has heard of every version up to N has seen every write up to N; a gap in what
it heard is a write it missed. A client that received a mutation's version can ask any
process for an answer at least that new (read-your-writes across processes).

After the commit, the session calls the `WRITE_LISTENERS` found in its `info` with
`(version, tables)`; a request that wants to know what it wrote sets `COMMITS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import chain

from sqlalchemy import BigInteger, Integer, TextClause, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, UOWTransaction, mapped_column

from models.base import Base

EVERY_TABLE = "*"  # a write whose tables are unknown (raw SQL): every answer may have changed

WriteListener = Callable[[int, frozenset[str]], None]
WRITE_LISTENERS = "hub_write_listeners"  # key in a session's `info`: list[WriteListener]
VERSIONED = "hub_versioned_writes"  # key in a session's `info`: whether writes move the version
_WRITTEN = "hub_written_tables"
_COMMITTING = "hub_committing_write"


class WriteVersion(Base):
    """One row (id 1): how many committed transactions so far have written anything."""

    __tablename__ = "write_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


@dataclass
class Commits:
    """The newest write version committed while this was set (None: nothing written)."""

    version: int | None = None


COMMITS: ContextVar[Commits | None] = ContextVar("hub_commits", default=None)


@contextmanager
def noting_commits() -> Iterator[Commits]:
    """Note the write version of what commits inside (DataLoader tasks share the object)."""
    commits = Commits()
    token = COMMITS.set(commits)
    try:
        yield commits
    finally:
        COMMITS.reset(token)


async def read_write_version(session: AsyncSession) -> int:
    """The write version now (0 if the row is missing)."""
    value = await session.scalar(select(WriteVersion.value).where(WriteVersion.id == 1))
    return int(value or 0)


def _written(session: Session) -> set[str]:
    tables: set[str] = session.info.setdefault(_WRITTEN, set())
    return tables


def _pending_tables(session: Session) -> set[str]:
    objects = chain(session.new, session.dirty, session.deleted)
    return {getattr(o, "__tablename__", EVERY_TABLE) for o in objects}


def _reads_only(statement: TextClause) -> bool:
    return str(statement).lstrip().upper().startswith("SELECT")


def note_flush(session: Session, _: UOWTransaction, __: object) -> None:
    if session.new or session.dirty or session.deleted:
        _written(session).update(_pending_tables(session))


def note_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        _written(state.session).add(getattr(table, "name", EVERY_TABLE))
    elif isinstance(statement, TextClause) and not _reads_only(statement):
        _written(state.session).add(EVERY_TABLE)


def move_version_on(session: Session) -> None:
    """In the transaction, last (after the search epoch's own update): the row is locked only
    while this transaction commits, and the version is this transaction's place in commit order."""
    if not session.info.get(VERSIONED):
        return
    session.flush()  # what is still pending, so that its tables are noted and the lock is last
    tables = session.info.pop(_WRITTEN, set())
    if not tables:
        return
    bump = update(WriteVersion).where(WriteVersion.id == 1)
    if session.get_bind().dialect.name == "postgresql":
        # Statements that changed no row (a worker's idle claim) leave the transaction without
        # an ID: then nothing was written, and no version is taken.
        bump = bump.where(func.pg_current_xact_id_if_assigned().is_not(None))
    version = session.execute(
        bump.values(value=WriteVersion.value + 1).returning(WriteVersion.value)
    ).scalar()
    session.info.pop(_WRITTEN, None)  # our own update
    if version is not None:  # None: nothing changed after all
        session.info[_COMMITTING] = (int(version), frozenset(tables))


def announce_commit(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    committed = session.info.pop(_COMMITTING, None)
    if committed is None:
        return
    version, tables = committed
    commits = COMMITS.get()
    if commits is not None and (commits.version is None or version > commits.version):
        commits.version = version
    announce_write(session.info.get(WRITE_LISTENERS, ()), version, tables)


def announce_write(
    listeners: Iterable[WriteListener], version: int, tables: frozenset[str]
) -> None:
    """Tell the listeners of a committed write: a session does it after its commit; a writer
    that commits on a connection of its own (app/outcome_writer.py) calls it itself."""
    for listener in listeners:
        listener(version, tables)


def forget_writes(session: Session) -> None:
    session.info.pop(_WRITTEN, None)
    session.info.pop(_COMMITTING, None)
