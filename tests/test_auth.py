"""Sign-in: random tokens stored hashed, argon2id passwords, failures that reveal nothing,
revocation (logout, password change, role change), refused tokens, rate limits, email privacy."""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, insert, select, text, update
from starlette.applications import Starlette

from app.main import create_app
from models.auth import AuthToken, LoginThrottle
from models.base import utcnow
from models.db import Database
from models.member import Member, Role
from resolvers.auth import AuthConfig, issue_token
from tests.conftest import PASSWORD, Factory, api_client, gql, make_settings, without_cost

if TYPE_CHECKING:  # imported by name, pytest would try to collect it as a test class
    from tests.conftest import TestMember

REGISTER = """
mutation Register($input: RegisterInput!) {
  register(input: $input) { accepted errors { field message code } }
}
"""
LOGIN = """
mutation Login($input: LoginInput!) {
  login(input: $input) { token viewer { id email } errors { field message code } }
}
"""
LOGOUT = "mutation { logout { loggedOut errors { field message code } } }"
CHANGE_PASSWORD = """
mutation Change($input: ChangePasswordInput!) {
  changePassword(input: $input) { token viewer { id } errors { field message code } }
}
"""
SET_ROLE = """
mutation SetRole($input: SetMemberRoleInput!) {
  setMemberRole(input: $input) { member { id role } errors { field message code } }
}
"""
VIEWER = "{ viewer { id email } }"

NEW_PASSWORD = "a brand new passphrase"
# Token alphabet of secrets.token_urlsafe; 22 characters carry 132 bits.
TOKEN_SHAPE = re.compile(r"hub_[A-Za-z0-9_-]{22,}")
INVALID_CREDENTIALS = [
    {"field": None, "message": "Email or password is incorrect.", "code": "INVALID_CREDENTIALS"}
]


# --- helpers ---------------------------------------------------------------------------------


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(
    client: httpx.AsyncClient, email: str, password: str, name: str = "Ada Lovelace"
) -> httpx.Response:
    input = {"name": name, "email": email, "password": password}
    return await post(client, REGISTER, {"input": input})


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await post(client, LOGIN, {"input": {"email": email, "password": password}})


async def login_payload(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    response = await login(client, email, password)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["login"]
    return payload


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    payload = await login_payload(client, email, password)
    assert payload["errors"] == []
    token: str = payload["token"]
    return token


async def viewer_id(client: httpx.AsyncClient, token: str) -> str:
    """The global ID the token signs in; fails the test when the token is refused."""
    body = await gql(client, VIEWER, headers=bearer(token))
    viewer_id: str = body["data"]["viewer"]["id"]
    return viewer_id


async def assert_refused(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await post(client, VIEWER, headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def stored_member(db: Database, email: str) -> Member:
    async with db.sessions() as session:
        return (await session.scalars(select(Member).where(Member.email == email))).one()


async def accounts_with_email(db: Database, email: str) -> int:
    async with db.sessions() as session:
        statement = select(func.count()).where(func.lower(Member.email) == email.lower())
        return int((await session.execute(statement)).scalar_one())


async def role_of(db: Database, member: TestMember) -> Role:
    async with db.sessions() as session:
        return (
            await session.execute(select(Member.role).where(Member.id == member.id))
        ).scalar_one()


# --- tokens and stored secrets -------------------------------------------------------------


async def test_register_then_login_gives_a_random_hub_token_that_signs_in(
    client: httpx.AsyncClient,
) -> None:
    # given
    registered = await register(client, "ada@example.org", PASSWORD)
    assert registered.json()["data"]["register"] == {"accepted": True, "errors": []}
    # when
    first = await login_payload(client, "ada@example.org", PASSWORD)
    second = await login_payload(client, "  ADA@Example.ORG ", PASSWORD)
    # then
    assert first["errors"] == second["errors"] == []
    assert TOKEN_SHAPE.fullmatch(first["token"]), first["token"]
    assert first["token"] != second["token"]
    assert first["viewer"]["email"] == "ada@example.org"
    signed_in = await gql(client, VIEWER, headers=bearer(first["token"]))
    assert signed_in["data"]["viewer"] == first["viewer"]
    assert await viewer_id(client, second["token"]) == first["viewer"]["id"]


async def test_the_database_keeps_a_hash_of_the_token_and_an_argon2id_hash_of_the_password(
    client: httpx.AsyncClient, db: Database
) -> None:
    # given
    await register(client, "grace@example.org", PASSWORD)
    # when
    token = await sign_in(client, "grace@example.org")
    # then
    async with db.sessions() as session:
        token_rows = (await session.execute(text("SELECT * FROM auth_token"))).all()
    assert len(token_rows) == 1
    stored = " ".join(str(value) for row in token_rows for value in row)
    assert token not in stored
    assert token.removeprefix("hub_") not in stored
    member = await stored_member(db, "grace@example.org")
    assert member.password_hash.startswith("$argon2id$")
    assert PASSWORD not in member.password_hash


async def test_a_token_expires(client: httpx.AsyncClient, db: Database, factory: Factory) -> None:
    # given
    member = await factory.member()
    assert await viewer_id(client, member.token) == member.global_id
    # when
    async with db.sessions.begin() as session:
        await session.execute(
            update(AuthToken)
            .where(AuthToken.member_id == member.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    # then
    await assert_refused(client, member.headers)


async def test_a_token_signed_with_another_secret_is_refused(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # given: a token whose stored hash was made with some other server's secret
    member = await factory.member()
    other_server = AuthConfig(secret_key=b"another-secret-" + b"y" * 40)
    async with db.sessions.begin() as session:
        token = await issue_token(session, other_server, member.id)
    # then
    await assert_refused(client, bearer(token))


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Bearer hub_" + secrets.token_urlsafe(32), id="forged-token"),
        pytest.param("Bearer " + secrets.token_urlsafe(32), id="no-prefix"),
        pytest.param("Bearer hub_" + "a" * 300, id="overlong"),
        pytest.param("Bearer ", id="empty-bearer"),
        pytest.param("Bearer", id="bare-scheme"),
        pytest.param("Basic dXNlcjpwYXNzd29yZA==", id="basic"),
        pytest.param("hub_" + secrets.token_urlsafe(32), id="no-scheme"),
    ],
)
async def test_a_malformed_or_unknown_credential_is_a_401(
    client: httpx.AsyncClient, authorization: str
) -> None:
    await assert_refused(client, {"Authorization": authorization})


# --- failures that reveal nothing ------------------------------------------------------------


async def test_unknown_email_and_wrong_password_get_byte_identical_answers(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    await factory.member(email="known@example.org")
    # when
    wrong_password = await login(client, "known@example.org", "not the password")
    unknown_email = await login(client, "nobody@example.org", "not the password")
    # then
    assert wrong_password.status_code == unknown_email.status_code == 200
    assert wrong_password.content == unknown_email.content
    assert wrong_password.json()["data"]["login"] == {
        "token": None,
        "viewer": None,
        "errors": INVALID_CREDENTIALS,
    }


async def test_registering_a_taken_email_answers_like_a_new_one_and_changes_nothing(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # given
    await factory.member(email="taken@example.org")
    before = await stored_member(db, "taken@example.org")
    # when
    taken = await register(client, "Taken@Example.org", NEW_PASSWORD, name="Intruder")
    fresh = await register(client, "fresh@example.org", NEW_PASSWORD, name="Intruder")
    # then
    assert taken.status_code == fresh.status_code == 200
    assert taken.content == fresh.content
    assert await accounts_with_email(db, "taken@example.org") == 1
    after = await stored_member(db, "taken@example.org")
    assert (after.id, after.name, after.password_hash) == (
        before.id,
        before.name,
        before.password_hash,
    )
    assert (await login_payload(client, "taken@example.org", NEW_PASSWORD))["token"] is None
    assert await sign_in(client, "taken@example.org", PASSWORD)


async def register_at_once(
    client: httpx.AsyncClient, db: Database, email: str, passwords: list[str]
) -> list[httpx.Response]:
    """Register `email` once per password, all at the same time.

    On PostgreSQL the race is certain: an uncommitted insert of the email holds every request
    at its own insert (each has found the email free) until it rolls back; then one insert wins
    and the others hit the unique index. SQLite only runs them concurrently (a likely race)."""
    if db.is_sqlite:
        return list(await asyncio.gather(*(register(client, email, p) for p in passwords)))
    async with db.engine.connect() as blocker:
        held = await blocker.begin()
        await blocker.execute(insert(Member).values(name="Blocker", email=email, password_hash="x"))
        requests = [asyncio.create_task(register(client, email, p)) for p in passwords]
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND wait_event = 'transactionid'"
        )
        for _ in range(500):  # polled: the database tells nobody that a request now waits
            await blocker.execute(text("SELECT pg_stat_clear_snapshot()"))  # else kept per xact
            if await blocker.scalar(waiting) == len(passwords):
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail("the registrations never reached their insert")
        await held.rollback()
    return list(await asyncio.gather(*requests))


async def test_registrations_racing_for_one_new_email_make_one_account(
    client: httpx.AsyncClient, db: Database
) -> None:
    # when
    responses = await register_at_once(
        client, db, "twice@example.org", [PASSWORD, NEW_PASSWORD, "a third passphrase"]
    )
    # then: the losers answer as for a taken email, not with an internal error
    assert [r.status_code for r in responses] == [200] * 3
    assert [without_cost(r.json()) for r in responses] == [
        {"data": {"register": {"accepted": True, "errors": []}}}
    ] * 3
    assert await accounts_with_email(db, "twice@example.org") == 1


# --- revocation ------------------------------------------------------------------------------


async def test_logout_revokes_the_token_of_the_request_only(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given: the member is signed in on two devices
    member = await factory.member()
    other_device = await sign_in(client, member.email)
    # when
    body = await gql(client, LOGOUT, member=member)
    # then
    assert body["data"]["logout"] == {"loggedOut": True, "errors": []}
    await assert_refused(client, member.headers)
    assert await viewer_id(client, other_device) == member.global_id


async def test_logout_without_a_token_is_a_typed_error(client: httpx.AsyncClient) -> None:
    body = await gql(client, LOGOUT)
    assert body["data"]["logout"]["loggedOut"] is False
    assert [e["code"] for e in body["data"]["logout"]["errors"]] == ["UNAUTHENTICATED"]


async def test_change_password_ends_every_other_session_and_returns_a_working_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    member = await factory.member()
    other_device = await sign_in(client, member.email)
    # when
    input = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
    body = await gql(client, CHANGE_PASSWORD, {"input": input}, member=member)
    # then
    payload = body["data"]["changePassword"]
    assert payload["errors"] == []
    assert TOKEN_SHAPE.fullmatch(payload["token"])
    assert payload["token"] not in (member.token, other_device)
    assert await viewer_id(client, payload["token"]) == member.global_id
    await assert_refused(client, member.headers)
    await assert_refused(client, bearer(other_device))
    assert await factory.token_count(member.id) == 1
    assert (await login_payload(client, member.email, PASSWORD))["errors"] == INVALID_CREDENTIALS
    assert await sign_in(client, member.email, NEW_PASSWORD)


async def test_change_password_with_a_wrong_current_password_is_a_typed_error(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # given
    member = await factory.member()
    hash_before = (await stored_member(db, member.email)).password_hash
    # when
    input = {"currentPassword": "not the password", "newPassword": NEW_PASSWORD}
    body = await gql(client, CHANGE_PASSWORD, {"input": input}, member=member)
    # then
    assert body["data"]["changePassword"] == {
        "token": None,
        "viewer": None,
        "errors": [
            {
                "field": "currentPassword",
                "message": "Current password is incorrect.",
                "code": "INVALID_CREDENTIALS",
            }
        ],
    }
    assert await viewer_id(client, member.token) == member.global_id
    assert (await stored_member(db, member.email)).password_hash == hash_before


async def test_change_password_refuses_a_weak_password_and_anonymous_callers(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    member = await factory.member()
    weak = {"currentPassword": PASSWORD, "newPassword": "short"}
    body = await gql(client, CHANGE_PASSWORD, {"input": weak}, member=member)
    errors = body["data"]["changePassword"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("newPassword", "WEAK_PASSWORD")]
    anonymous = await gql(client, CHANGE_PASSWORD, {"input": weak | {"newPassword": NEW_PASSWORD}})
    assert [e["code"] for e in anonymous["data"]["changePassword"]["errors"]] == ["UNAUTHENTICATED"]
    assert await viewer_id(client, member.token) == member.global_id


async def test_an_admin_setting_a_role_ends_the_members_sessions(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # given
    admin = await factory.member(role=Role.ADMIN)
    target = await factory.member()
    # when
    input = {"memberId": target.global_id, "role": "REVIEWER"}
    body = await gql(client, SET_ROLE, {"input": input}, member=admin)
    # then
    assert body["data"]["setMemberRole"] == {
        "member": {"id": target.global_id, "role": "REVIEWER"},
        "errors": [],
    }
    assert await role_of(db, target) is Role.REVIEWER
    await assert_refused(client, target.headers)
    assert await viewer_id(client, admin.token) == admin.global_id


@pytest.mark.parametrize("role", [Role.MEMBER, Role.REVIEWER, Role.MODERATOR])
async def test_a_non_admin_may_not_set_roles_and_nothing_changes(
    client: httpx.AsyncClient, db: Database, factory: Factory, role: Role
) -> None:
    # given
    caller = await factory.member(role=role)
    target = await factory.member()
    # when
    for someone in (target, caller):
        input = {"memberId": someone.global_id, "role": "ADMIN"}
        body = await gql(client, SET_ROLE, {"input": input}, member=caller)
        # then
        payload = body["data"]["setMemberRole"]
        assert payload["member"] is None
        assert [e["code"] for e in payload["errors"]] == ["NOT_ALLOWED"]
    assert await role_of(db, target) is Role.MEMBER
    assert await role_of(db, caller) is role
    assert await viewer_id(client, target.token) == target.global_id


async def test_an_admin_cannot_change_their_own_role(
    client: httpx.AsyncClient, db: Database, factory: Factory
) -> None:
    # given
    admin = await factory.member(role=Role.ADMIN)
    # when
    input = {"memberId": admin.global_id, "role": "MEMBER"}
    body = await gql(client, SET_ROLE, {"input": input}, member=admin)
    # then
    payload = body["data"]["setMemberRole"]
    assert payload["member"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("memberId", "NOT_ALLOWED")]
    assert await role_of(db, admin) is Role.ADMIN
    assert await viewer_id(client, admin.token) == admin.global_id


# --- rate limits -----------------------------------------------------------------------------

ACCOUNT_LIMIT = 3
ADDRESS_LIMIT = 5
DELAY_SECONDS = 10**6


@pytest.fixture
def limited_app(database_url: str, db: Database) -> Starlette:
    """An app with small sign-in limits; a window of ~30 years, so no test straddles two, and
    a first delay of ~11 days, so that no slowed account is tried again during a test."""
    settings = make_settings(
        database_url,
        login_attempts_per_account=ACCOUNT_LIMIT,
        login_attempts_per_address=ADDRESS_LIMIT,
        login_window_seconds=10**9,
        login_delay_seconds=DELAY_SECONDS,
    )
    return create_app(settings, db)


async def login_from(app: Starlette, address: str, email: str, password: str) -> httpx.Response:
    async with api_client(app, address) as client:
        return await login(client, email, password)


def error_codes(response: httpx.Response, mutation: str) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["code"] for e in response.json()["data"][mutation]["errors"]]


async def test_login_is_limited_per_account_known_or_unknown_alike(
    limited_app: Starlette, factory: Factory
) -> None:
    # given: attempts on two accounts, each from its own fresh address (no address limit hit)
    known = await factory.member(email="known@example.org")
    attempts: dict[str, list[httpx.Response]] = {known.email: [], "unknown@example.org": []}
    # when
    for email, responses in attempts.items():
        for attempt in range(ACCOUNT_LIMIT):
            address = f"198.51.100.{attempt}" if email == known.email else f"203.0.113.{attempt}"
            responses.append(await login_from(limited_app, address, email, "wrong password"))
        responses.append(await login_from(limited_app, "192.0.2.200", email, PASSWORD))
    # then
    known_answers, unknown_answers = attempts.values()
    for responses in (known_answers, unknown_answers):
        assert [error_codes(r, "login") for r in responses] == [
            ["INVALID_CREDENTIALS"]
        ] * ACCOUNT_LIMIT + [["RATE_LIMITED"]]
    assert [r.content for r in known_answers] == [r.content for r in unknown_answers]
    assert known_answers[-1].json()["data"]["login"]["token"] is None


async def test_login_is_limited_per_client_address(
    limited_app: Starlette, factory: Factory
) -> None:
    # given: one address tries as many different accounts as it may
    member = await factory.member()
    for attempt in range(ADDRESS_LIMIT):
        response = await login_from(limited_app, "198.51.100.7", f"n{attempt}@example.org", "x")
        assert error_codes(response, "login") == ["INVALID_CREDENTIALS"]
    # when
    from_busy = await login_from(limited_app, "198.51.100.7", member.email, PASSWORD)
    from_other = await login_from(limited_app, "198.51.100.8", member.email, PASSWORD)
    # then
    assert error_codes(from_busy, "login") == ["RATE_LIMITED"]
    assert from_busy.json()["data"]["login"]["token"] is None
    assert error_codes(from_other, "login") == []
    assert TOKEN_SHAPE.fullmatch(from_other.json()["data"]["login"]["token"])


async def test_only_failures_count_so_an_office_behind_one_address_signs_in_all_day(
    limited_app: Starlette, factory: Factory
) -> None:
    members = [await factory.member() for _ in range(2)]
    answers = [
        await login_from(limited_app, "198.51.100.9", member.email, PASSWORD)
        for _ in range(ADDRESS_LIMIT + ACCOUNT_LIMIT)
        for member in members
    ]
    assert all(error_codes(answer, "login") == [] for answer in answers)


async def test_a_member_signs_in_while_an_attacker_hammers_their_account_from_50_addresses(
    limited_app: Starlette, factory: Factory
) -> None:
    # given: the member signed in from home once
    member = await factory.member()
    assert (
        error_codes(await login_from(limited_app, "192.0.2.10", member.email, PASSWORD), "login")
        == []
    )
    # when: 50 addresses try passwords, twice each
    answers = [
        error_codes(
            await login_from(limited_app, f"198.51.100.{i}", member.email, "guess"), "login"
        )
        for _ in range(2)
        for i in range(50)
    ]
    # then: the attacker had ACCOUNT_LIMIT guesses; the rest waited (and cost nothing)
    assert answers.count(["INVALID_CREDENTIALS"]) == ACCOUNT_LIMIT
    assert answers.count(["RATE_LIMITED"]) == 100 - ACCOUNT_LIMIT
    # and the member still signs in from home; from an address never used, they are slowed too
    home = await login_from(limited_app, "192.0.2.10", member.email, PASSWORD)
    assert error_codes(home, "login") == []
    assert TOKEN_SHAPE.fullmatch(home.json()["data"]["login"]["token"])
    cafe = await login_from(limited_app, "192.0.2.77", member.email, PASSWORD)
    assert error_codes(cafe, "login") == ["RATE_LIMITED"]


async def test_each_further_failure_doubles_the_wait(
    limited_app: Starlette, factory: Factory, db: Database
) -> None:
    member = await factory.member()
    for i in range(ACCOUNT_LIMIT):
        await login_from(limited_app, f"203.0.113.{i}", member.email, "guess")

    async def seconds_since_last_failure(seconds: float) -> None:
        async with db.sessions.begin() as session:
            await session.execute(
                update(LoginThrottle).values(last_failure_at=utcnow() - timedelta(seconds=seconds))
            )

    async def attempt() -> list[str]:
        return error_codes(
            await login_from(limited_app, "203.0.113.99", member.email, "x"), "login"
        )

    # one delay after the last failure, a guess is tried again; then the wait is twice as long
    await seconds_since_last_failure(DELAY_SECONDS * 0.9)
    assert await attempt() == ["RATE_LIMITED"]
    await seconds_since_last_failure(DELAY_SECONDS * 1.1)
    assert await attempt() == ["INVALID_CREDENTIALS"]
    await seconds_since_last_failure(DELAY_SECONDS * 1.5)
    assert await attempt() == ["RATE_LIMITED"]
    await seconds_since_last_failure(DELAY_SECONDS * 2.1)
    assert await attempt() == ["INVALID_CREDENTIALS"]
    await seconds_since_last_failure(DELAY_SECONDS * 3.9)
    assert await attempt() == ["RATE_LIMITED"]


async def test_register_is_rate_limited_per_address_and_per_account(
    limited_app: Starlette, db: Database
) -> None:
    # given: refused attempts (weak passwords: no hashing needed) use up the address's budget
    async with api_client(limited_app, "198.51.100.20") as client:
        for attempt in range(ADDRESS_LIMIT):
            weak = await register(client, f"r{attempt}@example.org", "short")
            assert error_codes(weak, "register") == ["WEAK_PASSWORD"]
        # when
        limited = await register(client, "valid@example.org", PASSWORD)
    # then
    assert error_codes(limited, "register") == ["RATE_LIMITED"]
    assert limited.json()["data"]["register"]["accepted"] is False
    assert await accounts_with_email(db, "valid@example.org") == 0

    # given: one email tried from many addresses
    for attempt in range(ACCOUNT_LIMIT):
        async with api_client(limited_app, f"203.0.113.{100 + attempt}") as client:
            weak = await register(client, "target@example.org", "short")
            assert error_codes(weak, "register") == ["WEAK_PASSWORD"]
    # when
    async with api_client(limited_app, "203.0.113.200") as client:
        limited = await register(client, "target@example.org", PASSWORD)
    # then
    assert error_codes(limited, "register") == ["RATE_LIMITED"]
    assert await accounts_with_email(db, "target@example.org") == 0


# --- who sees an email address ---------------------------------------------------------------

EMAIL_EVERYWHERE = """
query Email($id: ID!) {
  member(id: $id) { email }
  node(id: $id) { ... on Member { email } }
  nodes(ids: [$id]) { ... on Member { email } }
  members(filter: {isExpert: true}) { nodes { id email } }
}
"""


async def emails_seen(
    client: httpx.AsyncClient, target: TestMember, reader: TestMember | None
) -> list[str | None]:
    """The target's email as `reader` sees it through every path that reads a member."""
    body = await gql(client, EMAIL_EVERYWHERE, {"id": target.global_id}, member=reader)
    data = body["data"]
    in_directory = [n["email"] for n in data["members"]["nodes"] if n["id"] == target.global_id]
    return [
        data["member"]["email"],
        data["node"]["email"],
        data["nodes"][0]["email"],
        *in_directory,
    ]


async def test_an_email_is_visible_to_its_member_and_to_admins_only(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given: an expert, so even the public can read the profile
    target = await factory.member(email="expert@example.org", is_expert=True)
    admin = await factory.member(role=Role.ADMIN)
    moderator = await factory.member(role=Role.MODERATOR)
    other = await factory.member()
    # then
    assert await emails_seen(client, target, target) == ["expert@example.org"] * 4
    assert await emails_seen(client, target, admin) == ["expert@example.org"] * 4
    assert await emails_seen(client, target, moderator) == [None] * 4
    assert await emails_seen(client, target, other) == [None] * 4
    assert await emails_seen(client, target, None) == [None] * 4
