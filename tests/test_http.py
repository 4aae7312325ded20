"""GraphQL over HTTP: methods, media types, status codes, error codes, masking, origins, health."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from models.db import Database
from tests.conftest import Factory, api_client, gql, make_settings, without_cost

if TYPE_CHECKING:  # a class named Test* imported at runtime would be collected
    from tests.conftest import TestMember

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
ALLOWED_ORIGIN = "https://hub.example.org"
MAX_BODY_BYTES = 100_000

OBJECTIVE = "query($n: Int!) { gcmObjective(number: $n) { number } }"
RENAME = 'mutation { updateProfile(input: {name: "Renamed"}) { errors { code } } }'


# --- helpers -------------------------------------------------------------------------------------


async def post_json(
    client: httpx.AsyncClient, body: Any, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST any JSON value (not only a well-formed GraphQL request)."""
    return await client.post("/graphql", json=body, headers=headers)


async def send_without_accept(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    """POST with no `Accept` header at all (httpx adds `Accept: */*` unless removed)."""
    request = client.build_request("POST", "/graphql", json=body)
    del request.headers["accept"]
    return await client.send(request)


def media_type(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0].strip()


def error_codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


def assert_request_error(response: httpx.Response, status: int, code: str) -> None:
    """A request error: the status, one coded error, and no `data` key (nothing ran)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert "data" not in body
    assert error_codes(response) == [code]


async def viewer_name(client: httpx.AsyncClient, member: TestMember) -> str:
    body = await gql(client, "{ viewer { name } }", member=member)
    name: str = body["data"]["viewer"]["name"]
    return name


def unreachable_database_url(database_url: str, tmp_path: Path) -> str:
    """A database of the same kind that cannot be opened: a SQLite file in a directory that
    does not exist, or a PostgreSQL database that was never created."""
    if database_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'hub.db'}"
    return database_url.rsplit("/", 1)[0] + "/hub_no_such_database"


@asynccontextmanager
async def client_for(
    settings: Settings, db: Database | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for an app built from `settings`; disposes the engine the app created."""
    app = create_app(settings, db)
    try:
        async with api_client(app) as client:
            yield client
    finally:
        if db is None:
            await app.state.db.dispose()


# --- 1. methods and request bodies ---------------------------------------------------------------


async def test_a_query_over_get_returns_data(client):
    # when
    response = await client.get(
        "/graphql", params={"query": OBJECTIVE, "variables": json.dumps({"n": 7})}
    )
    # then
    assert response.status_code == 200, response.text
    assert without_cost(response.json()) == {"data": {"gcmObjective": {"number": 7}}}


async def test_mutation_over_get_is_405_with_allow_post(client, factory: Factory):
    # given
    member = await factory.member(name="Original")
    # when
    response = await client.get("/graphql", params={"query": RENAME}, headers=member.headers)
    # then: refused, and nothing was changed
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert error_codes(response) == ["METHOD_NOT_ALLOWED"]
    assert await viewer_name(client, member) == "Original"


async def test_the_same_mutation_over_post_runs(client, factory: Factory):
    member = await factory.member(name="Original")
    body = await gql(client, RENAME, member=member)
    assert body["data"]["updateProfile"]["errors"] == []
    assert await viewer_name(client, member) == "Renamed"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
async def test_other_methods_are_405_with_allow_get_and_post(client, method: str):
    response = await client.request(method, "/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert error_codes(response) == ["METHOD_NOT_ALLOWED"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/graphql",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ],
)
async def test_post_with_a_non_json_content_type_is_415(client, content_type: str | None):
    # given: a well-formed JSON body, labelled as something else (or not labelled)
    request = client.build_request(
        "POST", "/graphql", content=json.dumps({"query": "{ __typename }"}).encode()
    )
    if content_type is None:
        request.headers.pop("content-type", None)
    else:
        request.headers["content-type"] = content_type
    # when
    response = await client.send(request)
    # then
    assert_request_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


async def test_json_with_a_charset_parameter_is_accepted(client):
    response = await client.post(
        "/graphql",
        content=json.dumps({"query": "{ __typename }"}).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


def padded_request(size: int) -> bytes:
    """A valid request of exactly `size` bytes (an unused variable carries the padding)."""
    empty = json.dumps({"query": "{ __typename }", "variables": {"pad": ""}}).encode()
    body = json.dumps({"query": "{ __typename }", "variables": {"pad": "x" * (size - len(empty))}})
    assert len(body.encode()) == size
    return body.encode()


async def test_a_body_of_exactly_100_kb_is_accepted(client):
    response = await client.post(
        "/graphql",
        content=padded_request(MAX_BODY_BYTES),
        headers={"Content-Type": APPLICATION_JSON},
    )
    assert response.status_code == 200, response.text


async def test_a_body_over_100_kb_is_413(client):
    response = await client.post(
        "/graphql",
        content=padded_request(MAX_BODY_BYTES + 1),
        headers={"Content-Type": APPLICATION_JSON},
    )
    assert_request_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_a_streamed_body_over_100_kb_without_content_length_is_413(client):
    # given: a chunked upload that never declares its length
    async def chunks() -> AsyncIterator[bytes]:
        body = padded_request(MAX_BODY_BYTES * 3)
        for start in range(0, len(body), 8_192):
            yield body[start : start + 8_192]

    request = client.build_request(
        "POST", "/graphql", content=chunks(), headers={"Content-Type": APPLICATION_JSON}
    )
    assert "content-length" not in request.headers
    # when
    response = await client.send(request)
    # then
    assert_request_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_malformed_json_is_400(client):
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ __typename }"',
        headers={"Content-Type": APPLICATION_JSON},
    )
    assert_request_error(response, 400, "BAD_REQUEST")


async def test_a_json_array_batch_is_400(client):
    response = await post_json(client, [{"query": "{ __typename }"}, {"query": "{ __typename }"}])
    assert_request_error(response, 400, "BAD_REQUEST")
    assert "Batching" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    "body", [b'"{ __typename }"', b"42", b"null"], ids=["string", "number", "null"]
)
async def test_a_json_body_that_is_not_an_object_is_400(client, body: bytes):
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": APPLICATION_JSON}
    )
    assert_request_error(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize(
    "body",
    [{}, {"query": ""}, {"query": "   "}, {"query": None}, {"query": 1}, {"variables": {}}],
    ids=["missing", "empty", "blank", "null", "number", "variables-only"],
)
async def test_a_missing_or_empty_query_is_400(client, body: dict[str, Any]):
    assert_request_error(await post_json(client, body), 400, "BAD_REQUEST")


async def test_a_get_without_query_is_400(client):
    assert_request_error(await client.get("/graphql"), 400, "BAD_REQUEST")


@pytest.mark.parametrize("variables", [[1], "n=7", 7, True], ids=["list", "string", "int", "bool"])
async def test_variables_that_are_not_an_object_are_400(client, variables: Any):
    response = await post_json(client, {"query": OBJECTIVE, "variables": variables})
    assert_request_error(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("variables", ["[7]", '"n"', "{not json"], ids=["list", "string", "junk"])
async def test_get_variables_that_are_not_a_json_object_are_400(client, variables: str):
    response = await client.get("/graphql", params={"query": OBJECTIVE, "variables": variables})
    assert_request_error(response, 400, "BAD_REQUEST")


async def test_null_variables_mean_none(client):
    response = await post_json(client, {"query": "{ __typename }", "variables": None})
    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


# --- 2. media types --------------------------------------------------------------------------------

# Requests GraphQL refuses before executing anything: (query, variables, extensions.code).
REQUEST_ERRORS = {
    "parse": ("{ gcmObjectives { number }", None, "GRAPHQL_PARSE_FAILED"),
    "validation": ("{ noSuchField }", None, "GRAPHQL_VALIDATION_FAILED"),
    "invalid-variable": (OBJECTIVE, {"n": "seven"}, "GRAPHQL_VALIDATION_FAILED"),
    "missing-variable": (OBJECTIVE, {}, "GRAPHQL_VALIDATION_FAILED"),
}


@pytest.mark.parametrize("case", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_without_accept_request_errors_are_200_application_json_without_data(
    client, case: tuple[str, dict[str, Any] | None, str]
):
    """The spec's legacy rule: a request without Accept is answered as `application/json`."""
    # given
    query, variables, code = case
    # when
    response = await send_without_accept(client, {"query": query, "variables": variables})
    # then
    assert media_type(response) == APPLICATION_JSON
    assert_request_error(response, 200, code)


@pytest.mark.parametrize(
    "accept",
    [
        GRAPHQL_RESPONSE_JSON,
        "application/*",
        f"{GRAPHQL_RESPONSE_JSON}, {APPLICATION_JSON};q=0.9",
        f"{APPLICATION_JSON};q=0.5, {GRAPHQL_RESPONSE_JSON}",
    ],
)
@pytest.mark.parametrize("case", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_graphql_response_json_request_errors_are_400_without_data(
    client, accept: str, case: tuple[str, dict[str, Any] | None, str]
):
    query, variables, code = case
    response = await post_json(
        client, {"query": query, "variables": variables}, headers={"Accept": accept}
    )
    assert media_type(response) == GRAPHQL_RESPONSE_JSON
    assert_request_error(response, 400, code)


@pytest.mark.parametrize(
    # `*/*` alone: the spec's legacy rule
    "accept",
    [APPLICATION_JSON, f"{GRAPHQL_RESPONSE_JSON};q=0.1, {APPLICATION_JSON}", "*/*"],
)
@pytest.mark.parametrize("case", REQUEST_ERRORS.values(), ids=REQUEST_ERRORS.keys())
async def test_application_json_request_errors_are_200_without_data(
    client, accept: str, case: tuple[str, dict[str, Any] | None, str]
):
    query, variables, code = case
    response = await post_json(
        client, {"query": query, "variables": variables}, headers={"Accept": accept}
    )
    assert media_type(response) == APPLICATION_JSON
    assert_request_error(response, 200, code)


@pytest.mark.parametrize("accept", [None, GRAPHQL_RESPONSE_JSON, APPLICATION_JSON])
async def test_a_successful_query_answers_in_the_negotiated_media_type(client, accept: str | None):
    body = {"query": "{ __typename }"}
    if accept is None:
        response = await send_without_accept(client, body)
    else:
        response = await post_json(client, body, headers={"Accept": accept})
    assert response.status_code == 200
    assert media_type(response) == (accept or APPLICATION_JSON)
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("accept", ["text/plain", "text/html", "application/xml, text/*"])
async def test_an_unacceptable_media_type_is_406(client, accept: str):
    response = await post_json(client, {"query": "{ __typename }"}, headers={"Accept": accept})
    assert response.status_code == 406
    assert error_codes(response) == ["NOT_ACCEPTABLE"]


@pytest.mark.parametrize("accept", [GRAPHQL_RESPONSE_JSON, APPLICATION_JSON])
async def test_field_errors_stay_200_with_data(client, accept: str):
    # given: a well-formed request whose field fails while executing
    query = "{ members(first: 101) { totalCount } }"
    # when
    response = await post_json(client, {"query": query}, headers={"Accept": accept})
    # then: executed, so 200 and a `data` entry (null: the failed root field is non-null)
    assert response.status_code == 200
    body = response.json()
    assert "data" in body
    assert body["data"] is None
    assert error_codes(response) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["path"] == ["members"]


# --- 3. error codes and masking --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ members(", None, "GRAPHQL_PARSE_FAILED"),
        ("{ members { noSuchField } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ members(first: 101) { totalCount } }", None, "BAD_USER_INPUT"),
        ("{ members(last: -1) { totalCount } }", None, "BAD_USER_INPUT"),
        ('{ members(first: 5, after: "not-a-cursor") { totalCount } }', None, "BAD_USER_INPUT"),
        ("{ members(first: 5, last: 5) { totalCount } }", None, "BAD_USER_INPUT"),
        ("{ gcmObjective(number: 1.5) { number } }", None, "GRAPHQL_VALIDATION_FAILED"),
        (OBJECTIVE, {"n": 1.5}, "GRAPHQL_VALIDATION_FAILED"),
    ],
    ids=[
        "parse",
        "validation",
        "first-101",
        "last-negative",
        "bad-cursor",
        "first-and-last",
        "literal-type",
        "variable-type",
    ],
)
async def test_every_top_level_error_has_a_code(
    client, query: str, variables: dict[str, Any] | None, code: str
):
    response = await post_json(client, {"query": query, "variables": variables})
    errors = response.json()["errors"]
    assert errors
    assert [error["extensions"]["code"] for error in errors] == [code] * len(errors)


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "not-a-scheme"],
    ids=["unknown-token", "empty-token", "basic", "no-scheme"],
)
async def test_a_bad_token_is_401_unauthenticated(client, authorization: str):
    response = await post_json(
        client, {"query": "{ viewer { id } }"}, headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "data" not in response.json()
    assert error_codes(response) == ["UNAUTHENTICATED"]


async def test_a_valid_token_signs_the_request_in(client, factory: Factory):
    member = await factory.member()
    body = await gql(client, "{ viewer { id } }", member=member)
    assert without_cost(body) == {"data": {"viewer": {"id": member.global_id}}}


LEAKS = (
    "traceback",
    'file "',
    ".py",
    "sqlalchemy",
    "sqlite",
    "asyncpg",
    "operationalerror",
    "invalidcatalogname",
    "select ",
    "no-such-dir",
    "hub_no_such_database",
    "unable to open",
    "does not exist",
)


async def test_internal_errors_are_masked_in_production(database_url, tmp_path: Path):
    # given: production, with a database that cannot be opened
    settings = make_settings(
        unreachable_database_url(database_url, tmp_path),
        env="production",
        allowed_origins=[ALLOWED_ORIGIN],
    )
    async with client_for(settings) as client:
        # when: a query has to read it
        response = await post_json(client, {"query": "{ members(first: 1) { totalCount } }"})
    # then: a coded, masked error and nothing about why
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": response.headers["x-request-id"],
    }
    assert error["path"] == ["members"]
    text = response.text.lower()
    assert [leak for leak in LEAKS if leak in text] == []
    assert str(tmp_path).lower() not in text


async def test_internal_errors_show_their_message_in_development(database_url, tmp_path: Path):
    settings = make_settings(unreachable_database_url(database_url, tmp_path), env="development")
    async with client_for(settings) as client:
        response = await post_json(client, {"query": "{ members(first: 1) { totalCount } }"})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["message"] != "Internal server error."


async def test_client_errors_are_not_masked_in_production(database_url, db):
    # given
    settings = make_settings(database_url, env="production")
    async with client_for(settings, db) as client:
        # when
        bad_page = await post_json(client, {"query": "{ members(first: 101) { totalCount } }"})
        bad_variable = await post_json(client, {"query": OBJECTIVE, "variables": {"n": "seven"}})
    # then: written for the client, so shown as they are
    assert "between 0 and 100" in bad_page.json()["errors"][0]["message"]
    assert error_codes(bad_page) == ["BAD_USER_INPUT"]
    assert "seven" in bad_variable.json()["errors"][0]["message"]
    assert error_codes(bad_variable) == ["GRAPHQL_VALIDATION_FAILED"]


# --- 5. origins ------------------------------------------------------------------------------------


async def test_a_browser_post_from_another_origin_is_403_and_changes_nothing(
    client, factory: Factory
):
    # given
    member = await factory.member(name="Original")
    # when
    response = await client.post(
        "/graphql",
        json={"query": RENAME},
        headers={**member.headers, "Origin": "https://evil.example"},
    )
    # then
    assert response.status_code == 403
    assert error_codes(response) == ["FORBIDDEN_ORIGIN"]
    assert "access-control-allow-origin" not in response.headers
    assert await viewer_name(client, member) == "Original"


@pytest.mark.parametrize(
    "origin", ["null", "https://hub.example.org.evil.example", "http://hub.example.org"]
)
async def test_lookalike_origins_are_403(client, origin: str):
    response = await post_json(client, {"query": "{ __typename }"}, headers={"Origin": origin})
    assert response.status_code == 403


async def test_a_browser_post_from_an_allowed_origin_works_with_cors_headers(client):
    response = await post_json(
        client, {"query": "{ __typename }"}, headers={"Origin": ALLOWED_ORIGIN}
    )
    assert response.status_code == 200
    assert without_cost(response.json()) == {"data": {"__typename": "Query"}}
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_a_post_without_origin_works(client):
    response = await post_json(client, {"query": "{ __typename }"})
    assert "origin" not in response.request.headers
    assert response.status_code == 200


async def test_a_same_origin_post_works(client):
    response = await post_json(
        client, {"query": "{ __typename }"}, headers={"Origin": "http://testserver"}
    )
    assert response.status_code == 200


# --- 7. health -------------------------------------------------------------------------------------


async def test_livez_is_200_even_when_nothing_is_reachable(database_url, tmp_path: Path):
    settings = make_settings(
        unreachable_database_url(database_url, tmp_path), broadcast_url="redis://127.0.0.1:1"
    )
    async with client_for(settings) as client:
        response = await client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


async def test_readyz_is_200_when_database_and_broker_answer(client, settings):
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    scope = "process-local" if settings.broadcast_url.startswith("memory") else "shared"
    assert response.json() == {
        "status": "ready",
        "database": "ok",
        "broker": "ok",
        "brokerScope": scope,
    }


async def test_readyz_says_when_the_broker_reaches_this_process_only(database_url, db):
    async with client_for(make_settings(database_url, broadcast_url="memory://"), db) as client:
        response = await client.get("/readyz")
    assert response.json()["brokerScope"] == "process-local"


async def test_readyz_is_503_when_the_broker_is_unreachable(database_url, db):
    # given: nothing listens on port 1
    settings = make_settings(database_url, broadcast_url="redis://127.0.0.1:1")
    async with client_for(settings, db) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "broker": "unavailable",
        "brokerScope": "shared",
    }


async def test_readyz_is_503_when_the_database_is_unreachable(database_url, tmp_path: Path):
    settings = make_settings(unreachable_database_url(database_url, tmp_path))
    async with client_for(settings) as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert {k: body[k] for k in ("status", "database", "broker")} == {
        "status": "unavailable",
        "database": "unavailable",
        "broker": "ok",
    }
