"""`Database.reads`: sessions for reads, outside any transaction on PostgreSQL (no BEGIN, no
ROLLBACK). They refuse every write, and the connection they used goes back to the pool as it
came: the next writer on it gets a real transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert, select, text

from models.db import Database, WriteInReadSession, create_database
from models.organization import Organization, OrganizationKind


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[Database]:
    """A database of one pooled connection: every session below uses the same one."""
    database = create_database(database_url, pool_size=1, max_overflow=0)
    yield database
    await database.dispose()


async def test_a_read_session_refuses_every_write(db):
    async with db.reads() as session:
        with pytest.raises(WriteInReadSession):
            await session.execute(insert(Organization).values(name="Via reads", kind="OTHER"))
        with pytest.raises(WriteInReadSession):
            await session.execute(text("DELETE FROM organization"))
        session.add(Organization(name="Added", kind=OrganizationKind.OTHER))
        with pytest.raises(WriteInReadSession):
            await session.flush()
    async with db.sessions() as session:
        assert (await session.execute(select(Organization.id))).all() == []


async def _write_then_fail(database: Database) -> None:
    async with database.sessions.begin() as session:
        session.add(Organization(name="Rolled back", kind=OrganizationKind.OTHER))
        await session.flush()
        raise RuntimeError("the change fails after its first statement")


async def test_a_connection_used_for_reads_gives_the_next_writer_a_transaction(one_connection):
    # given: the pool's one connection served a read
    async with one_connection.reads() as session:
        assert (await session.execute(select(Organization.id))).all() == []
    # when: a unit of work on the same connection writes, then fails
    with pytest.raises(RuntimeError, match="fails after"):
        await _write_then_fail(one_connection)
    # then: nothing of it was committed
    async with one_connection.reads() as session:
        assert (await session.execute(select(Organization.id))).all() == []


TRANSACTION_START = text("SELECT now()")  # the start of the current transaction


async def test_each_read_is_its_own_transaction_on_postgresql(one_connection):
    if one_connection.engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads use plain sessions: there are no round trips to save")
    # given: a read session that runs two statements
    async with one_connection.reads() as session:
        first = (await session.execute(TRANSACTION_START)).scalar_one()
        second = (await session.execute(TRANSACTION_START)).scalar_one()
    # then: each ran in a transaction of its own (no BEGIN before them, no ROLLBACK after)
    assert first < second
    # while a plain session holds one transaction from its first statement to its ROLLBACK
    async with one_connection.sessions() as session:
        first = (await session.execute(TRANSACTION_START)).scalar_one()
        second = (await session.execute(TRANSACTION_START)).scalar_one()
    assert first == second


async def test_a_pooled_connection_the_server_dropped_is_replaced_before_use(db, one_connection):
    if one_connection.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    # given: the pool's one connection, then its server process terminated
    async with one_connection.reads() as session:
        dropped = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    async with db.sessions() as session:
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    # when: the next read checks a connection out (the ping finds the dead one)
    async with one_connection.reads() as session:
        replaced = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    # then: it read on a new connection instead of failing
    assert replaced != dropped


async def test_behind_pgbouncer_reads_keep_their_transaction():
    # PgBouncer in transaction mode may send a statement's prepare and its execution to two
    # server connections unless a transaction holds them together
    behind = create_database("postgresql+asyncpg://hub@db:6432/hub?pgbouncer=1")
    direct = create_database("postgresql+asyncpg://hub@db/hub")
    try:
        assert "isolation_level" not in behind.reads.kw["bind"].get_execution_options()
        assert direct.reads.kw["bind"].get_execution_options()["isolation_level"] == "AUTOCOMMIT"
    finally:
        await behind.dispose()
        await direct.dispose()
