"""The id of the request being served, for its log lines and its masked errors: set by the
app's middleware (app/request_id.py), read here and by the log handlers' filter."""

from __future__ import annotations

import logging
from contextvars import ContextVar

from opentelemetry import trace

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return REQUEST_ID.get()


def current_trace_id() -> str | None:
    """The W3C trace id of the current span (32 hex digits), if tracing is on."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None


class RequestIdFilter(logging.Filter):
    """Gives every record `request_id` ('-' outside a request), for the log format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True
