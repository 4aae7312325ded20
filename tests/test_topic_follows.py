"""Following the Compact (issue 14): members follow a GCM objective, a guiding principle, a
country or a region, and are notified (FOLLOWED_TOPIC) when a resource or initiative tagged
with it is published or a call for practices on it opens; what they follow is theirs alone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from app.delivery import DeliveryWorker
from app.main import create_app
from models.base import utcnow
from models.notification import Notification
from models.outbox import Delivery, DeliveryChannel
from resolvers.digests import schedule_digests
from schema.relay import encode_id
from subscriptions.events import EventPublisher
from tests.conftest import api_client, gql, make_settings
from tests.discussions import community, join
from tests.knowledge import call, cast, codes, ok, published
from tests.mail import smtp_server
from tests.test_initiatives import CREATE_CALL
from tests.test_outbox import UPDATE_PREFERENCES
from tests.test_webhooks import CREATE as CREATE_ENDPOINT
from tests.test_webhooks import http_receiver
from tests.webinars import webinar

FOLLOW = """
mutation($t: TopicInput!) { followTopic(input: $t) { following errors { field code } } }
"""
UNFOLLOW = """
mutation($t: TopicInput!) { unfollowTopic(input: $t) { following errors { field code } } }
"""
FOLLOWS = """
{ viewer { follows { nodes { kind key objective { number } principle { letter }
  country { code } region { m49 } } } } }
"""
NOTIFICATIONS = """
{ notifications { nodes { kind change resource { title } callForPractices { theme } } } }
"""


def objective(number: int) -> dict[str, Any]:
    return {"objectiveId": encode_id("GcmObjective", number)}


async def tell_followers(db: Any, broadcast: Any, database_url: str, **settings: Any) -> None:
    """What the workers do after a publication: expand its fan-out job into the followers'
    notifications (and send what is due)."""
    worker = DeliveryWorker.from_settings(
        db, make_settings(database_url, **settings), EventPublisher(broadcast)
    )
    while await worker.run_round():
        pass


async def notifications(client: Any, member: Any) -> list[dict[str, Any]]:
    body = await gql(client, NOTIFICATIONS, member=member)
    nodes: list[dict[str, Any]] = body["data"]["notifications"]["nodes"]
    return nodes


async def test_a_member_follows_each_kind_of_topic_and_alone_sees_it(client, factory):
    member = await factory.member()
    for topic in (objective(6), {"principle": "E"}, {"country": "ke"}, {"region": "AFRICA"}):
        assert await ok(client, FOLLOW, {"t": topic}, member) == {"following": True, "errors": []}
    # following again changes nothing
    await ok(client, FOLLOW, {"t": objective(6)}, member)
    nodes = (await gql(client, FOLLOWS, member=member))["data"]["viewer"]["follows"]["nodes"]
    assert sorted((n["kind"], n["key"]) for n in nodes) == [
        ("COUNTRY", "KE"),
        ("OBJECTIVE", "6"),
        ("PRINCIPLE", "e"),
        ("REGION", "002"),
    ]
    by_kind = {n["kind"]: n for n in nodes}
    assert by_kind["OBJECTIVE"]["objective"] == {"number": 6}
    assert by_kind["PRINCIPLE"]["principle"] == {"letter": "e"}
    assert by_kind["COUNTRY"]["country"] == {"code": "KE"}
    assert by_kind["REGION"]["region"] == {"m49": "002"}
    # another member reads nothing of it
    other = await factory.member()
    query = "query($id: ID!) { node(id: $id) { ... on Member { follows { nodes { key } } } } }"
    seen = await gql(client, query, {"id": member.global_id}, member=other)
    assert seen["data"]["node"] in (None, {"follows": None})
    # unfollowing
    assert await ok(client, UNFOLLOW, {"t": {"country": "KE"}}, member) == {
        "following": False,
        "errors": [],
    }
    nodes = (await gql(client, FOLLOWS, member=member))["data"]["viewer"]["follows"]["nodes"]
    assert "KE" not in [n["key"] for n in nodes]


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ({}, [(None, "INVALID")]),
        ({**objective(6), "country": "KE"}, [(None, "INVALID")]),
        (objective(24), [("objectiveId", "NOT_FOUND")]),
        ({"objectiveId": encode_id("Thread", 1)}, [("objectiveId", "NOT_FOUND")]),
        ({"principle": "z"}, [("principle", "NOT_FOUND")]),
        ({"country": "XX"}, [("country", "INVALID")]),
    ],
)
async def test_a_topic_must_be_one_that_exists(client, factory, topic, expected):
    member = await factory.member()
    payload = await call(client, FOLLOW, {"t": topic}, member)
    assert [(e["field"], e["code"]) for e in payload["errors"]] == expected
    assert payload["following"] is False


async def test_publishing_notifies_the_followers_of_its_topics(
    client, factory, db, database_url, broadcast
):
    # given: followers of the resource's objective, of its country's region, and of neither
    people = await cast(factory)
    on_objective = await factory.member(name="Objective Follower")
    on_region = await factory.member(name="Region Follower")
    elsewhere = await factory.member(name="Elsewhere")
    await ok(client, FOLLOW, {"t": objective(6)}, on_objective)
    await ok(client, FOLLOW, {"t": {"region": "AFRICA"}}, on_region)  # the resource is on KE
    await ok(client, FOLLOW, {"t": objective(2)}, elsewhere)
    await ok(client, FOLLOW, {"t": objective(6)}, people.author)
    # when: a resource on objective 6 in Kenya passes review
    await published(client, people, objectives=[6], countries=["KE"])
    await tell_followers(db, broadcast, database_url)
    # then: the followers are told once, what was published; others and the author are not
    for follower in (on_objective, on_region):
        assert await notifications(client, follower) == [
            {
                "kind": "FOLLOWED_TOPIC",
                "change": "PUBLISHED",
                "resource": {"title": "Fair recruitment toolkit"},
                "callForPractices": None,
            }
        ]
    assert await notifications(client, elsewhere) == []
    kinds = [n["kind"] for n in await notifications(client, people.author)]
    assert "FOLLOWED_TOPIC" not in kinds
    # and: by default it waits for the weekly digest (no email at once)
    async with db.sessions() as session:
        emails = await session.scalars(
            select(Delivery.member_id).where(Delivery.channel == DeliveryChannel.EMAIL)
        )
        assert on_objective.id not in set(emails)


async def test_a_call_for_practices_notifies_followers_and_webhooks(
    database_url, db, broadcast, factory
):
    # a deployment whose webhooks may reach the receiver here
    settings = make_settings(database_url, webhook_allow_private_addresses=True)
    async with api_client(create_app(settings, db, broadcast)) as client:
        await _call_opened(client, settings, db, broadcast, factory)


async def _call_opened(client: Any, settings: Any, db: Any, broadcast: Any, factory: Any) -> None:
    people = await cast(factory)
    follower = await factory.member()
    admin = await factory.member(role="ADMIN")
    await ok(client, FOLLOW, {"t": objective(18)}, follower)
    deadline = (utcnow() + timedelta(days=30)).isoformat()
    call_input = {"theme": "Skills mobility", "objectives": [18], "deadline": deadline}
    with http_receiver() as receiver:
        created = await call(
            client,
            CREATE_ENDPOINT,
            {"url": receiver.url, "events": ["CALL_FOR_PRACTICES_OPENED"]},
            admin,
        )
        assert codes(created) == [], created
        await ok(client, CREATE_CALL, {"input": call_input}, people.moderator)
        worker = DeliveryWorker.from_settings(db, settings, EventPublisher(broadcast))
        while await worker.run_round():
            pass
        assert await notifications(client, follower) == [
            {
                "kind": "FOLLOWED_TOPIC",
                "change": "OPENED",
                "resource": None,
                "callForPractices": {"theme": "Skills mobility"},
            }
        ]
        [body] = receiver.verified(created["secret"])
    assert body["type"] == "call_for_practices.opened"
    assert body["data"]["theme"] == "Skills mobility"


async def test_what_was_published_on_a_topic_reaches_the_digest(
    client, factory, db, database_url, broadcast
):
    # given: a follower who wants this kind daily, and a resource published on their objective
    people = await cast(factory)
    follower = await factory.member(name="Daily Follower")
    await ok(client, FOLLOW, {"t": objective(6)}, follower)
    daily = [{"kind": "FOLLOWED_TOPIC", "email": "DAILY"}]
    await ok(client, UPDATE_PREFERENCES, {"p": daily}, follower)
    await published(client, people, objectives=[6])
    await tell_followers(db, broadcast, database_url)
    yesterday = utcnow() - timedelta(days=1)
    async with db.sessions.begin() as session:
        await session.execute(
            update(Notification)
            .where(Notification.member_id == follower.id)
            .values(created_at=yesterday)
        )
    # when: the day's digests are written and sent
    assert await schedule_digests(db.sessions, utcnow()) >= 1
    with smtp_server() as (inbox, url):
        worker = DeliveryWorker.from_settings(db, make_settings(database_url, smtp_url=url))
        while await worker.run_round():
            pass
    # then: the follower's digest names what was published
    [message] = [m for m in inbox.messages if follower.email in str(m["To"])]
    text_part = message.get_body(("plain",))
    assert text_part is not None
    text = text_part.get_content()
    assert "Published on a topic you follow: “Fair recruitment toolkit”" in text


WEBINAR_NOTIFICATIONS = """
{ notifications { nodes { kind change webinar { title } resource { title } } } }
"""


async def test_a_webinar_on_a_followed_objective_reaches_only_those_who_may_see_it(
    client, factory, db, database_url, broadcast
):
    # given: a public community, one follower of objective 6 who is its member (and wants
    # this kind at once), one who is not, and a follower of another objective
    community_id, founder = await community(client, factory, slug="fair-recruitment")
    member = await factory.member(name="Community Follower")
    outsider = await factory.member(name="Outside Follower")
    elsewhere = await factory.member(name="Elsewhere")
    await join(client, community_id, member)
    for follower in (member, outsider):
        await ok(client, FOLLOW, {"t": objective(6)}, follower)
        immediate = [{"kind": "FOLLOWED_TOPIC", "email": "IMMEDIATE"}]
        await ok(client, UPDATE_PREFERENCES, {"p": immediate}, follower)
    await ok(client, FOLLOW, {"t": objective(2)}, elsewhere)
    # when: a public webinar on objective 6 is scheduled, then a community-only one
    await webinar(client, founder, title="Open webinar", objectives=[6])
    await webinar(
        client,
        founder,
        title="Members' webinar",
        objectives=[6, 10],
        visibility="COMMUNITY",
        communityId=community_id,
    )
    # and: the workers expand the jobs and send what they wrote
    with smtp_server() as (inbox, url):
        await tell_followers(db, broadcast, database_url, smtp_url=url)
    # then: the community's member hears of both, the outsider of the public one only
    expected = {
        "kind": "FOLLOWED_TOPIC",
        "change": "SCHEDULED",
        "resource": None,
    }
    # (the two jobs are expanded side by side: their notifications come in either order)
    got = await gql(client, WEBINAR_NOTIFICATIONS, member=member)
    assert sorted(
        got["data"]["notifications"]["nodes"], key=lambda n: str(n["webinar"]["title"])
    ) == [
        {**expected, "webinar": {"title": "Members' webinar"}},
        {**expected, "webinar": {"title": "Open webinar"}},
    ]
    got = await gql(client, WEBINAR_NOTIFICATIONS, member=outsider)
    assert got["data"]["notifications"]["nodes"] == [
        {**expected, "webinar": {"title": "Open webinar"}}
    ]
    assert await notifications(client, elsewhere) == []
    # and: by email, at once, the same: two messages to the member, one to the outsider
    subjects = sorted(
        (str(m["To"]).split("<")[-1].rstrip(">"), str(m["Subject"])) for m in inbox.messages
    )
    assert [to for to, _ in subjects] == sorted([member.email, member.email, outsider.email])
    assert all("Webinar scheduled on a topic you follow" in s for _, s in subjects), subjects
