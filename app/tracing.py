"""OpenTelemetry traces: off unless the standard `OTEL_*` variables ask for them.

On, a request is traced from the HTTP edge (the ASGI instrumentation, which accepts a W3C
`traceparent`) through its GraphQL operation (one span, with parse, validation and execution
spans, never one per field) and its SQL statements (the SQLAlchemy instrumentation), to the live
delivery of the events it committed (schema/live.py links each delivery to the trace of the
mutation that caused it). Spans leave through OTLP over HTTP, configured by
`OTEL_EXPORTER_OTLP_*`; sampling by `OTEL_TRACES_SAMPLER(_ARG)`; the service name by
`OTEL_SERVICE_NAME` (default `migration-network-hub`).

strawberry's own OpenTelemetryExtension was not taken: it opens one span per resolved field,
records every argument as an attribute (a password, in `login`), and does not make the
operation's span current, so SQL spans would hang from the HTTP span instead."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp
from strawberry.extensions import SchemaExtension

from app.metrics import outcome_of
from schema.loader_spans import BATCH_TRACER

# The SDK and the instrumentations are imported only when traces are asked for: a worker that
# does not trace starts without them.
if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

SERVICE_NAME = "migration-network-hub"
NOT_TRACED = "/metrics,/livez,/readyz"  # probes and scrapes would drown the requests


def tracing_requested() -> bool:
    """Whether the environment asks for traces: an exporter or an OTLP endpoint is named, and
    the SDK is not disabled."""
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").lower()
    if exporter == "none":
        return False
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return bool(exporter) or any(os.environ.get(name) for name in endpoints)


def _exporter() -> SpanExporter:
    if os.environ.get("OTEL_TRACES_EXPORTER", "").lower() == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, ...


def provider_from_environment() -> TracerProvider | None:
    """The process's tracer provider when the environment asks for traces, else None."""
    if not tracing_requested():
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": SERVICE_NAME})  # OTEL_SERVICE_NAME wins
    provider = TracerProvider(resource=resource)  # the sampler comes from OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(_exporter()))
    return provider


def trace_sql(engine: AsyncEngine, provider: TracerProvider) -> None:
    """One span per statement, under the span current when it runs. EngineTracer is the
    instrumentation's per-engine part: its instrumentor would also patch `create_engine`
    process-wide, once, for the first provider only."""
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import NoOpMeter

    usage = NoOpMeter("hub").create_up_down_counter("db.client.connections.usage")
    tracer = trace.get_tracer("hub.sql", tracer_provider=provider)
    EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]


def traced_asgi(app: ASGIApp, provider: TracerProvider) -> ASGIApp:
    """The server span of each HTTP request and WebSocket connection, continuing the caller's
    trace when it sends a W3C `traceparent`."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(
        app, excluded_urls=NOT_TRACED, tracer_provider=provider, exclude_spans=["receive", "send"]
    )


class OperationTracing(SchemaExtension):
    """The GraphQL operation's span, and its parse, validation and execution spans. Execution
    is current while it runs, so that SQL statements and DataLoader batches (a span each,
    schema/loader_spans.py) hang from it."""

    def __init__(self, *, tracer: Tracer) -> None:
        self.tracer = tracer
        self.operation: Span | None = None

    def on_operation(self) -> Iterator[None]:
        if not trace.get_current_span().is_recording():
            # Not sampled (or no request span): the children would not be either, and making
            # them is most of tracing's cost on the requests it leaves out. The SQLAlchemy
            # instrumentation would still build each statement's attributes and a
            # non-recording span: suppressed, it returns at its first line.
            with suppress_instrumentation():
                yield
            return
        batches = BATCH_TRACER.set(self.tracer)
        try:
            with self.tracer.start_as_current_span("graphql", kind=SpanKind.INTERNAL) as span:
                self.operation = span
                yield
                self._describe(span)
        finally:
            BATCH_TRACER.reset(batches)

    def _describe(self, span: Span) -> None:
        ctx = self.execution_context
        try:
            kind = ctx.operation_type.value
        except RuntimeError:  # it did not parse
            kind = "unknown"
        name = ctx.operation_name if ctx.graphql_document else None
        span.update_name(f"{kind} {name}" if name else kind)
        span.set_attribute("graphql.operation.type", kind)
        if name:
            span.set_attribute("graphql.operation.name", name)
        outcome = outcome_of(ctx.result, ctx.pre_execution_errors)
        span.set_attribute("hub.outcome", outcome)
        if outcome == "internal":
            span.set_status(Status(StatusCode.ERROR))

    def on_parse(self) -> Iterator[None]:
        with self._step("graphql.parse"):
            yield

    def on_validate(self) -> Iterator[None]:
        with self._step("graphql.validate"):
            yield

    def on_execute(self) -> Iterator[None]:
        with self._step("graphql.execute"):
            yield

    @contextmanager
    def _step(self, name: str) -> Iterator[None]:
        if self.operation is None:  # not sampled
            yield
            return
        with self.tracer.start_as_current_span(name):
            yield
