"""The contract app/websocket.py relies on in strawberry's graphql-transport-ws handler: the
methods it overrides or calls, with the parameters it passes, and the operation's state it
reads and writes; and what app/ws_frames.py relies on in uvicorn's wsproto protocol. An upgrade of strawberry that changes any of them fails here, by name, before
the live path breaks in a subtler way."""

from __future__ import annotations

import inspect

import pytest
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from uvicorn.protocols.websockets.wsproto_impl import WSProtocol
from wsproto import WSConnection
from wsproto.frame_protocol import FrameProtocol as WsprotoFrames

from app.websocket import TransportHandler
from app.ws_frames import FrameProtocol, text_frame_header, uvicorn_ws

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
