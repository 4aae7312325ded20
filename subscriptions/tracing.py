"""The trace context that travels with a live event: the mutation that committed it writes its
W3C `traceparent` into the broker's message, and the delivery of the event to live subscribers
continues that trace (and links to it), in whichever process delivers it."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from models.event import StoredEvent

W3C = TraceContextTextMapPropagator()


def current_traceparent() -> str | None:
    """The `traceparent` of the current span, if it is being traced."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    W3C.inject(carrier)
    return carrier.get("traceparent")


def delivery_span(
    tracer: Tracer | None, event: StoredEvent, kind: str
) -> AbstractContextManager[Span | None]:
    """The span of delivering `event` to a stream's subscribers (nothing when tracing is off)."""
    if tracer is None:
        return nullcontext()
    parent = W3C.extract({"traceparent": event.traceparent}) if event.traceparent else None
    cause = trace.get_current_span(parent).get_span_context() if parent is not None else None
    return tracer.start_as_current_span(
        f"live delivery {kind}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=[Link(cause)] if cause is not None and cause.is_valid else None,
        attributes={
            "hub.stream.kind": kind,
            "hub.event.kind": event.kind,
            "hub.event.seq": event.seq,
        },
    )
