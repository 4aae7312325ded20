"""Expert matching on a fixed set of experts: the ranking and the explanation of every match."""

from __future__ import annotations

import httpx

from models.organization import OrganizationKind
from tests.conftest import Factory, gql
from tests.discussions import ok
from tests.support import CHANGE_STATUS, PROPOSE, RESPOND, TRIAGE, government, moderator, submit

SUGGESTED = """
query($id: ID!, $first: Int! = 10) {
  suggestedExperts(requestId: $id, first: $first) {
    score explanation objectives languages expert { name }
  }
}
"""


async def test_experts_rank_by_objectives_languages_place_and_past_work_and_say_why(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given: a government asking about objectives 5 and 6, for Mexico, in Spanish
    gov = await government(factory)
    focal = await moderator(factory)
    await factory.member(
        name="Ana Exacta", is_expert=True, expertise=(5, 6), languages=("es",), country="MX"
    )
    await factory.member(
        name="Beatriz Regional", is_expert=True, expertise=(6,), languages=("es-AR",), country="AR"
    )
    chidi = await factory.member(name="Chidi Veteran", is_expert=True, expertise=(5,), country="KE")
    await factory.member(name="Dieter Speaker", is_expert=True, languages=("es",), country="DE")
    await factory.member(name="Fatou Unrelated", is_expert=True, expertise=(10,), country="SN")
    # not opted in to the expert directory, and a colleague of the requester: never suggested
    await factory.member(name="Eva Private", expertise=(5, 6), languages=("es",), country="MX")
    await factory.member(
        name="Gil Colleague",
        is_expert=True,
        organization_id=gov.organization_id,
        expertise=(5, 6),
        languages=("es",),
        country="MX",
    )
    # Chidi helped complete an earlier request for Guatemala (same region as Mexico)
    other = await factory.organization(OrganizationKind.GOVERNMENT, "Guatemala", "GT")
    asker = await factory.member(organization_id=other)
    earlier = await submit(client, asker, countries=["GT"], objectives=[2], languages=["en"])
    await ok(client, TRIAGE, {"id": earlier}, focal)
    await ok(client, PROPOSE, {"id": earlier, "expert": chidi.global_id}, focal)
    await ok(client, RESPOND, {"id": earlier, "accept": True}, chidi)
    await ok(client, CHANGE_STATUS, {"id": earlier, "status": "IN_PROGRESS"}, focal)
    await ok(client, CHANGE_STATUS, {"id": earlier, "status": "COMPLETED"}, focal)
    request_id = await submit(
        client, gov.requester, objectives=[5, 6], countries=["MX"], languages=["es"]
    )
    # when
    body = await gql(client, SUGGESTED, {"id": request_id}, member=focal)
    # then
    assert "errors" not in body, body
    ranked = [
        (m["expert"]["name"], m["score"], m["explanation"])
        for m in body["data"]["suggestedExperts"]
    ]
    assert ranked == [
        ("Ana Exacta", 11, "objectives 5, 6; speaks es; based in MX"),
        ("Beatriz Regional", 6, "objective 6; speaks es; based in the region"),
        ("Chidi Veteran", 6, "objective 5; worked in the region; 1 completed request"),
        ("Dieter Speaker", 2, "speaks es"),
    ]
    first = body["data"]["suggestedExperts"][0]
    assert (first["objectives"], first["languages"]) == ([5, 6], ["es"])
    top_two = await gql(client, SUGGESTED, {"id": request_id, "first": 2}, member=focal)
    names = [m["expert"]["name"] for m in top_two["data"]["suggestedExperts"]]
    assert names == ["Ana Exacta", "Beatriz Regional"]


async def test_suggestions_are_for_focal_points_and_bounded(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    gov = await government(factory)
    request_id = await submit(client, gov.requester)
    # the requester sees the request but not the suggestions
    mine = await gql(client, SUGGESTED, {"id": request_id}, member=gov.requester)
    assert mine["data"] == {"suggestedExperts": None}
    focal = await moderator(factory)
    too_many = await gql(client, SUGGESTED, {"id": request_id, "first": 51}, member=focal)
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
