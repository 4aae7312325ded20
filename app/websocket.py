"""GraphQL over WebSocket (graphql-transport-ws only), handled by strawberry's view."""

from __future__ import annotations

from datetime import timedelta

from broadcaster import Broadcast
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app.auth import AuthenticationFailed, token_from_connection_params, viewer_for
from app.settings import Settings
from models.db import Database
from schema import HubSchema
from schema.context import Context


class GraphQLWebSocket(GraphQL[Context, None]):
    """Authenticates once, on `connection_init`; each operation then gets its own context copy."""

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

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            db=self.db,
            auth=self.auth,
            development=self.settings.is_development,
            broadcast=self.broadcast,
            client_address=request.client.host if request.client else "unknown",
        )

    async def on_ws_connect(self, context: Context) -> None:
        try:
            token = token_from_connection_params(context.connection_params)
            context.viewer = await viewer_for(self.db, self.auth, token)
        except AuthenticationFailed as e:
            raise ConnectionRejectionError({"message": str(e)}) from e
