"""The contract app/websocket.py relies on in strawberry's graphql-transport-ws handler: the
methods it overrides or calls, with the parameters it passes, and the operation's state it
reads and writes. An upgrade of strawberry that changes any of them fails here, by name, before
the live path breaks in a subtler way."""

from __future__ import annotations

import inspect

import pytest
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from app.websocket import TransportHandler

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
