"""Peer review, the author's side: submitting an item to review (a new round) and
withdrawing it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.initiative import Initiative
from models.review import ReviewedItem
from models.support import SupportRequestPractice
from resolvers import policy
from resolvers.calls import closed_call_problem
from resolvers.errors import ErrorCode, Problem
from resolvers.moderation_events import ModerationEventKind, emit_moderation_event
from resolvers.policy import Viewer
from resolvers.review_items import ItemRef, ItemResult, change_item
from resolvers.review_rules import AUTHOR_MOVES, S, move
from resolvers.unit_of_work import Refused, UnitOfWork
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

SUMMARY_REQUIRED = Problem(
    "summary", "Write the practice's public summary before submitting it.", ErrorCode.REQUIRED
)


async def submit(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef
) -> ItemResult:
    """Send a draft, or an item whose changes were requested, to review (a new round)."""

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_act_as_author(viewer, item.author_id):
            raise Refused(Problem(None, "Only the author submits an item.", ErrorCode.NOT_ALLOWED))
        resubmission = item.state is S.CHANGES_REQUESTED
        move(item, S.SUBMITTED, AUTHOR_MOVES)
        if isinstance(item, Initiative) and not item.summary.strip():
            await _refuse_unwritten_practice(work, item)
        # A call for practices takes no new submissions after its deadline (resubmissions of
        # initiatives already under review are not new).
        if isinstance(item, Initiative) and item.call_id is not None and not resubmission:
            problem = await closed_call_problem(work.session, item.call_id)
            if problem is not None:
                raise Refused(problem)
        if resubmission:
            item.review_round += 1
        item.needs_additional_reviewer = False
        item.submitted_at = utcnow()
        await emit_moderation_event(
            work,
            ModerationEventKind.REVIEW_SUBMITTED,
            community_id=None,
            member_id=viewer.member_id,
            item_kind=ref.kind.value,
            item=ref.id,
        )

    return await change_item(sessions, events, viewer, ref, change)


async def _refuse_unwritten_practice(work: UnitOfWork, item: Initiative) -> None:
    """A practice documented from a support request starts with no summary (the request's
    description is private): a person writes one before anyone reviews it for the public."""
    documented = await work.session.scalar(
        select(SupportRequestPractice.request_id).where(
            SupportRequestPractice.initiative_id == item.id
        )
    )
    if documented is not None:
        raise Refused(SUMMARY_REQUIRED)


async def withdraw(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef
) -> ItemResult:
    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_act_as_author(viewer, item.author_id):
            raise Refused(
                Problem(None, "Only the author withdraws an item.", ErrorCode.NOT_ALLOWED)
            )
        move(item, S.WITHDRAWN, AUTHOR_MOVES)

    return await change_item(sessions, events, viewer, ref, change)
