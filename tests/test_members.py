"""The member and expert directory: visibility, filters, keyset pagination, batching."""

from __future__ import annotations

from typing import Any

import pytest

from models.member import Role
from models.organization import OrganizationKind
from tests.conftest import Factory, StatementCounter, gql, refusals, without_cost

DIRECTORY = """
query Directory($first: Int, $after: String, $last: Int, $before: String,
                $filter: MemberFilterInput) {
  members(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    edges { cursor node { id name } }
    nodes { name }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

PAGE_WITH_ORGANIZATIONS = """
query Page($first: Int!) {
  members(first: $first) {
    nodes { id name isExpert country { code } organization { id name kind } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def names(body: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in body["data"]["members"]["edges"]]


async def test_public_sees_only_opted_in_experts_and_members_see_everyone(client, factory):
    # given
    expert = await factory.member(name="Ada Expert", is_expert=True)
    await factory.member(name="Bo Private")
    # when
    public = await gql(client, DIRECTORY)
    signed_in = await gql(client, DIRECTORY, member=expert)
    # then
    assert names(public) == ["Ada Expert"]
    assert public["data"]["members"]["totalCount"] == 1
    assert names(signed_in) == ["Ada Expert", "Bo Private"]


async def test_a_hidden_member_reads_like_a_missing_one_through_every_path(client, factory):
    # given
    hidden = await factory.member(name="Not An Expert")
    query = (
        "query($id: ID!) { member(id: $id) { name } node(id: $id) { id } nodes(ids: [$id]) { id } }"
    )
    # when
    body = await gql(client, query, {"id": hidden.global_id})
    missing = await gql(client, query, {"id": "TWVtYmVyOjk5OTk5OTk="})  # Member:9999999
    # then
    assert (
        without_cost(body)
        == without_cost(missing)
        == {"data": {"member": None, "node": None, "nodes": [None]}}
    )


async def test_forward_and_backward_pages_walk_the_whole_directory_once(client, factory):
    # given
    viewer = await factory.member(name="Viewer")
    for index in range(7):
        await factory.member(name=f"Person {index:02d}")
    everyone = sorted([f"Person {i:02d}" for i in range(7)] + ["Viewer"])
    # when: forward in pages of 3
    seen, after = [], None
    while True:
        body = await gql(client, DIRECTORY, {"first": 3, "after": after}, member=viewer)
        seen += names(body)
        info = body["data"]["members"]["pageInfo"]
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    # and backward in pages of 3
    backward, before = [], None
    while True:
        body = await gql(client, DIRECTORY, {"last": 3, "before": before}, member=viewer)
        backward = names(body) + backward
        info = body["data"]["members"]["pageInfo"]
        if not info["hasPreviousPage"]:
            break
        before = info["startCursor"]
    # then
    assert seen == everyone
    assert backward == everyone


async def test_page_info_and_nodes_agree_with_edges(client, factory):
    viewer = await factory.member(name="A")
    await factory.member(name="B")
    await factory.member(name="C")
    body = await gql(client, DIRECTORY, {"first": 2}, member=viewer)
    members = body["data"]["members"]
    assert [n["name"] for n in members["nodes"]] == ["A", "B"]
    assert members["pageInfo"]["startCursor"] == members["edges"][0]["cursor"]
    assert members["pageInfo"]["endCursor"] == members["edges"][1]["cursor"]
    assert members["pageInfo"]["hasNextPage"] is True
    assert members["pageInfo"]["hasPreviousPage"] is False
    assert members["totalCount"] == 3


async def test_default_page_is_20_and_first_over_100_is_a_client_error(client, factory):
    viewer = await factory.member(name="Viewer")
    for index in range(25):
        await factory.member(name=f"P{index:02d}")
    body = await gql(client, DIRECTORY, member=viewer)
    assert len(body["data"]["members"]["edges"]) == 20
    response = await client.post(
        "/graphql", json={"query": DIRECTORY, "variables": {"first": 101}}, headers=viewer.headers
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 0 and 100" in error["message"]


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "WyJvcmdhbml6YXRpb25zIiwiWCIsMV0", "", "WyJtZW1iZXJzIl0", "%%%"],
    ids=["garbage", "foreign-listing", "empty", "wrong-arity", "not-base64"],
)
async def test_malformed_or_foreign_cursor_is_a_clear_client_error(client, factory, cursor):
    viewer = await factory.member()
    response = await client.post(
        "/graphql",
        json={"query": DIRECTORY, "variables": {"first": 5, "after": cursor}},
        headers=viewer.headers,
    )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "cursor" in body["errors"][0]["message"]
    assert body["data"] is None


async def test_directory_filters_match_expertise_country_language_and_organisation_kind(
    client, factory: Factory
):
    # given
    un = await factory.organization(OrganizationKind.UN_SYSTEM)
    government = await factory.organization(OrganizationKind.GOVERNMENT)
    await factory.member(
        name="Remittances Expert",
        is_expert=True,
        expertise=(20, 19),
        country="MX",
        languages=("es-MX", "en"),
        organization_id=un,
    )
    await factory.member(
        name="Data Expert",
        is_expert=True,
        expertise=(1,),
        country="KE",
        languages=("sw", "en"),
        organization_id=government,
    )
    await factory.member(name="Not Listed", expertise=(20,), country="MX", languages=("es",))

    async def filtered(criteria: dict[str, Any]) -> list[str]:
        return names(await gql(client, DIRECTORY, {"filter": criteria}))

    # then
    assert await filtered({"objectives": [20]}) == ["Remittances Expert"]
    assert await filtered({"objectives": [1, 20]}) == ["Data Expert", "Remittances Expert"]
    assert await filtered({"country": "ke"}) == ["Data Expert"]
    assert await filtered({"language": "es"}) == ["Remittances Expert"]
    assert await filtered({"language": "en"}) == ["Data Expert", "Remittances Expert"]
    assert await filtered({"organizationKind": "UN_SYSTEM"}) == ["Remittances Expert"]
    assert await filtered({"isExpert": True, "objectives": [19], "country": "MX"}) == [
        "Remittances Expert"
    ]


async def test_moderators_find_a_un_system_reviewer_by_role_kind_and_languages(
    client, factory: Factory
):
    # given reviewers and members at UN and government organisations, speaking various languages
    un = await factory.organization(OrganizationKind.UN_SYSTEM)
    government = await factory.organization(OrganizationKind.GOVERNMENT)
    moderator = await factory.member(role=Role.MODERATOR, name="Moderator")
    await factory.member(
        name="UN Reviewer", role=Role.REVIEWER, organization_id=un, languages=("fr-SN", "en")
    )
    await factory.member(
        name="UN Arabic Reviewer", role=Role.REVIEWER, organization_id=un, languages=("ar",)
    )
    await factory.member(name="UN Member", organization_id=un, languages=("fr",))
    await factory.member(
        name="Government Reviewer",
        role=Role.REVIEWER,
        organization_id=government,
        languages=("fr",),
    )

    async def filtered(criteria: dict[str, Any]) -> list[str]:
        return names(await gql(client, DIRECTORY, {"filter": criteria}, member=moderator))

    # then one filter finds them, without checking members one by one
    reviewers_at_un = {"roles": ["REVIEWER"], "organizationKind": "UN_SYSTEM"}
    assert await filtered(reviewers_at_un) == ["UN Arabic Reviewer", "UN Reviewer"]
    assert await filtered({**reviewers_at_un, "languages": ["fr"]}) == ["UN Reviewer"]
    assert await filtered({**reviewers_at_un, "languages": ["fr", "ar"]}) == [
        "UN Arabic Reviewer",
        "UN Reviewer",
    ]
    assert await filtered({"roles": ["REVIEWER", "MODERATOR"], "languages": ["fr"]}) == [
        "Government Reviewer",
        "UN Reviewer",
    ]
    assert await filtered({"roles": ["MODERATOR"]}) == ["Moderator"]


async def test_invalid_filter_values_are_client_errors(client):
    response = await client.post(
        "/graphql", json={"query": DIRECTORY, "variables": {"filter": {"country": "XX"}}}
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "country" in error["message"]


async def test_member_profile_shows_languages_in_their_order_and_expertise(client, factory):
    viewer = await factory.member(
        name="Polyglot", languages=("sw", "fr", "ar"), expertise=(6, 5), country="MX"
    )
    body = await gql(
        client,
        "{ viewer { languages expertise { number shortTitle } country { code name } role } }",
        member=viewer,
    )
    profile = body["data"]["viewer"]
    assert profile["languages"] == ["sw", "fr", "ar"]
    assert [o["number"] for o in profile["expertise"]] == [5, 6]
    # named from CLDR in the viewer's first language (their own order, not the UN order's
    # Arabic)
    assert profile["country"] == {"code": "MX", "name": "Meksiko"}
    assert profile["role"] == "MEMBER"


async def page_statements(client, viewer, statements: StatementCounter, size: int) -> int:
    """The statements of the page through the executor: a text this process has not answered
    yet (one it has is compiled from then on: tests/test_compiled_texts.py)."""
    statements.reset()
    text = f"{PAGE_WITH_ORGANIZATIONS}\n# {size}"
    body = await gql(client, text, {"first": size}, member=viewer)
    assert len(body["data"]["members"]["nodes"]) == size
    assert all(n["organization"] is not None for n in body["data"]["members"]["nodes"])
    return statements.count


async def test_directory_page_runs_the_same_number_of_statements_at_10_and_100(
    client, factory: Factory, statements: StatementCounter
):
    # given: 120 members spread over 12 organisations
    organizations = [await factory.organization() for _ in range(12)]
    viewer = await factory.member(name="AAA Viewer", organization_id=organizations[0])
    for index in range(120):
        await factory.member(organization_id=organizations[index % 12], role=Role.MEMBER)
    # when
    at_10 = await page_statements(client, viewer, statements, 10)
    at_100 = await page_statements(client, viewer, statements, 100)
    # then: token lookup + one page query + one organisation batch, whatever the size
    assert at_10 == at_100 == 3, statements.statements


async def test_expertise_and_languages_load_in_one_batch_each(
    client, factory: Factory, statements: StatementCounter
):
    viewer = await factory.member(name="AAA")
    for _ in range(30):
        await factory.member(expertise=(1, 2), languages=("en",))
    statements.reset()
    await gql(
        client,
        "{ members(first: 31) { nodes { languages expertise { number } } } }",
        member=viewer,
    )
    # token, page, languages batch, expertise batch, objectives batch
    assert statements.count == 5, statements.statements


async def test_organizations_list_pages_and_filters_by_kind(client, factory: Factory):
    await factory.organization(OrganizationKind.GOVERNMENT, name="Ministry A", country="KE")
    await factory.organization(OrganizationKind.ACADEMIA, name="University B")
    body = await gql(
        client,
        "{ all: organizations { totalCount nodes { name kind country { code } } }"
        "  gov: organizations(kind: GOVERNMENT) { nodes { name } } }",
    )
    assert body["data"]["all"]["totalCount"] == 2
    assert body["data"]["all"]["nodes"][0] == {
        "name": "Ministry A",
        "kind": "GOVERNMENT",
        "country": {"code": "KE"},
    }
    assert body["data"]["gov"]["nodes"] == [{"name": "Ministry A"}]


UPDATE_PROFILE = """
mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) {
    member { name bio country { code } languages expertise { number } isExpert }
    errors { field code message }
  }
}
"""


async def test_update_profile_changes_only_the_fields_given(client, factory):
    viewer = await factory.member(name="Before", country="KE", languages=("en",))
    body = await gql(
        client,
        UPDATE_PROFILE,
        {"input": {"bio": "Labour migration.", "expertise": [6, 5], "languages": ["fr", "EN"]}},
        member=viewer,
    )
    payload = body["data"]["updateProfile"]
    assert payload["errors"] == []
    assert payload["member"] == {
        "name": "Before",
        "bio": "Labour migration.",
        "country": {"code": "KE"},
        "languages": ["fr", "en"],  # in the order given
        "expertise": [{"number": 5}, {"number": 6}],
        "isExpert": False,
    }


async def test_update_profile_clears_country_with_null(client, factory):
    viewer = await factory.member(country="KE")
    body = await gql(client, UPDATE_PROFILE, {"input": {"country": None}}, member=viewer)
    assert body["data"]["updateProfile"]["member"]["country"] is None


PROFILE = "{ viewer { name bio country { code } languages expertise { number } isExpert } }"


async def profile(client: Any, member: Any) -> dict[str, Any]:
    body = await gql(client, PROFILE, member=member)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["viewer"]
    return found


async def filled_in_profile(client: Any, factory: Factory) -> Any:
    viewer = await factory.member(name="Ada", country="KE", languages=("en",), expertise=(6,))
    bio = {"input": {"bio": "Labour migration."}}
    assert (await gql(client, UPDATE_PROFILE, bio, member=viewer))["data"]["updateProfile"][
        "errors"
    ] == []
    return viewer


async def test_update_profile_sending_one_field_keeps_every_other_field(client, factory):
    # given a profile with every field filled in
    viewer = await filled_in_profile(client, factory)
    before = await profile(client, viewer)
    # when the member sends only the expert flag
    body = await gql(client, UPDATE_PROFILE, {"input": {"isExpert": True}}, member=viewer)
    assert body["data"]["updateProfile"]["errors"] == []
    # then it changed and nothing else
    assert await profile(client, viewer) == {**before, "isExpert": True}


async def test_update_profile_refuses_null_for_a_required_field_and_changes_nothing(
    client, factory
):
    viewer = await filled_in_profile(client, factory)
    before = await profile(client, viewer)
    changes = {"name": None, "languages": None, "bio": "Changed as well."}
    body = await gql(client, UPDATE_PROFILE, {"input": changes}, member=viewer)
    refused = body["data"]["updateProfile"]
    assert refusals(refused) == [("languages", "REQUIRED"), ("name", "REQUIRED")]
    assert await profile(client, viewer) == before


ASSIGN_ORGANIZATION = """
mutation($input: AssignMemberOrganizationInput!) {
  assignMemberOrganization(input: $input) {
    member { organization { name } } errors { field code message }
  }
}
"""


async def test_assigning_an_organisation_keeps_it_when_left_out_and_removes_it_with_null(
    client, factory
):
    # given a member of an organisation
    admin = await factory.member(role=Role.ADMIN)
    organization = await factory.organization(name="Ministry A")
    member = await factory.member(organization_id=organization)
    # when an admin leaves the organisation out, it stays
    body = await gql(
        client, ASSIGN_ORGANIZATION, {"input": {"memberId": member.global_id}}, member=admin
    )
    assert body["data"]["assignMemberOrganization"] == {
        "member": {"organization": {"name": "Ministry A"}},
        "errors": [],
    }
    # when the admin sends null, it is removed
    removal = {"input": {"memberId": member.global_id, "organizationId": None}}
    body = await gql(client, ASSIGN_ORGANIZATION, removal, member=admin)
    assert body["data"]["assignMemberOrganization"] == {
        "member": {"organization": None},
        "errors": [],
    }


async def test_update_profile_needs_a_signed_in_member(client):
    body = await gql(client, UPDATE_PROFILE, {"input": {"name": "X"}})
    assert body["data"]["updateProfile"] == {
        "member": None,
        "errors": [{"field": None, "code": "UNAUTHENTICATED", "message": "Sign in to do this."}],
    }


async def test_node_fetches_every_node_type_by_its_global_id(client, factory):
    organization = await factory.organization(name="Org For Node")
    member = await factory.member(name="Node Member", organization_id=organization)
    body = await gql(
        client,
        """query($id: ID!) {
          member: node(id: $id) { __typename id ... on Member { name organization { id } } }
        }""",
        {"id": member.global_id},
        member=member,
    )
    found = body["data"]["member"]
    assert found["__typename"] == "Member"
    assert found["id"] == member.global_id
    organization_id = found["organization"]["id"]
    body = await gql(
        client,
        """query($ids: [ID!]!) { nodes(ids: $ids) { __typename
             ... on Organization { name } ... on GcmObjective { number } } }""",
        {"ids": [organization_id, "R2NtT2JqZWN0aXZlOjIz", organization_id + "x"]},
    )
    assert body["data"]["nodes"] == [
        {"__typename": "Organization", "name": "Org For Node"},
        {"__typename": "GcmObjective", "number": 23},
        None,
    ]


async def test_a_global_id_of_the_wrong_type_reads_as_missing(client, factory):
    member = await factory.member(is_expert=True)
    organization_like = member.global_id.replace("TWVtYmVy", "T3JnYW5p")  # "Organi..." prefix
    body = await gql(
        client,
        "query($id: ID!) { member(id: $id) { id } node(id: $id) { id } }",
        {"id": organization_like},
    )
    assert body["data"] == {"member": None, "node": None}
