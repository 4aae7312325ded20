"""Persisted operations over HTTP and WebSocket: Apollo's automatic persisted queries, trusted
documents by `documentId` (POST and GET), HUB_TRUSTED_DOCUMENTS_ONLY with its exemption for
moderators and admins (the console), and GET for queries only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.console.operations import SIGN_IN, SIGN_OUT
from app.main import create_app
from models.db import Database
from models.member import Role
from resolvers.documents import sha256_of
from resolvers.policy import ANONYMOUS, Viewer, may_send_any_document
from subscriptions.broadcast import HubBroadcast
from tests.conftest import PASSWORD, Factory, StatementCounter, api_client, make_settings
from tests.discussions import community, post, thread
from tests.documents import (
    DIRECTORY,
    OBJECTIVE,
    THREAD_EVENTS,
    UPDATE_BIO,
    apollo_manifest,
    codegen_manifest,
    push,
    relay_manifest,
)
from tests.live import connect
from tests.test_metrics import scrape, value

CONSOLE_JS = Path(__file__).parents[1] / "app" / "console" / "static" / "console.js"


def persisted(sha256: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """(status, code, message) of a response holding one error and no data."""
    body = response.json()
    assert "data" not in body, body
    [error] = body["errors"]
    return response.status_code, error["extensions"]["code"], error["message"]


@pytest.fixture
async def trusted_only_app(database_url: str, db: Database, broadcast: HubBroadcast) -> Starlette:
    settings = make_settings(database_url, trusted_documents_only=True)
    return create_app(settings, db, broadcast)


# --- automatic persisted queries -----------------------------------------------------------------


async def test_apq_miss_then_register_then_hit_on_post_and_get(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    # given a text the server has never seen
    sha256 = sha256_of(OBJECTIVE)
    variables = {"number": 6}
    # when the client sends its hash alone
    miss = await client.post(
        "/graphql", json={"variables": variables, "extensions": persisted(sha256)}
    )
    # then Apollo's link is told to send the text (200, whatever the media type)
    assert error_of(miss) == (200, "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
    assert miss.headers["cache-control"] == "no-store"
    # when it sends hash and text, the operation runs and the text is remembered
    register = await client.post(
        "/graphql",
        json={"query": OBJECTIVE, "variables": variables, "extensions": persisted(sha256)},
    )
    assert register.status_code == 200
    assert register.json()["data"]["gcmObjective"]["number"] == 6
    # then the hash alone runs it, on POST and on GET, from this process's memory
    statements.reset()
    hit = await client.post(
        "/graphql", json={"variables": variables, "extensions": persisted(sha256)}
    )
    assert hit.json()["data"] == register.json()["data"]
    assert not [s for s in statements.statements or [] if "trusted_document" in s]
    got = await client.get(
        "/graphql",
        params={"variables": json.dumps(variables), "extensions": json.dumps(persisted(sha256))},
    )
    assert got.status_code == 200, got.text
    assert got.json()["data"] == register.json()["data"]


async def test_apq_hash_that_is_not_the_texts_is_refused(client: httpx.AsyncClient) -> None:
    wrong = sha256_of(OBJECTIVE + " ")
    response = await client.post(
        "/graphql",
        json={"query": OBJECTIVE, "variables": {"number": 1}, "extensions": persisted(wrong)},
    )
    status, code, _ = error_of(response)
    assert (status, code) == (400, "PERSISTED_QUERY_HASH_MISMATCH")
    # and nothing was remembered under the wrong hash
    again = await client.post("/graphql", json={"extensions": persisted(wrong)})
    assert error_of(again)[1] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 2, "sha256Hash": "a" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-a-hash"}},
        {"persistedQuery": "a" * 64},
    ],
)
async def test_malformed_persisted_query_is_a_request_error(
    client: httpx.AsyncClient, extensions: dict[str, Any]
) -> None:
    response = await client.post("/graphql", json={"extensions": extensions})
    assert error_of(response)[:2] == (400, "BAD_REQUEST")


# --- trusted documents ---------------------------------------------------------------------------


async def test_trusted_document_runs_by_document_id_hash_and_prefixed_hash(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    # given a Relay build whose ids are the compiler's own, and a Codegen build
    pushed = await push(database_url, tmp_path, relay_manifest({"relay-objective-1": OBJECTIVE}))
    assert pushed.exit_code == 0, pushed.output
    variables = {"number": 3}
    # when the client names the document in each way the libraries do
    by_id = await client.post(
        "/graphql", json={"documentId": "relay-objective-1", "variables": variables}
    )
    by_prefixed_hash = await client.post(
        "/graphql",
        json={"documentId": f"sha256:{sha256_of(OBJECTIVE)}", "variables": variables},
    )
    by_apollo_hash = await client.post(
        "/graphql", json={"variables": variables, "extensions": persisted(sha256_of(OBJECTIVE))}
    )
    # then each runs the registered text
    for response in (by_id, by_prefixed_hash, by_apollo_hash):
        assert response.status_code == 200, response.text
        assert response.json()["data"]["gcmObjective"]["number"] == 3


async def test_unknown_document_id_is_not_found_and_a_later_push_is_seen_at_once(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    manifest = codegen_manifest(OBJECTIVE)
    [document_id] = manifest
    request = {"documentId": document_id, "variables": {"number": 2}}
    before = await client.post("/graphql", json=request)
    assert error_of(before)[:2] == (404, "PERSISTED_DOCUMENT_NOT_FOUND")
    assert (await push(database_url, tmp_path, manifest)).exit_code == 0
    after = await client.post("/graphql", json=request)
    assert after.json()["data"]["gcmObjective"]["number"] == 2


async def test_get_with_a_document_id_runs_queries_never_mutations(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path, factory: Factory
) -> None:
    # given a build with a query and a mutation
    manifest = apollo_manifest(
        ("Objective", "query", OBJECTIVE), ("UpdateBio", "mutation", UPDATE_BIO)
    )
    assert (await push(database_url, tmp_path, manifest)).exit_code == 0
    member = await factory.member()
    query_id, mutation_id = (o["id"] for o in manifest["operations"])
    # when each is asked for by GET
    query = await client.get(
        "/graphql", params={"documentId": query_id, "variables": json.dumps({"number": 9})}
    )
    mutation = await client.get(
        "/graphql",
        params={"documentId": mutation_id, "variables": json.dumps({"bio": "by GET"})},
        headers=member.headers,
    )
    # then the query answers and the mutation is refused, unchanged
    assert query.status_code == 200, query.text
    assert query.json()["data"]["gcmObjective"]["number"] == 9
    assert error_of(mutation)[:2] == (405, "METHOD_NOT_ALLOWED")
    # while POST runs the mutation
    posted = await client.post(
        "/graphql",
        json={"documentId": mutation_id, "variables": {"bio": "by POST"}},
        headers=member.headers,
    )
    assert posted.json()["data"]["updateProfile"]["member"]["bio"] == "by POST"


async def test_an_id_longer_than_any_registered_one_is_not_looked_up(
    client: httpx.AsyncClient, statements: StatementCounter
) -> None:
    statements.reset()
    response = await client.post("/graphql", json={"documentId": "x" * 201, "variables": {}})
    assert error_of(response)[:2] == (404, "PERSISTED_DOCUMENT_NOT_FOUND")
    assert statements.count == 0


async def test_a_browser_get_naming_a_document_runs_it_instead_of_opening_the_console(
    client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    manifest = codegen_manifest(OBJECTIVE)
    [document_id] = manifest
    assert (await push(database_url, tmp_path, manifest)).exit_code == 0
    response = await client.get(
        "/graphql",
        params={"documentId": document_id, "variables": json.dumps({"number": 5})},
        headers={"Accept": "text/html, application/json;q=0.9"},
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    assert response.json()["data"]["gcmObjective"]["number"] == 5


async def test_document_id_and_query_together_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"documentId": "x", "query": OBJECTIVE, "variables": {"number": 1}}
    )
    assert error_of(response)[:2] == (400, "BAD_REQUEST")


async def test_a_trusted_documents_operations_are_labelled_by_its_id(
    app: Starlette, client: httpx.AsyncClient, database_url: str, tmp_path: Path
) -> None:
    manifest = codegen_manifest(OBJECTIVE)
    [document_id] = manifest
    assert (await push(database_url, tmp_path, manifest)).exit_code == 0
    before = await scrape(app)
    for number in (1, 2):
        await client.post(
            "/graphql", json={"documentId": document_id, "variables": {"number": number}}
        )
    after = await scrape(app)
    labels = {"operation": document_id, "type": "query", "outcome": "ok"}
    ops = "hub_graphql_operations_total"
    assert value(after, ops, **labels) - value(before, ops, **labels) == 2


# --- trusted documents only ----------------------------------------------------------------------


async def test_trusted_only_refuses_other_texts_to_the_public_and_to_members(
    trusted_only_app: Starlette, factory: Factory, database_url: str, tmp_path: Path
) -> None:
    # given a registered query, and a member who is not staff
    assert (await push(database_url, tmp_path, codegen_manifest(OBJECTIVE))).exit_code == 0
    member = await factory.member(role=Role.REVIEWER)
    variables = {"first": 5}
    async with api_client(trusted_only_app) as client:
        for headers in ({}, member.headers):
            # when they send a text that is not registered, or try to register it by APQ
            plain = await client.post(
                "/graphql", json={"query": DIRECTORY, "variables": variables}, headers=headers
            )
            apq = await client.post(
                "/graphql",
                json={
                    "query": DIRECTORY,
                    "variables": variables,
                    "extensions": persisted(sha256_of(DIRECTORY)),
                },
                headers=headers,
            )
            # then both are refused with one code
            assert error_of(plain)[:2] == (403, "TRUSTED_DOCUMENTS_ONLY")
            assert error_of(apq)[:2] == (403, "TRUSTED_DOCUMENTS_ONLY")
            # while the registered text runs, sent whole or by hash
            whole = await client.post(
                "/graphql", json={"query": OBJECTIVE, "variables": {"number": 4}}, headers=headers
            )
            hashed = await client.post(
                "/graphql",
                json={"variables": {"number": 4}, "extensions": persisted(sha256_of(OBJECTIVE))},
                headers=headers,
            )
            assert whole.json()["data"]["gcmObjective"]["number"] == 4
            assert hashed.json()["data"] == whole.json()["data"]
        # and a hash never registered is still APQ's miss (the client retries, and is refused)
        miss = await client.post("/graphql", json={"extensions": persisted(sha256_of(DIRECTORY))})
        assert error_of(miss)[1] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.ADMIN])
async def test_trusted_only_lets_moderators_and_admins_send_any_document(
    trusted_only_app: Starlette, factory: Factory, role: Role
) -> None:
    staff = await factory.member(role=role)
    async with api_client(trusted_only_app) as client:
        response = await client.post(
            "/graphql",
            json={"query": DIRECTORY, "variables": {"first": 5}},
            headers=staff.headers,
        )
        introspection = await client.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}, headers=staff.headers
        )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["members"]["totalCount"] >= 1
    assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_console_signs_in_and_out_when_only_trusted_documents_run(
    trusted_only_app: Starlette, factory: Factory
) -> None:
    # given the console's own sign-in and sign-out, exactly as its script sends them
    script = CONSOLE_JS.read_text(encoding="utf-8")
    assert json.dumps(SIGN_IN) in script
    assert json.dumps(SIGN_OUT) in script
    moderator = await factory.member(role=Role.MODERATOR)
    async with api_client(trusted_only_app) as client:
        # when an anonymous browser signs in through it
        signed_in = await client.post(
            "/graphql",
            json={
                "query": SIGN_IN,
                "variables": {"input": {"email": moderator.email, "password": PASSWORD}},
            },
        )
        token = signed_in.json()["data"]["login"]["token"]
        # then the moderator may send any document, and sign out
        headers = {"Authorization": f"Bearer {token}"}
        directory = await client.post(
            "/graphql", json={"query": DIRECTORY, "variables": {"first": 1}}, headers=headers
        )
        signed_out = await client.post("/graphql", json={"query": SIGN_OUT}, headers=headers)
    assert "errors" not in directory.json(), directory.text
    assert signed_out.json()["data"]["logout"]["loggedOut"] is True


@pytest.mark.parametrize(
    ("role", "trusted_only", "allowed"),
    [
        (None, False, True),
        (Role.MEMBER, False, True),
        (None, True, False),
        (Role.MEMBER, True, False),
        (Role.REVIEWER, True, False),
        (Role.MODERATOR, True, True),
        (Role.ADMIN, True, True),
    ],
)
def test_policy_who_may_send_any_document(
    role: Role | None, trusted_only: bool, allowed: bool
) -> None:
    viewer = ANONYMOUS if role is None else Viewer(member_id=1, role=role)
    assert may_send_any_document(viewer, trusted_documents_only=trusted_only) is allowed


# --- WebSocket -----------------------------------------------------------------------------------


async def test_websocket_subscribes_by_document_id_and_by_persisted_hash(
    app: Starlette,
    client: httpx.AsyncClient,
    factory: Factory,
    database_url: str,
    tmp_path: Path,
) -> None:
    # given a public thread and a registered subscription and query
    manifest = codegen_manifest(THREAD_EVENTS, OBJECTIVE)
    assert (await push(database_url, tmp_path, manifest)).exit_code == 0
    community_id, moderator = await community(client, factory)
    thread_id = await thread(client, community_id, moderator)
    async with connect(app) as socket:
        # when a client subscribes by documentId and queries by Apollo's hash
        subscribe = {"documentId": sha256_of(THREAD_EVENTS), "variables": {"threadId": thread_id}}
        await socket.ws.send_text(
            json.dumps({"id": "1", "type": "subscribe", "payload": subscribe})
        )
        query = {"variables": {"number": 7}, "extensions": persisted(sha256_of(OBJECTIVE))}
        await socket.ws.send_text(json.dumps({"id": "2", "type": "subscribe", "payload": query}))
        answered = await socket.receive()
        assert answered["id"] == "2", answered
        assert answered["payload"]["data"]["gcmObjective"]["number"] == 7
        assert (await socket.receive())["type"] == "complete"
        # then a post made now reaches the subscription
        await post(client, thread_id, moderator, body="Live by id")
        [event] = await socket.next_payloads(1)
    assert event["threadEvents"]["post"]["body"] == "Live by id"


async def test_websocket_refuses_other_documents_when_only_trusted_ones_run(
    trusted_only_app: Starlette, factory: Factory
) -> None:
    staff = await factory.member(role=Role.MODERATOR)
    unknown = {"documentId": "never-pushed", "variables": {}}
    text = {"query": DIRECTORY, "variables": {"first": 1}}
    async with connect(trusted_only_app) as socket:
        for op_id, payload in (("1", text), ("2", unknown)):
            await socket.ws.send_text(
                json.dumps({"id": op_id, "type": "subscribe", "payload": payload})
            )
        refused = [await socket.receive(), await socket.receive()]
    assert [(m["id"], m["type"], m["payload"][0]["extensions"]["code"]) for m in refused] == [
        ("1", "error", "TRUSTED_DOCUMENTS_ONLY"),
        ("2", "error", "PERSISTED_DOCUMENT_NOT_FOUND"),
    ]
    # a moderator's socket may send any document
    async with connect(trusted_only_app, staff.token) as socket:
        await socket.ws.send_text(json.dumps({"id": "1", "type": "subscribe", "payload": text}))
        answered = await socket.receive()
    assert answered["type"] == "next", answered
    assert answered["payload"]["data"]["members"]["totalCount"] >= 1
