"""Limits on by default: depth, tokens, aliases, no suggestions, introspection by policy (the
console page itself: tests/test_console.py), and a production configuration that refuses unsafe
defaults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from graphql import Lexer, Source, TokenKind, get_introspection_query
from pydantic import ValidationError

from app.main import create_app
from app.settings import DEFAULT_SECRET_KEY, Settings
from models.db import Database, connection_arguments
from models.member import Role
from tests.conftest import Factory, api_client, make_settings, without_cost

PRODUCTION_SECRET = "p" * 40
ALLOWED_ORIGIN = "https://hub.example.org"


# --- helpers -------------------------------------------------------------------------------------


@asynccontextmanager
async def client_for(
    database_url: str, db: Database, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(make_settings(database_url, **overrides), db)
    async with api_client(app) as client:
        yield client


@pytest.fixture
async def production(database_url: str, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(database_url, db, env="production") as client:
        yield client


@pytest.fixture
async def development(database_url: str, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(database_url, db, env="development") as client:
        yield client


async def run(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    body: dict[str, Any] = response.json()
    return response.status_code, body


def messages(body: dict[str, Any]) -> list[str]:
    return [error["message"] for error in body.get("errors", [])]


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def count_tokens(query: str) -> int:
    """Tokens as the parser counts them toward `max_tokens` (punctuators, names, values)."""
    lexer = Lexer(Source(query))
    count = 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


def document_of_depth(depth: int) -> str:
    """Fields nested `depth` levels below the root field (a root field alone is depth 0), as the
    depth limiter counts. The schema has no cycle that deep, so the names are not real fields:
    validation reports them too, and the test looks for the depth error among the others."""
    return "{ " + "f { " * depth + "f" + " }" * depth + " }"


def query_with_tokens(total: int) -> str:
    """A valid directory query of exactly `total` tokens: 16 of structure, the rest list items."""
    items = " ".join(["1"] * (total - 16))
    query = f"{{ members(filter: {{objectives: [{items}]}}) {{ totalCount }} }}"
    assert count_tokens(query) == total
    return query


def aliases(count: int, field: str = "__typename") -> str:
    return " ".join(f"a{index}: {field}" for index in range(count))


# --- depth -----------------------------------------------------------------------------------------

DEPTH_5 = "{ members { edges { node { organization { country { code } } } } } }"
DEPTH_5_THROUGH_FRAGMENTS = """
{ members { edges { node { ...WhereFrom } } } }
fragment WhereFrom on Member { organization { ...Seat } }
fragment Seat on Organization { country { code } }
"""


async def test_depth_10_is_allowed_and_depth_11_is_refused(client):
    # when
    _, at_limit = await run(client, document_of_depth(10))
    status, over_limit = await run(client, document_of_depth(11))
    # then
    assert not any("depth" in message for message in messages(at_limit))
    assert status == 400
    assert "'anonymous' exceeds maximum operation depth of 10" in messages(over_limit)
    assert set(codes(over_limit)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert "data" not in over_limit


@pytest.mark.parametrize("query", [DEPTH_5, DEPTH_5_THROUGH_FRAGMENTS], ids=["inline", "fragments"])
async def test_a_real_query_deeper_than_the_configured_limit_is_refused(
    database_url, db, query: str
):
    # given: the same depth-5 query against limits of 5 and 4
    async with client_for(database_url, db, max_query_depth=5) as client:
        _, within = await run(client, query)
    async with client_for(database_url, db, max_query_depth=4) as client:
        status, beyond = await run(client, query)
    # then
    assert without_cost(within) == {"data": {"members": {"edges": []}}}
    assert status == 400
    assert messages(beyond) == ["'anonymous' exceeds maximum operation depth of 4"]


async def test_deeply_nested_introspection_is_refused_even_where_introspection_is_allowed(
    development,
):
    # given: introspection fields escape the depth limiter, but not graphql's own depth rule
    query = (
        "{ __schema { types { fields { type { fields { type { fields { type { fields { name }"
        " } } } } } } } } }"
    )
    # when
    status, body = await run(development, query)
    # then
    assert status == 400
    assert messages(body) == ["Maximum introspection depth exceeded"]


async def test_the_standard_introspection_query_passes_every_limit(development):
    status, body = await run(development, get_introspection_query(descriptions=True))
    assert status == 200, body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


# --- tokens ----------------------------------------------------------------------------------------


async def test_2000_tokens_are_allowed(client):
    status, body = await run(client, query_with_tokens(2_000))
    assert status == 200, body
    assert without_cost(body) == {"data": {"members": {"totalCount": 0}}}


async def test_more_than_2000_tokens_are_refused_before_parsing_finishes(client):
    status, body = await run(client, query_with_tokens(2_001))
    assert status == 400
    assert codes(body) == ["GRAPHQL_PARSE_FAILED"]
    assert "more than 2000 tokens" in messages(body)[0]
    assert "data" not in body


# --- aliases ---------------------------------------------------------------------------------------


async def test_15_aliases_are_allowed(client):
    status, body = await run(client, f"{{ {aliases(15)} }}")
    assert status == 200
    assert len(body["data"]) == 15


@pytest.mark.parametrize(
    "query",
    [
        f"{{ {aliases(16)} }}",
        f"{{ ...Many }} fragment Many on Query {{ {aliases(16)} }}",
        f"{{ ... on Query {{ {aliases(16)} }} }}",
        # one fragment of 8 aliases, spread in two places, is 16 aliases
        f"{{ members {{ nodes {{ ...Eight }} edges {{ node {{ ...Eight }} }} }} }}"
        f" fragment Eight on Member {{ {aliases(8, 'id')} }}",
    ],
    ids=["inline", "in-a-fragment", "in-an-inline-fragment", "fragment-spread-twice"],
)
async def test_more_than_15_aliases_are_refused_wherever_they_hide(client, query: str):
    status, body = await run(client, query)
    assert status == 400
    assert messages(body) == ["16 aliases found. Allowed: 15"]
    assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"]


# --- no suggestions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "misspelt"),
    [
        ("{ gcmObjectivs { number } }", None, "gcmObjectivs"),
        ("{ members { totalCont } }", None, "totalCont"),
        ("{ members(frist: 1) { totalCount } }", None, "frist"),
        ("{ organizations(kind: GOVERMENT) { totalCount } }", None, "GOVERMENT"),
        ('{ members(filter: {contry: "KE"}) { totalCount } }', None, "contry"),
        ("query($f: MemberFilterInpt) { members(filter: $f) { totalCount } }", None, "Inpt"),
        ('{ node(id: "x") { ... on Membr { id } } }', None, "Membr"),
        (
            "query($k: OrganizationKind) { organizations(kind: $k) { totalCount } }",
            {"k": "GOVERMENT"},
            "GOVERMENT",
        ),
        (
            "query($f: MemberFilterInput) { members(filter: $f) { totalCount } }",
            {"f": {"contry": "KE"}},
            "contry",
        ),
    ],
    ids=[
        "root-field",
        "nested-field",
        "argument",
        "enum-literal",
        "input-field-literal",
        "type",
        "fragment-type",
        "enum-variable",
        "input-field-variable",
    ],
)
async def test_errors_never_suggest_names_from_the_schema(
    client, query: str, variables: dict[str, Any] | None, misspelt: str
):
    # when
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    # then: the error names the mistake, never what the schema has instead
    assert response.status_code == 400
    assert misspelt in response.text
    assert "did you mean" not in response.text.lower()
    assert codes(response.json())[0] in {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}


# --- introspection ---------------------------------------------------------------------------------

INTROSPECTION = {
    "__schema": "{ __schema { queryType { name } } }",
    "__type": '{ __type(name: "Member") { name } }',
    "aliased": "{ s: __schema { queryType { name } } }",
    "in-a-fragment": "{ ...Peek } fragment Peek on Query { __schema { queryType { name } } }",
    "nested": '{ gcmObjectives { number } __type(name: "Query") { fields { name } } }',
    "beside-typename": "{ __typename gcmObjectives { __typename } __schema { types { name } } }",
    "without-spaces": "{__schema{queryType{name}}}",
}


@pytest.mark.parametrize("query", INTROSPECTION.values(), ids=INTROSPECTION.keys())
async def test_introspection_is_allowed_in_development(development, query: str):
    status, body = await run(development, query)
    assert status == 200, body
    assert "errors" not in body


@pytest.mark.parametrize("query", INTROSPECTION.values(), ids=INTROSPECTION.keys())
@pytest.mark.parametrize("role", [None, Role.MEMBER, Role.REVIEWER], ids=lambda r: str(r))
async def test_introspection_is_refused_in_production_to_anonymous_and_plain_members(
    production, factory: Factory, role: Role | None, query: str
):
    # given
    headers = (await factory.member(role=role)).headers if role else None
    # when
    status, body = await run(production, query, headers)
    # then
    assert status == 400
    assert "data" not in body
    assert set(codes(body)) == {"INTROSPECTION_DISABLED"}


@pytest.mark.parametrize("query", INTROSPECTION.values(), ids=INTROSPECTION.keys())
@pytest.mark.parametrize("role", [Role.MODERATOR, Role.ADMIN], ids=lambda r: str(r))
async def test_introspection_is_allowed_in_production_to_moderators_and_admins(
    production, factory: Factory, role: Role, query: str
):
    staff = await factory.member(role=role)
    status, body = await run(production, query, staff.headers)
    assert status == 200, body
    assert "errors" not in body


async def test_typename_is_always_allowed(production):
    status, body = await run(production, "{ __typename gcmObjectives { __typename number } }")
    assert status == 200
    assert body["data"]["__typename"] == "Query"
    assert body["data"]["gcmObjectives"][0] == {"__typename": "GcmObjective", "number": 1}


# --- production settings ---------------------------------------------------------------------------


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (
        "HUB_ENV",
        "HUB_SECRET_KEY",
        "HUB_ALLOWED_ORIGINS",
        "HUB_DATABASE_URL",
        "HUB_BROADCAST_URL",
        "HUB_ALLOW_PROCESS_LOCAL",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


SHARED_SERVICES = {
    "database_url": "postgresql+asyncpg://hub@db.example.org/hub",
    "broadcast_url": "redis://broker.example.org:6379",
}


def production_settings(**values: Any) -> Settings:
    return Settings(_env_file=None, env="production", **SHARED_SERVICES | values)  # type: ignore[call-arg]


@pytest.mark.usefixtures("clean_environment")
def test_production_refuses_services_that_reach_one_process():
    safe = {"secret_key": PRODUCTION_SECRET, "allowed_origins": [ALLOWED_ORIGIN]}
    with pytest.raises(ValidationError) as refused:
        production_settings(database_url="sqlite+aiosqlite:///./hub.db", **safe)
    assert "HUB_DATABASE_URL is SQLite" in str(refused.value)
    assert "HUB_BROADCAST_URL" not in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        production_settings(broadcast_url="memory://", **safe)
    assert "HUB_BROADCAST_URL is memory://" in str(refused.value)
    assert "HUB_ALLOW_PROCESS_LOCAL" in str(refused.value)
    # a trial on one process says so explicitly
    trial = production_settings(
        database_url="sqlite+aiosqlite:///./hub.db",
        broadcast_url="memory://",
        allow_process_local=True,
        **safe,
    )
    assert trial.broker_is_process_local


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize(
    "secret", [None, DEFAULT_SECRET_KEY, "x" * 31], ids=["unset", "default", "short"]
)
def test_production_refuses_the_default_or_a_short_secret(secret: str | None):
    values: dict[str, Any] = {"allowed_origins": [ALLOWED_ORIGIN]}
    if secret is not None:
        values["secret_key"] = secret
    with pytest.raises(ValidationError, match="HUB_SECRET_KEY") as refused:
        production_settings(**values)
    assert "HUB_ALLOWED_ORIGINS" not in str(refused.value)


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("origins", [None, [], ["*"]], ids=["unset", "empty", "wildcard"])
def test_production_refuses_missing_or_wildcard_allowed_origins(origins: list[str] | None):
    values: dict[str, Any] = {"secret_key": PRODUCTION_SECRET}
    if origins is not None:
        values["allowed_origins"] = origins
    with pytest.raises(ValidationError, match="HUB_ALLOWED_ORIGINS") as refused:
        production_settings(**values)
    assert "HUB_SECRET_KEY" not in str(refused.value)


@pytest.mark.usefixtures("clean_environment")
def test_production_with_neither_names_both():
    with pytest.raises(ValidationError) as refused:
        production_settings()
    assert "HUB_SECRET_KEY" in str(refused.value)
    assert "HUB_ALLOWED_ORIGINS" in str(refused.value)


def test_production_starts_with_a_secret_and_origins_from_the_environment(
    clean_environment: pytest.MonkeyPatch,
):
    # given
    clean_environment.setenv("HUB_ENV", "production")
    clean_environment.setenv("HUB_SECRET_KEY", PRODUCTION_SECRET)
    clean_environment.setenv("HUB_ALLOWED_ORIGINS", f"{ALLOWED_ORIGIN}, https://app.example.org")
    clean_environment.setenv("HUB_DATABASE_URL", SHARED_SERVICES["database_url"])
    clean_environment.setenv("HUB_BROADCAST_URL", SHARED_SERVICES["broadcast_url"])
    # when
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    # then
    assert settings.env == "production"
    assert settings.allowed_origins == [ALLOWED_ORIGIN, "https://app.example.org"]
    assert not settings.is_development


@pytest.mark.usefixtures("clean_environment")
def test_development_runs_with_the_defaults():
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.is_development
    assert settings.max_query_depth == 10
    assert settings.max_query_tokens == 2_000
    assert settings.max_aliases == 15
    assert settings.max_body_bytes == 100_000
    assert settings.ws_max_subscriptions == 20
    assert settings.ws_connection_init_timeout_seconds == 10


async def test_the_database_pool_is_sized_by_the_settings(database_url: str) -> None:
    """On PostgreSQL a process holds at most pool + overflow connections, as configured."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no connection pool to size")
    settings = make_settings(database_url, database_pool_size=3, database_max_overflow=1)
    app = create_app(settings)
    try:
        pool = app.state.db.engine.pool
        assert (pool.size(), pool._max_overflow) == (3, 1)
    finally:
        await app.state.db.dispose()


def test_behind_pgbouncer_no_statement_is_cached_and_none_named_twice() -> None:
    """`?pgbouncer=1` (PgBouncer in transaction mode): the flag leaves the URL, asyncpg keeps no
    statement cache, prepared statements get unique names, no startup parameter is sent."""
    url, arguments = connection_arguments(
        "postgresql+asyncpg://hub@db:6432/hub?pgbouncer=1", statement_timeout_ms=5000
    )
    assert url == "postgresql+asyncpg://hub@db:6432/hub"
    assert arguments["statement_cache_size"] == arguments["prepared_statement_cache_size"] == 0
    names = {arguments["prepared_statement_name_func"]() for _ in range(3)}
    assert len(names) == 3
    assert "server_settings" not in arguments
    direct = connection_arguments("postgresql+asyncpg://hub@db/hub", statement_timeout_ms=5000)
    assert direct[1] == {"server_settings": {"jit": "off", "statement_timeout": "5000"}}
