"""Logout, password change and role change end the member's open sockets."""

from __future__ import annotations

import asyncio

import pytest
from httpx_ws import WebSocketDisconnect

from models.member import Role
from resolvers.auth import issue_token
from tests.conftest import gql
from tests.live import connect

LOGOUT = "mutation { logout { loggedOut errors { code } } }"
SET_ROLE = """
mutation($id: ID!) { setMemberRole(input: {memberId: $id, role: REVIEWER}) { errors { code } } }
"""
CHANGE_PASSWORD = """
mutation { changePassword(input: {currentPassword: "correct horse battery",
  newPassword: "a brand new passphrase"}) { token errors { code } } }
"""


async def closed_with(socket) -> int:
    with pytest.raises(WebSocketDisconnect) as closed:
        await socket.receive(5)
    return closed.value.code


async def second_token(db, auth_config, member_id: int) -> str:
    async with db.sessions.begin() as session:
        return await issue_token(session, auth_config, member_id)


async def test_logout_closes_the_sockets_of_that_token_only(app, client, factory, db, auth_config):
    member = await factory.member()
    other_token = await second_token(db, auth_config, member.id)
    async with connect(app, member.token) as socket, connect(app, other_token) as other:
        await gql(client, LOGOUT, member=member)
        assert await closed_with(socket) == 4403
        # the member's other session stays open and works
        await other.subscribe("{ viewer { id } }", {})
        [payload] = await other.next_payloads(1)
    assert payload["viewer"]["id"] == member.global_id


async def test_a_role_change_closes_every_socket_of_the_member(app, client, factory):
    admin = await factory.member(role=Role.ADMIN)
    member = await factory.member()
    async with connect(app, member.token) as socket:
        await gql(client, SET_ROLE, {"id": member.global_id}, member=admin)
        assert await closed_with(socket) == 4403


async def test_a_password_change_closes_the_old_sockets(app, client, factory):
    member = await factory.member()
    async with connect(app, member.token) as socket:
        body = await gql(client, CHANGE_PASSWORD, member=member)
        assert body["data"]["changePassword"]["token"]
        assert await closed_with(socket) == 4403


async def test_an_unrelated_event_on_the_members_stream_does_not_close_it(app, client, factory):
    member = await factory.member()
    async with connect(app, member.token) as socket:
        await gql(client, LOGOUT, member=await factory.member())  # someone else logs out
        await asyncio.sleep(0.2)
        await socket.subscribe("{ viewer { id } }", {})
        [payload] = await socket.next_payloads(1)
    assert payload["viewer"]["id"] == member.global_id
