"""Bearer tokens to viewers, once per request (HTTP) or per connection (WebSocket)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import HTTPConnection

from models.db import Database
from resolvers.auth import AuthConfig, viewer_for_token
from resolvers.policy import ANONYMOUS, Viewer


class AuthenticationFailed(Exception):
    """A token was sent but signs nobody in (unknown, expired, revoked or malformed)."""


class ServiceUnavailable(Exception):
    """The database could not be asked who a token signs in: nothing is wrong with the
    request, retry shortly."""

    retry_after_seconds = 5
    message = "The database is unavailable: retry shortly."


# What a database that is down, refusing connections or restarting raises through SQLAlchemy.
DATABASE_UNAVAILABLE = (SQLAlchemyError, OSError, TimeoutError)


def bearer_token(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Send `Authorization: Bearer <token>`.")
    return token.strip()


async def viewer_for(db: Database, config: AuthConfig, token: str | None) -> Viewer:
    if token is None:
        return ANONYMOUS
    try:
        viewer = await viewer_for_token(db.sessions, config, token)
    except DATABASE_UNAVAILABLE as e:
        raise ServiceUnavailable(ServiceUnavailable.message) from e
    if viewer is None:
        raise AuthenticationFailed("The token is invalid, expired or revoked: sign in again.")
    return viewer


async def viewer_from_request(request: HTTPConnection, db: Database, config: AuthConfig) -> Viewer:
    return await viewer_for(db, config, bearer_token(request.headers.get("authorization")))


def token_from_connection_params(params: Mapping[str, Any] | None) -> str | None:
    """graphql-transport-ws `connection_init` payload: `{"authorization": "Bearer <token>"}`
    (as Apollo and urql send it) or `{"token": "<token>"}`."""
    if not params:
        return None
    header = params.get("authorization") or params.get("Authorization")
    if isinstance(header, str):
        return bearer_token(header)
    token = params.get("token")
    if token is None:
        return None
    if not isinstance(token, str) or not token:
        raise AuthenticationFailed("`token` must be a string.")
    return token
