"""Shared execution of live events: when many sockets watch one stream, each event is executed
once per distinct (operation, variables, permission scope) and the result is handed to every
subscriber that shares it, instead of running GraphQL once per subscriber per event.

A subscription payload opts in by carrying `share_key`: the event's identity (stream, seq) and
the viewer's permission scope on that stream (role, community role). Operations that select a
field whose value depends on the viewer themself (`reactedByViewer`, `email`, ...) are keyed
by the viewer too, so nothing computed for one member ever reaches another."""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from graphql import (
    ExecutionResult,
    OperationDefinitionNode,
    OperationType,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.context import Context
from schema.viewer_fields import VIEWER_SPECIFIC_NAMES, selected_names

# Fields whose value differs between two viewers of the same scope (schema/viewer_fields.py).
VIEWER_SPECIFIC_FIELDS = VIEWER_SPECIFIC_NAMES
TTL_SECONDS = 30.0
MAX_ENTRIES = 10_000


class SharedResults:
    """Results by key, each computed once; entries expire after TTL_SECONDS (or the oldest go
    first past MAX_ENTRIES). Each entry keeps its operation alive, so the `id()` in a key can
    never be reused by another operation while the entry exists."""

    def __init__(self) -> None:
        self._entries: OrderedDict[Hashable, tuple[float, Any, asyncio.Future[Any]]] = OrderedDict()
        self._viewer_specific: dict[int, tuple[Any, bool]] = {}
        self.executions = 0  # how many times an event was really executed (for tests, bench)
        self.shared = 0  # how many times a result was reused
        self.encoded = 0  # live payloads encoded to bytes: once per event and audience

    def is_viewer_specific(self, operation: OperationDefinitionNode, fragments: Any) -> bool:
        cached = self._viewer_specific.get(id(operation))
        if cached is None or cached[0] is not operation:
            names = selected_names(operation.selection_set, dict(fragments), set())
            cached = (operation, bool(names & VIEWER_SPECIFIC_FIELDS))
            if len(self._viewer_specific) > MAX_ENTRIES:
                self._viewer_specific.clear()
            self._viewer_specific[id(operation)] = cached
        return cached[1]

    def claim(self, key: Hashable, operation: Any) -> tuple[asyncio.Future[Any], bool]:
        """The future for `key`, and whether the caller must compute it."""
        now = time.monotonic()
        self._expire(now)
        entry = self._entries.get(key)
        if entry is not None:
            self.shared += 1
            return entry[2], False
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now, operation, future)
        self.executions += 1
        return future, True

    def forget(self, key: Hashable, future: asyncio.Future[Any]) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry[2] is future:
            del self._entries[key]

    def _expire(self, now: float) -> None:
        while self._entries:
            created, _, _ = next(iter(self._entries.values()))
            if now - created < TTL_SECONDS and len(self._entries) < MAX_ENTRIES:
                return
            self._entries.popitem(last=False)


SHARED_RESULTS = SharedResults()


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor; a subscription event whose payload has a `share_key` is executed
    once per key and the same result is returned to every subscriber with that key."""

    def execute_operation(self, serially: bool | None = None) -> Any:
        payload = self.root_value
        share_key = getattr(payload, "share_key", None)
        if share_key is None or self.operation.operation is not OperationType.SUBSCRIPTION:
            return super().execute_operation(serially)
        return self._shared(share_key, serially)

    async def _shared(self, share_key: Hashable, serially: bool | None) -> ExecutionResult:
        key = self._key(share_key)
        while True:
            future, compute = SHARED_RESULTS.claim(key, self.operation)
            if compute:
                await self._compute(key, future, serially)
            try:
                result: ExecutionResult = (
                    future.result() if future.done() else await asyncio.shield(future)
                )
            except asyncio.CancelledError:
                if future.cancelled() and not _being_cancelled():
                    continue  # the subscriber computing it went away: compute it here
                raise
            # A fresh result object per subscriber (extensions rewrite `errors`); same data.
            return ExecutionResult(
                data=result.data, errors=result.errors, extensions=result.extensions
            )

    async def _compute(
        self, key: Hashable, future: asyncio.Future[Any], serially: bool | None
    ) -> None:
        try:
            outcome = super().execute_operation(serially)
            if self.is_awaitable(outcome):
                outcome = await outcome
            future.set_result(outcome)
        except asyncio.CancelledError:
            # Our subscriber left mid-way: others sharing the key compute it themselves.
            SHARED_RESULTS.forget(key, future)
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            future.exception()  # retrieved: whoever shares it re-raises it
            raise

    def _key(self, share_key: Hashable) -> Hashable:
        variables = json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
        key: tuple[Hashable, ...] = (id(self.operation), variables, share_key)
        if SHARED_RESULTS.is_viewer_specific(self.operation, self.fragment_definitions):
            context = self.context_value
            viewer = context.viewer.member_id if isinstance(context, Context) else object()
            key = (*key, "viewer", viewer)
        return key
