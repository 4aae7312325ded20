"""The contract app/websocket.py relies on in strawberry's graphql-transport-ws handler: the
methods it overrides or calls, with the parameters it passes, and the operation's state it
reads and writes; and what app/ws_frames.py relies on in uvicorn's wsproto protocol. An upgrade of strawberry that changes any of them fails here, by name, before
the live path breaks in a subtler way."""

from __future__ import annotations

import asyncio
import inspect
import re
import sys
import tracemalloc
from collections.abc import Callable

import pytest
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto import WSConnection
from wsproto.frame_protocol import FrameProtocol as WsprotoFrames

from app.websocket import TransportHandler
from app.ws_frames import FrameProtocol, SlimEvent, SlimQueue, text_frame_header, uvicorn_ws

# Methods of strawberry's handler that ours overrides or calls, with their parameters.
HANDLER_METHODS = {
    "handle": ["self"],
    "handle_connection_init": ["self", "message"],
    "handle_subscribe": ["self", "message"],
    "handle_task_exception": ["self", "error"],
    "run_operation": ["self", "operation"],
    "_send_result_stream": ["self", "operation", "result_source"],
    "cleanup_operation": ["self", "operation_id"],
    "shutdown": ["self"],
    "forget_id": ["self", "id"],
}


@pytest.mark.parametrize("name", sorted(HANDLER_METHODS))
def test_the_handler_methods_we_override_keep_their_parameters(name: str) -> None:
    method = getattr(BaseGraphQLTransportWSHandler, name)
    assert list(inspect.signature(method).parameters) == HANDLER_METHODS[name]
    assert getattr(TransportHandler, name) is not method or name == "forget_id"


def test_an_operation_has_the_state_we_use() -> None:
    # `completed` stops strawberry from completing a handed-off operation; `task` is restarted
    # after a slow reader falls behind; initial errors are the protocol's `error` message.
    assert {"completed", "task", "id", "variables", "query", "operation_name"} <= set(
        Operation.__slots__
    )
    parameters = list(inspect.signature(Operation.send_initial_errors).parameters)
    assert parameters == ["self", "errors"]
    source = inspect.getsource(Operation.send_operation_message)
    assert "self.completed = True" in source  # an `error` ends the operation: nothing after


def test_subscribe_reads_the_query_from_the_payload_we_resolve_it_into() -> None:
    # app/websocket.py resolves `documentId` / `extensions.persistedQuery` into the payload's
    # `query` before strawberry's handler reads it from there.
    source = inspect.getsource(BaseGraphQLTransportWSHandler.handle_subscribe)
    assert 'message["payload"]["query"]' in source


# --- uvicorn's wsproto protocol, as app/ws_frames.py uses it ---------------------------------


@pytest.mark.parametrize("length", [0, 125, 126, 65_535, 65_536])
def test_a_frame_written_straight_is_the_one_wsproto_writes(length: int) -> None:
    text = "x" * length
    parts = (b'{"id":"1","type":"next","payload":', text.encode(), b"}")
    joined = b"".join(parts)
    expected = WsprotoFrames(client=False, extensions=[]).send_data(joined.decode(), fin=True)
    assert text_frame_header(len(joined)) + joined == bytes(expected)


def test_uvicorn_s_protocol_has_the_state_the_frame_writer_reads() -> None:
    # The writer declines unless the handshake is done, no close was sent, the peer is there,
    # no rejection response started and the transport is not paused (`writable`); it writes
    # to `transport` and reads the deflate setting from `config`.
    source = inspect.getsource(WSProtocol.__init__)
    for name in ("handshake_complete", "close_sent", "disconnected", "response_started"):
        assert f"self.{name} = False" in source
    assert "self.writable = asyncio.Event()" in source
    assert "self.transport" in source
    assert "self.config = config" in source
    assert "ws_per_message_deflate" in inspect.getsource(WSProtocol.send)


def test_uvicorn_builds_the_scope_in_handle_connect_before_the_app_runs() -> None:
    assert list(inspect.signature(WSProtocol.handle_connect).parameters) == ["self", "event"]
    source = inspect.getsource(WSProtocol.handle_connect)
    assert '"extensions": {' in source
    assert source.index("self.scope") < source.index("self.run_asgi()")


def test_uvicorn_s_send_writes_without_awaiting_once_the_transport_is_writable() -> None:
    # A frame sent through ASGI reaches the transport in the same step as its `send` is
    # called when the transport is not paused: frames written straight stay in call order.
    source = inspect.getsource(WSProtocol.send)
    assert source.count("await ") == 1
    assert "await self.writable.wait()" in source


def test_hub_serve_runs_the_frame_protocol_with_wsproto() -> None:
    assert uvicorn_ws("wsproto") == "app.ws_frames:FrameProtocol"
    assert uvicorn_ws("websockets-sansio") == "websockets-sansio"
    assert issubclass(FrameProtocol, WSProtocol)


def test_wsproto_asks_an_open_connection_s_handshake_only_for_events() -> None:
    # app/ws_frames.py replaces the handshake by a stand-in with no events once it is open.
    assert "yield from self.handshake.events()" in inspect.getsource(WSConnection.events)
    for method in (WSConnection.send, WSConnection.receive_data):
        source = inspect.getsource(method)
        assert "if self.connection is None:" in source
        assert source.count("self.handshake") == 2  # both inside that branch
    state = inspect.getsource(WSConnection.state.fget)  # type: ignore[attr-defined]
    assert "if self.connection is None:" in state


# --- the slim queue and event that stand in for asyncio's in uvicorn's protocol ----------------


def test_uvicorn_s_protocol_asks_its_queue_and_writable_event_only_what_the_slim_ones_do() -> None:
    source = inspect.getsource(sys.modules[WSProtocol.__module__])
    assert set(re.findall(r"self\.queue\.(\w+)", source)) == {"put_nowait", "get", "empty"}
    assert set(re.findall(r"self\.writable\.(\w+)", source)) == {"set", "clear", "wait"}
    init = inspect.getsource(WSProtocol.__init__)
    assert "self.queue: asyncio.Queue[WebSocketEvent] = asyncio.Queue()" in init
    assert "self.writable = asyncio.Event()" in init


def test_the_slim_queue_and_event_take_a_tenth_of_the_memory_of_asyncio_s() -> None:
    def allocated(make: Callable[[], object]) -> int:
        """Bytes held by 100 objects made by `make` (tracemalloc counts every allocation)."""
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            held = [make() for _ in range(100)]
            size = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert len(held) == 100
        return size // 100

    asyncio_pair = allocated(lambda: (asyncio.Queue(), asyncio.Event()))
    slim_pair = allocated(lambda: (SlimQueue(), SlimEvent()))
    assert asyncio_pair > 3_000  # four deques of 760 B, empty
    assert slim_pair * 10 < asyncio_pair


async def test_the_slim_queue_gives_items_in_order_and_wakes_a_waiting_getter() -> None:
    queue = SlimQueue()
    queue.put_nowait(1)
    queue.put_nowait(2)
    assert not queue.empty()
    assert [await queue.get(), await queue.get()] == [1, 2]
    assert queue.empty()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not getter.done()
    queue.put_nowait(3)
    assert await getter == 3
    assert queue._waiters is None  # nobody waits: nothing allocated


async def test_a_getter_cancelled_after_its_wake_up_leaves_the_item_for_the_next() -> None:
    queue = SlimQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.put_nowait("kept")
    getter.cancel()  # woken, but cancelled before it ran
    with pytest.raises(asyncio.CancelledError):
        await getter
    assert await queue.get() == "kept"


async def test_the_slim_event_wakes_its_waiters_when_set_and_waits_again_once_cleared() -> None:
    event = SlimEvent()
    assert not event.is_set()
    waiters = [asyncio.create_task(event.wait()) for _ in range(2)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    event.set()
    assert await asyncio.gather(*waiters) == [True, True]
    assert event.is_set()
    assert await event.wait()
    event.clear()
    waiter = asyncio.create_task(event.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    event.set()
    assert await waiter
