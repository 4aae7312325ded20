"""The visibility matrix of webinars: who reads the join link, the chat and the Q&A (and who an
anonymous question's author is), as queries, as nodes and as a subscription. 0 leaks."""

from __future__ import annotations

import pytest

from models.member import Role
from tests.conftest import gql
from tests.discussions import community, join, ok
from tests.live import connect
from tests.webinars import WEBINAR_EVENTS, ask, event_cursor, register, say, set_status, webinar

INVITE = """
mutation($c: ID!, $m: ID!) {
  inviteToCommunity(input: {communityId: $c, memberId: $m}) { ok errors { code } }
}
"""
READ = """
query($id: ID!, $message: ID!, $question: ID!) {
  webinar(id: $id) {
    joinUrl
    chatMessages { nodes { body } }
    questions { nodes { body author { name } } }
  }
  message: node(id: $message) { id }
  question: node(id: $question) { ... on WebinarQuestion { body author { name } } }
}
"""
ACTORS = ("anonymous", "member", "community member", "registrant", "organiser", "moderator")
TAKING_PART = {"registrant", "organiser", "moderator"}
SEES_ANONYMOUS_AUTHOR = {"organiser", "moderator"}


def expected(actor: str, community_only: bool) -> dict[str, bool]:
    sees_webinar = not community_only or actor not in ("anonymous", "member")
    takes_part = actor in TAKING_PART
    return {
        "webinar": sees_webinar,
        "joinUrl": takes_part,
        "chat": takes_part,
        "questions": takes_part,
        "messageNode": takes_part,
        "questionNode": takes_part,
        "anonymousAuthor": actor in SEES_ANONYMOUS_AUTHOR,
        "subscription": takes_part,
    }


async def observed(app, client, actor, webinar_id, cursor, ids) -> dict[str, bool]:
    token = actor.token if actor else None
    body = await gql(
        client,
        READ,
        {"id": webinar_id, "message": ids["message"], "question": ids["question"]},
        member=actor,
    )
    assert "errors" not in body, body
    data = body["data"]
    seen = data["webinar"] or {}
    questions = (seen.get("questions") or {}).get("nodes") or []
    async with connect(app, token) as socket:
        await socket.subscribe(WEBINAR_EVENTS, {"id": webinar_id, "after": cursor})
        first = await socket.receive()
    return {
        "webinar": data["webinar"] is not None,
        "joinUrl": seen.get("joinUrl") is not None,
        "chat": seen.get("chatMessages") is not None,
        "questions": seen.get("questions") is not None,
        "messageNode": data["message"] is not None,
        "questionNode": data["question"] is not None,
        "anonymousAuthor": any(q["author"] is not None for q in questions)
        or (data["question"] or {}).get("author") is not None,
        "subscription": "errors" not in first["payload"],
    }


@pytest.mark.parametrize("community_only", [False, True], ids=["public", "community-only"])
async def test_join_links_chat_and_questions_leak_to_nobody(app, client, factory, community_only):
    # given: a private community, its member, an outsider, a co-organiser, a global moderator
    community_id, creator = await community(client, factory, private=True)
    people = {
        "anonymous": None,
        "member": await factory.member(name="Outsider"),
        "community member": await factory.member(name="Insider"),
        "registrant": await factory.member(name="Registrant"),
        "organiser": await factory.member(name="Co Organiser"),
        "moderator": await factory.member(role=Role.MODERATOR, name="Global Mod"),
    }
    for name in ("community member", "registrant", "organiser"):
        await ok(client, INVITE, {"c": community_id, "m": people[name].global_id}, creator)
        await join(client, community_id, people[name])
    extra = {"communityId": community_id, "visibility": "COMMUNITY"} if community_only else {}
    webinar_id = await webinar(
        client,
        creator,
        starts_in_hours=0.1,
        organisers=[{"memberId": people["organiser"].global_id}],
        **extra,
    )
    await register(client, webinar_id, people["registrant"])
    await set_status(client, webinar_id, creator, "LIVE")
    cursor = await event_cursor(client, webinar_id, creator)
    message = await say(client, webinar_id, people["registrant"], "hello")
    question = await ask(client, webinar_id, people["registrant"], "secret?", anonymous=True)
    ids = {"message": message["id"], "question": question}
    # when
    leaks = []
    for actor in ACTORS:
        seen = await observed(app, client, people[actor], webinar_id, cursor, ids)
        want = expected(actor, community_only)
        leaks += [(actor, k) for k in want if seen[k] and not want[k]]
        missing = [(actor, k) for k in want if want[k] and not seen[k]]
        assert missing == [], missing
    # then
    assert leaks == []
