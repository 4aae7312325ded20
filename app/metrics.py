"""`/metrics` (Prometheus text format, prometheus-client) and what is measured from hooks: each
GraphQL operation (a schema extension), the SQL it ran (SQLAlchemy's cursor events) and the
database pool. The metrics themselves are named in subscriptions/metrics.py.

Never public by default: `/metrics` answers loopback addresses, the addresses listed in
`HUB_METRICS_ALLOWED_ADDRESSES`, and anyone sending `Authorization: Bearer $HUB_METRICS_TOKEN`;
everyone else gets 404."""

from __future__ import annotations

import hmac
import os
import re
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import multiprocess as prometheus_multiprocess
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from app.logs import OPERATION
from resolvers.policy import Viewer
from subscriptions import metrics

LOOPBACK = ("127.0.0.1", "::1")
OPERATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
MAX_OPERATION_NAMES = 200  # distinct names kept as labels per process; the rest are "other"


@dataclass
class _Work:
    statements: int = 0
    seconds: float = 0.0


# The SQL of the operation being executed; child tasks (DataLoader batches) share the object.
_WORK: ContextVar[_Work | None] = ContextVar("sql_work", default=None)


def measure_sql(engine: AsyncEngine) -> None:
    """Count each statement, and its time, against the operation that ran it."""
    sync_engine = engine.sync_engine

    def before(conn: Any, _cursor: Any, _statement: str, *_: Any) -> None:
        # One statement at a time per connection; a failed one is overwritten by the next.
        conn.info["hub_started"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, _statement: str, *_: Any) -> None:
        started = conn.info.pop("hub_started", None)
        work = _WORK.get()
        if started is not None and work is not None:
            work.statements += 1
            work.seconds += time.perf_counter() - started

    if not sqlalchemy_event.contains(sync_engine, "before_cursor_execute", before):
        sqlalchemy_event.listen(sync_engine, "before_cursor_execute", before)
        sqlalchemy_event.listen(sync_engine, "after_cursor_execute", after)


_names: set[str] = set()


def operation_label(name: str | None) -> str:
    """The client's operation name as a label, bounded: well formed, and at most
    MAX_OPERATION_NAMES distinct ones (anonymous operations are "anonymous")."""
    if not name:
        return "anonymous"
    if not OPERATION_NAME.fullmatch(name):
        return "other"
    if name not in _names:
        if len(_names) >= MAX_OPERATION_NAMES:
            return "other"
        _names.add(name)
    return name


def outcome_of(result: Any, pre_execution_errors: list[GraphQLError] | None) -> str:
    """ok, user_error (a payload's `errors`), request_error (nothing ran) or internal. The
    result is graphql-core's or strawberry's; a subscription's is its stream (set up: ok)."""
    errors = list(getattr(result, "errors", None) or pre_execution_errors or ())
    data = getattr(result, "data", None)
    codes = [(e.extensions or {}).get("code") for e in errors]
    if "INTERNAL_SERVER_ERROR" in codes:
        return "internal"
    if errors and data is None:
        return "request_error"
    if errors or _payload_errors(data):
        return "user_error"
    return "ok"


def _payload_errors(data: Any) -> bool:
    """Whether a mutation's payload (a root field's object) carries `errors`."""
    if not isinstance(data, dict):
        return False
    return any(isinstance(v, dict) and v.get("errors") for v in data.values())


class OperationMetrics(SchemaExtension):
    """Counts and times each GraphQL operation, with the SQL it ran, and tells the request's log
    line what ran. `record=False` (HUB_METRICS_ENABLED=0) leaves Prometheus out: the log line
    alone, as the baseline of bench/observability.py."""

    def __init__(self, *, record: bool = True) -> None:
        self.record = record

    def on_operation(self) -> Iterator[None]:
        work = _Work()
        token = _WORK.set(work)
        started = time.perf_counter()
        try:
            yield
        finally:
            _WORK.reset(token)
            self._record(time.perf_counter() - started, work)

    def _record(self, seconds: float, work: _Work) -> None:
        ctx = self.execution_context
        try:
            kind = ctx.operation_type.value
        except RuntimeError:  # no document: it did not parse
            kind = "unknown"
        document_id = getattr(ctx.context, "document_id", None)
        if document_id is not None:
            name = document_id  # a trusted document: the registry bounds the labels
        else:
            name = operation_label(ctx.operation_name if ctx.graphql_document else None)
        outcome = outcome_of(ctx.result, ctx.pre_execution_errors)
        _describe_request(ctx.context, name, kind, outcome, work.statements)
        if not self.record:
            return
        metrics.OPERATIONS.labels(name, kind, outcome).inc()
        metrics.OPERATION_SECONDS.labels(kind).observe(seconds)
        metrics.STATEMENTS.observe(work.statements)
        metrics.SQL_SECONDS.observe(work.seconds)
        database = getattr(ctx.context, "db", None)
        if database is not None:
            record_pool(database.engine)


def _describe_request(context: Any, name: str, kind: str, outcome: str, statements: int) -> None:
    """Tell the request's log line (app/logs.py) what ran, as the metrics name it."""
    described = OPERATION.get()
    if described is None:
        return
    viewer = getattr(context, "viewer", None)
    described.operation_name = name
    described.operation_type = kind
    described.outcome = outcome
    described.statements = statements
    described.viewer_id = viewer.logged_id() if isinstance(viewer, Viewer) else None


def record_cached_answer(context: Any, operation_name: str | None, record: bool) -> None:
    """A query answered from the response cache (app/cached_responses.py) is an operation
    answered `ok` like any other, with no statement: counted and described alike (its time is
    the request's, in the log line)."""
    name = operation_label(operation_name)
    _describe_request(context, name, "query", "ok", 0)
    if record:
        metrics.OPERATIONS.labels(name, "query", "ok").inc()


def record_compiled_answer(
    context: Any, document_id: str | None, statements: int, record: bool
) -> None:
    """A trusted document answered by its compiled plan (app/compiled.py): counted and
    described as the executor's answer would be, with its statements, and marked compiled."""
    name = document_id or operation_label(None)
    _describe_request(context, name, "query", "ok", statements)
    described = OPERATION.get()
    if described is not None:
        described.compiled = True
    if record:
        metrics.OPERATIONS.labels(name, "query", "ok").inc()
        metrics.STATEMENTS.observe(statements)


def record_pool(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out) and callable(size):
        metrics.POOL_CONNECTIONS.labels("in_use").set(checked_out())
        metrics.POOL_CONNECTIONS.labels("size").set(size())
    waiting = getattr(pool, "waiting", None)  # models/db.py's CountingPool, on PostgreSQL
    if isinstance(waiting, int):
        metrics.POOL_CONNECTIONS.labels("waiting").set(waiting)


def _registry() -> CollectorRegistry | None:
    """With several workers, a registry summing what every worker wrote to the shared
    directory; alone, prometheus-client's default registry (None)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


class MetricsEndpoint:
    def __init__(self, engine: AsyncEngine, token: str | None, allowed: list[str]) -> None:
        self.engine = engine
        self.token = token
        self.allowed = {*LOOPBACK, *allowed}

    def _may_read(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if self.token and hmac.compare_digest(header.encode(), f"Bearer {self.token}".encode()):
            return True
        return request.client is not None and request.client.host in self.allowed

    async def respond(self, request: Request) -> Response:
        if not self._may_read(request):
            return Response("Not found.", status_code=404, media_type="text/plain")
        record_pool(self.engine)
        registry = _registry()
        body = generate_latest(registry) if registry is not None else generate_latest()
        return Response(body, media_type=CONTENT_TYPE_LATEST)
