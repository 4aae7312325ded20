"""No N+1: a page of webinars, and of a webinar's questions, runs as many SQL statements at 2
items as at 10 (nested fields load through DataLoaders, one IN query per batch)."""

from __future__ import annotations

from tests.conftest import gql
from tests.discussions import ok
from tests.webinars import UPVOTE, ask, live_webinar, register, staff, webinar

WEBINARS = """
query($n: Int!) {
  webinars(first: $n) {
    nodes {
      title joinUrl seatsLeft languages interpretationLanguages objectives { number }
      organisers { name member { name } } speakers { name }
      viewer { registrationStatus waitlistPosition manages }
      community { name } eventCursor
    }
  }
}
"""
QUESTIONS = """
query($id: ID!, $n: Int!) {
  webinar(id: $id) {
    questions(first: $n) {
      nodes { body voteCount author { name } answeredBy { name } viewer { asked upvoted } }
    }
  }
}
"""


async def test_a_page_of_webinars_runs_the_same_statements_at_2_and_10(client, factory, statements):
    organiser = await staff(factory)
    member = await factory.member()
    for i in range(10):
        webinar_id = await webinar(
            client,
            organiser,
            starts_in_hours=10 + i,
            objectives=[1, 2],
            languages=["en"],
            interpretationLanguages=["fr"],
            speakers=[{"name": f"Guest {i}"}],
        )
        await register(client, webinar_id, member)

    async def count(size: int) -> int:
        statements.reset()
        body = await gql(client, WEBINARS, {"n": size}, member=member)
        assert "errors" not in body, body
        assert len(body["data"]["webinars"]["nodes"]) == size
        return statements.count

    assert await count(2) == await count(10)


async def test_a_page_of_questions_runs_the_same_statements_at_2_and_10(
    client, factory, statements
):
    webinar_id, organiser, members = await live_webinar(client, factory, *"ABCDEFGHIJ")
    for member in members:
        question = await ask(client, webinar_id, member, f"Question of {member.global_id}")
        await ok(client, UPVOTE, {"id": question}, members[0])

    async def count(size: int) -> int:
        statements.reset()
        body = await gql(client, QUESTIONS, {"id": webinar_id, "n": size}, member=organiser)
        assert "errors" not in body, body
        assert len(body["data"]["webinar"]["questions"]["nodes"]) == size
        return statements.count

    assert await count(2) == await count(10)
