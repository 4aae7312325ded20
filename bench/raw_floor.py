"""The raw floors: a page of the benchmarks answered by a bare ASGI app, an asyncpg pool and
one hand-written statement per request (`raw_sql.py`), byte for byte as the hub answers it.

No framework, no ORM, no GraphQL: the app reads the POST body, takes the variables it needs
(the thread's ID, the objective), hashes the bearer token if there is one, runs the page's
one statement (which builds the JSON in PostgreSQL, the token lookup included) and writes the
text, escaped to ASCII as the hub's `json.dumps` writes it. It does not parse the query: it
answers its page's query whatever is sent. This is the cheapest a server can give that
answer on this stack; the SQLAlchemy floors (`floor.py`, `thread_floor.py`,
`resources_floor.py`) remain as a middle row.

    python bench/raw_floor.py --page members|thread|resources --port N

Settings from the environment as the hub reads them (`HUB_DATABASE_URL`, `HUB_SECRET_KEY`,
statement timeout, pool size); run by `members_page.py`, `thread_page.py`, `resources_page.py`.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import uvicorn
from raw_sql import (
    members_statement,
    resources_statement,
    thread_common_statement,
    thread_statement,
)

from app.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
PAGES = ("members", "thread", "thread-common", "resources")
MEDIA_TYPE = b"application/graphql-response+json"
NOT_ASCII = re.compile(r"[^\x20-\x7e]")  # what json.dumps(ensure_ascii=True) escapes in strings


class BadRequest(Exception):
    """The request lacks what the page's statement needs."""


def ascii_json(text: str) -> bytes:
    """PostgreSQL's JSON text as `json.dumps` writes it: characters outside printable ASCII
    (all inside strings: control characters are escaped by `to_json` already) as \\uXXXX."""
    if not NOT_ASCII.search(text):
        return text.encode("ascii")
    return NOT_ASCII.sub(_escape, text).encode("ascii")


def _escape(match: re.Match[str]) -> str:
    return json.dumps(match.group())[1:-1]


def thread_key(global_thread_id: object) -> int:
    """The integer key of a `Thread` global ID."""
    if isinstance(global_thread_id, str):
        try:
            raw = base64.urlsafe_b64decode(global_thread_id.encode("ascii")).decode()
        except (ValueError, UnicodeError, binascii.Error):
            raw = ""
        type_name, _, key = raw.partition(":")
        if type_name == "Thread" and key.isascii() and key.isdigit():
            return int(key)
    raise BadRequest("variables.id must be a Thread ID")


def page_arguments(page: str, variables: object) -> list[object]:
    """The statement's parameters before the token's digest."""
    if page == "members":
        return []
    if not isinstance(variables, dict):
        raise BadRequest("variables are required")
    if page.startswith("thread"):
        return [thread_key(variables.get("id"))]
    objective = variables.get("objective")
    if not isinstance(objective, int):
        raise BadRequest("variables.objective must be an integer")
    return [objective]


STATEMENTS: dict[str, Callable[[bool], str]] = {
    "members": members_statement,
    "thread": thread_statement,
    "thread-common": thread_common_statement,
    "resources": resources_statement,
}


@dataclass
class RawFloor:
    """The ASGI app of one page."""

    page: str
    dsn: str
    secret_key: bytes
    server_settings: dict[str, str]
    pool_size: int
    pool: asyncpg.Pool | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        elif scope["type"] == "http":
            await self.http(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.open()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def open(self) -> None:
        """The pool (at start-up; tests call it themselves, httpx runs no lifespan)."""
        self.pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.pool_size, server_settings=self.server_settings
        )

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
            self.pool = None

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/livez":
            await respond(send, 200, b'{"status":"alive"}', b"application/json")
            return
        if scope["path"] != "/graphql" or scope["method"] != "POST":
            await respond(send, 404, b'{"errors":[{"message":"not found"}]}')
            return
        body = await read_body(receive)
        try:
            arguments = page_arguments(self.page, json.loads(body).get("variables"))
        except (BadRequest, ValueError, AttributeError) as e:
            await respond(send, 400, json.dumps({"errors": [{"message": str(e)}]}).encode())
            return
        token = bearer_token(scope)
        if token is not None:
            arguments.append(hmac.new(self.secret_key, token, hashlib.sha256).hexdigest())
        answer = await self.answer(token is not None, arguments)
        if answer is None:
            await respond(send, 401, b'{"errors":[{"message":"unauthenticated"}]}')
            return
        await respond(send, 200, ascii_json(answer))

    async def answer(self, signed_in: bool, arguments: list[object]) -> str | None:
        assert self.pool is not None, "the pool opens at start-up"
        text: str | None = await self.pool.fetchval(STATEMENTS[self.page](signed_in), *arguments)
        return text


def bearer_token(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bytes(value).partition(b" ")[2].strip()
    return None


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def respond(send: Send, status: int, payload: bytes, media_type: bytes = MEDIA_TYPE) -> None:
    headers = [(b"content-type", media_type), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def create_app(page: str, settings: Settings) -> RawFloor:
    """The page's app, on the hub's database with the hub's timeout and pool size."""
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    return RawFloor(
        page=page,
        dsn=dsn,
        secret_key=settings.secret_key.get_secret_value().encode(),
        server_settings={"statement_timeout": str(settings.statement_timeout_ms)},
        pool_size=settings.database_pool_size,
    )


def main() -> None:
    """`python bench/raw_floor.py --page P --port N`: uvicorn as `hub serve --workers 1`."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--page", choices=PAGES, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.page, Settings()),
        host="127.0.0.1",
        port=args.port,
        workers=1,
        proxy_headers=True,
        log_level="info",
    )


if __name__ == "__main__":
    main()
