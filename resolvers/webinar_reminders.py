"""Reminders before a webinar starts: each (webinar, member, kind) is claimed by a unique row in
the same transaction as its notification, so it is sent exactly once, whatever the number of
processes running the job and however often they restart."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.notification import NotificationKind
from models.webinar import (
    RegistrationStatus,
    Webinar,
    WebinarRegistration,
    WebinarReminder,
    WebinarStatus,
)
from resolvers import notifications
from resolvers.unit_of_work import unit_of_work
from subscriptions import metrics
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

# Reminder kinds and how long before the start each is due, shortest lead first. Only the
# nearest due one is sent: a member registering 30 minutes before gets one reminder, not two.
REMINDERS = (("HOUR_BEFORE", timedelta(hours=1)), ("DAY_BEFORE", timedelta(hours=24)))


def due_reminder(starts_at: datetime, now: datetime) -> str | None:
    """The reminder kind due at `now` for a webinar starting at `starts_at`, if any."""
    if now >= starts_at:
        return None
    for kind, lead in REMINDERS:
        if now >= starts_at - lead:
            return kind
    return None


async def send_due_reminders(
    sessions: Sessions, events: EventPublisher, now: datetime | None = None
) -> int:
    """Send every reminder due now and not sent yet; returns how many were sent."""
    now = now or utcnow()
    longest = max(lead for _, lead in REMINDERS)
    async with sessions() as session:
        upcoming = (
            await session.execute(
                select(Webinar.id, Webinar.starts_at).where(
                    Webinar.status == WebinarStatus.SCHEDULED,
                    Webinar.starts_at > now,
                    Webinar.starts_at <= now + longest,
                )
            )
        ).all()
    sent = 0
    for webinar_id, starts_at in upcoming:
        kind = due_reminder(starts_at, now)
        if kind is not None:
            sent += await _remind(sessions, events, webinar_id, kind)
    metrics.REMINDERS_SENT.inc(sent)
    return sent


async def _remind(sessions: Sessions, events: EventPublisher, webinar_id: int, kind: str) -> int:
    async with unit_of_work(sessions, events) as work:
        session = work.session
        insert = (
            postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        )
        seated = select(
            literal(webinar_id), WebinarRegistration.member_id, literal(kind), literal(utcnow())
        ).where(
            WebinarRegistration.webinar_id == webinar_id,
            WebinarRegistration.status == RegistrationStatus.REGISTERED,
        )
        # Claim: rows another process inserted (committed or not) are skipped, never doubled.
        claimed = await session.execute(
            insert(WebinarReminder)
            .from_select(
                [
                    WebinarReminder.webinar_id,
                    WebinarReminder.member_id,
                    WebinarReminder.kind,
                    WebinarReminder.sent_at,
                ],
                seated,
            )
            .on_conflict_do_nothing()
            .returning(WebinarReminder.member_id)
        )
        members = list(claimed.scalars())
        await notifications.notify(
            work,
            members,
            NotificationKind.WEBINAR_REMINDER,
            actor_id=None,
            subject={"webinar": webinar_id, "reminder": kind},
        )
    return len(members)
