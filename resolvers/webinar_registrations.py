"""Registrations for webinars: seats up to the capacity, a waitlist served in order, and the
notifications to everyone registered or waiting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.db import AnyRow, upsert
from models.notification import NotificationKind
from models.webinar import RegistrationStatus, Webinar, WebinarRegistration, WebinarStatus
from resolvers import notifications, policy
from resolvers.errors import ErrorCode, Problem
from resolvers.policy import Viewer
from resolvers.unit_of_work import RACED, Change, Outcome, Refused, UnitOfWork, mutation
from resolvers.webinar_access import visible_webinar
from subscriptions.events import EventPublisher, webinar_stream

Sessions = async_sessionmaker[AsyncSession]

NO_SUCH_WEBINAR = Problem("webinarId", "No such webinar.", ErrorCode.NOT_FOUND)


async def lock_webinar(session: AsyncSession, viewer: Viewer, webinar_id: int) -> Webinar:
    """The visible webinar, its row locked first thing in the transaction (PostgreSQL: a row
    lock; SQLite: the write lock), so that seat counts and waitlists change one at a time."""
    await session.execute(
        update(Webinar)
        .where(Webinar.id == webinar_id)
        .values(registered_count=Webinar.registered_count)
        .execution_options(synchronize_session=False)
    )
    webinar = await session.scalar(
        select(Webinar).where(Webinar.id == webinar_id, policy.visible_webinars(viewer))
    )
    if webinar is None:
        raise Refused(NO_SUCH_WEBINAR)
    return webinar


async def waitlist_positions(
    sessions: Sessions, viewer: Viewer, ids: Sequence[int]
) -> list[int | None]:
    """The viewer's place on each webinar's waitlist (1 is next), None when not waitlisted."""
    if viewer.member_id is None:
        return [None for _ in ids]
    mine = (
        select(WebinarRegistration.webinar_id, WebinarRegistration.id)
        .where(
            WebinarRegistration.webinar_id.in_(ids),
            WebinarRegistration.member_id == viewer.member_id,
            WebinarRegistration.status == RegistrationStatus.WAITLISTED,
        )
        .subquery()
    )
    ahead = (
        select(mine.c.webinar_id, func.count(WebinarRegistration.id))
        .join(
            WebinarRegistration,
            (WebinarRegistration.webinar_id == mine.c.webinar_id)
            & (WebinarRegistration.status == RegistrationStatus.WAITLISTED)
            & (WebinarRegistration.id <= mine.c.id),
        )
        .group_by(mine.c.webinar_id)
    )
    async with sessions() as session:
        positions: dict[int, int] = dict((await session.execute(ahead)).all())
    return [positions.get(i) for i in ids]


async def notify_attendees(work: UnitOfWork, webinar_id: int, actor_id: int, change: str) -> None:
    """Tell everyone registered or waitlisted that the webinar changed."""
    attendees = await work.session.execute(
        select(WebinarRegistration.member_id).where(
            WebinarRegistration.webinar_id == webinar_id,
            WebinarRegistration.status != RegistrationStatus.CANCELLED,
        )
    )
    await notifications.notify(
        work,
        attendees.scalars(),
        NotificationKind.WEBINAR_UPDATE,
        actor_id=actor_id,
        subject={"webinar": webinar_id, "change": change},
    )


@dataclass(frozen=True)
class RegistrationResult:
    status: RegistrationStatus | None = None
    webinar: AnyRow | None = None  # the webinar as it is once committed, read in the change
    problems: list[Problem] = field(default_factory=list)


async def _active_registration(
    session: AsyncSession, webinar_id: int, member_id: int
) -> WebinarRegistration | None:
    return await session.scalar(
        select(WebinarRegistration).where(
            WebinarRegistration.webinar_id == webinar_id,
            WebinarRegistration.member_id == member_id,
            WebinarRegistration.status != RegistrationStatus.CANCELLED,
        )
    )


Answered = tuple[RegistrationStatus, AnyRow | None]


def _answering(
    change: Change[RegistrationStatus], viewer: Viewer, webinar_id: int
) -> Change[Answered]:
    """`change`, answering also with the webinar's row read in the same transaction (its seat
    count as this change left it), so that nothing is read after the commit."""

    async def changed(work: UnitOfWork) -> Answered:
        status = await change(work)
        return status, await work.read_back(visible_webinar(viewer, webinar_id))

    return changed


def _registration(done: Outcome[Answered]) -> RegistrationResult:
    if done.value is None:
        return RegistrationResult(problems=done.problems)
    status, webinar = done.value
    return RegistrationResult(status=status, webinar=webinar)


async def _take_place(work: UnitOfWork, webinar: Webinar, member_id: int) -> RegistrationStatus:
    """A seat if one is free, else a place on the waitlist. Should the same member's other
    request have registered at the same moment, its registration is the answer."""
    status = RegistrationStatus.WAITLISTED
    if webinar.registered_count < webinar.capacity:
        status = RegistrationStatus.REGISTERED
    inserted = await work.session.scalar(
        upsert(work.session, WebinarRegistration)
        .values(webinar_id=webinar.id, member_id=member_id, status=status)
        .on_conflict_do_nothing()
        .returning(WebinarRegistration.id)
    )
    if inserted is None:
        held = await _active_registration(work.session, webinar.id, member_id)
        if held is None:
            raise Refused(RACED)
        return held.status
    if status is RegistrationStatus.REGISTERED:
        webinar.registered_count += 1
    return status


async def register(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, webinar_id: int
) -> RegistrationResult:
    """Take a seat if one is free, else join the waitlist. Seats are counted under the
    webinar's row lock, so simultaneous requests never take more seats than the capacity.
    Registering again answers with the registration already held."""

    async def change(work: UnitOfWork) -> RegistrationStatus:
        assert viewer.member_id is not None  # mutation() lets members only in
        webinar = await lock_webinar(work.session, viewer, webinar_id)
        existing = await _active_registration(work.session, webinar_id, viewer.member_id)
        if existing is not None:
            return existing.status
        deadline = webinar.registration_deadline
        if webinar.status not in (WebinarStatus.SCHEDULED, WebinarStatus.LIVE) or (
            deadline is not None and utcnow() > deadline
        ):
            raise Refused(
                Problem(
                    "webinarId",
                    "Registration for this webinar is closed.",
                    ErrorCode.REGISTRATION_CLOSED,
                )
            )
        return await _take_place(work, webinar, viewer.member_id)

    answered = _answering(change, viewer, webinar_id)
    return _registration(await mutation(sessions, events, viewer, answered))


async def cancel_registration(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, webinar_id: int
) -> RegistrationResult:
    """Give up a seat (the first on the waitlist gets it) or a place on the waitlist. Live
    events stop for the member at once (an access event on the webinar's stream)."""

    async def change(work: UnitOfWork) -> RegistrationStatus:
        assert viewer.member_id is not None  # mutation() lets members only in
        webinar = await lock_webinar(work.session, viewer, webinar_id)
        registration = await _active_registration(work.session, webinar_id, viewer.member_id)
        if registration is None:
            raise Refused(
                Problem("webinarId", "You are not registered for it.", ErrorCode.NOT_FOUND)
            )
        held_seat = registration.status is RegistrationStatus.REGISTERED
        registration.status = RegistrationStatus.CANCELLED
        registration.changed_at = utcnow()
        if held_seat:
            webinar.registered_count -= 1
        await work.session.flush()
        if webinar.status in (WebinarStatus.SCHEDULED, WebinarStatus.LIVE):
            await promote_waitlist(work, webinar)
        await work.emit(
            webinar_stream(webinar_id),
            "WEBINAR_REGISTRATION_CANCELLED",
            {"webinar": webinar_id, "member": viewer.member_id},
        )
        return RegistrationStatus.CANCELLED

    answered = _answering(change, viewer, webinar_id)
    return _registration(await mutation(sessions, events, viewer, answered))


async def promote_waitlist(work: UnitOfWork, webinar: Webinar) -> None:
    """Give free seats to the waitlist, first come first served (the caller holds the lock)."""
    free = webinar.capacity - webinar.registered_count
    if free <= 0:
        return
    waiting = (
        await work.session.scalars(
            select(WebinarRegistration)
            .where(
                WebinarRegistration.webinar_id == webinar.id,
                WebinarRegistration.status == RegistrationStatus.WAITLISTED,
            )
            .order_by(WebinarRegistration.id)
            .limit(free)
        )
    ).all()
    for registration in waiting:
        registration.status = RegistrationStatus.REGISTERED
        registration.changed_at = utcnow()
        webinar.registered_count += 1
    await work.session.flush()
    await notifications.notify(
        work,
        [r.member_id for r in waiting],
        NotificationKind.WEBINAR_UPDATE,
        actor_id=None,
        subject={"webinar": webinar.id, "change": "SEAT_GRANTED"},
    )
