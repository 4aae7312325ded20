"""Reminders go out once per registrant and kind: run twice, by two processes, after a restart."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.main import create_app
from models.notification import Notification, NotificationKind
from resolvers.webinar_reminders import due_reminder, send_due_reminders
from subscriptions.events import EventPublisher
from tests.conftest import make_settings
from tests.discussions import ok
from tests.webinars import CANCEL, in_hours, register, staff, webinar

RESCHEDULE = """
mutation($id: ID!, $starts: DateTime!, $ends: DateTime!) {
  updateWebinar(input: {webinarId: $id, startsAt: $starts, endsAt: $ends}) { errors { code } }
}
"""


async def reminders_of(db, member_id: int) -> list[dict]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(Notification.subject).where(
                Notification.member_id == member_id,
                Notification.kind == NotificationKind.WEBINAR_REMINDER,
            )
        )
        return [dict(r) for r in rows.scalars()]


def test_only_the_nearest_due_reminder_is_chosen():
    start = datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert due_reminder(start, start - timedelta(hours=30)) is None
    assert due_reminder(start, start - timedelta(hours=5)) == "DAY_BEFORE"
    assert due_reminder(start, start - timedelta(minutes=30)) == "HOUR_BEFORE"
    assert due_reminder(start, start) is None


async def test_running_the_job_twice_sends_each_reminder_once(client, db, factory, broadcast):
    # given: a webinar in 30 minutes, two seats taken, one cancelled
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, starts_in_hours=0.5)
    alice, bob, carol = [await factory.member() for _ in range(3)]
    for member in (alice, bob, carol):
        await register(client, webinar_id, member)
    await ok(client, CANCEL, {"id": webinar_id}, carol)
    publisher = EventPublisher(broadcast)
    # when
    first = await send_due_reminders(db.sessions, publisher)
    second = await send_due_reminders(db.sessions, publisher)
    # then
    assert (first, second) == (2, 0)
    [reminder] = await reminders_of(db, alice.id)
    assert reminder["reminder"] == "HOUR_BEFORE"
    assert len(await reminders_of(db, bob.id)) == 1
    assert await reminders_of(db, carol.id) == []


async def test_two_server_processes_and_a_restart_send_each_reminder_once(
    client, db, factory, database_url
):
    # given: a webinar tomorrow with three registrants
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, starts_in_hours=20)
    members = [await factory.member() for _ in range(3)]
    for member in members:
        await register(client, webinar_id, member)
    settings = make_settings(database_url, webinar_reminder_interval_seconds=0.01)

    async def serve_until(apps, rounds: int) -> None:
        """Run the apps' lifespans (their jobs) until each job did `rounds` rounds."""
        async with asyncio.timeout(20), contextlib.AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(app.router.lifespan_context(app))
            # polling another task's counter: nothing to await on
            while min(a.state.reminder_job.rounds for a in apps) < rounds:  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    # when: two processes run the job side by side for several rounds, then one restarts
    await serve_until([create_app(settings), create_app(settings)], rounds=5)
    await serve_until([create_app(settings)], rounds=5)
    # then
    for member in members:
        assert [r["reminder"] for r in await reminders_of(db, member.id)] == ["DAY_BEFORE"]
    async with db.sessions() as session:
        total = await session.scalar(
            select(func.count()).where(Notification.kind == NotificationKind.WEBINAR_REMINDER)
        )
    assert total == 3


async def test_a_rescheduled_webinar_reminds_again_for_its_new_start(
    client, db, factory, broadcast
):
    organiser = await staff(factory)
    webinar_id = await webinar(client, organiser, starts_in_hours=0.5)
    member = await factory.member()
    await register(client, webinar_id, member)
    publisher = EventPublisher(broadcast)
    assert await send_due_reminders(db.sessions, publisher) == 1
    # when: it moves to later in the hour
    await ok(
        client,
        RESCHEDULE,
        {"id": webinar_id, "starts": in_hours(0.8), "ends": in_hours(1.8)},
        organiser,
    )
    # then: one more reminder, for the new start, and no more
    assert await send_due_reminders(db.sessions, publisher) == 1
    assert await send_due_reminders(db.sessions, publisher) == 0
    assert [r["reminder"] for r in await reminders_of(db, member.id)] == [
        "HOUR_BEFORE",
        "HOUR_BEFORE",
    ]
