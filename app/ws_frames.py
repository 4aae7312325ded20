"""The adapter to uvicorn's WebSocket protocol (wsproto): live frames written straight to the
socket's transport.

A live event reaches thousands of sockets with the same payload. Through ASGI each copy would
cost an awaited `send` (starlette, the middlewares' wrappers, uvicorn's `send`, wsproto's
frame builder) and, to keep frames in order without blocking the group, a task per socket.
Here a frame is a few header bytes, the subscription's prefix and the payload's bytes shared by
every socket of its audience, handed to `transport.write` synchronously: the same bytes wsproto
writes for an unfragmented text message without extensions (RFC 6455, 5.2: a server never
masks).

`FrameProtocol` is uvicorn's `WSProtocol` that puts a `FrameWriter` into the scope's ASGI
extensions (`hub.frames`) when the handshake arrives; `hub serve` runs it in place of
`wsproto`. The writer declines (False) whenever wsproto would do more than that: before the
handshake completes, once a close was sent or the peer is gone, with permessage-deflate
enabled, and while the transport is paused for a slow reader (then the caller falls back to
the ASGI `send`, which waits for the transport). This module alone knows these internals;
tests/test_websocket_adapter.py pins them."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator
from typing import Any, ClassVar

from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

EXTENSION = "hub.frames"  # the scope's `extensions` key holding {"writer": FrameWriter}
PROTOCOL = "app.ws_frames:FrameProtocol"  # for uvicorn's `ws=` (an import string)


def text_frame_header(length: int) -> bytes:
    """FIN + text opcode, then the payload length in the shortest form (unmasked)."""
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, length)
    return struct.pack("!BBQ", 0x81, 127, length)


def text_frame(*parts: bytes) -> bytes:
    """The whole frame of a text message whose UTF-8 payload is `parts` joined."""
    FrameWriter.frames_built += 1
    return b"".join((text_frame_header(sum(map(len, parts))), *parts))


class FrameWriter:
    """Writes whole text frames to one socket's transport, when wsproto would write exactly
    those bytes and the transport takes them without waiting."""

    __slots__ = ("_protocol",)
    frames_written: ClassVar[int] = 0  # by every writer of the process (tests count them)
    frames_built: ClassVar[int] = 0  # frames assembled by `text_frame` (tests count them)

    def __init__(self, protocol: WSProtocol) -> None:
        self._protocol = protocol

    def write(self, frame: bytes) -> bool:
        """Write `frame` (from `text_frame`); False (nothing written) when the message must go
        through the ASGI `send` instead."""
        protocol = self._protocol
        if (
            not protocol.handshake_complete
            or protocol.close_sent
            or protocol.disconnected
            or protocol.response_started
            or not protocol.writable.is_set()  # paused: the transport's buffer is full
            or protocol.transport.is_closing()
        ):
            return False
        protocol.transport.write(frame)
        FrameWriter.frames_written += 1
        return True


class _Opened:
    """Stands in for wsproto's handshake once the connection is open: `WSConnection` then asks
    it only for `events()` (it has none left); the rest goes to the open connection."""

    __slots__ = ()

    def events(self) -> Iterator[Any]:
        return iter(())


OPENED = _Opened()


class _Waitable:
    """Futures waiting to be woken, allocated only while somebody waits."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] | None = None

    def _wake(self) -> None:
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    async def _wait(self) -> None:
        if self._waiters is None:
            self._waiters = []
        waiters = self._waiters
        waiter = asyncio.get_running_loop().create_future()
        waiters.append(waiter)
        try:
            await waiter
        finally:
            waiters.remove(waiter)
            if not waiters and self._waiters is waiters:
                self._waiters = None


class SlimQueue(_Waitable):
    """What uvicorn's protocol asks of its queue of received messages (`put_nowait`, `get`,
    `empty`), without `asyncio.Queue`'s three deques and `Event` (760 B each, empty)."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        super().__init__()
        self._items: list[Any] = []

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        self._wake()

    async def get(self) -> Any:
        while not self._items:  # a getter cancelled after its wake-up leaves the item there
            await self._wait()
        return self._items.pop(0)


class SlimEvent(_Waitable):
    """What uvicorn's protocol asks of its `writable` event (`set`, `clear`, `is_set`,
    `wait`), without `asyncio.Event`'s deque of waiters (760 B, empty)."""

    __slots__ = ("_set",)

    def __init__(self) -> None:
        super().__init__()
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._wake()

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        while not self._set:
            await self._wait()
        return True


class FrameProtocol(WSProtocol):
    """uvicorn's wsproto protocol, lending a `FrameWriter` to the app through the scope,
    keeping its received messages and its `writable` flag in slim objects (`SlimQueue`,
    `SlimEvent`: ~3 KB less per socket than asyncio's, bench/README.md), and letting go of
    the HTTP handshake's state once the socket is open (h11's connection and the request:
    ~3 KB of the ~35 KB an idle subscription held)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = SlimQueue()  # type: ignore[assignment]
        self.writable = SlimEvent()  # type: ignore[assignment]
        self.writable.set()

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if not self.config.ws_per_message_deflate:  # compressed frames: wsproto writes them
            self.scope["extensions"][EXTENSION] = {"writer": FrameWriter(self)}

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept" and self.conn.connection is not None:
            self.conn.handshake = OPENED  # type: ignore[assignment]


def frame_writer(scope: Any) -> FrameWriter | None:
    """The socket's writer, if the server lends one (`hub serve` with wsproto)."""
    extension = (scope.get("extensions") or {}).get(EXTENSION)
    writer = extension.get("writer") if isinstance(extension, dict) else None
    return writer if isinstance(writer, FrameWriter) else None


def uvicorn_ws(implementation: str) -> str:
    """What `hub serve` passes as uvicorn's `ws=`: this module's protocol for wsproto."""
    return PROTOCOL if implementation == "wsproto" else implementation
