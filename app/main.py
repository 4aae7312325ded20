"""create_app(): the ASGI application, its routes and the lifespan of shared resources."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from strawberry.extensions import SchemaExtension

from app.cached_hits import CachedHits, RawRequests
from app.cached_responses import WRITE_VERSION_HEADER, CachedResponses
from app.calendar import calendar_routes
from app.compiled import CompiledAnswers
from app.compiled_front import CompiledFront, CompiledFrontMiddleware
from app.console.operations import CONSOLE_DOCUMENTS
from app.console.page import Console
from app.delivery import DeliveryWorker
from app.documents import Documents
from app.http import GraphQLHTTP
from app.logs import RequestLogMiddleware
from app.metrics import MetricsEndpoint, OperationMetrics, measure_sql
from app.reminders import ReminderJob
from app.request_id import RequestIdMiddleware
from app.response_cache import ResponseCache
from app.settings import Settings
from app.tracing import OperationTracing, provider_from_environment, trace_sql, traced_asgi
from app.unsubscribe import unsubscribe_routes
from app.websocket import GraphQLWebSocket
from models.db import Database, create_database
from resolvers.auth import dummy_hash
from resolvers.search import Answer
from resolvers.search_cache import SearchCache
from schema import HubSchema, Limits, make_schema
from subscriptions.broadcast import HubBroadcast, create_broadcast
from subscriptions.broker import BrokerUnavailable, check_url, ping_broker
from subscriptions.events import EventPublisher
from subscriptions.heads import HeadWatcher
from subscriptions.tasks import stop_task

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Tracer

logger = logging.getLogger("hub")


def _limits(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.max_query_depth,
        max_tokens=settings.max_query_tokens,
        max_aliases=settings.max_aliases,
        max_cost=settings.max_query_cost,
    )


def _settle_garbage_collector() -> None:
    """Everything alive at start-up (schema, models, modules) lives as long as the process:
    keep it out of every collection, and collect the young generation less often. Measured
    (bench/README.md): the collector took ~30% of a request's CPU and drove the p99."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


def _observe(
    settings: Settings, database: Database, provider: TracerProvider | None, tracer: Tracer | None
) -> list[Callable[[], SchemaExtension]]:
    """Hook metrics (and traces, when on) into the engine; the schema extensions that see each
    operation from outside every other, outermost first."""
    measure_sql(database.engine)
    outermost: list[Callable[[], SchemaExtension]] = [
        functools.partial(OperationMetrics, record=settings.metrics_enabled)
    ]
    if provider is not None and tracer is not None:
        trace_sql(database.engine, provider)
        outermost.insert(0, functools.partial(OperationTracing, tracer=tracer))
    return outermost


def _compiled_answers(settings: Settings, schema: HubSchema) -> CompiledAnswers | None:
    """Compiled plans of trusted documents (unless HUB_COMPILE_TRUSTED_DOCUMENTS=false) and of
    plain texts (unless HUB_COMPILE_TEXTS=false or HUB_COMPILED_TEXT_ENTRIES=0)."""
    texts = settings.compiled_text_entries if settings.compile_texts else 0
    if not settings.compile_trusted_documents and texts == 0:
        return None
    return CompiledAnswers(
        schema._schema,
        _limits(settings),
        schema.limit_rules,  # the executor's own rule objects: one cached validation
        record=settings.metrics_enabled,
        text_entries=texts,
    )


def _response_cache(
    settings: Settings, database: Database, broadcast: HubBroadcast
) -> ResponseCache:
    """The process's response cache; every write committed through `database` is applied to
    it and announced to the other processes (even with the cache off: theirs may be on)."""
    cache = ResponseCache(
        settings.response_cache_max_bytes,
        settings.response_cache_ttl_seconds,
        settings.response_cache_missing_seconds,
        settings.response_cache_poll_seconds,
    )
    cache.announce(broadcast)
    database.write_listeners.append(cache.committed)
    return cache


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    broadcast: HubBroadcast | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """The application. A `db` or `broadcast` passed in is the caller's to open and close;
    otherwise the lifespan opens and closes its own. Traced by `tracer_provider`, else by
    the one the `OTEL_*` variables configure, if any (app/tracing.py)."""
    settings = settings or Settings()
    check_url(settings.broadcast_url)
    database = db or create_database(
        settings.database_url,
        statement_timeout_ms=settings.statement_timeout_ms,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    hub_broadcast = broadcast or create_broadcast(
        settings.broadcast_url, namespace=settings.broadcast_namespace
    )
    provider = tracer_provider or provider_from_environment()
    tracer = provider.get_tracer("hub") if provider is not None else None
    outermost = _observe(settings, database, provider, tracer)
    schema = make_schema(_limits(settings), measured_by=outermost)
    search_cache = SearchCache[Answer](settings.search_cache_entries)
    compiled = _compiled_answers(settings, schema)
    documents = Documents(
        database.sessions,
        trusted_only=settings.trusted_documents_only,
        apq_entries=settings.persisted_query_entries,
        trusted_entries=settings.trusted_document_entries,
        built_in=CONSOLE_DOCUMENTS,
        compiler=(
            compiled.compile
            if compiled is not None and settings.compile_trusted_documents
            else None
        ),
    )
    websocket = GraphQLWebSocket(
        schema, settings, database, hub_broadcast, documents, search_cache, tracer
    )
    response_cache = _response_cache(settings, database, hub_broadcast)
    console = Console(settings.console_assets_dir, schema.as_str)

    async def livez(_: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readyz(_: Request) -> Response:
        checks = {"database": "ok", "broker": "ok"}
        try:
            await database.ping()
        except Exception:
            logger.exception("readiness: database unreachable")
            checks["database"] = "unavailable"
        try:
            await ping_broker(settings.broadcast_url)
        except BrokerUnavailable:
            logger.exception("readiness: broker unreachable")
            checks["broker"] = "unavailable"
        ready = all(v == "ok" for v in checks.values())
        status = "ready" if ready else "unavailable"
        # memory:// works, but for this process alone: say so, as a shared broker is expected.
        scope = "process-local" if settings.broker_is_process_local else "shared"
        return JSONResponse(
            {"status": status, **checks, "brokerScope": scope}, status_code=200 if ready else 503
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        _settle_garbage_collector()
        await asyncio.to_thread(dummy_hash)  # before the first sign-in, off the event loop
        if broadcast is None:
            await hub_broadcast.connect()
        await response_cache.ready(database.sessions)  # follows the broker's announcements
        # webinars: the reminder job runs inside the process for as long as it serves
        background: list[asyncio.Task[None]] = []
        if settings.live_repair_interval_seconds > 0:
            heads = HeadWatcher(
                database.sessions, hub_broadcast, settings.live_repair_interval_seconds
            )
            app.state.head_watcher = heads
            background.append(asyncio.create_task(heads.run(), name="live repair"))
        delivery: tuple[DeliveryWorker, asyncio.Task[None]] | None = None
        if settings.delivery_poll_seconds > 0:
            deliveries = DeliveryWorker.from_settings(
                database, settings, EventPublisher(hub_broadcast)
            )
            app.state.delivery_worker = deliveries
            delivery = deliveries, asyncio.create_task(deliveries.run(), name="delivery")
        reminders = None
        if settings.webinar_reminder_interval_seconds > 0:
            job = ReminderJob(database, hub_broadcast, settings.webinar_reminder_interval_seconds)
            app.state.reminder_job = job
            reminders = asyncio.create_task(job.run(), name="webinar-reminders")
        try:
            yield
        finally:
            websocket.drain.finished()
            await front.close()
            await response_cache.close()
            await websocket.live_groups.close()
            if delivery is not None:
                worker, task = delivery
                await worker.finish(task)  # its round ends, then QUIT on the kept connections
            for task in background:
                await stop_task(task)
            if reminders is not None:
                reminders.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reminders
            if broadcast is None:
                await hub_broadcast.disconnect()
            if db is None:
                await database.dispose()
            if provider is not None and tracer_provider is None:
                provider.shutdown()  # exports what is left

    responses = CachedResponses(
        response_cache,
        database,
        settings.response_cache_max_age_seconds,
        settings.response_cache_stale_seconds,
        settings.metrics_enabled,
    )
    raw_requests = RawRequests()
    front = CompiledFront(settings, compiled, documents, responses, raw_requests)
    app = Starlette(
        routes=[
            Route(
                "/graphql",
                GraphQLHTTP(
                    schema,
                    settings,
                    database,
                    hub_broadcast,
                    console,
                    documents,
                    search_cache,
                    responses,
                    raw_requests,
                    compiled,
                ),
            ),
            WebSocketRoute("/graphql", websocket),
            Route("/livez", livez, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route(
                "/metrics",
                MetricsEndpoint(
                    database.engine,
                    settings.metrics_token.get_secret_value() if settings.metrics_token else None,
                    settings.metrics_allowed_addresses,
                ).respond,
                methods=["GET"],
            ),
            *calendar_routes(settings, database),
            *unsubscribe_routes(settings, database),
            *console.routes(),
        ],
        middleware=[
            *([Middleware(traced_asgi, provider=provider)] if provider is not None else []),
            # repeated anonymous reads answered from the response cache before the rest
            Middleware(
                CachedHits,
                responses=responses,
                raw_requests=raw_requests,
                max_body_bytes=settings.max_body_bytes,
            ),
            # compiled trusted documents answered by one statement per root field (PostgreSQL)
            Middleware(CompiledFrontMiddleware, front=front),
            Middleware(RequestIdMiddleware),
            Middleware(RequestLogMiddleware),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "X-Request-ID",
                    WRITE_VERSION_HEADER,
                    "If-None-Match",
                ],
                expose_headers=["X-Request-ID", WRITE_VERSION_HEADER, "ETag"],
                max_age=600,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.broadcast = hub_broadcast
    app.state.live_groups = websocket.live_groups
    app.state.search_cache = search_cache
    app.state.response_cache = response_cache
    app.state.raw_requests = raw_requests
    app.state.compiled = compiled
    app.state.compiled_front = front
    return app
