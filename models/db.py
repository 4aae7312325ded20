"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, TypeAlias

from sqlalchemy import Row, Select, TextClause, make_url, text, update
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_

# Importing every model registers its table on Base.metadata (Alembic and tests rely on it).
from models import (  # noqa: F401
    auth,
    community,
    document,
    event,
    initiative,
    member,
    moderation,
    notification,
    organization,
    outbox,
    push,
    reference,
    resource,
    review,
    search,
    support,
    thread,
    translation,
    webhook,
    webinar,
    webinar_record,
    writes,
)
from models.base import Base
from models.reads import record_reads
from models.search import SEARCH_NEUTRAL_TABLES, SearchEpoch

metadata = Base.metadata

# A row or select of any columns: reads return plain rows, the schema maps them to types.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]
AnySelect: TypeAlias = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class Database:
    """The engine and the factory of short-lived sessions; one per process."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    # Reads only (pages, DataLoader batches): on PostgreSQL outside any transaction, so a read
    # costs its statement and no BEGIN/ROLLBACK round trips; a write through one is refused.
    reads: async_sessionmaker[AsyncSession]
    # Called after each commit that wrote, with its write version and tables (models/writes.py).
    write_listeners: list[writes.WriteListener] = field(default_factory=list)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


class HubSession(Session):
    """The sessions of every Database: a transaction that writes to a table a search may read
    moves the search epoch on before it commits (models/search.py)."""


_MOVES_SEARCH = "moves_search"


def _moves_search(table_name: str) -> bool:
    return table_name not in SEARCH_NEUTRAL_TABLES


def _pending_changes_move_search(session: Session) -> bool:
    objects = chain(session.new, session.dirty, session.deleted)
    return any(_moves_search(getattr(o, "__tablename__", "")) for o in objects)


def _note_flush(session: Session, _: UOWTransaction, __: object) -> None:
    if _pending_changes_move_search(session):
        session.info[_MOVES_SEARCH] = True


def _reads_only(statement: TextClause) -> bool:
    """Raw SQL is not parsed: anything but a plain read counts as a write to every table."""
    return str(statement).lstrip().upper().startswith("SELECT")


def _note_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(statement, "table", None)
        if table is None or _moves_search(getattr(table, "name", "")):
            state.session.info[_MOVES_SEARCH] = True
    elif isinstance(statement, TextClause) and not _reads_only(statement):
        state.session.info[_MOVES_SEARCH] = True


def _move_epoch_on(session: Session) -> None:
    # Changes still pending are flushed by the commit, after this hook.
    moves = session.info.pop(_MOVES_SEARCH, False) or _pending_changes_move_search(session)
    if moves:
        # In the transaction, last: the row is locked only while this transaction commits.
        session.execute(
            update(SearchEpoch).where(SearchEpoch.id == 1).values(value=SearchEpoch.value + 1)
        )


def _forget_writes(session: Session) -> None:
    session.info.pop(_MOVES_SEARCH, None)


sqlalchemy_event.listen(HubSession, "before_flush", _note_flush)
sqlalchemy_event.listen(HubSession, "do_orm_execute", _note_statement)
sqlalchemy_event.listen(HubSession, "before_commit", _move_epoch_on)
sqlalchemy_event.listen(HubSession, "after_rollback", _forget_writes)
# The write version: registered after the search epoch's hooks, so its update is noted too.
sqlalchemy_event.listen(HubSession, "before_flush", writes.note_flush)
sqlalchemy_event.listen(HubSession, "do_orm_execute", writes.note_statement)
sqlalchemy_event.listen(HubSession, "before_commit", writes.move_version_on)
sqlalchemy_event.listen(HubSession, "after_commit", writes.announce_commit)
sqlalchemy_event.listen(HubSession, "after_rollback", writes.forget_writes)


class ReadSession(Session):
    """The sessions of `Database.reads`. Each statement runs on its own (PostgreSQL
    autocommit), which changes nothing for a read at READ COMMITTED, the isolation every
    session here uses: each statement takes its own snapshot either way. A write would lose
    its transaction, so any is refused, before it reaches the database."""


class WriteInReadSession(RuntimeError):
    """A write went through `Database.reads`: writes belong in `sessions.begin()` (a unit of
    work)."""


def _refuse_write_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    writes = state.is_insert or state.is_update or state.is_delete
    if writes or (isinstance(statement, TextClause) and not _reads_only(statement)):
        raise WriteInReadSession(f"a read session may not run: {statement}")


def _refuse_flush(session: Session, _: UOWTransaction, __: object) -> None:
    if session.new or session.dirty or session.deleted:
        raise WriteInReadSession("a read session may not flush changes")


sqlalchemy_event.listen(ReadSession, "do_orm_execute", _refuse_write_statement)
sqlalchemy_event.listen(ReadSession, "before_flush", _refuse_flush)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _ping_on_checkout(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry, __: Any) -> None:
    """`pool_pre_ping` in one round trip. SQLAlchemy's asyncpg ping wraps its `;` in
    BEGIN/ROLLBACK (three round trips, on every checkout) so that PgBouncer's transaction mode
    keeps its prepare and execute on one server connection; the simple query protocol has no
    prepare, needs no transaction, and works behind PgBouncer as well (asyncpg fails on the
    empty query `;` there, hence `SELECT 1`). A connection that does not answer is a
    disconnection: the pool drops it and checks out another (or a new one)."""
    try:
        await_(dbapi_connection.driver_connection.execute("SELECT 1"))
    except Exception as error:
        raise DisconnectionError("the pooled connection did not answer a ping") from error


def upsert(session: AsyncSession, model: type[Base]) -> Any:
    """An INSERT of `model` that speaks the session's dialect's ON CONFLICT (PostgreSQL and
    SQLite share the syntax, SQLAlchemy spells it per dialect)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(model)
    return sqlite_insert(model)


async def insert_ignoring_duplicates(
    session: AsyncSession, model: type[Base], **values: Any
) -> None:
    """Insert a row unless one with the same unique key exists (at the same moment too)."""
    await session.execute(upsert(session, model).values(**values).on_conflict_do_nothing())


PGBOUNCER = "pgbouncer"  # `?pgbouncer=1` on a PostgreSQL URL: connections go through PgBouncer


def connection_arguments(
    url: str, *, statement_timeout_ms: int | None = None
) -> tuple[str, dict[str, Any]]:
    """The URL as SQLAlchemy takes it and the driver's connection arguments.

    Behind PgBouncer in transaction mode (`?pgbouncer=1`), a transaction may run on any server
    connection: asyncpg keeps no statement cache and names each prepared statement uniquely,
    and no startup parameter is sent (PgBouncer refuses them: set the statement timeout on the
    role instead, `ALTER ROLE hub SET statement_timeout = '5s'` and `ALTER ROLE hub SET jit =
    off`)."""
    parsed = make_url(url)
    through_pgbouncer = behind_pgbouncer(url)
    parsed = parsed.difference_update_query([PGBOUNCER])
    arguments: dict[str, Any] = {}
    if parsed.drivername.startswith("postgresql"):
        if through_pgbouncer:
            arguments = {
                "statement_cache_size": 0,
                "prepared_statement_cache_size": 0,
                "prepared_statement_name_func": _unique_statement_name,
            }
        else:
            # JIT compiling pays off for long analytical queries, never for ours: a fan-out's
            # visibility check (200 small branches) spent 4 s in JIT for 2 ms of execution.
            arguments["server_settings"] = {"jit": "off"}
            if statement_timeout_ms is not None:
                arguments["server_settings"]["statement_timeout"] = str(statement_timeout_ms)
    return parsed.render_as_string(hide_password=False), arguments


def behind_pgbouncer(url: str) -> bool:
    return make_url(url).query.get(PGBOUNCER) in ("1", "true")


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4()}__"


class CountingPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's pool for asyncio, counting the checkouts in progress: a caller is in
    `_do_get` (the hook a Pool subclass implements) while it waits for a connection to come back
    to the pool or for a new one to open, so `waiting` is the pool's queue of callers, read by
    `/metrics` (tests/test_metrics.py pins the hook)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting = 0

    def _do_get(self) -> ConnectionPoolEntry:
        self.waiting += 1
        try:
            return super()._do_get()
        finally:
            self.waiting -= 1


def create_database(
    url: str,
    *,
    statement_timeout_ms: int = 5_000,
    echo: bool = False,
    pool_size: int = 10,
    max_overflow: int = 5,
    versioned_writes: bool = True,
) -> Database:
    """The engine and session factory. On PostgreSQL a process holds at most `pool_size +
    max_overflow` connections (plus the broker's own two with `postgres://` broadcasting).
    `versioned_writes=False`: commits leave the write version alone (models/writes.py), for a
    database at a revision before it (0017)."""
    pgbouncer = behind_pgbouncer(url)
    url, connect_args = connection_arguments(url, statement_timeout_ms=statement_timeout_ms)
    kwargs: dict[str, Any] = {"echo": echo, "connect_args": connect_args}
    if url.startswith("postgresql"):
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = max_overflow
        kwargs["poolclass"] = CountingPool
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        sqlalchemy_event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        sqlalchemy_event.listen(engine.sync_engine.pool, "checkout", _ping_on_checkout)
    record_reads(engine, metadata.tables)
    listeners: list[writes.WriteListener] = []
    sessions = async_sessionmaker(
        engine,
        expire_on_commit=False,
        autoflush=False,
        sync_session_class=HubSession,
        info={writes.WRITE_LISTENERS: listeners, writes.VERSIONED: versioned_writes},
    )
    autocommit_reads = engine.dialect.name == "postgresql" and not pgbouncer
    return Database(
        engine=engine,
        sessions=sessions,
        reads=_read_sessions(engine, autocommit_reads),
        write_listeners=listeners,
    )


def _read_sessions(engine: AsyncEngine, autocommit: bool) -> async_sessionmaker[AsyncSession]:
    """Sessions for reads. With `autocommit` (PostgreSQL) their connections run in
    autocommit: no BEGIN before the statement, no ROLLBACK when the session ends; with the
    one-round-trip ping, a read costs two round trips instead of six. The pool gives the
    connection back in the default isolation (SQLAlchemy resets what an execution option
    set), so a later `sessions.begin()` on it is a real transaction (tested:
    tests/test_read_sessions.py). Not behind PgBouncer in transaction mode: there asyncpg's
    prepare and execute of one statement could reach two server connections unless a
    transaction holds them together. SQLite has no round trips to save. Without autocommit:
    plain sessions, still refusing writes."""
    bind = engine
    if autocommit:
        bind = engine.execution_options(isolation_level="AUTOCOMMIT")
    return async_sessionmaker(
        bind, expire_on_commit=False, autoflush=False, sync_session_class=ReadSession
    )
