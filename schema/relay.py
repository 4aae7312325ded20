"""Relay conventions: the `Node` interface, opaque global IDs, connections and page info."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.errors import ClientError
from resolvers.pagination import Page, PageRequest

NodeT = TypeVar("NodeT")


@strawberry.interface(
    description="An object with a global ID, fetchable again with `node(id:)` and `nodes(ids:)`."
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque global ID of the object; never parse it, pass it back as it is."
    )


def encode_id(type_name: str, key: int | str) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode())


def decode_id(global_id: str) -> tuple[str, str] | None:
    """(type name, key) inside a global ID, or None when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(global_id.encode("ascii")).decode()
    except (ValueError, UnicodeError, binascii.Error):
        return None
    type_name, sep, key = raw.partition(":")
    if not (sep and type_name and key) or encode_id(type_name, key) != global_id:
        return None  # only the canonical spelling of an ID is an ID
    return type_name, key


MAX_KEY = 2**31 - 1  # integer primary keys are 32-bit on PostgreSQL


def int_key(key: str) -> int | None:
    """The integer a key spells as `encode_id` spells it (ASCII digits, no leading zero, at
    most MAX_KEY); None otherwise: `int()` also reads other scripts' digits and leading zeros
    (aliases of one key), and fails on superscripts, which `isdigit()` lets through."""
    if not (key.isascii() and key.isdigit() and len(key) <= 10) or key != str(int(key)):
        return None
    number = int(key)
    return number if number <= MAX_KEY else None


def decode_int_id(global_id: str, type_name: str) -> int | None:
    """The integer key of a global ID of `type_name`; None for any other ID (reads as missing)."""
    decoded = decode_id(global_id)
    if decoded is None or decoded[0] != type_name:
        return None
    return int_key(decoded[1])


@strawberry.type(description="Where a page sits in its list (Relay cursor connections).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow this page.")
    has_previous_page: bool = strawberry.field(description="Items come before this page.")
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item of the page; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item of the page; null when the page is empty."
    )


@strawberry.type(description="An item of a page and the cursor that points at it.")
class Edge(Generic[NodeT]):
    cursor: str = strawberry.field(description="Pass as `after` or `before` to page from here.")
    node: NodeT = strawberry.field(description="The item.")


@strawberry.type(
    description="One page of a list, keyset-paginated: `first`/`after` or `last`/`before`."
)
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]] = strawberry.field(description="The items with their cursors.")
    nodes: list[NodeT] = strawberry.field(
        description="The items alone, for clients without cursors."
    )
    page_info: PageInfo = strawberry.field(description="Position of this page in the list.")
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Number of items in the whole list (costs one more query).")
    async def total_count(self) -> int:
        return await self.count()


def connection(page: Page, to_node: Callable[[Any], NodeT]) -> Connection[NodeT]:
    nodes = [to_node(row) for row in page.rows]
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, nodes, strict=True)],
        nodes=nodes,
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        count=page.count,
    )


def page_request(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageRequest:
    return PageRequest(first=first, after=after, last=last, before=before)


MAX_NODES = 100


def check_node_count(ids: Sequence[str]) -> None:
    if len(ids) > MAX_NODES:
        raise ClientError(f"`ids` takes at most {MAX_NODES} IDs.")


def encode_event_cursor(stream: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"ev:{stream}:{seq}".encode()).decode()


def decode_event_cursor(cursor: str, stream: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii")).decode()
    except (ValueError, UnicodeError, binascii.Error):
        raw = ""
    prefix, _, seq = raw.rpartition(":")
    number = int_key(seq)
    if prefix != f"ev:{stream}" or number is None or encode_event_cursor(stream, number) != cursor:
        raise ClientError("Malformed cursor, or a cursor of another stream.")
    return number


FIRST = strawberry.argument(description="Return the first n items (0 to 100; default 20).")
AFTER = strawberry.argument(description="Return items after this cursor (with `first`).")
LAST = strawberry.argument(description="Return the last n items (0 to 100), with `before`.")
BEFORE = strawberry.argument(description="Return items before this cursor (with `last`).")
