"""Fixtures: a migrated database (SQLite by default, PostgreSQL when HUB_DATABASE_URL says so),
emptied after every test, the ASGI app behind httpx, members with tokens, a statement counter."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import delete, event
from starlette.applications import Starlette

from app import migrate
from app.main import create_app
from app.settings import Settings
from models.auth import AuthToken
from models.db import Database, create_database, metadata
from models.member import Member, MemberExpertise, MemberLanguage, Role
from models.organization import Organization, OrganizationKind
from resolvers.auth import AuthConfig, hash_password, issue_token
from subscriptions.broadcast import HubBroadcast, create_broadcast

pytest_plugins = ["tests.services"]  # fixtures of outside services (a private redis-server)

# Filled by the migrations and kept between tests (the search epoch counts on across them).
REFERENCE_TABLES = {
    "gcm_objective",
    "guiding_principle",
    "reference_translation",
    "search_epoch",
    "write_version",
}
TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"
TEST_MAILDIR = Path(tempfile.gettempdir()) / f"hub-test-mail-{os.getpid()}"


def database_url_for_tests(tmp_dir: Path) -> str:
    return os.environ.get("HUB_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp_dir / 'test.db'}"


def broadcast_url_for_tests() -> str:
    return os.environ.get("HUB_BROADCAST_URL") or "memory://"


@pytest.fixture(autouse=True)
async def _fast_path_pools_close_with_the_test(
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[None]:
    """The compiled fast path (app/compiled_front.py) opens its asyncpg pool on first use and
    the lifespan closes it; tests run no lifespan, and since the fast path answers plain texts
    and works with the response cache on, most hubs a test makes on PostgreSQL open one. Close
    every pool the test opened while its loop runs (left to the collector, each connection
    warns as unclosed in whichever test runs then). asyncpg's own function, watched, unchanged."""
    opened: list[asyncpg.Pool] = []
    create_pool = asyncpg.create_pool

    def watched(*args: Any, **kwargs: Any) -> asyncpg.Pool:
        pool = create_pool(*args, **kwargs)
        opened.append(pool)
        return pool

    monkeypatch.setattr(asyncpg, "create_pool", watched)
    yield
    for pool in opened:
        if not pool.is_closing():
            with contextlib.suppress(asyncpg.InterfaceError, TimeoutError):
                await asyncio.wait_for(pool.close(), 10)


@pytest.fixture(autouse=True)
async def _driver_threads_end_with_the_test() -> AsyncIterator[None]:
    """aiosqlite answers from a thread per connection. After a failed connect (the tests of an
    unreachable database) that thread may still be finishing, and once this test's event loop
    is closed its last answer raises in the thread, failing whichever test runs next. Wait,
    briefly, for the threads this test started, while the loop still runs."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    for thread in set(threading.enumerate()) - before:
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, max(0.0, deadline - time.monotonic()))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated database for the session (migrations themselves are tested apart)."""
    url = database_url_for_tests(tmp_path_factory.mktemp("db"))
    migrate.downgrade(url, "base")
    migrate.upgrade(url)
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "broadcast_url": broadcast_url_for_tests(),
        "secret_key": TEST_SECRET,
        "allowed_origins": ["https://hub.example.org"],
        # The outbox's worker runs where a test starts it (tests/test_outbox.py), never behind
        # another test's back (it would write their mail to the working directory).
        "delivery_poll_seconds": 0,
        # Mail sent without an SMTP server given lands here, never in the working directory.
        "maildir_path": str(TEST_MAILDIR),
        # The response cache reads the write version while the broker is quiet: a statement
        # at any moment, which the tests that count statements would count. Off in tests.
        "response_cache_poll_seconds": 0,
    }
    values.update(overrides)
    if values["env"] == "production":
        # Production behaviour (masking, introspection, origins) is tested on the test's own
        # database and broker, SQLite and memory:// included.
        values.setdefault("allow_process_local", True)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = create_database(database_url)
    yield database
    async with database.sessions.begin() as session:
        for table in reversed(metadata.sorted_tables):
            if table.name not in REFERENCE_TABLES:
                await session.execute(delete(table))
    await database.dispose()


@dataclass
class StatementCounter:
    count: int = 0
    statements: list[str] | None = None

    def reset(self) -> None:
        self.count = 0
        self.statements = []


@pytest.fixture
def statements(db: Database) -> Iterator[StatementCounter]:
    counter = StatementCounter(statements=[])

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        counter.count += 1
        assert counter.statements is not None
        counter.statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    yield counter
    event.remove(db.engine.sync_engine, "before_cursor_execute", count)


@pytest.fixture
async def broadcast(database_url: str) -> AsyncIterator[HubBroadcast]:
    namespace = make_settings(database_url).broadcast_namespace
    hub = create_broadcast(broadcast_url_for_tests(), namespace=namespace)
    await hub.connect()
    yield hub
    await hub.disconnect()


@pytest.fixture
async def app(
    settings: Settings, db: Database, broadcast: HubBroadcast
) -> AsyncIterator[Starlette]:
    application = create_app(settings, db, broadcast)
    # As the lifespan does (httpx's transport runs none): the response cache follows the broker
    # from the start, so its first read of the write version is nobody's request's statement.
    await application.state.response_cache.ready(db.sessions)
    yield application
    # What the lifespan would stop (httpx's transport runs none): the response cache's
    # follower of the broker, before the broker's connection closes.
    await application.state.response_cache.close()


MODERN_ACCEPT = "application/graphql-response+json, application/json;q=0.9"


@asynccontextmanager
async def api_client(
    app: Starlette, address: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling `app` in process (requests from `address` if given)."""
    transport = (
        httpx.ASGITransport(app=app)
        if address is None
        else httpx.ASGITransport(app=app, client=(address, 40000))
    )
    # As GraphQL-over-HTTP clients written for the current spec ask (without it, httpx's
    # `Accept: */*` gets `application/json` by the spec's legacy rule: tests/test_http.py).
    headers = {"Accept": MODERN_ACCEPT}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=headers
    ) as client:
        yield client


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(app) as c:
        yield c


@pytest.fixture(scope="session")
def auth_config() -> AuthConfig:
    return Settings(_env_file=None, secret_key=TEST_SECRET).auth_config()  # type: ignore[call-arg]


_password_hash: str | None = None


async def password_hash() -> str:
    global _password_hash
    if _password_hash is None:
        _password_hash = await hash_password(PASSWORD)
    return _password_hash


@dataclass
class TestMember:
    id: int
    email: str
    token: str
    global_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Factory:
    """Creates rows directly in the database, for the given/when/then of a test."""

    def __init__(self, db: Database, auth: AuthConfig) -> None:
        self.db = db
        self.auth = auth

    async def organization(
        self,
        kind: OrganizationKind = OrganizationKind.CIVIL_SOCIETY,
        name: str | None = None,
        country: str | None = None,
    ) -> int:
        async with self.db.sessions.begin() as session:
            organization = Organization(
                name=name or f"Org {uuid.uuid4().hex[:8]}", kind=kind, country=country
            )
            session.add(organization)
            await session.flush()
            return organization.id

    async def member(
        self,
        *,
        role: Role = Role.MEMBER,
        name: str | None = None,
        email: str | None = None,
        is_expert: bool = False,
        organization_id: int | None = None,
        country: str | None = None,
        languages: tuple[str, ...] = (),
        expertise: tuple[int, ...] = (),
    ) -> TestMember:
        from schema.relay import encode_id

        email = email or f"m-{secrets.token_hex(4)}@example.org"
        async with self.db.sessions.begin() as session:
            member = Member(
                name=name or f"Member {email.split('@')[0]}",
                email=email,
                password_hash=await password_hash(),
                role=role,
                is_expert=is_expert,
                organization_id=organization_id,
                country=country,
            )
            session.add(member)
            await session.flush()
            session.add_all(
                MemberLanguage(member_id=member.id, tag=t, position=i)
                for i, t in enumerate(languages)
            )
            session.add_all(
                MemberExpertise(member_id=member.id, objective_number=n) for n in expertise
            )
            token = await issue_token(session, self.auth, member.id)
            return TestMember(member.id, email, token, encode_id("Member", member.id))

    async def token_count(self, member_id: int) -> int:
        from sqlalchemy import func, select

        async with self.db.sessions() as session:
            statement = select(func.count()).where(
                AuthToken.member_id == member_id, AuthToken.revoked_at.is_(None)
            )
            return int((await session.execute(statement)).scalar_one())


@pytest.fixture
def factory(db: Database, auth_config: AuthConfig) -> Factory:
    return Factory(db, auth_config)


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    member: TestMember | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST one operation; asserts HTTP 200 and returns the JSON body."""
    all_headers = {**(member.headers if member else {}), **(headers or {})}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refusals(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    """A refused mutation's errors as sorted (field, code), once checked that its payload
    carries nothing else."""
    assert all(value is None for key, value in payload.items() if key != "errors"), payload
    return sorted((e["field"], e["code"]) for e in payload["errors"])


def without_cost(body: dict[str, Any]) -> dict[str, Any]:
    """The response without `extensions.cost`, once checked that it is there and well formed
    (every query and mutation result reports it; tests/test_cost.py checks the figures)."""
    rest = dict(body)
    extensions = dict(rest.pop("extensions"))
    cost = extensions.pop("cost")
    assert isinstance(cost["requested"], int), cost
    assert 0 < cost["requested"] <= cost["maximum"], cost
    if extensions:
        rest["extensions"] = extensions
    return rest
