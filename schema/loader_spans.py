"""A span for each DataLoader batch, when the operation is traced (app/tracing.py sets the
tracer for the operation): one per batch, named for the function that loads it, never one per
key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from functools import partial
from typing import TypeVar

from opentelemetry.trace import Tracer

K = TypeVar("K")
R = TypeVar("R")

BATCH_TRACER: ContextVar[Tracer | None] = ContextVar("batch_tracer", default=None)


def _name_of(load: Callable[..., object]) -> str:
    function = load.func if isinstance(load, partial) else load
    module = getattr(function, "__module__", "").rsplit(".", 1)[-1]
    return f"{module}.{getattr(function, '__name__', 'load')}"


def batch_span(load: Callable[[list[K]], Awaitable[R]]) -> Callable[[list[K]], Awaitable[R]]:
    """`load`, in a span of its own while the operation is traced."""
    name = f"dataloader {_name_of(load)}"

    async def traced(keys: list[K]) -> R:
        tracer = BATCH_TRACER.get()
        if tracer is None:
            return await load(keys)
        with tracer.start_as_current_span(name, attributes={"hub.batch.size": len(keys)}):
            return await load(keys)

    return traced
