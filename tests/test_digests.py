"""Daily and weekly digests (issue 14): grouped by community and kind, written once per member
and period whatever the number of workers and restarts, skipped when empty, and decided again
at send time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from app.delivery import DeliveryWorker
from models.base import utcnow
from models.community import CommunityMember
from models.db import create_database
from models.notification import Notification
from models.outbox import Delivery, DeliveryChannel, DeliveryState, EmailFrequency
from resolvers.digests import last_complete_period, schedule_digests
from schema.relay import decode_int_id
from tests.conftest import gql, make_settings
from tests.discussions import community, join, post, thread
from tests.mail import smtp_server

DAILY_REPLIES = """
mutation { updateNotificationPreferences(input: {preferences: [{kind: REPLY, email: DAILY}]}) {
  errors { code } } }
"""


def test_periods_are_utc_days_and_iso_weeks():
    now = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)  # a Sunday
    daily = last_complete_period(EmailFrequency.DAILY, now)
    weekly = last_complete_period(EmailFrequency.WEEKLY, now)
    assert (daily.start, daily.end, daily.label) == (
        datetime(2026, 12, 5, tzinfo=UTC),
        datetime(2026, 12, 6, tzinfo=UTC),
        "2026-12-05",
    )
    assert (weekly.start, weekly.end, weekly.label) == (
        datetime(2026, 11, 23, tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
        "2026-W48",
    )


async def digests(db) -> list[Delivery]:
    async with db.sessions() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.channel == DeliveryChannel.DIGEST).order_by(Delivery.id)
        )
        return list(rows)


async def test_a_daily_digest_is_written_once_sent_once_and_grouped(
    database_url, db, client, factory
):
    # given: a member who wants replies daily, with replies in two communities yesterday, one
    # of them private and left since
    reader = await factory.member(name="Daily Reader")
    await gql(client, DAILY_REPLIES, member=reader)
    public_id, moderator = await community(client, factory, slug="labour-migration")
    private_id, _ = await community(client, factory, private=True, slug="return-and-readmission")
    await join(client, public_id, reader)
    async with db.sessions.begin() as session:
        session.add(
            CommunityMember(
                community_id=decode_int_id(private_id, "Community"), member_id=reader.id
            )
        )
    public_thread = await thread(client, public_id, reader, title="Fees")
    private_thread = await thread(client, private_id, reader, title="Secret plans")
    await post(client, public_thread, moderator, "First **answer**")
    await post(client, public_thread, moderator, "Second answer")
    await post(client, private_thread, moderator, "Private answer")
    idle = await factory.member()
    await gql(client, DAILY_REPLIES, member=idle)
    yesterday = utcnow() - timedelta(days=1)
    async with db.sessions.begin() as session:
        await session.execute(update(Notification).values(created_at=yesterday))
        await session.execute(
            delete(CommunityMember).where(
                CommunityMember.member_id == reader.id,
                CommunityMember.community_id == decode_int_id(private_id, "Community"),
            )
        )
    # no immediate mail was written for the daily kind
    async with db.sessions() as session:
        assert list(await session.scalars(select(Delivery.channel))) == []

    # when: two workers (two pools) schedule the digests, then one again after a restart
    other = create_database(database_url)
    try:
        assert await schedule_digests(db.sessions, utcnow()) == 1
        assert await schedule_digests(other.sessions, utcnow()) == 0
        assert await schedule_digests(db.sessions, utcnow()) == 0
    finally:
        await other.dispose()
    [digest] = await digests(db)
    assert digest.member_id == reader.id
    with smtp_server() as (inbox, url):
        worker = DeliveryWorker.from_settings(db, make_settings(database_url, smtp_url=url))
        assert await worker.run_round() == 1
        assert await worker.run_round() == 0

    # then: one digest, of what the reader may still see, grouped by community
    [message] = inbox.messages
    assert inbox.recipients == [reader.email]
    assert message["Subject"] == (
        "Your daily digest from the Migration Network Hub "
        f"({yesterday:%B} {yesterday.day}, {yesterday.year})"  # the day in English (CLDR)
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text_part = message.get_body(("plain",))
    assert text_part is not None
    text = text_part.get_content().replace("\r\n", "\n")
    assert "== Labour Migration: reply (2)" in text
    assert text.count("Mod Erator replied in “Fees”") == 2
    assert "First answer" in text
    assert "Secret plans" not in text
    assert "Private answer" not in text
    [sent] = await digests(db)
    assert sent.state is DeliveryState.SENT


async def test_a_digest_left_empty_at_send_time_is_dropped(database_url, db, client, factory):
    # given: a daily digest written for replies the reader can no longer see
    reader = await factory.member()
    await gql(client, DAILY_REPLIES, member=reader)
    private_id, moderator = await community(client, factory, private=True)
    key = decode_int_id(private_id, "Community")
    async with db.sessions.begin() as session:
        session.add(CommunityMember(community_id=key, member_id=reader.id))
    thread_id = await thread(client, private_id, reader)
    await post(client, thread_id, moderator, "A reply")
    async with db.sessions.begin() as session:
        await session.execute(update(Notification).values(created_at=utcnow() - timedelta(days=1)))
    assert await schedule_digests(db.sessions, utcnow()) == 1
    async with db.sessions.begin() as session:
        await session.execute(delete(CommunityMember).where(CommunityMember.member_id == reader.id))
    # when
    with smtp_server() as (inbox, url):
        worker = DeliveryWorker.from_settings(db, make_settings(database_url, smtp_url=url))
        assert await worker.run_round() == 1
    # then
    assert inbox.messages == []
    [dropped] = await digests(db)
    assert dropped.state is DeliveryState.DROPPED
    assert dropped.last_error == "nothing to tell for the period"
