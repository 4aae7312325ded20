"""Keyset pagination in SQL for every Relay connection: opaque cursors, bounded pages."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from models.db import AnyRow, AnySelect
from resolvers.errors import ClientError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

CursorValue = str | int | bool | datetime | bytes
CursorValues = tuple[CursorValue, ...]


@dataclass(frozen=True)
class PageRequest:
    """Validated `first`/`after` or `last`/`before` arguments of a connection field."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        if self.first is not None and self.last is not None:
            raise ClientError("Pass either `first` or `last`, not both.")
        if self.first is not None and self.before is not None:
            raise ClientError("`before` goes with `last`; use `after` with `first`.")
        if self.last is not None and self.after is not None:
            raise ClientError("`after` goes with `first`; use `before` with `last`.")
        for name, size in (("first", self.first), ("last", self.last)):
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise ClientError(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}.")

    @property
    def backwards(self) -> bool:
        return self.last is not None or self.before is not None

    @property
    def size(self) -> int:
        size = self.last if self.backwards else self.first
        return DEFAULT_PAGE_SIZE if size is None else size


@dataclass(frozen=True)
class Page:
    """One page of rows with their cursors; `count()` runs the total only when asked for."""

    rows: Sequence[AnyRow]
    cursors: Sequence[str]
    has_next_page: bool
    has_previous_page: bool
    count: Callable[[], Awaitable[int]]


def _plain(value: CursorValue) -> str | int | bool:
    if isinstance(value, bytes):  # a collation key (models/collation.py)
        return value.hex()
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(listing: str, values: CursorValues) -> str:
    raw = json.dumps([listing, *map(_plain, values)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(listing: str, cursor: str, arity: int) -> CursorValues:
    """The sort key inside a cursor of `listing`; anything else is a client error."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        decoded = None
    if (
        not isinstance(decoded, list)
        or len(decoded) != arity + 1
        or decoded[0] != listing
        or not all(isinstance(v, str | int) for v in decoded[1:])
    ):
        raise ClientError("Malformed or foreign cursor: use a cursor this connection returned.")
    return tuple(decoded[1:])


@dataclass(frozen=True)
class Keyset:
    """How a listing is ordered: its name (cursors are not portable across listings) and the
    columns whose values identify a row (the last one unique), all ascending or all descending."""

    listing: str
    columns: Sequence[InstrumentedAttribute[Any]]
    descending: bool = False

    def cursor_of(self, row: AnyRow) -> str:
        return encode_cursor(self.listing, tuple(row._mapping[c] for c in self.columns))

    def values(self, cursor: str) -> tuple[Any, ...]:
        """The cursor's sort key as the columns' Python values (datetimes, bytes included)."""
        decoded = decode_cursor(self.listing, cursor, len(self.columns))
        values = []
        for column, value in zip(self.columns, decoded, strict=True):
            try:
                if column.type.python_type is datetime:
                    value = datetime.fromisoformat(str(value))
                elif column.type.python_type is bytes:
                    value = bytes.fromhex(str(value))
            except ValueError as e:
                raise ClientError("Malformed cursor.") from e
            values.append(value)
        return tuple(values)

    def bound(self, cursor: str) -> Any:
        """The cursor's sort key as SQL values typed like the columns (datetimes included)."""
        values = self.values(cursor)
        params = [
            bindparam(None, v, type_=c.type) for c, v in zip(self.columns, values, strict=True)
        ]
        return tuple_(*params)


async def fetch_page(
    sessions: async_sessionmaker[AsyncSession],
    statement: AnySelect,
    keyset: Keyset,
    request: PageRequest,
) -> Page:
    """Run one page of `statement` (already filtered by policy) in its own short session."""
    columns = tuple_(*keyset.columns)
    cursor = request.before if request.backwards else request.after
    # Walking towards larger keys: forwards in an ascending listing, backwards in a descending one.
    upwards = request.backwards == keyset.descending
    paged = statement
    if cursor is not None:
        bound = keyset.bound(cursor)
        paged = paged.where(columns > bound if upwards else columns < bound)
    order = [c.asc() if upwards else c.desc() for c in keyset.columns]
    paged = paged.order_by(*order).limit(request.size + 1)
    async with sessions() as session:
        rows = list((await session.execute(paged)).all())
    has_more = len(rows) > request.size
    rows = rows[: request.size]
    if request.backwards:
        rows.reverse()

    async def count() -> int:
        total = select(func.count()).select_from(statement.order_by(None).subquery())
        async with sessions() as session:
            return int((await session.execute(total)).scalar_one())

    return Page(
        rows=rows,
        cursors=[keyset.cursor_of(row) for row in rows],
        has_next_page=has_more if not request.backwards else request.before is not None,
        has_previous_page=has_more if request.backwards else request.after is not None,
        count=count,
    )
