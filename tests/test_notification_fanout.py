"""notify() for a large community (issue 14): the notifications, their live events, their
emails and push messages are written in a constant number of statements, whatever the number
of recipients (up to a thousand a page), and every recipient gets exactly one of each."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from models.community import Community, CommunityMember, CommunityVisibility
from models.event import Event
from models.member import Member
from models.notification import Notification, NotificationKind
from models.outbox import Delivery, DeliveryChannel
from models.push import PushSubscription
from resolvers import notifications
from resolvers.unit_of_work import unit_of_work
from subscriptions.events import EventPublisher, member_stream
from tests.push import Browser


async def a_community(db: Any, members: int, *, pushed: int = 3) -> tuple[int, list[int]]:
    """A public community of `members` readers (the first `pushed` with a push subscription)
    and its moderator; returns (community, [moderator, *readers])."""
    async with db.sessions.begin() as session:
        people = [
            Member(name=f"Reader {i}", email=f"reader{i}@example.org", password_hash="-")
            for i in range(members + 1)
        ]
        session.add_all(people)
        await session.flush()
        community = Community(slug="fanout", name="Fan-out", visibility=CommunityVisibility.PUBLIC)
        session.add(community)
        await session.flush()
        session.add_all(CommunityMember(community_id=community.id, member_id=p.id) for p in people)
        for i, person in enumerate(people[1 : pushed + 1]):
            keys = Browser(f"https://push.example.org/{i}").keys
            session.add(
                PushSubscription(
                    member_id=person.id,
                    endpoint=f"https://push.example.org/{i}",
                    p256dh=keys["p256dh"],
                    auth=keys["auth"],
                )
            )
        return community.id, [p.id for p in people]


async def notify_all(db: Any, broadcast: Any, statements: Any, members: int) -> int:
    """The statements of one notify() to a community of `members` (the transaction's own
    BEGIN and COMMIT aside)."""
    community, (moderator, *readers) = await a_community(db, members)
    statements.reset()
    async with unit_of_work(db.sessions, EventPublisher(broadcast)) as work:
        await notifications.notify(
            work,
            readers,
            NotificationKind.MODERATION,
            actor_id=moderator,
            subject={"community": community, "action": "ANNOUNCE"},
        )
        await work.session.flush()
        return statements.count


async def test_notifying_200_members_takes_as_many_statements_as_notifying_20(
    db, broadcast, statements
):
    # given / when: the same notification to 20 members, then (another world) to 200
    at_20 = await notify_all(db, broadcast, statements, 20)
    async with db.sessions.begin() as session:
        for table in (Event, Delivery, Notification, CommunityMember, PushSubscription):
            await session.execute(table.__table__.delete())
        await session.execute(Community.__table__.delete())
        await session.execute(Member.__table__.delete())
    at_200 = await notify_all(db, broadcast, statements, 200)
    # then: the same small number of statements, whatever the size
    assert at_200 == at_20
    # the recipients the policy lets hear of it (one check over their member rows),
    # notifications, event streams (create, lock, advance), events, email preferences,
    # addresses, emails, push subscriptions, push preferences, push messages
    assert at_200 == 12, statements.statements


async def test_every_member_gets_one_notification_one_event_one_email(db, broadcast, statements):
    await notify_all(db, broadcast, statements, 200)
    async with db.sessions() as session:
        per_member = Counter(await session.scalars(select(Notification.member_id)))
        assert len(per_member) == 200
        assert set(per_member.values()) == {1}
        streams = Counter(await session.scalars(select(Event.stream)))
        assert len(streams) == 200
        assert set(streams.values()) == {1}
        assert set(streams) == {member_stream(m) for m in per_member}
        emails = await session.scalar(
            select(func.count()).where(Delivery.channel == DeliveryChannel.EMAIL)
        )
        pushes = await session.scalar(
            select(func.count()).where(Delivery.channel == DeliveryChannel.PUSH)
        )
        assert (emails, pushes) == (200, 3)
        # each notification's id is the one its email names
        pairs = await session.execute(
            select(Delivery.member_id, Delivery.notification_id).where(
                Delivery.channel == DeliveryChannel.EMAIL
            )
        )
        ids = dict((await session.execute(select(Notification.member_id, Notification.id))).all())
        assert dict(pairs.all()) == ids
