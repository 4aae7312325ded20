"""The compiled fast path's own small asyncpg pool (app/compiled_front.py), apart from the
engine's: its statements are single reads in autocommit, prepared once per connection
(asyncpg's statement cache), with no SQLAlchemy between them and the driver.

Its sessions are pinned to standard strings: the statements inline their constants as SQL
string literals (`resolvers.compiled.fast.sql_text`), which mean what they say only then,
whatever the server's default (with it off, a backslash in a filter's value would end the
literal early). A released connection gets no reset query (see `_session_unchanged`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from app.settings import Settings
from models.db import connection_arguments


class FrontPool:
    """Opened on first use (tests run no lifespan); counts the statements it runs."""

    def __init__(self, settings: Settings) -> None:
        dsn, arguments = connection_arguments(
            settings.database_url, statement_timeout_ms=settings.statement_timeout_ms
        )
        self._dsn = dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
        self._server_settings: dict[str, str] = {
            **arguments.get("server_settings", {}),
            "standard_conforming_strings": "on",
        }
        self._size = settings.database_pool_size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self.statements = 0  # statements run here (tests add them to the engine's)

    async def fetch(self, call: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        """`call` on a pooled connection: one statement."""
        pool = await self._opened()
        self.statements += 1
        async with pool.acquire() as connection:
            return await call(connection)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _opened(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        min_size=0,
                        max_size=self._size,
                        server_settings=self._server_settings,
                        reset=_session_unchanged,
                    )
        return self._pool


async def _session_unchanged(_: asyncpg.Connection) -> None:
    """A released connection needs no reset query (asyncpg's default: a round trip per
    request): the fast path's statements are single reads in autocommit that change no
    session state (no SET, LISTEN, cursor or lock); asyncpg still ends any transaction."""
