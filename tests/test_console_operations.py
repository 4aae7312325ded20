"""The console's ready-made operations: each valid against the schema, documented, and run
against the demo data without an error by the moderator and the admin it is written for."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import OperationDefinitionNode, OperationType, parse, validate

from app.console.operations import ready_operations
from app.seed import DEMO_PASSWORD, seed_demo
from schema import schema
from schema.relay import encode_event_cursor
from subscriptions.events import moderation_stream
from tests.conftest import gql, make_settings
from tests.live import connect

LOGIN = "mutation($i: LoginInput!) { login(input: $i) { token errors { code } } }"
COMMUNITY = "{ communities(first: 1) { nodes { id } } }"
POST = "query($c: ID!) { threads(communityId: $c, first: 1) { nodes { posts(first: 1) { nodes { id } } } } }"
FLAG = 'mutation($p: ID!) { flagContent(input: {postId: $p, reason: "Spam"}) { errors { code } } }'
EXPECTED = {
    "FlagQueue",
    "ReviewQueue",
    "RelationProposals",
    "StaleContent",
    "SupportTriage",
    "JoinRequests",
    "AuditLog",
    "ChangeMemberRole",
    "LiveModeration",
}


def names() -> list[str]:
    return [o.file for o in ready_operations()]


def test_every_work_queue_has_a_ready_made_operation():
    operations = {
        definition.name.value
        for operation in ready_operations()
        for definition in parse(operation.query).definitions
        if getattr(definition, "name", None) is not None
    }
    assert operations == EXPECTED


@pytest.mark.parametrize("operation", ready_operations(), ids=names())
def test_a_ready_made_operation_is_valid_and_documents_its_variables(operation):
    document = parse(operation.query)
    assert validate(schema._schema, document) == []
    declared = {
        variable.variable.name.value
        for definition in document.definitions
        for variable in getattr(definition, "variable_definitions", ())
    }
    # every variable the operation takes has a value to open with and a word in the comments
    assert set(operation.variables) == declared
    comments = "\n".join(line for line in operation.query.splitlines() if line.startswith("#"))
    for name in declared:
        assert f"`{name}`" in comments, (operation.file, name)


async def sign_in(client: Any, email: str) -> dict[str, str]:
    body = await gql(client, LOGIN, {"i": {"email": email, "password": DEMO_PASSWORD}})
    return {"Authorization": f"Bearer {body['data']['login']['token']}"}


async def flag_a_demo_post(client: Any, headers: dict[str, str]) -> None:
    communities = await gql(client, COMMUNITY, headers=headers)
    community_id = communities["data"]["communities"]["nodes"][0]["id"]
    threads = await gql(client, POST, {"c": community_id}, headers=headers)
    post_id = threads["data"]["threads"]["nodes"][0]["posts"]["nodes"][0]["id"]
    flagged = await gql(client, FLAG, {"p": post_id}, headers=headers)
    assert flagged["data"]["flagContent"]["errors"] == [], flagged


def is_subscription(query: str) -> bool:
    return any(
        isinstance(d, OperationDefinitionNode) and d.operation is OperationType.SUBSCRIPTION
        for d in parse(query).definitions
    )


async def run_subscription(app: Any, operation: Any, token: str) -> dict[str, Any]:
    """The operation's first event, replayed from the start of the moderation stream."""
    async with connect(app, token) as socket:
        variables = {**operation.variables, "after": encode_event_cursor(moderation_stream(), 0)}
        await socket.subscribe(operation.query, variables)
        message = await socket.receive()
    assert message["type"] == "next", message
    payload: dict[str, Any] = message["payload"]
    return payload


async def test_every_ready_made_operation_runs_on_the_demo_data_without_errors(
    database_url, app, client
):
    # given the demo data, a flag raised on it, its moderator and its admin
    await seed_demo(make_settings(database_url))
    moderator = await sign_in(client, "moderator@demo.hub")
    admin = await sign_in(client, "admin@demo.hub")
    await flag_a_demo_post(client, await sign_in(client, "member1@demo.hub"))
    member = await gql(
        client, "{ members(first: 1, filter: {isExpert: true}) { nodes { id } } }", headers=admin
    )
    member_id = member["data"]["members"]["nodes"][0]["id"]
    for operation in ready_operations():
        variables = dict(operation.variables)
        headers = moderator
        if "setMemberRole" in operation.query:
            # role changes are the admin's: on a demo member
            variables["memberId"] = member_id
            headers = admin
        # when it runs as written (a subscription over WebSocket, as the console runs it)
        if is_subscription(operation.query):
            body = await run_subscription(app, operation, moderator["Authorization"][7:])
        else:
            body = await gql(client, operation.query, variables, headers=headers)
        # then it answers without an error, and its root field is there
        assert "errors" not in body, (operation.file, body)
        assert all(value is not None for value in body["data"].values()), (operation.file, body)
        payload = body["data"].get("setMemberRole")
        if payload is not None:
            assert payload["errors"] == [], payload
