"""Peer review, moderators' decisions: deciding without (more) reviews, archiving, sending a
published item back to review, setting its review-by date; each with a written reason, audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.moderation import AuditEntry, ModerationAction
from models.resource import Resource
from models.review import ReviewDecision, ReviewedItem
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.policy import Viewer
from resolvers.relations import rerank_superseded_by
from resolvers.review_items import ItemRef, ItemResult, change_item
from resolvers.review_rules import (
    ARCHIVE_MOVES,
    DECISION_MOVES,
    OUTCOME_OF,
    ReviewRule,
    S,
    move,
    transition_problem,
)
from resolvers.reviews import decide, tell_author
from resolvers.unit_of_work import Refused, UnitOfWork
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]


def _audit(
    work: UnitOfWork,
    viewer: Viewer,
    action: ModerationAction,
    ref: ItemRef,
    reason: str,
    details: dict[str, Any],
) -> None:
    work.session.add(
        AuditEntry(
            actor_id=viewer.member_id,
            action=action,
            subject_type=ref.kind.value.title(),
            subject_id=ref.id,
            community_id=None,
            reason=reason,
            details=details,
        )
    )


def _clean_reason(problems: ProblemList, reason: str) -> str:
    return clean_text(problems, "reason", reason, max_length=2_000, multiline=True)


ReasonedChange = Callable[[UnitOfWork, ReviewedItem, str], Awaitable[None]]


async def _with_reason(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    ref: ItemRef,
    reason: str,
    change: ReasonedChange,
) -> ItemResult:
    """A moderator's change to an item with a written reason (checked, then given to `change`)."""
    problems = ProblemList()
    reason = _clean_reason(problems, reason)

    async def with_reason(work: UnitOfWork, item: ReviewedItem) -> None:
        await change(work, item, reason)

    return await change_item(
        sessions, events, viewer, ref, with_reason, problems, moderators_only=True
    )


async def decide_alone(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    ref: ItemRef,
    decision: ReviewDecision,
    reason: str,
    rule: ReviewRule,
) -> ItemResult:
    """A moderator decides without (more) reviews, with a written reason (audited)."""

    async def change(work: UnitOfWork, item: ReviewedItem, reason: str) -> None:
        wanted = OUTCOME_OF[decision]
        before = item.state
        if item.state is S.SUBMITTED:
            move(item, S.IN_REVIEW, DECISION_MOVES)
        try:
            await decide(work, item, ref, wanted, rule)
        except Refused:
            raise Refused(transition_problem(before, wanted)) from None
        details = {"decision": decision.value, "from": before.value, "to": item.state.value}
        _audit(work, viewer, ModerationAction.DECIDE_REVIEW_ITEM, ref, reason, details)
        await tell_author(work, viewer, item, ref, {"decision": decision.value, "reason": reason})

    return await _with_reason(sessions, events, viewer, ref, reason, change)


async def archive(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, reason: str
) -> ItemResult:
    """A moderator archives an item, with a written reason (audited)."""

    async def change(work: UnitOfWork, item: ReviewedItem, reason: str) -> None:
        before = item.state
        move(item, S.ARCHIVED, ARCHIVE_MOVES)
        item.under_re_review = False
        if isinstance(item, Resource):
            await rerank_superseded_by(work.session, item.id)
        _audit(
            work, viewer, ModerationAction.ARCHIVE_REVIEW_ITEM, ref, reason, {"from": before.value}
        )
        await tell_author(work, viewer, item, ref, {"archived": True, "reason": reason})

    return await _with_reason(sessions, events, viewer, ref, reason, change)


async def send_back_to_review(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, reason: str
) -> ItemResult:
    """A published item goes back to review (a new round) and stays visible meanwhile."""

    async def change(work: UnitOfWork, item: ReviewedItem, reason: str) -> None:
        if item.state is not S.APPROVED or item.under_re_review:
            raise Refused(
                Problem(
                    None,
                    "Only a published item not already under re-review goes back to review (it is {state}).",
                    ErrorCode.INVALID_TRANSITION,
                    values=message_values(state=item.state.value),
                )
            )
        item.under_re_review = True
        item.review_round += 1
        item.needs_additional_reviewer = False
        item.submitted_at = utcnow()
        _audit(work, viewer, ModerationAction.SEND_BACK_TO_REVIEW, ref, reason, {})
        await tell_author(work, viewer, item, ref, {"under_re_review": True, "reason": reason})

    return await _with_reason(sessions, events, viewer, ref, reason, change)


async def set_review_by(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, review_by: datetime
) -> ItemResult:
    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if item.state is not S.APPROVED:
            raise Refused(
                Problem(
                    None,
                    "Only published items have a review-by date.",
                    ErrorCode.INVALID_TRANSITION,
                )
            )
        item.review_by = review_by

    return await change_item(sessions, events, viewer, ref, change, moderators_only=True)
