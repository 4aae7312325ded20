"""The floor: the members page of the benchmark without GraphQL.

A hand-written Starlette app that answers `POST /graphql` with exactly the JSON the hub returns
for `bench.members_page.QUERY`, running the same SQL through the same engine settings
(`models.db.create_database`): the keyset page `ORDER BY name, id LIMIT 51`, then one `IN`
query for the organisations of the page (what the DataLoader sends). Whatever the hub spends
beyond this is the cost of the GraphQL layer.

Run by `members_page.py` as `python bench/floor.py --port N`, served like `hub serve`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from sqlalchemy import Row, Select, select, true
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.settings import Settings
from models.auth import AuthToken
from models.base import utcnow
from models.db import Database, create_database
from models.member import Member
from models.organization import Organization

PAGE_SIZE = 50
MEDIA_TYPE = "application/graphql-response+json"
AnyRow = Row[*tuple[Any, ...]]
AnySelect = Select[*tuple[Any, ...]]
# The same columns, in the same order, as resolvers.members.MEMBER_COLUMNS and
# resolvers.organizations.ORGANIZATION_COLUMNS: the same SQL text, the same rows.
MEMBER_COLUMNS = (
    Member.id,
    Member.name,
    Member.name_key,
    Member.email,
    Member.organization_id,
    Member.country,
    Member.bio,
    Member.is_expert,
    Member.role,
    Member.created_at,
    Member.updated_at,
)
ORGANIZATION_COLUMNS = (
    Organization.id,
    Organization.name,
    Organization.kind,
    Organization.country,
    Organization.created_at,
)


def global_id(type_name: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{key}".encode()).decode()


def cursor_for(listing: str, *values: str | int) -> str:
    """`resolvers.pagination.encode_cursor`: the listing's name and the row's sort key."""
    raw = json.dumps([listing, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor(name_key: bytes, key: int) -> str:
    """The directory's order is the names' collation keys (models/collation.py), hex in cursors."""
    return cursor_for("members", name_key.hex(), key)


def page_statement(signed_in: bool) -> AnySelect:
    """`resolvers.policy.visible_members`: everyone signed in, opted-in experts otherwise."""
    visible = true() if signed_in else Member.is_expert.is_(True)
    statement = select(*MEMBER_COLUMNS).where(visible)
    return statement.order_by(Member.name_key.asc(), Member.id.asc()).limit(PAGE_SIZE + 1)


def token_statement(secret_key: bytes, token: str) -> AnySelect:
    """The lookup of `resolvers.auth.viewer_for_token`, for signed-in runs."""
    digest = hmac.new(secret_key, token.encode(), hashlib.sha256).hexdigest()
    return (
        select(AuthToken.id, Member.id, Member.role, Member.organization_id)
        .join(Member, Member.id == AuthToken.member_id)
        .where(
            AuthToken.token_hash == digest,
            AuthToken.revoked_at.is_(None),
            AuthToken.expires_at > utcnow(),
        )
    )


def organization_json(row: AnyRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": global_id("Organization", row.id), "name": row.name, "kind": row.kind.value}


def edge_json(row: AnyRow, organizations: dict[int, AnyRow]) -> dict[str, Any]:
    organization = None
    if row.organization_id is not None:
        organization = organization_json(organizations.get(row.organization_id))
    node = {
        "id": global_id("Member", row.id),
        "name": row.name,
        "country": {"code": row.country} if row.country else None,
        "isExpert": row.is_expert,
        "organization": organization,
    }
    return {"cursor": cursor(row.name_key, row.id), "node": node}


def page_json(rows: Sequence[AnyRow], organizations: dict[int, AnyRow]) -> dict[str, Any]:
    page = rows[:PAGE_SIZE]
    edges = [edge_json(row, organizations) for row in page]
    return {
        "data": {
            "members": {
                "edges": edges,
                "pageInfo": {
                    "hasNextPage": len(rows) > PAGE_SIZE,
                    "endCursor": edges[-1]["cursor"] if edges else None,
                },
            }
        },
        # What the hub reports for this query (schema/cost.py): 1 + 50 x 12 + 3.
        "extensions": {"cost": {"requested": 604, "maximum": 10_000}},
    }


class Floor:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.secret_key = settings.secret_key.get_secret_value().encode()
        self.db = db

    async def signed_in(self, request: Request) -> bool:
        header = request.headers.get("authorization")
        if header is None:
            return False
        token = header.partition(" ")[2].strip()
        async with self.db.engine.connect() as connection:
            row = (await connection.execute(token_statement(self.secret_key, token))).first()
        if row is None:
            raise PermissionError("invalid token")
        return True

    async def organizations(self, rows: Sequence[AnyRow]) -> dict[int, AnyRow]:
        ids = list(dict.fromkeys(r.organization_id for r in rows if r.organization_id is not None))
        if not ids:
            return {}
        statement = select(*ORGANIZATION_COLUMNS).where(Organization.id.in_(ids))
        async with self.db.engine.connect() as connection:
            return {row.id: row for row in (await connection.execute(statement)).all()}

    async def members_page(self, request: Request) -> Response:
        body = json.loads(await request.body())
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return JSONResponse({"errors": [{"message": "bad request"}]}, status_code=400)
        try:
            signed_in = await self.signed_in(request)
        except PermissionError:
            return JSONResponse({"errors": [{"message": "unauthenticated"}]}, status_code=401)
        async with self.db.engine.connect() as connection:
            rows = (await connection.execute(page_statement(signed_in))).all()
        organizations = await self.organizations(rows[:PAGE_SIZE])
        payload = json.dumps(page_json(rows, organizations), separators=(",", ":")).encode()
        return Response(payload, media_type=MEDIA_TYPE)


async def livez(_: Request) -> Response:
    return JSONResponse({"status": "alive"})


Endpoint = Callable[[Request], Awaitable[Response]]
Endpoints = Callable[[Settings, Database], Endpoint]


def floor_app(endpoint_for: Endpoints) -> Starlette:
    """A Starlette app answering `POST /graphql` with `endpoint_for(settings, db)`, with the
    hub's engine settings, middleware and /livez: only the GraphQL layer differs."""
    settings = Settings()
    db = create_database(settings.database_url, statement_timeout_ms=settings.statement_timeout_ms)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await db.dispose()

    return Starlette(
        routes=[
            Route("/graphql", endpoint_for(settings, db), methods=["POST"]),
            Route("/livez", livez, methods=["GET"]),
        ],
        # The hub's middleware stack, so that only the GraphQL layer differs.
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                max_age=600,
            )
        ],
        lifespan=lifespan,
    )


def create_app() -> Starlette:
    return floor_app(lambda settings, db: Floor(settings, db).members_page)


def serve(factory: str, description: str | None) -> None:
    """`python bench/<floor>.py --port N`: uvicorn with the options of `hub serve --workers 1`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        factory,
        factory=True,
        host="127.0.0.1",
        port=args.port,
        workers=1,
        proxy_headers=True,
        log_level="info",
    )


if __name__ == "__main__":
    serve("floor:create_app", __doc__.splitlines()[0] if __doc__ else None)
