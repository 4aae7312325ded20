"""Calls for practices: moderators open them on a theme with a deadline; initiatives answer
them until the deadline, never after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.db import AnyRow
from models.initiative import CallForPractices, CallObjective
from resolvers import policy
from resolvers.batching import rows_by_ids, values_by_owner
from resolvers.errors import ErrorCode, Problem, ProblemList
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.topic_follows import tell_followers_of_call
from resolvers.unit_of_work import UnitOfWork, mutation
from resolvers.validation import clean_language, clean_objectives, clean_text
from resolvers.webhooks import announce_call
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

CALL_COLUMNS = (
    CallForPractices.id,
    CallForPractices.theme,
    CallForPractices.description,
    CallForPractices.language,
    CallForPractices.deadline,
    CallForPractices.created_at,
)
# Calls by deadline, the next one to close first.
DEADLINE_ORDER = Keyset("calls", (CallForPractices.deadline, CallForPractices.id))
ONLY_MODERATORS = Problem(None, "Only moderators open calls.", ErrorCode.NOT_ALLOWED)


@dataclass(frozen=True)
class CallResult:
    call: AnyRow | None = None
    problems: list[Problem] = field(default_factory=list)


async def closed_call_problem(session: AsyncSession, call_id: int) -> Problem | None:
    """Why an initiative cannot be submitted to this call now (missing or past its deadline)."""
    deadline = await session.scalar(
        select(CallForPractices.deadline).where(CallForPractices.id == call_id)
    )
    if deadline is None:
        return Problem("callId", "No such call for practices.", ErrorCode.NOT_FOUND)
    if not policy.is_open(deadline):
        return Problem(
            "callId", "This call for practices closed at its deadline.", ErrorCode.CLOSED
        )
    return None


async def create_call(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    theme: str,
    description: str,
    objectives: Sequence[int],
    deadline: datetime,
    language: str = "en",
) -> CallResult:
    problems = ProblemList()
    language = clean_language(problems, "language", language)
    theme = clean_text(problems, "theme", theme, max_length=200)
    description = clean_text(
        problems, "description", description, max_length=10_000, multiline=True, required=False
    )
    numbers = clean_objectives(problems, "objectives", objectives)
    if deadline.tzinfo is None:
        problems.add("deadline", "Give a time zone (for example 2027-03-31T23:59:59Z).")
    elif deadline <= utcnow():
        problems.add("deadline", "The deadline must be in the future.")
    if not policy.may_moderate_reviews(viewer):
        # Members who may not open calls hear that, not what is wrong with the call.
        problems = ProblemList([ONLY_MODERATORS])

    async def change(work: UnitOfWork) -> AnyRow | None:
        call = CallForPractices(
            theme=theme,
            description=description,
            deadline=deadline,
            language=language,
            created_by_id=viewer.member_id,
        )
        work.session.add(call)
        await work.session.flush()
        work.session.add_all(CallObjective(call_id=call.id, objective_number=n) for n in numbers)
        await tell_followers_of_call(work, call.id, numbers, viewer.member_id)
        await announce_call(work, call)
        return await work.read_back(select(*CALL_COLUMNS).where(CallForPractices.id == call.id))

    done = await mutation(sessions, events, viewer, change, problems=problems)
    return CallResult(call=done.value, problems=done.problems)


async def calls_page(sessions: Sessions, open_only: bool, request: PageRequest) -> Page:
    """Calls are public: they invite everyone to share their practices."""
    statement = select(*CALL_COLUMNS)
    if open_only:
        statement = statement.where(CallForPractices.deadline > utcnow())
    return await fetch_page(sessions, statement, DEADLINE_ORDER, request)


async def calls_by_ids(sessions: Sessions, ids: Sequence[int]) -> list[AnyRow | None]:
    return await rows_by_ids(
        sessions, select(*CALL_COLUMNS).where(CallForPractices.id.in_(ids)), ids
    )


async def objectives_by_call(sessions: Sessions, ids: Sequence[int]) -> list[list[int]]:
    return await values_by_owner(
        sessions, CallObjective.call_id, CallObjective.objective_number, ids
    )
