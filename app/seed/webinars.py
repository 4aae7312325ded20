"""Demo webinars: an upcoming one with registrations, and one LIVE with chat and Q&A."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.member import Member
from models.webinar import (
    QuestionStatus,
    RegistrationStatus,
    Webinar,
    WebinarChatMessage,
    WebinarHost,
    WebinarHostRole,
    WebinarLanguage,
    WebinarObjective,
    WebinarQuestion,
    WebinarRegistration,
    WebinarStatus,
    WebinarVisibility,
)


async def demo_webinars(session: AsyncSession) -> None:
    """An upcoming webinar with registrations, and one LIVE with chat and Q&A, for GraphiQL.
    Deterministic without the shared random generator, so the other demo data stays as it was."""
    ids = list((await session.execute(select(Member.id).order_by(Member.id))).scalars())
    moderator, participants = ids[1], ids[3:23]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    upcoming, live = _two_webinars(moderator, len(participants), now)
    session.add_all([upcoming, live])
    await session.flush()
    for webinar, objective in ((upcoming, 6), (live, 1)):
        _programme(session, webinar, objective, moderator, participants)
    await _live_activity(session, live, moderator, participants, now)


def _two_webinars(moderator: int, registered: int, now: datetime) -> tuple[Webinar, Webinar]:
    upcoming = Webinar(
        title="Fair recruitment in practice: what employers can do",
        description="Practitioners share how **employer pays** works on the ground.",
        starts_at=now + timedelta(days=3),
        ends_at=now + timedelta(days=3, minutes=90),
        timezone="Africa/Nairobi",
        visibility=WebinarVisibility.PUBLIC,
        capacity=50,
        registered_count=registered,
        join_url="https://meet.example.org/demo-fair-recruitment",
        created_by_id=moderator,
    )
    live = Webinar(
        title="Migration data clinic (live now)",
        description="Bring your questions on disaggregated migration data.",
        starts_at=now - timedelta(minutes=10),
        ends_at=now + timedelta(minutes=50),
        visibility=WebinarVisibility.PUBLIC,
        status=WebinarStatus.LIVE,
        capacity=100,
        registered_count=registered,
        join_url="https://meet.example.org/demo-data-clinic",
        created_by_id=moderator,
    )
    return upcoming, live


def _programme(
    session: AsyncSession,
    webinar: Webinar,
    objective: int,
    moderator: int,
    participants: Sequence[int],
) -> None:
    """A webinar's objective, languages (French interpreted), hosts and registrations."""
    session.add(WebinarObjective(webinar_id=webinar.id, objective_number=objective))
    session.add(WebinarLanguage(webinar_id=webinar.id, tag="en", interpretation=False))
    session.add(WebinarLanguage(webinar_id=webinar.id, tag="fr", interpretation=True))
    session.add(
        WebinarHost(webinar_id=webinar.id, role=WebinarHostRole.ORGANISER, member_id=moderator)
    )
    session.add(
        WebinarHost(
            webinar_id=webinar.id,
            role=WebinarHostRole.SPEAKER,
            guest_name="Guest Speaker",
            guest_affiliation="IOM",
        )
    )
    session.add_all(
        WebinarRegistration(
            webinar_id=webinar.id, member_id=m, status=RegistrationStatus.REGISTERED
        )
        for m in participants
    )


async def _live_activity(
    session: AsyncSession, live: Webinar, moderator: int, participants: Sequence[int], now: datetime
) -> None:
    """The live webinar's chat and questions (one answered)."""
    session.add_all(
        WebinarChatMessage(webinar_id=live.id, author_id=m, body=text)
        for m, text in zip(
            participants[:2], ("Hello from Nairobi!", "Good morning from Quito."), strict=True
        )
    )
    questions = [
        WebinarQuestion(
            webinar_id=live.id,
            author_id=participants[2],
            anonymous=True,
            body="How do we share data without exposing individuals?",
            vote_count=0,
            status=QuestionStatus.ANSWERED,
            answer="Aggregate, and apply disclosure control before release.",
            answered_by_id=moderator,
            answered_at=now,
        ),
        WebinarQuestion(
            webinar_id=live.id,
            author_id=participants[3],
            body="Which surveys include a migration module?",
            vote_count=0,
        ),
    ]
    session.add_all(questions)
    await session.flush()
    for question in questions:
        question.order_key = -question.id
