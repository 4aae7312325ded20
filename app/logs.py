"""Structured logs (stdlib logging): one line per HTTP request, per WebSocket connection and per
operation on a socket, each with the request id and the trace id. JSON lines in production,
readable lines elsewhere; uvicorn's access log is replaced by the request line.

What a line may hold is listed here and nowhere else: ids, names, codes, counts, durations.
Never variables, headers, tokens, emails or passwords. The JSON formatter is our own (twenty
lines): the fields are few and fixed, and a library would bring nothing more."""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schema.request_id import REQUEST_ID, current_trace_id

request_logger = logging.getLogger("hub.request")
websocket_logger = logging.getLogger("hub.websocket")


@dataclass
class Operation:
    """What the GraphQL layer learnt of the request's operation (app/metrics.py fills it)."""

    operation_name: str | None = None
    operation_type: str | None = None
    outcome: str | None = None
    statements: int = 0
    viewer_id: int | None = None
    compiled: bool = False  # a trusted document answered by its compiled plan (app/compiled.py)


# The operation of the HTTP request being served, filled in by the operation's extension.
OPERATION: ContextVar[Operation | None] = ContextVar("operation", default=None)


class LogContext(logging.Filter):
    """Gives every record `request_id` and `trace_id` ('-' when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        record.trace_id = current_trace_id() or "-"
        return True


_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request and trace ids, the
    fields a line passed in `extra`, and the traceback of an internal error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = None if value == "-" else value
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


READABLE = "%(asctime)s %(levelname)-7s [%(request_id)s %(trace_id)s] %(name)s: %(message)s"


def log_config(production: bool) -> dict[str, Any]:
    """`logging.config.dictConfig` for the server: our loggers and uvicorn's, one format."""
    formatter: dict[str, Any] = (
        {"()": "app.logs.JsonFormatter"} if production else {"format": READABLE}
    )
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "hub",
        "filters": ["context"],
    }
    quiet: dict[str, Any] = {"handlers": [], "level": "WARNING", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "app.logs.LogContext"}},
        "formatters": {"hub": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "hub": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": quiet,  # the request line replaces it
        },
    }


@dataclass
class _Exchange:
    status: int | None = None
    close_code: int | None = None


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


class RequestLogMiddleware:
    """One line per HTTP request (when it ends) and per WebSocket connection (when it closes).
    Pure ASGI; inside the request id's middleware and the tracing middleware, so both ids are
    known when the line is written."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        exchange = _Exchange()
        operation = Operation()  # a socket's operations are logged one by one instead
        token = OPERATION.set(operation) if scope["type"] == "http" else None
        started = time.perf_counter()

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
            elif message["type"] == "websocket.close":
                exchange.close_code = message.get("code", 1000)
            await send(message)

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] == "websocket.disconnect" and exchange.close_code is None:
                exchange.close_code = message.get("code", 1005)
            return message

        try:
            await self.app(scope, watched_receive, watched_send)
        finally:
            if token is not None:
                OPERATION.reset(token)
            seconds = time.perf_counter() - started
            if scope["type"] == "http":
                log_request(scope, exchange.status or 500, seconds, operation)
            else:
                log_connection(scope, exchange.close_code, seconds)


def log_request(scope: Scope, status: int, seconds: float, operation: Operation) -> None:
    if not request_logger.isEnabledFor(logging.INFO if status < 500 else logging.ERROR):
        return
    fields: dict[str, object] = {
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "client": _client(scope),
    }
    if operation.operation_type:  # its fields, without dataclasses.asdict's deep copy
        fields.update(operation.__dict__)
    words = [f"{scope['method']} {scope['path']} {status}"]
    if operation.operation_type:
        words.append(
            f"{operation.operation_type} {operation.operation_name or 'anonymous'} "
            f"{operation.outcome} statements={operation.statements} "
            f"viewer={operation.viewer_id or '-'}"
            + (" compiled=true" if operation.compiled else "")
        )
    words.append(f"{fields['duration_ms']} ms")
    level = logging.ERROR if status >= 500 else logging.INFO
    request_logger.log(level, " ".join(words), extra=fields)


def log_connection(scope: Scope, close_code: int | None, seconds: float) -> None:
    websocket_logger.info(
        "websocket %s closed %s after %.1f s",
        scope["path"],
        close_code,
        seconds,
        extra={
            "event": "websocket_connection",
            "path": scope["path"],
            "close_code": close_code,
            "duration_ms": round(seconds * 1000, 2),
            "client": _client(scope),
        },
    )


def log_socket_operation(
    event: str, operation_id: str, name: str | None, viewer_id: int | None, ending: str | None
) -> None:
    """A socket's operation (a subscription, or a query sent over the socket) starting or
    ending, and why it ended."""
    words = f"websocket operation {operation_id} ({name or 'anonymous'}) {event}"
    websocket_logger.info(
        words + (f": {ending}" if ending else ""),
        extra={
            "event": f"websocket_operation_{event}",
            "operation_id": operation_id,
            "operation_name": name,
            "viewer_id": viewer_id,
            "ending": ending,
        },
    )
