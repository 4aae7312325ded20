"""Publishing on followed topics does not write every follower's notification itself (issue 14):
it writes one FANOUT job to the outbox, which the workers expand in batches, each batch one
transaction with the job's progress. Proven here: the publishing transaction's cost does not
grow with the followers; every follower who may see it is told exactly once (one email when
they want it at once), outsiders never; a job stopped between batches resumes with nothing
lost or doubled; visibility is decided at expansion; a failing job retries, then dies and an
admin can retry it."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from app.delivery import DeliveryWorker
from models.community import Community, CommunityMember
from models.event import Event
from models.member import Member
from models.notification import Notification, NotificationKind, TopicFollow, TopicKind
from models.outbox import Delivery, DeliveryChannel, DeliveryState, EmailFrequency, EmailPreference
from resolvers import outbox
from resolvers.topic_fanout import CLAIM_LOST, expand_batch
from subscriptions.events import EventPublisher, member_stream
from tests.conftest import gql, make_settings
from tests.discussions import community
from tests.knowledge import SUBMIT, assign, cast, draft, ok, review
from tests.test_outbox import DELIVERIES, RETRY
from tests.webinars import staff, webinar

LEAVE = """
mutation($id: ID!) { leaveCommunity(input: {communityId: $id}) { errors { code } } }
"""


def worker(db: Any, broadcast: Any, database_url: str, **settings: Any) -> DeliveryWorker:
    return DeliveryWorker.from_settings(
        db, make_settings(database_url, **settings), EventPublisher(broadcast)
    )


async def run_until_idle(worker: DeliveryWorker) -> None:
    while await worker.run_round():
        pass


async def followers(
    db: Any, count: int, *, community_id: int | None = None, immediate: bool = False
) -> list[int]:
    """`count` new members following objective 6 (members of `community_id` if given; wanting
    FOLLOWED_TOPIC mail at once if `immediate`, else the weekly default)."""
    batch = uuid.uuid4().hex[:8]
    async with db.sessions.begin() as session:
        people = [{"name": f"F{i}", "email": f"f{i}.{batch}@example.org"} for i in range(count)]
        ids = list(
            await session.scalars(
                insert(Member).returning(Member.id), [{**p, "password_hash": "-"} for p in people]
            )
        )
        await session.execute(
            insert(TopicFollow),
            [{"member_id": m, "topic": TopicKind.OBJECTIVE, "key": "6"} for m in ids],
        )
        if community_id is not None:
            await session.execute(
                insert(CommunityMember),
                [{"community_id": community_id, "member_id": m} for m in ids],
            )
        if immediate:
            await session.execute(
                insert(EmailPreference),
                [
                    {
                        "member_id": m,
                        "kind": NotificationKind.FOLLOWED_TOPIC,
                        "frequency": EmailFrequency.IMMEDIATE,
                    }
                    for m in ids
                ],
            )
    return ids


async def told(db: Any) -> Counter[int]:
    """FOLLOWED_TOPIC notifications per member."""
    async with db.sessions() as session:
        return Counter(
            await session.scalars(
                select(Notification.member_id).where(
                    Notification.kind == NotificationKind.FOLLOWED_TOPIC
                )
            )
        )


async def emailed(db: Any) -> Counter[int]:
    """Email deliveries per member."""
    async with db.sessions() as session:
        return Counter(
            await session.scalars(
                select(Delivery.member_id).where(Delivery.channel == DeliveryChannel.EMAIL)
            )
        )


async def jobs(db: Any) -> list[Delivery]:
    async with db.sessions() as session:
        found = await session.scalars(
            select(Delivery).where(Delivery.channel == DeliveryChannel.FANOUT).order_by(Delivery.id)
        )
        return list(found)


async def a_community_webinar(client: Any, factory: Any, db: Any) -> tuple[str, int, Any]:
    """A community (its global id, its id, its moderator) whose webinars its members see."""
    community_gid, founder = await community(client, factory, slug="fanout")
    async with db.sessions() as session:
        community_id = await session.scalar(select(Community.id).where(Community.slug == "fanout"))
    assert community_id is not None
    return community_gid, community_id, founder


@dataclass(frozen=True)
class Publishing:
    """What the transaction that publishes did: statements sent, rows written."""

    statements: int
    deliveries: Counter[DeliveryChannel]
    notifications: Counter[NotificationKind]


async def publishing(client: Any, db: Any, people: Any, statements: Any) -> Publishing:
    """A resource on objective 6 through review; what the review that publishes it (the
    second UN approval) cost."""
    resource_id = await draft(client, people.author, objectives=[6])
    await ok(client, SUBMIT, {"id": resource_id}, people.author)
    await assign(client, people.moderator, resource_id, people.un_reviewer, people.un_reviewer_2)
    await review(client, people.un_reviewer, resource_id)
    last_delivery, last_notification = await _last_ids(db)
    statements.reset()
    item = await review(client, people.un_reviewer_2, resource_id)
    sent = int(statements.count)
    assert item["state"] == "APPROVED"
    async with db.sessions() as session:
        deliveries = await session.scalars(
            select(Delivery.channel).where(Delivery.id > last_delivery)
        )
        notifications = await session.scalars(
            select(Notification.kind).where(Notification.id > last_notification)
        )
        return Publishing(sent, Counter(deliveries), Counter(notifications))


async def _last_ids(db: Any) -> tuple[int, int]:
    async with db.sessions() as session:
        delivery = await session.scalar(select(func.max(Delivery.id)))
        notification = await session.scalar(select(func.max(Notification.id)))
    return delivery or 0, notification or 0


async def test_publishing_writes_one_job_whatever_the_number_of_followers(
    client, factory, db, statements
):
    # given: three followers of objective 6
    people = await cast(factory)
    await followers(db, 3, immediate=True)
    await publishing(client, db, people, statements)  # the first publication warms up
    at_3 = await publishing(client, db, people, statements)
    # when: two hundred more follow it, and another resource on it is published
    await followers(db, 200, immediate=True)
    at_203 = await publishing(client, db, people, statements)
    # then: the publishing transaction sends as many statements and writes as many rows:
    # one job, and the author's review decision (its notification and email)
    assert at_203 == at_3, statements.statements
    assert at_203.deliveries == Counter({DeliveryChannel.FANOUT: 1, DeliveryChannel.EMAIL: 1})
    assert at_203.notifications == Counter({NotificationKind.REVIEW_DECISION: 1})
    assert await told(db) == Counter()


async def test_every_follower_who_may_see_it_is_told_once_and_emailed_once_outsiders_never(
    client, factory, db, broadcast, database_url
):
    # given: a community's webinar on objective 6 followed by 4 of its members who want mail
    # at once, 3 who wait for the digest, and 5 outsiders
    community_gid, community_id, founder = await a_community_webinar(client, factory, db)
    at_once = await followers(db, 4, community_id=community_id, immediate=True)
    weekly = await followers(db, 3, community_id=community_id)
    outsiders = await followers(db, 5, immediate=True)
    await webinar(
        client, founder, objectives=[6], visibility="COMMUNITY", communityId=community_gid
    )
    assert await told(db) == Counter()
    # when: a worker expands the job, three followers per batch
    await run_until_idle(worker(db, broadcast, database_url, delivery_fanout_batch_size=3))
    # then: every member who follows it is told once, every outsider never
    assert await told(db) == Counter(at_once + weekly)
    assert set(outsiders).isdisjoint(await told(db))
    # and: one email to each who wants it at once, none to the others
    assert await emailed(db) == Counter(at_once)
    # and: one live event on each told member's stream
    async with db.sessions() as session:
        streams = Counter(
            await session.scalars(select(Event.stream).where(Event.kind == "NOTIFICATION"))
        )
    assert streams == Counter(member_stream(m) for m in at_once + weekly)
    # and: the job is done (12 followers: 4 batches, the last one short)
    [job] = await jobs(db)
    assert (job.state, job.last_member_id) == (DeliveryState.SENT, outsiders[-1])


async def test_a_job_stopped_between_batches_resumes_with_nothing_lost_or_doubled(
    client, factory, db, broadcast, database_url
):
    # given: a public webinar on objective 6 with 10 followers
    founder = await staff(factory)
    people = await followers(db, 10, immediate=True)
    await webinar(client, founder, objectives=[6])
    # when: a worker claims the job, writes one batch of 4, and dies (its lease runs out now)
    [first] = [
        c
        for c in await outbox.claim_due(db.sessions, limit=10, lease=timedelta(0))
        if c.channel is DeliveryChannel.FANOUT
    ]
    await expand_batch(db.sessions, EventPublisher(broadcast), first, size=4)
    assert await told(db) == Counter(people[:4])
    [job] = await jobs(db)
    assert job.last_member_id == people[3]
    # and: a fresh worker takes the job over
    await run_until_idle(worker(db, broadcast, database_url, delivery_fanout_batch_size=4))
    # then: every follower is told once and emailed once
    assert await told(db) == Counter(people)
    assert await emailed(db) == Counter(people)
    # and: the dead worker's claim can write nothing more
    assert await expand_batch(db.sessions, EventPublisher(broadcast), first, size=4) == CLAIM_LOST
    assert await told(db) == Counter(people)
    # and: a batch written twice for one job meets the unique index
    [job] = await jobs(db)
    with pytest.raises(IntegrityError):
        async with db.sessions.begin() as session:
            session.add(
                Notification(
                    member_id=people[0],
                    kind=NotificationKind.FOLLOWED_TOPIC,
                    subject={},
                    fanout_job=job.id,
                )
            )


async def test_who_may_see_it_is_decided_when_the_job_is_expanded(
    client, factory, db, broadcast, database_url
):
    # given: a community's webinar on objective 6, announced while two members follow it
    community_gid, community_id, founder = await a_community_webinar(client, factory, db)
    staying = await factory.member(name="Staying")
    leaving = await factory.member(name="Leaving")
    async with db.sessions.begin() as session:
        for person in (staying, leaving):
            session.add(CommunityMember(community_id=community_id, member_id=person.id))
            session.add(TopicFollow(member_id=person.id, topic=TopicKind.OBJECTIVE, key="6"))
    await webinar(
        client, founder, objectives=[6], visibility="COMMUNITY", communityId=community_gid
    )
    # when: one of them leaves the community before the job is expanded
    await ok(client, LEAVE, {"id": community_gid}, leaving)
    await run_until_idle(worker(db, broadcast, database_url))
    # then: only the one who may still see the webinar is told
    assert await told(db) == Counter([staying.id])


async def test_a_failing_job_retries_then_dies_and_an_admin_retries_it(
    client, factory, db, broadcast, database_url
):
    # given: a job, and a worker that cannot expand it (no event publisher) and gives up
    # after two attempts
    founder = await staff(factory)
    people = await followers(db, 3)
    admin = await factory.member(role="ADMIN")
    await webinar(client, founder, objectives=[6])
    broken = DeliveryWorker.from_settings(db, make_settings(database_url, delivery_max_attempts=2))
    # when: it fails once, then (its backoff over) again
    assert await broken.run_round() == 1
    [job] = await jobs(db)
    assert (job.state, job.attempts) == (DeliveryState.PENDING, 1)
    assert job.due_at - job.created_at >= timedelta(seconds=15)
    async with db.sessions.begin() as session:
        waiting = await session.get(Delivery, job.id)
        assert waiting is not None
        waiting.due_at = job.created_at
    assert await broken.run_round() == 1
    # then: it is dead, listed for admins, and nobody was told
    [job] = await jobs(db)
    assert (job.state, job.attempts) == (DeliveryState.DEAD, 2)
    assert await told(db) == Counter()
    listed = (await gql(client, DELIVERIES, {"state": "DEAD"}, member=admin))["data"]
    [node] = listed["deliveries"]["nodes"]
    assert (node["channel"], node["lastError"]) == ("FANOUT", job.last_error)
    # when: an admin retries it and a working worker runs
    retried = (await gql(client, RETRY, {"id": node["id"]}, member=admin))["data"]
    assert retried["retryDelivery"]["errors"] == []
    await run_until_idle(worker(db, broadcast, database_url))
    # then: every follower is told once
    assert await told(db) == Counter(people)


async def test_one_worker_expands_a_job_ahead_of_the_mail_its_batches_wrote(
    client, factory, db, broadcast, database_url
):
    # given: a public webinar on objective 6 with 11 followers who want mail at once, and a
    # worker claiming two deliveries a round, telling three followers a batch
    founder = await staff(factory)
    people = await followers(db, 11, immediate=True)
    await webinar(client, founder, objectives=[6])
    slow = worker(db, broadcast, database_url, delivery_batch_size=2, delivery_fanout_batch_size=3)
    # when: it runs four rounds (the mail of the first batches still waiting)
    for _ in range(4):
        await slow.run_round()
    # then: the job is done (batches of 3, 3, 3, 2: one a round), every follower told once
    [job] = await jobs(db)
    assert job.state is DeliveryState.SENT
    assert await told(db) == Counter(people)
    async with db.sessions() as session:
        waiting = await session.scalar(
            select(func.count()).where(Delivery.state == DeliveryState.PENDING)
        )
    assert waiting == 11 - 3  # one email sent in each of rounds 2-4
