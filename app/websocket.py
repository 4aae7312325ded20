"""GraphQL over WebSocket (graphql-transport-ws only), handled by strawberry's view."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from broadcaster import Broadcast
from broadcaster._base import Unsubscribed
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from app.auth import AuthenticationFailed, token_from_connection_params, viewer_for
from app.http import loads_text
from app.settings import Settings
from models.db import Database
from models.event import StoredEvent
from resolvers.auth import SESSIONS_REVOKED
from schema import HubSchema
from schema.context import Context
from schema.live import LIVE_SINK, LiveGroups, LiveSink
from subscriptions.broadcast import GAP
from subscriptions.events import member_stream
from subscriptions.tasks import stop_task


class TransportHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """strawberry's graphql-transport-ws handler; each operation may write its own `next`
    frames (a subscription in a live group: schema/live.py)."""

    view: GraphQLWebSocket

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        # Set inside the operation's own task: seen only by this operation's resolvers.
        LIVE_SINK.set(
            LiveSink(
                operation_id=operation.id,
                variables=operation.variables,
                send_text=self._send_text,
                groups=self.view.live_groups,
            )
        )
        await super().run_operation(operation)

    async def _send_text(self, text: str) -> None:
        try:
            await self.websocket.ws.send_text(text)  # type: ignore[attr-defined]
        except WebSocketDisconnect as e:
            raise WebSocketDisconnected from e


class GraphQLWebSocket(GraphQL[Context, None]):
    """Authenticates once, on `connection_init`; each operation then gets its own context copy."""

    graphql_transport_ws_handler_class = TransportHandler

    def __init__(
        self, schema: HubSchema, settings: Settings, db: Database, broadcast: Broadcast
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
        self.auth = settings.auth_config()
        # Sockets between handshake and `connection_init`, by id of their context.
        self._awaiting_init: dict[int, WebSocket] = {}
        # The task that ends a signed-in socket when its session ends, by id of its scope.
        self._session_watchers: dict[int, asyncio.Task[None]] = {}
        # Subscriptions following the same stream, delivered together.
        self.live_groups = LiveGroups()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if scope["type"] == "websocket":
                await self._forget(scope)

    async def _forget(self, scope: Scope) -> None:
        for key, websocket in list(self._awaiting_init.items()):
            if websocket.scope is scope:
                del self._awaiting_init[key]
        watcher = self._session_watchers.pop(id(scope), None)
        if watcher is not None:
            await stop_task(watcher)

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
        )
        if isinstance(request, WebSocket):
            self._awaiting_init[id(context)] = request
        return context

    async def on_ws_connect(self, context: Context) -> None:
        websocket = self._awaiting_init.pop(id(context), None)
        try:
            token = token_from_connection_params(context.connection_params)
            context.viewer = await viewer_for(self.db, self.auth, token)
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
