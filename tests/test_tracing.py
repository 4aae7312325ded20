"""OpenTelemetry traces (issue 16): one trace from an HTTP mutation, through its GraphQL
operation and SQL, to the live delivery of the event it committed; the trace id in the logs and
in a masked internal error; nothing traced unless configured."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id
from starlette.applications import Starlette

from app.logs import JsonFormatter, LogContext
from app.main import create_app
from app.settings import Settings
from app.tracing import tracing_requested
from models.db import Database
from subscriptions.broadcast import HubBroadcast
from tests.conftest import Factory, api_client, make_settings
from tests.discussions import CREATE_POST, community, thread
from tests.live import THREAD_EVENTS, connect, thread_cursor
from tests.test_metrics import scrape, settles, value
from tests.test_websocket import unreachable_database_url

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(spans: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    yield provider
    provider.shutdown()


@pytest.fixture
def traced_app(
    settings: Settings, db: Database, broadcast: HubBroadcast, provider: TracerProvider
) -> Starlette:
    return create_app(settings, db, broadcast, tracer_provider=provider)


def in_trace(spans: InMemorySpanExporter) -> list[ReadableSpan]:
    return [
        s
        for s in spans.get_finished_spans()
        if s.context is not None and format_trace_id(s.context.trace_id) == TRACE_ID
    ]


async def test_one_trace_from_a_mutation_through_its_sql_to_the_live_delivery_of_its_event(
    traced_app: Starlette, factory: Factory, spans: InMemorySpanExporter
) -> None:
    # given a thread its moderator follows live
    async with api_client(traced_app) as client:
        community_id, moderator = await community(client, factory)
        thread_id = await thread(client, community_id, moderator)
        cursor = await thread_cursor(client, thread_id, moderator.token)
        async with connect(traced_app, moderator.token) as socket:
            before = value(await scrape(traced_app), "hub_live_subscriptions", stream="thread")
            await socket.subscribe(THREAD_EVENTS, {"threadId": thread_id, "after": cursor})
            # live, not replaying: an event read back from the log carries no trace context
            assert await settles(traced_app, "hub_live_subscriptions", before + 1, stream="thread")
            spans.clear()
            # when a post is written by a caller that is itself traced
            response = await client.post(
                "/graphql",
                json={
                    "query": CREATE_POST.replace("mutation(", "mutation WritePost("),
                    "variables": {"input": {"threadId": thread_id, "body": "Traced."}},
                },
                headers={**moderator.headers, "traceparent": TRACEPARENT},
            )
            assert response.json()["data"]["createPost"]["errors"] == []
            await socket.next_payloads(1)
    # then the caller's trace holds the HTTP request, the operation and its steps, its SQL ...
    traced = in_trace(spans)
    by_name = {s.name: s for s in traced}
    server = by_name["POST /graphql"]
    assert server.kind is SpanKind.SERVER
    assert server.parent is not None
    assert format_span_id(server.parent.span_id) == CALLER_SPAN
    operation = by_name["mutation WritePost"]
    assert operation.parent is not None
    assert server.context is not None
    assert operation.parent.span_id == server.context.span_id
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.type"] == "mutation"
    steps = {"graphql.parse", "graphql.validate", "graphql.execute"}
    assert steps <= set(by_name)
    execute = by_name["graphql.execute"]
    assert execute.context is not None
    sql = [s for s in traced if s.attributes and "db.statement" in s.attributes]
    assert [s for s in sql if s.parent and s.parent.span_id == execute.context.span_id]
    assert any(str(s.attributes["db.statement"]).startswith("INSERT") for s in sql if s.attributes)
    # ... a span per DataLoader batch (of the mutation's answer, and of the live event's) ...
    [delivery] = [s for s in traced if s.name == "live delivery thread"]
    assert delivery.context is not None
    batch_parents = [
        s.parent.span_id for s in traced if s.name.startswith("dataloader ") and s.parent
    ]
    assert execute.context.span_id in batch_parents
    assert set(batch_parents) <= {execute.context.span_id, delivery.context.span_id}
    # ... and, not one span per field ...
    assert len([s for s in traced if s.name.startswith("graphql")]) == len(steps)
    # ... and the delivery of the event it committed, linked to the mutation
    assert delivery.kind is SpanKind.CONSUMER
    [link] = delivery.links
    assert format_trace_id(link.context.trace_id) == TRACE_ID
    assert delivery.parent is not None
    assert delivery.parent.span_id == link.context.span_id
    assert link.context.span_id in {s.context.span_id for s in traced if s.context}


async def test_the_request_line_and_a_masked_error_carry_the_trace_id(
    database_url: str,
    tmp_path: Path,
    provider: TracerProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hub")
    caplog.handler.addFilter(LogContext())
    settings = make_settings(unreachable_database_url(database_url, tmp_path), env="production")
    app: Starlette = create_app(settings, tracer_provider=provider)
    try:
        async with api_client(app) as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ members(first: 1) { totalCount } }"},
                headers={"traceparent": TRACEPARENT},
            )
    finally:
        await app.state.db.dispose()
    [error] = response.json()["errors"]
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": response.headers["x-request-id"],
        "traceId": TRACE_ID,
    }
    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records]
    [request] = [line for line in lines if line["logger"] == "hub.request"]
    assert request["trace_id"] == TRACE_ID
    [internal] = [line for line in lines if line["logger"] == "hub.errors"]
    assert internal["trace_id"] == TRACE_ID
    assert "Traceback" in internal["traceback"]


async def test_without_tracing_a_traceparent_changes_nothing(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub")
    caplog.handler.addFilter(LogContext())
    await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"traceparent": TRACEPARENT}
    )
    [request] = [r for r in caplog.records if r.name == "hub.request"]
    assert request.trace_id == "-"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("environment", "requested"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_tracing_is_off_unless_the_environment_asks(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], requested: bool
) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, setting in environment.items():
        monkeypatch.setenv(name, setting)
    assert tracing_requested() is requested


async def test_a_request_left_out_by_sampling_makes_no_spans_but_keeps_its_trace_id(
    traced_app: Starlette, spans: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub")
    caplog.handler.addFilter(LogContext())
    # given a caller whose trace is not sampled (flags 00)
    unsampled = f"00-{TRACE_ID}-{CALLER_SPAN}-00"
    async with api_client(traced_app) as client:
        response = await client.post(
            "/graphql",
            json={"query": "query Few { gcmObjectives { number } }"},
            headers={"traceparent": unsampled},
        )
    assert response.status_code == 200
    # then nothing is recorded, and the request's line still names the trace
    assert spans.get_finished_spans() == ()
    [request] = [r for r in caplog.records if r.name == "hub.request"]
    assert request.trace_id == TRACE_ID  # type: ignore[attr-defined]


class CountingSampler(Sampler):
    """The SDK's parent-based sampler, counting the spans asked of it: a span that is started,
    recording or not, asks the sampler first."""

    def __init__(self) -> None:
        self.inner = ParentBased(ALWAYS_ON)
        self.asked: list[str] = []

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        name = kwargs.get("name", args[2] if len(args) > 2 else "?")
        self.asked.append(str(name))
        return self.inner.should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return "counting"


async def test_a_request_left_out_by_sampling_starts_no_sql_spans(
    settings: Settings, db: Database, broadcast: HubBroadcast, factory: Factory
) -> None:
    """Unsampled, the SQL instrumentation is suppressed for the operation: it would otherwise
    build each statement's attributes and start a (non-recording) span, which is most of what
    tracing costs the 90% of requests that a 10% sampler leaves out."""
    await factory.member(name="Counted Member")
    sampler = CountingSampler()
    provider = TracerProvider(sampler=sampler)
    try:
        app = create_app(settings, db, broadcast, tracer_provider=provider)
        unsampled = f"00-{TRACE_ID}-{CALLER_SPAN}-00"
        query = {"query": "query Few { members(first: 5) { totalCount nodes { name } } }"}
        async with api_client(app) as client:
            sampled = await client.post(
                "/graphql", json=query, headers={"traceparent": TRACEPARENT}
            )
            statements = [name for name in sampler.asked if name not in _EDGE]
            sampler.asked.clear()
            left_out = await client.post("/graphql", json=query, headers={"traceparent": unsampled})
    finally:
        provider.shutdown()
    assert sampled.status_code == left_out.status_code == 200
    assert left_out.json() == sampled.json()
    # the sampled request asked for its operation, its steps and its SQL ...
    assert "graphql.execute" in statements
    assert len(statements) >= 5
    # ... the unsampled one for its HTTP span alone
    assert [name for name in sampler.asked if name not in _EDGE] == []


_EDGE = {"POST /graphql", "POST"}  # the ASGI instrumentation's server span
