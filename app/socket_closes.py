"""How each WebSocket connection ended, and how long a graceful shutdown took to end them.

uvicorn ends a shutting-down server's sockets itself: it sends each client close 1012 (Service
Restart) and hands the application a `websocket.disconnect` with that code, then waits for the
connections to finish before the application's lifespan stops. So the ASGI messages are where
both are seen: the code of each ending (the client's, in `websocket.disconnect`; ours, in
`websocket.close`), and the time from the first 1012 to the lifespan's shutdown."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.types import Message, Receive, Send

from subscriptions import metrics

logger = logging.getLogger("hub.websocket")

SERVICE_RESTART = 1012
REASONS = {
    1000: "normal",
    1001: "going_away",
    1005: "no_status",
    1006: "abnormal",
    1011: "internal",
    SERVICE_RESTART: "service_restart",
    1013: "try_again",
    4400: "bad_request",
    4401: "unauthorized",
    4403: "forbidden",
    4408: "init_timeout",
    4409: "subscriber_exists",
    4429: "too_many_init",
}


def reason_of(code: int | None) -> str:
    """A bounded label for a close code (no code at all: the connection was lost)."""
    if code is None:
        return "abnormal"
    return REASONS.get(code, "other")


class Shutdown:
    """The process's graceful shutdown, as its sockets see it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.began: float | None = None  # the first 1012 handed to the application
        self.sockets = 0  # sockets ended by it

    def socket_restarted(self) -> None:
        if self.began is None:
            self.began = self._clock()
        self.sockets += 1

    def finished(self) -> None:
        """The application stops: every connection has ended (uvicorn waited for them)."""
        if self.began is None:
            return
        drained = self._clock() - self.began
        metrics.SHUTDOWN_SECONDS.observe(drained)
        logger.info(
            "shutdown: %d socket(s) closed with 1012 (Service Restart), drained in %.3f s",
            self.sockets,
            drained,
        )


class CloseWatch:
    """Wraps one socket's `receive` and `send` to learn the code it ended with."""

    def __init__(self, receive: Receive, send: Send, shutdown: Shutdown) -> None:
        self._receive = receive
        self._send = send
        self._shutdown = shutdown
        self.code: int | None = None
        self.accepted = False
        self.ended = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "websocket.disconnect" and not self.ended:
            self._end(message.get("code", 1005))
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "websocket.accept":
            self.accepted = True
        elif message["type"] == "websocket.close" and not self.ended:
            self._end(message.get("code", 1000))
        await self._send(message)

    def _end(self, code: int | None) -> None:
        self.ended, self.code = True, code
        if code == SERVICE_RESTART:
            self._shutdown.socket_restarted()

    def record(self) -> None:
        """Once the connection's handler returned: count how it ended."""
        reason = reason_of(self.code) if self.accepted else "rejected"
        metrics.WEBSOCKET_CLOSES.labels(reason).inc()
