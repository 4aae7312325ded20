"""The outbox's worker reads a claimed batch in a constant number of statements (issue 14):
recipients, their languages and preferences, the notifications, the send-time visibility
check (one statement for the batch's emails, one for its push messages), the titles with
their translations, actors and snippets; whatever the batch's size. Each outcome is recorded
as soon as its send ends, several in one statement when they come together."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from app.delivery import DeliveryWorker
from app.outcome_writer import OutcomeWriter
from models.base import utcnow
from models.community import Community, CommunityMember, CommunityVisibility
from models.member import Member, MemberLanguage
from models.notification import Notification, NotificationKind
from models.outbox import Delivery, DeliveryChannel, DeliveryState, EmailFrequency, EmailPreference
from models.push import PushSubscription
from models.thread import Post, Thread
from models.translation import TranslatableKind, Translation, TranslationStatus
from resolvers import notifications, outbox
from resolvers.digests import schedule_digests
from resolvers.outbox import Dropped, Failed, RetryPolicy, Sent
from resolvers.unit_of_work import unit_of_work
from tests.conftest import make_settings
from tests.mail import smtp_server
from tests.push import Browser, PushService, push_service
from tests.test_push import push_settings, pushes

MODERATION = NotificationKind.MODERATION
PUBLIC = CommunityVisibility.PUBLIC


async def mentioned(
    db: Any, service: PushService, members: int, *, private: bool = False, name: str = "c"
) -> tuple[int, list[int], dict[int, Browser]]:
    """`members` members of a community mentioned in a post of a thread there, each with a
    browser subscribed to push, every other one reading French (the community's name is
    translated); returns (community, the mentioned members, their browsers)."""
    async with db.sessions.begin() as session:
        people = [
            Member(name=f"Reader {i}", email=f"{name}-{i}@example.org", password_hash="-")
            for i in range(members + 1)
        ]
        session.add_all(people)
        visibility = CommunityVisibility.PRIVATE if private else CommunityVisibility.PUBLIC
        community = Community(slug=f"batch-{name}", name="Fair recruitment", visibility=visibility)
        session.add(community)
        await session.flush()
        session.add_all(CommunityMember(community_id=community.id, member_id=p.id) for p in people)
        session.add(
            Translation(
                kind=TranslatableKind.COMMUNITY,
                item_id=community.id,
                field="name",
                language="fr",
                text="Recrutement équitable",
                status=TranslationStatus.HUMAN,
            )
        )
        author, *readers = people
        thread = Thread(community_id=community.id, author_id=author.id, title="Fees", body="-")
        session.add(thread)
        await session.flush()
        post = Post(thread_id=thread.id, author_id=author.id, body="**Fees** are never yours")
        session.add(post)
        browsers: dict[int, Browser] = {}
        for i, reader in enumerate(readers):
            if i % 2:
                session.add(MemberLanguage(member_id=reader.id, tag="fr", position=0))
            browser = browsers[reader.id] = service.browser(f"{name}-{i}")
            session.add(
                PushSubscription(member_id=reader.id, endpoint=browser.endpoint, **browser.keys)
            )
        await session.flush()
        subject = {"community": community.id, "thread": thread.id, "post": post.id}
        ids = [r.id for r in readers]
    async with unit_of_work(db.sessions, None) as work:
        await notifications.notify(
            work, ids, NotificationKind.MENTION, actor_id=author.id, subject=subject
        )
        work.events.clear()  # no subscribers in this test
    return community.id, ids, browsers


def starts(statement: str, text: str) -> bool:
    return " ".join(statement.split()).upper().startswith(text)


async def a_round(worker: DeliveryWorker, statements: Any) -> tuple[int, int, int]:
    """(deliveries handled, statements that claim and read, transactions that record
    outcomes). Each write transaction also advances the write version (the response caches')."""
    statements.reset()
    handled = await worker.run_round()
    sent = statements.statements
    versions = sum(starts(s, "UPDATE WRITE_VERSION") for s in sent)
    # SQLite: a transaction per record (its UPDATE, then the version's); PostgreSQL: one
    # statement (the version's UPDATE inside it)
    transactions = sum(starts(s, "UPDATE DELIVERY SET STATE") for s in sent)
    statements = sum(starts(s, "WITH OUTCOME_0") for s in sent)
    assert versions == 1 + transactions  # the claim's transaction, then each record's
    records = transactions + statements
    return handled, len(sent) - versions - records, records


async def test_a_batch_of_32_is_read_in_as_many_statements_as_a_batch_of_8(
    database_url, db, statements
):
    with push_service() as service, smtp_server() as (inbox, url):
        worker = DeliveryWorker.from_settings(db, push_settings(database_url, smtp_url=url))
        assert await worker.run_round() == 0  # its first round writes the digests due, if any
        # given: 4 members mentioned (4 emails, 4 push messages), then 16 others elsewhere
        await mentioned(db, service, 4, name="small")
        small = await a_round(worker, statements)
        await mentioned(db, service, 16, name="large")
        # when: a worker sends each batch
        large = await a_round(worker, statements)
    # then: the same statements read each batch, whatever its size
    assert (small[0], large[0]) == (8, 32)
    assert small[1] == large[1], statements.statements
    # the claim; emails: members, languages, notifications, preferences, visibility; push:
    # the same and subscriptions; for each: the thread's title, the community's name and its
    # translations, the actor, the snippet; the oldest undelivered age
    assert large[1] == 23, statements.statements
    # outcomes: written as they come, several in a commit (at most one commit per message)
    assert 1 <= large[2] <= 32
    # every member got one email and one push message, in their language
    assert len(inbox.messages) == 20
    assert len({m["Message-ID"] for m in inbox.messages}) == 20
    french = [m for m in inbox.messages if m["Content-Language"] == "fr"]
    assert len(french) == 10
    assert len(service.received) == 20


async def test_a_member_who_lost_access_gets_no_push_while_the_others_of_the_batch_do(
    database_url, db, statements
):
    with push_service() as service, smtp_server() as (inbox, url):
        worker = DeliveryWorker.from_settings(db, push_settings(database_url, smtp_url=url))
        # given: 3 members of a private community mentioned, their emails and pushes written
        community, (leaving, *staying), browsers = await mentioned(
            db, service, 3, private=True, name="private"
        )
        # when: one leaves the community before the worker sends the batch
        async with db.sessions.begin() as session:
            await session.execute(
                delete(CommunityMember).where(
                    CommunityMember.community_id == community,
                    CommunityMember.member_id == leaving,
                )
            )
        assert await worker.run_round() == 6
    # then: the two who stay get their push message (decrypted by their browser), the one who
    # left gets nothing, by push or email
    paths = sorted(r.path for r in service.received)
    assert paths == sorted(browsers[m].endpoint.removeprefix(service.base_url) for m in staying)
    for received in service.received:
        member = next(m for m in staying if browsers[m].endpoint.endswith(received.path))
        assert browsers[member].decrypt(received.body)["kind"] == "MENTION"
    assert len(inbox.messages) == 2
    states = {(d.member_id, d.state) for d in await pushes(db)}
    assert states == {
        (leaving, DeliveryState.DROPPED),
        *((m, DeliveryState.SENT) for m in staying),
    }
    assert all(d.channel is DeliveryChannel.PUSH for d in await pushes(db))


async def test_outcomes_that_arrive_while_one_is_written_share_the_next_statement(db):
    # given: four deliveries claimed; the last one's lease ended and another worker has it
    async with db.sessions.begin() as session:
        member = Member(name="M", email="m@example.org", password_hash="-")
        session.add(member)
        await session.flush()
        session.add_all(
            Delivery(channel=DeliveryChannel.EMAIL, member_id=member.id, address=member.email)
            for _ in range(4)
        )
    claimed = await outbox.claim_due(db.sessions, limit=4, lease=timedelta(minutes=5))
    reclaimed = await outbox.claim_due(
        db.sessions, limit=4, lease=timedelta(minutes=5), now=utcnow() + timedelta(minutes=6)
    )
    assert len(claimed) == len(reclaimed) == 4
    taken = reclaimed[3]
    async with db.sessions.begin() as session:  # the others go back to the first worker
        await session.execute(
            update(Delivery).where(Delivery.id != taken.id).values(attempts=Delivery.attempts - 1)
        )
    writer = OutcomeWriter(db, RetryPolicy())
    results = [Sent(), Dropped("unsubscribed"), Failed("SMTP 451"), Sent()]
    # when: their outcomes arrive at once, on the connection a round keeps
    async with writer.kept():
        recorded = await asyncio.gather(
            *(writer.record(c, r) for c, r in zip(claimed, results, strict=True))
        )
    # then: the first went out alone at once, the three that came while it was written share
    # the next statement; the lost claim is not recorded (the other worker's outcome counts)
    assert recorded == [True, True, True, False]
    assert (writer.commits, writer.written) == (2, 4)
    async with db.sessions() as session:
        rows = {d.id: d for d in await session.scalars(select(Delivery))}
    first, second, third, fourth = (rows[c.id] for c in claimed)
    assert (first.state, second.state, third.state) == (
        DeliveryState.SENT,
        DeliveryState.DROPPED,
        DeliveryState.PENDING,
    )
    assert second.last_error == "unsubscribed"
    assert third.last_error == "SMTP 451"
    assert third.due_at > utcnow()
    assert (fourth.state, fourth.attempts) == (DeliveryState.PENDING, 2)


async def daily_moderation_digests(db: Any, members: int, name: str) -> None:
    """`members` members of a public community who want moderation notices daily, each told
    one yesterday, and their digests written (yesterday is over)."""
    async with db.sessions.begin() as session:
        people = [
            Member(name=f"Digest {i}", email=f"{name}-{i}@example.org", password_hash="-")
            for i in range(members + 1)
        ]
        session.add_all(people)
        community = Community(slug=name, name=f"Digests {name}", visibility=PUBLIC)
        session.add(community)
        await session.flush()
        session.add_all(CommunityMember(community_id=community.id, member_id=p.id) for p in people)
        moderator, *readers = people
        session.add_all(
            EmailPreference(member_id=r.id, kind=MODERATION, frequency=EmailFrequency.DAILY)
            for r in readers
        )
    async with unit_of_work(db.sessions, None) as work:
        subject = {"community": community.id, "reason": "digest"}
        ids = [r.id for r in readers]
        await notifications.notify(work, ids, MODERATION, actor_id=moderator.id, subject=subject)
        work.events.clear()  # no subscribers in this test
    async with db.sessions.begin() as session:
        await session.execute(
            update(Notification)
            .where(Notification.member_id.in_(ids))
            .values(created_at=utcnow() - timedelta(days=1))
        )
    await schedule_digests(db.sessions, utcnow())


async def test_a_batch_of_32_digests_is_read_in_as_many_statements_as_a_batch_of_8(
    database_url, db, statements
):
    with smtp_server() as (inbox, url):
        worker = DeliveryWorker.from_settings(db, make_settings(database_url, smtp_url=url))
        assert await worker.run_round() == 0  # its first round writes the digests due: none
        # given: 8 members' daily digests due, then 32 others'
        await daily_moderation_digests(db, 8, "small")
        small = await a_round(worker, statements)
        await daily_moderation_digests(db, 32, "large")
        # when: a worker sends each batch
        large = await a_round(worker, statements)
    # then: the same statements read each batch, whatever its size
    assert (small[0], large[0]) == (8, 32)
    assert small[1] == large[1], statements.statements
    # the claim; recipients, their languages, their choices, the period's notifications (the
    # send-time check included); the community's name and its translations; the oldest
    # undelivered age
    assert large[1] == 8, statements.statements
    # every member got one digest
    assert len(inbox.messages) == 40
    assert len({m["Message-ID"] for m in inbox.messages}) == 40
    expected = {
        f"{n}-{i}@example.org"
        for n, size in (("small", 8), ("large", 32))
        for i in range(1, size + 1)
    }
    assert {m["To"].addresses[0].addr_spec for m in inbox.messages} == expected
