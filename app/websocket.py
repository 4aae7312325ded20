"""GraphQL over WebSocket (graphql-transport-ws only), handled by strawberry's view."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from datetime import timedelta
from typing import Any

from broadcaster import Broadcast
from broadcaster._base import Unsubscribed
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from opentelemetry.trace import Tracer
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema.schema import StreamResult
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.execution import ExecutionResult

from app.auth import (
    DATABASE_UNAVAILABLE,
    AuthenticationFailed,
    ServiceUnavailable,
    token_from_connection_params,
    viewer_for,
)
from app.documents import DocumentRefused, Documents
from app.http import loads_text
from app.logs import log_socket_operation
from app.push import push_config
from app.settings import Settings
from app.socket_closes import CloseWatch, Shutdown
from app.ws_frames import FrameWriter, frame_writer, text_frame
from models.db import Database
from models.event import StoredEvent
from resolvers.auth import SESSIONS_REVOKED
from resolvers.languages import languages_from_connection_params
from resolvers.search import Answer
from resolvers.search_cache import SearchCache
from schema import HubSchema
from schema.context import Context
from schema.encoding import json_text
from schema.extensions import public_error
from schema.live import LIVE_SINK, Ending, LiveGroups, LiveMember, LiveSink, Payload
from subscriptions import metrics
from subscriptions.broadcast import GAP
from subscriptions.events import member_stream
from subscriptions.tasks import stop_task

logger = logging.getLogger("hub.websocket")


def _is_disconnect(error: BaseException | None) -> bool:
    """Whether `error` is, or was caused by, the socket's peer being gone."""
    while error is not None:
        if isinstance(error, (WebSocketDisconnected, WebSocketDisconnect, ConnectionError)):
            return True
        error = error.__cause__ or error.__context__
    return False


def _start_failed_on_database(operation: Operation[Context, None], result: object) -> bool:
    """Whether `result`, the first of `operation`, says only that its subscription could
    not start because the database is unavailable."""
    if not isinstance(result, ExecutionResult) or result.data is not None or not result.errors:
        return False
    if not all(isinstance(e.original_error, DATABASE_UNAVAILABLE) for e in result.errors):
        return False
    # Parsed again only on this rare path; a query's or mutation's errors stay a `next`.
    definition = get_operation_ast(parse(operation.query), operation.operation_name)
    return definition is not None and definition.operation is OperationType.SUBSCRIPTION


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _object_or_none(value: object) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _next_frame(prefix: bytes, payload: bytes) -> bytes:
    """A live subscription's `next` frame: its prefix (`{"id":…,"payload":`), the payload."""
    return text_frame(prefix, payload, b"}")


async def _prepend(first: Any, rest: StreamResult) -> StreamResult:
    """`first`, taken from `rest` to look at it, then the rest."""
    yield first
    async for result in rest:
        yield result


class TransportHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's graphql-transport-ws handler, and the socket of live groups: subscriptions
    handed off to a group (schema/live.py) have their frames written straight to the socket's
    transport when the server lends a `FrameWriter` (app/ws_frames.py) and nothing is waiting;
    otherwise queued here and sent in order through ASGI by one short-lived writer task."""

    view: GraphQLWebSocket

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._live: dict[str, LiveMember] = {}  # handed-off subscriptions by operation id
        # Frames and endings to write, in order; allocated only while there are some.
        self._outbox: deque[tuple[LiveMember, int, str | Ending]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._resume: dict[str, int] = {}  # operations restarted after falling behind
        self._running: set[str] = set()  # operations logged as started, not yet as ended
        self._frames: FrameWriter | None = frame_writer(self.websocket.ws.scope)  # type: ignore[attr-defined]

    async def handle(self) -> None:
        metrics.WEBSOCKETS.inc()
        try:
            await super().handle()
        finally:
            metrics.WEBSOCKETS.dec()

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """strawberry's, but a database that cannot say who the token signs in closes the
        socket with 1013 (Try Again Later) and a reason, instead of an internal error."""
        try:
            await super().handle_connection_init(message)
        except ServiceUnavailable as e:
            await self.websocket.close(code=1013, reason=str(e))

    async def handle_task_exception(self, error: Exception) -> None:
        """A peer going away while an operation answers is normal: one line at debug, not
        strawberry's traceback; anything else keeps its traceback."""
        if _is_disconnect(error):
            logger.debug("websocket: the client left while an operation answered (%r)", error)
            return
        await super().handle_task_exception(error)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """strawberry's, for the document the payload names (app/documents.py): its text, a
        `documentId` or Apollo's `extensions.persistedQuery`. A refused one (unknown id, not a
        trusted document when only those run) gets the protocol's `error` message, with the
        code HTTP answers with."""
        payload = message.get("payload")
        if (
            self.connection_acknowledged
            and isinstance(payload, dict)
            and message.get("id") not in self.operations
        ):
            try:
                document = await self.view.documents.resolve(
                    _text_or_none(payload.get("query")),
                    _text_or_none(payload.get("documentId")),
                    _object_or_none(payload.get("extensions")),
                    self.context.viewer,
                )
            except DocumentRefused as e:
                error = GraphQLError(str(e), extensions={"code": e.code})
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
            payload["query"] = document.query
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        if operation.id not in self._running:  # not when it resumes after falling behind
            self._running.add(operation.id)
            self._log_operation("started", operation.id, None)
        await self._run_operation(operation)
        if operation.id not in self._live and operation.id not in self._resume:
            self._log_operation("ended", operation.id, "complete")

    def _log_operation(self, event: str, operation_id: str, ending: str | None) -> None:
        if event == "ended":
            if operation_id not in self._running:
                return
            self._running.discard(operation_id)
        operation = self.operations.get(operation_id)
        name = operation.operation_name if operation is not None else None
        viewer_id = self.context.viewer.member_id if isinstance(self.context, Context) else None
        log_socket_operation(event, operation_id, name, viewer_id, ending)

    async def _run_operation(self, operation: Operation[Context, None]) -> None:
        # Set inside the operation's own task: seen only by this operation's resolvers.
        LIVE_SINK.set(
            LiveSink(
                operation_id=operation.id,
                variables=operation.variables,
                socket=self,
                groups=self.view.live_groups,
                hand_off=self._hand_off,
                resume_seq=self._resume.pop(operation.id, None),
            )
        )
        await super().run_operation(operation)

    async def _send_result_stream(
        self,
        operation: Operation[Context, None],
        result_source: StreamResult,
    ) -> None:
        """strawberry's, but a subscription that cannot start because the database is down
        gets the protocol's `error` message (SERVICE_UNAVAILABLE), and nothing after it,
        instead of a `next` with an internal error."""
        first = await anext(result_source, None)
        if first is None:
            return
        if _start_failed_on_database(operation, first):
            error = GraphQLError(
                ServiceUnavailable.message, extensions={"code": "SERVICE_UNAVAILABLE"}
            )
            await operation.send_initial_errors([error])
            return
        await super()._send_result_stream(operation, _prepend(first, result_source))

    def _hand_off(self, member: LiveMember) -> None:
        operation = self.operations.get(member.operation_id)
        if operation is None:  # completed by the client meanwhile
            self.view.live_groups.end(member, Ending.CLOSED)
            return
        operation.completed = True  # strawberry must not complete it: the group carries on
        self._live[member.operation_id] = member

    # LiveSocket

    def deliver(self, member: LiveMember, seq: int, payload: Payload | None) -> None:
        member.seq = seq
        if payload is None:
            if member.pending == 0:
                member.sent_seq = seq
            return
        frames = self._frames
        if (
            frames is not None
            and self._outbox is None  # nothing queued nor being written: it stays in order
            and frames.write(payload.frame(member.prefix_data, _next_frame))
        ):
            member.sent_seq = seq
            return
        if member.pending >= self.view.settings.ws_live_outbox_limit:
            metrics.SLOW_READERS.inc()
            self.view.live_groups.end(member, Ending.BEHIND)
            return
        member.pending += 1
        self._queue((member, seq, payload.text))

    def end(self, member: LiveMember, ending: Ending) -> None:
        self._queue((member, member.seq, ending))

    def _queue(self, item: tuple[LiveMember, int, str | Ending]) -> None:
        if self._outbox is None:
            self._outbox = deque()
        self._outbox.append(item)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="live frames")

    async def _write(self) -> None:
        try:
            while self._outbox:
                member, seq, item = self._outbox.popleft()
                if isinstance(item, Ending):
                    await self._finish(member, item)
                    continue
                member.pending -= 1
                if member.ending in (Ending.BEHIND, Ending.CLOSED):
                    continue  # it replays from `sent_seq`, or nobody listens any more
                await self._send_text(member.prefix + item + "}")
                member.sent_seq = seq if member.pending else max(seq, member.seq)
        except (WebSocketDisconnected, RuntimeError, OSError):
            pass  # the socket is gone; its handler shuts down
        self._outbox = None

    async def _finish(self, member: LiveMember, ending: Ending) -> None:
        if self._live.get(member.operation_id) is member:
            del self._live[member.operation_id]
        operation = self.operations.get(member.operation_id)
        if operation is None or ending is Ending.CLOSED:
            return
        if ending is not Ending.BEHIND:
            self._log_operation("ended", operation.id, ending.name.lower())
        if ending is Ending.BEHIND:
            # Replay from the last event written, at the reader's pace, then join again.
            operation.completed = False
            self._resume[operation.id] = member.sent_seq
            operation.task = asyncio.create_task(self.run_operation(operation))
            operation.task.add_done_callback(self._task_done)
            return
        del self.operations[operation.id]
        if ending is Ending.RESYNC:
            payload = await member.execute(member.resync())
            await self._send_text(member.prefix + payload + "}")
        if ending is Ending.FAILED:
            error = GraphQLError("Live delivery failed.", original_error=RuntimeError(ending))
            masked = public_error(error, expose_internal=False).formatted
            frame: dict[str, object] = {"id": operation.id, "type": "error", "payload": [masked]}
        else:
            frame = {"id": operation.id, "type": "complete"}
        await self._send_text(json_text(frame))

    async def cleanup_operation(self, operation_id: str) -> None:
        self._log_operation("ended", operation_id, "closed")
        member = self._live.pop(operation_id, None)
        if member is not None:
            self.view.live_groups.end(member, Ending.CLOSED)
        self._resume.pop(operation_id, None)
        await super().cleanup_operation(operation_id)

    async def shutdown(self) -> None:
        await super().shutdown()
        if self._writer is not None:
            await stop_task(self._writer)
        self._outbox = None

    async def _send_text(self, text: str) -> None:
        try:
            await self.websocket.ws.send_text(text)  # type: ignore[attr-defined]
        except WebSocketDisconnect as e:
            raise WebSocketDisconnected from e


class GraphQLWebSocket(GraphQL[Context, None]):
    """Authenticates once, on `connection_init`; each operation then gets its own context copy."""

    graphql_transport_ws_handler_class = TransportHandler

    def __init__(
        self,
        schema: HubSchema,
        settings: Settings,
        db: Database,
        broadcast: Broadcast,
        documents: Documents,
        search_cache: SearchCache[Answer] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(
                seconds=settings.ws_connection_init_timeout_seconds
            ),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings
        self.db = db
        self.broadcast = broadcast
        self.documents = documents
        self.search_cache = search_cache
        self.auth = settings.auth_config()
        # Sockets between handshake and `connection_init`, by id of their context.
        self._awaiting_init: dict[int, WebSocket] = {}
        # The task that ends a signed-in socket when its session ends, by id of its scope.
        self._session_watchers: dict[int, asyncio.Task[None]] = {}
        # Subscriptions following the same stream, delivered together.
        self.live_groups = LiveGroups(tracer)
        self.drain = Shutdown()  # uvicorn's 1012s, seen by app/socket_closes.py

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        watch = CloseWatch(receive, send, self.drain)
        try:
            await super().__call__(scope, watch.receive, watch.send)
        finally:
            watch.record()
            await self._forget(scope)

    async def _forget(self, scope: Scope) -> None:
        for key, websocket in list(self._awaiting_init.items()):
            if websocket.scope is scope:
                del self._awaiting_init[key]
        watcher = self._session_watchers.pop(id(scope), None)
        if watcher is not None:
            await stop_task(watcher)

    def encode_json(self, data: object) -> str:
        """Frames strawberry writes itself (acks, pongs, non-live results): schema/encoding.py
        (text: strawberry sends bytes as binary frames)."""
        return json_text(data)

    def decode_json(self, data: str | bytes) -> object:
        """Socket messages are held to the rules of HTTP bodies (no lone surrogates, bounded
        nesting); strawberry closes the socket on a message that breaks them (4400)."""
        try:
            return loads_text(data)
        except ValueError as e:
            raise json.JSONDecodeError(str(e), str(data)[:100], 0) from e

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        context = Context(
            db=self.db,
            auth=self.auth,
            development=self.settings.is_development,
            broadcast=self.broadcast,
            client_address=request.client.host if request.client else "unknown",
            review_rule=self.settings.review_rule(),
            webhook_rules=self.settings.webhook_rules(),
            push=push_config(self.settings),
            search_cache=self.search_cache,
        )
        if isinstance(request, WebSocket):
            self._awaiting_init[id(context)] = request
        return context

    async def on_ws_connect(self, context: Context) -> None:
        websocket = self._awaiting_init.pop(id(context), None)
        try:
            token = token_from_connection_params(context.connection_params)
            context.viewer = await viewer_for(self.db, self.auth, token)
            context.requested_languages = languages_from_connection_params(
                context.connection_params
            )
            await context.languages()  # decided once for the socket's operations
        except AuthenticationFailed as e:
            raise ConnectionRejectionError({"message": str(e)}) from e
        if websocket is not None and token is not None and context.viewer.member_id is not None:
            watcher = asyncio.create_task(
                self._end_with_session(websocket, context.viewer.member_id, token),
                name=f"session watcher of member {context.viewer.member_id}",
            )
            self._session_watchers[id(websocket.scope)] = watcher

    async def _end_with_session(self, websocket: WebSocket, member_id: int, token: str) -> None:
        """Close the socket once its token no longer signs anybody in: logout, password change
        and role change revoke tokens and announce it on the member's stream (a gap too may
        hide such an announcement, so both lead to a check of the token)."""
        async with self.broadcast.subscribe(member_stream(member_id)) as subscriber:
            while True:
                try:
                    message = (await subscriber.get()).message
                except Unsubscribed:
                    return
                if message != GAP and StoredEvent.from_json(message).kind != SESSIONS_REVOKED:
                    continue
                try:
                    await viewer_for(self.db, self.auth, token)
                except AuthenticationFailed:
                    await websocket.close(code=4403, reason="Session ended: sign in again")
                    return
