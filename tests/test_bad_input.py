"""Bad input never breaks the hub: malformed, oversized or forbidden values get a typed
`UserError` in the payload (or a 4xx for request-level problems), never a 500, and a refused
mutation writes nothing at all."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from graphql import FieldNode, OperationDefinitionNode, parse
from sqlalchemy import select

from models.db import Database, metadata
from models.member import Role
from tests.conftest import PASSWORD, Factory, gql, without_cost

if TYPE_CHECKING:  # imported by name, pytest would try to collect it as a test class
    from tests.conftest import TestMember

ERRORS = "errors { field message code }"
REGISTER = f"mutation($input: RegisterInput!) {{ register(input: $input) {{ accepted {ERRORS} }} }}"
LOGIN = f"mutation($input: LoginInput!) {{ login(input: $input) {{ token {ERRORS} }} }}"
CHANGE_PASSWORD = f"""
mutation($input: ChangePasswordInput!) {{ changePassword(input: $input) {{ token {ERRORS} }} }}
"""
UPDATE_PROFILE = f"""
mutation($input: UpdateProfileInput!) {{ updateProfile(input: $input) {{ member {{ id }} {ERRORS} }} }}
"""
SET_ROLE = f"""
mutation($input: SetMemberRoleInput!) {{ setMemberRole(input: $input) {{ member {{ id }} {ERRORS} }} }}
"""
CREATE_ORGANIZATION = f"""
mutation($input: CreateOrganizationInput!) {{
  createOrganization(input: $input) {{ organization {{ id }} {ERRORS} }}
}}
"""
ASSIGN_ORGANIZATION = f"""
mutation($input: AssignMemberOrganizationInput!) {{
  assignMemberOrganization(input: $input) {{ member {{ id }} {ERRORS} }}
}}
"""
PROFILE = """
{ viewer { name bio country { code } languages isExpert expertise { number } updatedAt } }
"""

VALID_PASSWORD = "a perfectly fine passphrase"
ONE_MEGABYTE = 1_000_000
JUST_UNDER_BODY_LIMIT = 90_000  # characters; the body limit is 100 KB


@dataclass(frozen=True)
class Mutation:
    """A mutation, the input it is sent and the problems it must answer."""

    query: str
    input: dict[str, Any]
    expected: list[tuple[str | None, str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The root field the document calls, under which its payload comes back."""
        operation = parse(self.query).definitions[0]
        assert isinstance(operation, OperationDefinitionNode)
        root = operation.selection_set.selections[0]
        assert isinstance(root, FieldNode)
        return root.name.value


def register(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "password": VALID_PASSWORD,
    } | changes


def login(**changes: Any) -> dict[str, Any]:
    return {"email": "ada@example.org", "password": PASSWORD} | changes


def change_password(**changes: Any) -> dict[str, Any]:
    return {"currentPassword": PASSWORD, "newPassword": VALID_PASSWORD} | changes


def organization(**changes: Any) -> dict[str, Any]:
    return {"name": "Migrant Rights Network", "kind": "CIVIL_SOCIETY", "country": "KE"} | changes


def global_id(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode()


async def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a mutation could write (rate-limit counters aside)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with db.sessions() as session:
        for table in metadata.sorted_tables:
            if table.name in ("rate_limit_counter", "login_throttle", "write_version"):
                continue  # sign-in limits count failed attempts (their job), which moves the
                # write version (models/writes.py) like any committed write
            rows = (await session.execute(select(table).order_by(*table.primary_key))).all()
            tables[table.name] = [tuple(row) for row in rows]
    return tables


async def post(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    member: TestMember | None = None,
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=member.headers if member else {},
    )


async def send(
    client: httpx.AsyncClient, mutation: Mutation, member: TestMember | None
) -> dict[str, Any]:
    """Run the mutation; it must answer 200 with a payload (never a top-level error)."""
    response = await post(client, mutation.query, {"input": mutation.input}, member)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][mutation.name]
    return payload


def problems(payload: dict[str, Any]) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


def top_level_codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


@pytest.fixture
async def admin(factory: Factory) -> TestMember:
    """Signed in as an admin, so that only the input itself can be refused."""
    return await factory.member(
        role=Role.ADMIN, email="ada@example.org", name="Ada", country="KE", languages=("fr",)
    )


async def assert_refused_without_writing(
    client: httpx.AsyncClient, db: Database, member: TestMember, mutation: Mutation
) -> None:
    # given
    before = await snapshot(db)
    # when
    payload = await send(client, mutation, member)
    # then
    assert problems(payload) == mutation.expected
    assert all(payload[key] in (None, False) for key in payload if key != "errors")
    assert await snapshot(db) == before


# --- NUL bytes ---------------------------------------------------------------------------------

NUL = "\u0000"

NUL_BYTES = {
    "register-name": Mutation(REGISTER, register(name=f"Ada{NUL}"), [("name", "INVALID")]),
    "register-email": Mutation(
        REGISTER, register(email=f"ada{NUL}@example.org"), [("email", "INVALID")]
    ),
    "register-password": Mutation(
        REGISTER, register(password=f"{VALID_PASSWORD}{NUL}"), [("password", "INVALID")]
    ),
    "login-email": Mutation(
        LOGIN, login(email=f"ada@example.org{NUL}"), [(None, "INVALID_CREDENTIALS")]
    ),
    "login-password": Mutation(
        LOGIN, login(password=f"{PASSWORD}{NUL}"), [(None, "INVALID_CREDENTIALS")]
    ),
    "change-current-password": Mutation(
        CHANGE_PASSWORD,
        change_password(currentPassword=f"{PASSWORD}{NUL}"),
        [("currentPassword", "INVALID_CREDENTIALS")],
    ),
    "change-new-password": Mutation(
        CHANGE_PASSWORD,
        change_password(newPassword=f"{VALID_PASSWORD}{NUL}"),
        [("newPassword", "INVALID")],
    ),
    "profile-name": Mutation(UPDATE_PROFILE, {"name": f"Ada{NUL}Lovelace"}, [("name", "INVALID")]),
    "profile-bio": Mutation(UPDATE_PROFILE, {"bio": f"Line one{NUL}"}, [("bio", "INVALID")]),
    "profile-country": Mutation(UPDATE_PROFILE, {"country": f"K{NUL}"}, [("country", "INVALID")]),
    "profile-language": Mutation(
        UPDATE_PROFILE, {"languages": [f"fr{NUL}"]}, [("languages", "INVALID")]
    ),
    "organization-name": Mutation(
        CREATE_ORGANIZATION, organization(name=f"Network{NUL}"), [("name", "INVALID")]
    ),
    "organization-country": Mutation(
        CREATE_ORGANIZATION, organization(country=f"{NUL}KE"), [("country", "INVALID")]
    ),
}


@pytest.mark.parametrize("mutation", NUL_BYTES.values(), ids=NUL_BYTES.keys())
async def test_a_nul_byte_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, db: Database, admin: TestMember, mutation: Mutation
) -> None:
    """One rule for every argument (tests/test_request_shape.py covers them all): a request
    error naming where the NUL is, before anything runs."""
    before = await snapshot(db)
    response = await post(client, mutation.query, {"input": mutation.input}, admin)
    assert response.status_code == 400, response.text
    assert top_level_codes(response) == ["BAD_USER_INPUT"]
    [(field, _)] = mutation.expected
    assert f"$input.{field or ''}" in response.json()["errors"][0]["message"]
    assert await snapshot(db) == before


# --- sizes -------------------------------------------------------------------------------------

HUGE = "x" * ONE_MEGABYTE
ONE_MEGABYTE_INPUTS = {
    "register-name": Mutation(REGISTER, register(name=HUGE)),
    "register-email": Mutation(REGISTER, register(email=HUGE + "@example.org")),
    "register-password": Mutation(REGISTER, register(password=HUGE)),
    "login-email": Mutation(LOGIN, login(email=HUGE + "@example.org")),
    "login-password": Mutation(LOGIN, login(password=HUGE)),
    "profile-name": Mutation(UPDATE_PROFILE, {"name": HUGE}),
    "profile-bio": Mutation(UPDATE_PROFILE, {"bio": HUGE}),
    "organization-name": Mutation(CREATE_ORGANIZATION, organization(name=HUGE)),
}


@pytest.mark.parametrize("mutation", ONE_MEGABYTE_INPUTS.values(), ids=ONE_MEGABYTE_INPUTS.keys())
async def test_a_one_megabyte_string_is_a_413_and_nothing_is_written(
    client: httpx.AsyncClient, db: Database, admin: TestMember, mutation: Mutation
) -> None:
    # given
    before = await snapshot(db)
    # when
    response = await post(client, mutation.query, {"input": mutation.input}, admin)
    # then
    assert response.status_code == 413
    assert top_level_codes(response) == ["PAYLOAD_TOO_LARGE"]
    assert await snapshot(db) == before


LONG = "y" * JUST_UNDER_BODY_LIMIT
LONG_INPUTS = {
    "register-name": Mutation(REGISTER, register(name=LONG), [("name", "TOO_LONG")]),
    "register-email": Mutation(
        REGISTER, register(email=LONG + "@example.org"), [("email", "TOO_LONG")]
    ),
    "register-password": Mutation(REGISTER, register(password=LONG), [("password", "TOO_LONG")]),
    # Sign-in says nothing about the account, not even that a password could never match.
    "login-email": Mutation(
        LOGIN, login(email=LONG + "@example.org"), [(None, "INVALID_CREDENTIALS")]
    ),
    "login-password": Mutation(LOGIN, login(password=LONG), [(None, "INVALID_CREDENTIALS")]),
    "change-new-password": Mutation(
        CHANGE_PASSWORD, change_password(newPassword=LONG), [("newPassword", "TOO_LONG")]
    ),
    "profile-name": Mutation(UPDATE_PROFILE, {"name": LONG}, [("name", "TOO_LONG")]),
    "profile-bio": Mutation(UPDATE_PROFILE, {"bio": LONG}, [("bio", "TOO_LONG")]),
    "profile-language": Mutation(UPDATE_PROFILE, {"languages": [LONG]}, [("languages", "INVALID")]),
    "organization-name": Mutation(
        CREATE_ORGANIZATION, organization(name=LONG), [("name", "TOO_LONG")]
    ),
}


@pytest.mark.parametrize("mutation", LONG_INPUTS.values(), ids=LONG_INPUTS.keys())
async def test_a_long_string_under_the_body_limit_is_too_long_and_nothing_is_written(
    client: httpx.AsyncClient, db: Database, admin: TestMember, mutation: Mutation
) -> None:
    await assert_refused_without_writing(client, db, admin, mutation)


async def test_limits_are_counted_in_characters_and_the_limit_itself_is_accepted(
    client: httpx.AsyncClient, admin: TestMember
) -> None:
    # given: 200 characters of 4 UTF-8 bytes each (800 bytes) and a 5,000-character bio
    name = "\N{GLOBE WITH MERIDIANS}" * 200
    # when
    accepted = await send(
        client, Mutation(UPDATE_PROFILE, {"name": name, "bio": "b" * 5_000}), admin
    )
    refused = await send(client, Mutation(UPDATE_PROFILE, {"name": name + "x"}), admin)
    # then
    assert accepted["errors"] == []
    assert problems(refused) == [("name", "TOO_LONG")]
    profile = (await gql(client, PROFILE, member=admin))["data"]["viewer"]
    assert profile["name"] == name


# --- malformed values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "plain",
        "@example.org",
        "ada@",
        "ada@example",
        "ada@@example.org",
        "ada lovelace@example.org",
        "ada@exa mple.org",
        "ada@example.org\tx",
        "a" * 65 + "@example.org",
        "ada@example.org\u200b",
    ],
)
async def test_an_invalid_email_is_refused_at_registration(
    client: httpx.AsyncClient, db: Database, admin: TestMember, email: str
) -> None:
    mutation = Mutation(REGISTER, register(email=email), [("email", "INVALID")])
    await assert_refused_without_writing(client, db, admin, mutation)


@pytest.mark.parametrize("code", ["XX", "usa", "", " ", "K", "k e", "12", "EU", "ZZ"])
async def test_an_invalid_country_code_is_refused(
    client: httpx.AsyncClient, db: Database, admin: TestMember, code: str
) -> None:
    for mutation in (
        Mutation(UPDATE_PROFILE, {"country": code}, [("country", "INVALID")]),
        Mutation(CREATE_ORGANIZATION, organization(country=code), [("country", "INVALID")]),
    ):
        await assert_refused_without_writing(client, db, admin, mutation)


@pytest.mark.parametrize(
    "tag", ["", "e", "english", "fr-", "en--US", "fr FR", "123", "zz", "x" * 36, "français"]
)
async def test_an_invalid_language_tag_is_refused(
    client: httpx.AsyncClient, db: Database, admin: TestMember, tag: str
) -> None:
    mutation = Mutation(UPDATE_PROFILE, {"languages": ["es", tag]}, [("languages", "INVALID")])
    await assert_refused_without_writing(client, db, admin, mutation)


async def test_more_than_20_languages_are_too_long(
    client: httpx.AsyncClient, db: Database, admin: TestMember
) -> None:
    tags = ["ar", "zh", "en", "fr", "ru", "es", "de", "it", "pt", "nl", "sv"]
    tags += ["da", "fi", "pl", "cs", "sk", "hu", "ro", "bg", "el", "tr"]
    mutation = Mutation(UPDATE_PROFILE, {"languages": tags}, [("languages", "TOO_LONG")])
    await assert_refused_without_writing(client, db, admin, mutation)


@pytest.mark.parametrize("number", [0, 24, -1, 2**31 - 1, -(2**31)])
async def test_a_gcm_objective_outside_1_to_23_is_refused(
    client: httpx.AsyncClient, db: Database, admin: TestMember, number: int
) -> None:
    mutation = Mutation(UPDATE_PROFILE, {"expertise": [1, number]}, [("expertise", "INVALID")])
    await assert_refused_without_writing(client, db, admin, mutation)


@pytest.mark.parametrize("number", [0, 24, -1])
async def test_a_gcm_objective_outside_1_to_23_reads_as_null_or_a_client_error(
    client: httpx.AsyncClient, admin: TestMember, number: int
) -> None:
    body = await gql(client, f"{{ gcmObjective(number: {number}) {{ title }} }}")
    assert without_cost(body) == {"data": {"gcmObjective": None}}
    response = await post(
        client,
        "query($n: [Int!]) { members(filter: {objectives: $n}) { totalCount } }",
        {"n": [number]},
        admin,
    )
    assert response.status_code == 200
    assert top_level_codes(response) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("valid", "invalid", "expected"),
    [
        ({"name": "Ada King"}, {"country": "XX"}, ("country", "INVALID")),
        ({"country": "MX"}, {"name": " "}, ("name", "REQUIRED")),
        ({"bio": "Works on labour migration."}, {"languages": ["fr FR"]}, ("languages", "INVALID")),
        ({"languages": ["es", "en"]}, {"expertise": [24]}, ("expertise", "INVALID")),
        ({"expertise": [5, 6]}, {"bio": "z" * 5_001}, ("bio", "TOO_LONG")),
    ],
    ids=lambda value: "+".join(value) if isinstance(value, dict) else None,
)
async def test_a_refused_profile_update_keeps_even_its_valid_fields(
    client: httpx.AsyncClient,
    db: Database,
    admin: TestMember,
    valid: dict[str, Any],
    invalid: dict[str, Any],
    expected: tuple[str, str],
) -> None:
    # given
    profile_before = (await gql(client, PROFILE, member=admin))["data"]["viewer"]
    # when / then
    mutation = Mutation(UPDATE_PROFILE, valid | invalid, [expected])
    await assert_refused_without_writing(client, db, admin, mutation)
    assert (await gql(client, PROFILE, member=admin))["data"]["viewer"] == profile_before


# --- forbidden ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [None, Role.MEMBER, Role.REVIEWER, Role.MODERATOR])
async def test_admin_mutations_by_anyone_else_are_not_allowed_and_write_nothing(
    client: httpx.AsyncClient, db: Database, factory: Factory, role: Role | None
) -> None:
    # given
    caller = await factory.member(role=role) if role is not None else None
    target = await factory.member()
    organization_id = global_id(f"Organization:{await factory.organization()}")
    refused = [(None, "NOT_ALLOWED")]
    # when / then
    for mutation in (
        Mutation(SET_ROLE, {"memberId": target.global_id, "role": "ADMIN"}, refused),
        Mutation(CREATE_ORGANIZATION, organization(), refused),
        Mutation(
            ASSIGN_ORGANIZATION,
            {"memberId": target.global_id, "organizationId": organization_id},
            refused,
        ),
    ):
        before = await snapshot(db)
        payload = await send(client, mutation, caller)
        assert problems(payload) == mutation.expected
        assert await snapshot(db) == before


async def test_own_profile_and_password_changes_need_a_signed_in_member(
    client: httpx.AsyncClient, db: Database
) -> None:
    unauthenticated = [(None, "UNAUTHENTICATED")]
    for mutation in (
        Mutation(UPDATE_PROFILE, {"name": "Nobody"}, unauthenticated),
        Mutation(CHANGE_PASSWORD, change_password(), unauthenticated),
    ):
        before = await snapshot(db)
        payload = await send(client, mutation, None)
        assert problems(payload) == mutation.expected
        assert await snapshot(db) == before


async def test_a_duplicate_organization_name_is_a_conflict_and_writes_nothing(
    client: httpx.AsyncClient, db: Database, factory: Factory, admin: TestMember
) -> None:
    await factory.organization(name="Migrant Rights Network")
    mutation = Mutation(CREATE_ORGANIZATION, organization(), [("name", "CONFLICT")])
    await assert_refused_without_writing(client, db, admin, mutation)


# --- request-level problems: 4xx -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (SET_ROLE, {"input": {"memberId": "TWVtYmVyOjE=", "role": "SUPERUSER"}}),
        (
            'mutation { setMemberRole(input: {memberId: "TWVtYmVyOjE=", role: SUPERUSER}) '
            "{ errors { code } } }",
            {},
        ),
        (CREATE_ORGANIZATION, {"input": organization(kind="NGO")}),
        ("{ members(filter: {organizationKind: CHARITY}) { totalCount } }", {}),
        (UPDATE_PROFILE, {"input": {"name": 42}}),
        (UPDATE_PROFILE, {"input": {"expertise": ["five"]}}),
        (UPDATE_PROFILE, {"input": {"isExpert": "yes"}}),
        (UPDATE_PROFILE, {"input": "name"}),
        (UPDATE_PROFILE, {}),
        (REGISTER, {"input": {"name": "Ada", "email": "ada@example.org"}}),
        (REGISTER, {"input": register(password=None)}),
        (REGISTER, {"input": register(role="ADMIN")}),
    ],
    ids=[
        "role-variable",
        "role-literal",
        "organization-kind",
        "filter-kind",
        "string-as-int",
        "int-as-string",
        "bool-as-string",
        "input-not-object",
        "input-missing",
        "field-missing",
        "field-null",
        "unknown-field",
    ],
)
async def test_values_of_the_wrong_type_or_enum_are_a_400_and_nothing_is_written(
    client: httpx.AsyncClient,
    db: Database,
    admin: TestMember,
    query: str,
    variables: dict[str, Any],
) -> None:
    # given
    before = await snapshot(db)
    # when
    response = await post(client, query, variables, admin)
    # then
    assert response.status_code == 400, response.text
    assert "data" not in response.json()
    assert set(top_level_codes(response)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (UPDATE_PROFILE, {"input": {"expertise": [2**31]}}),
        (UPDATE_PROFILE, {"input": {"expertise": [-(2**31) - 1]}}),
        (UPDATE_PROFILE, {"input": {"expertise": [10**30]}}),
        (UPDATE_PROFILE, {"input": {"expertise": [1.5]}}),
        ("{ gcmObjective(number: 99999999999999999999) { title } }", {}),
        ("query($n: Int!) { gcmObjective(number: $n) { title } }", {"n": 2**53}),
        ("query($n: Int) { members(first: $n) { totalCount } }", {"n": 2**40}),
    ],
    ids=["2^31", "-2^31-1", "10^30", "float", "literal", "variable", "page-size"],
)
async def test_an_integer_beyond_32_bits_is_a_400_and_nothing_is_written(
    client: httpx.AsyncClient,
    db: Database,
    admin: TestMember,
    query: str,
    variables: dict[str, Any],
) -> None:
    before = await snapshot(db)
    response = await post(client, query, variables, admin)
    assert response.status_code == 400, response.text
    assert set(top_level_codes(response)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert await snapshot(db) == before


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'{"query": "mutation { logout { loggedOut } }"', 400, "BAD_REQUEST"),
        (b"[]", 400, "BAD_REQUEST"),
        (b'"query"', 400, "BAD_REQUEST"),
        (b'{"query": 42}', 400, "BAD_REQUEST"),
        (b'{"query": "mutation { logout { loggedOut } }", "variables": []}', 400, "BAD_REQUEST"),
        (b"\xff\xfe not utf-8", 400, "BAD_REQUEST"),
        (b'{"query": "mutation {"}', 400, "GRAPHQL_PARSE_FAILED"),
        (
            b'{"query": "{ viewer { id } }", "variables": {"x": '
            + b"[" * 5_000
            + b"]" * 5_000
            + b"}}",
            400,
            "BAD_REQUEST",
        ),
    ],
    ids=[
        "truncated",
        "batch",
        "not-object",
        "query-not-string",
        "variables-list",
        "not-utf8",
        "parse-error",
        "nested-too-deep",
    ],
)
async def test_a_malformed_request_is_a_400(
    client: httpx.AsyncClient, admin: TestMember, body: bytes, status: int, code: str
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json", **admin.headers}
    )
    assert response.status_code == status, response.text
    assert top_level_codes(response) == [code]
    assert "data" not in response.json()


LONE_SURROGATE_INPUTS = {
    "register-name": (REGISTER, register(name="Ada \ud800")),
    "register-email": (REGISTER, register(email="ada\udfff@example.org")),
    "register-password": (REGISTER, register(password=VALID_PASSWORD + "\ud800")),
    "login-email": (LOGIN, login(email="ada\ud800@example.org")),
    "login-password": (LOGIN, login(password=PASSWORD + "\ud800")),
    "profile-name": (UPDATE_PROFILE, {"name": "Ada \ud800"}),
    "profile-bio": (UPDATE_PROFILE, {"bio": "\udc00"}),
    "organization-name": (CREATE_ORGANIZATION, organization(name="Network \ud800")),
}


@pytest.mark.parametrize(
    ("query", "input"), LONE_SURROGATE_INPUTS.values(), ids=LONE_SURROGATE_INPUTS.keys()
)
async def test_a_lone_surrogate_escape_is_a_400_and_nothing_is_written(
    client: httpx.AsyncClient, db: Database, admin: TestMember, query: str, input: dict[str, Any]
) -> None:
    # given: JSON may spell a UTF-16 half (`"\ud800"`), which no UTF-8 text can hold
    body = json.dumps({"query": query, "variables": {"input": input}}).encode()
    before = await snapshot(db)
    # when
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json", **admin.headers}
    )
    # then
    assert response.status_code == 400, response.text
    assert top_level_codes(response) == ["BAD_REQUEST"]
    assert await snapshot(db) == before


# --- IDs ---------------------------------------------------------------------------------------

# IDs that name no member, built from the key of one that exists: each reads exactly like a
# member that does not exist. Only the spelling `encode_id` gives is an ID: `int()` also reads
# other decimal digits (Arabic-Indic, fullwidth; superscripts make it fail) and leading zeros.
NOT_A_MEMBER: dict[str, Callable[[int], str]] = {
    "missing-member": lambda key: global_id(f"Member:{key + 1000}"),
    "beyond-32-bits": lambda key: global_id(f"Member:{2**32 + key}"),
    "beyond-64-bits": lambda key: global_id(f"Member:{2**64 + key}"),
    "many-digits": lambda key: global_id("Member:" + "9" * 5_000),
    "negative": lambda key: global_id(f"Member:-{key}"),
    "plus-sign": lambda key: global_id(f"Member:+{key}"),
    "space": lambda key: global_id(f"Member: {key}"),
    "zero": lambda key: global_id("Member:0"),
    "leading-zero": lambda key: global_id(f"Member:0{key}"),
    "arabic-indic-digits": lambda key: global_id(f"Member:{str(key).translate(ARABIC_INDIC)}"),
    "fullwidth-digits": lambda key: global_id(f"Member:{str(key).translate(FULLWIDTH)}"),
    "superscript-digits": lambda key: global_id(f"Member:{str(key).translate(SUPERSCRIPT)}"),
    "no-key": lambda key: global_id("Member:"),
    "no-type": lambda key: global_id(f":{key}"),
    "unknown-type": lambda key: global_id(f"Spaceship:{key}"),
    "lower-case-type": lambda key: global_id(f"member:{key}"),
    "trailing-newline": lambda key: global_id(f"Member:{key}") + "\n",
    "garbage-base64": lambda key: "!!not base64!!",
    "base64-of-nonsense": lambda key: global_id("nonsense"),
    "invalid-utf8": lambda key: base64.urlsafe_b64encode(b"\xff\xfe:1").decode(),
    "empty": lambda key: "",
    "non-ascii": lambda key: f"Mémber:{key}",
    "huge": lambda key: "A" * 10_000,
}
ARABIC_INDIC = str.maketrans("0123456789", "".join(chr(0x0660 + d) for d in range(10)))
FULLWIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
SUPERSCRIPT = str.maketrans(
    "0123456789", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)


@pytest.fixture
async def organization_id(factory: Factory) -> str:
    return global_id(f"Organization:{await factory.organization()}")


@pytest.mark.parametrize("spell", NOT_A_MEMBER.values(), ids=NOT_A_MEMBER.keys())
async def test_an_id_that_is_no_member_is_not_found_in_mutations(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    admin: TestMember,
    organization_id: str,
    spell: Callable[[int], str],
) -> None:
    member = await factory.member()
    bad_id = spell(member.id)
    for mutation in (
        Mutation(SET_ROLE, {"memberId": bad_id, "role": "ADMIN"}, [("memberId", "NOT_FOUND")]),
        Mutation(
            ASSIGN_ORGANIZATION,
            {"memberId": bad_id, "organizationId": organization_id},
            [("memberId", "NOT_FOUND")],
        ),
        Mutation(
            ASSIGN_ORGANIZATION,
            {"memberId": member.global_id, "organizationId": bad_id},
            [("organizationId", "NOT_FOUND")],
        ),
    ):
        await assert_refused_without_writing(client, db, admin, mutation)


async def test_an_id_of_another_type_is_not_found_in_mutations(
    client: httpx.AsyncClient,
    db: Database,
    factory: Factory,
    admin: TestMember,
    organization_id: str,
) -> None:
    member = await factory.member()
    for mutation in (
        Mutation(
            SET_ROLE, {"memberId": organization_id, "role": "ADMIN"}, [("memberId", "NOT_FOUND")]
        ),
        Mutation(
            ASSIGN_ORGANIZATION,
            {"memberId": organization_id, "organizationId": organization_id},
            [("memberId", "NOT_FOUND")],
        ),
        Mutation(
            ASSIGN_ORGANIZATION,
            {"memberId": member.global_id, "organizationId": member.global_id},
            [("organizationId", "NOT_FOUND")],
        ),
        Mutation(
            ASSIGN_ORGANIZATION,
            {"memberId": member.global_id, "organizationId": global_id("Organization:999999")},
            [("organizationId", "NOT_FOUND")],
        ),
    ):
        await assert_refused_without_writing(client, db, admin, mutation)


LOOKUP = """
query($id: ID!) {
  node(id: $id) { id }
  member(id: $id) { id }
  nodes(ids: [$id, $id]) { id }
}
"""


@pytest.mark.parametrize("spell", NOT_A_MEMBER.values(), ids=NOT_A_MEMBER.keys())
async def test_an_id_that_is_no_member_reads_as_null_in_queries(
    client: httpx.AsyncClient, admin: TestMember, spell: Callable[[int], str]
) -> None:
    body = await gql(client, LOOKUP, {"id": spell(admin.id)}, member=admin)
    assert without_cost(body) == {"data": {"node": None, "member": None, "nodes": [None, None]}}


async def test_an_organization_id_is_no_member_id(
    client: httpx.AsyncClient, admin: TestMember, organization_id: str
) -> None:
    body = await gql(client, LOOKUP, {"id": organization_id}, member=admin)
    assert body["data"]["member"] is None
    assert body["data"]["node"] == {"id": organization_id}


async def test_nodes_takes_at_most_100_ids(client: httpx.AsyncClient, admin: TestMember) -> None:
    # given
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    ids = [admin.global_id] * 100
    # when
    hundred = await gql(client, query, {"ids": ids}, member=admin)
    response = await post(client, query, {"ids": [*ids, admin.global_id]}, admin)
    # then
    assert hundred["data"]["nodes"] == [{"id": admin.global_id}] * 100
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "at most 100" in body["errors"][0]["message"]
