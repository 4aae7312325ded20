"""Peer review's reviewers: conflicts of interest (found or declared) and moderators
assigning reviewers to an item."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.member import Member
from models.review import ConflictOfInterest, ReviewAssignment, ReviewedItem
from resolvers import policy
from resolvers.errors import ErrorCode, Problem, ProblemList
from resolvers.policy import Viewer
from resolvers.review_items import ItemRef, ItemResult, change_item
from resolvers.review_rules import DECISION_MOVES, S, is_under_review, move, transition_problem
from resolvers.unit_of_work import Refused, UnitOfWork
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]


async def conflict_reason(
    session: AsyncSession, item: ReviewedItem, ref: ItemRef, reviewer: Member
) -> str | None:
    author_organizations = {item.organization_id} - {None}
    if item.author_id is not None:
        author_organization = await session.scalar(
            select(Member.organization_id).where(Member.id == item.author_id)
        )
        if author_organization is not None:
            author_organizations.add(author_organization)
    declared = await session.scalar(
        select(
            exists().where(
                ConflictOfInterest.item_kind == ref.kind,
                ConflictOfInterest.item_id == ref.id,
                ConflictOfInterest.reviewer_id == reviewer.id,
            )
        )
    )
    return policy.conflict_of_interest(
        reviewer_id=reviewer.id,
        reviewer_organization_id=reviewer.organization_id,
        author_id=item.author_id,
        author_organization_ids={o for o in author_organizations if o is not None},
        declared=bool(declared),
    )


async def assign_reviewer(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, reviewer_id: int
) -> ItemResult:
    """Moderators: ask a reviewer to review a submitted item (which is then IN_REVIEW)."""

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not is_under_review(item):
            raise Refused(transition_problem(item.state, S.IN_REVIEW))
        reviewer = await work.session.get(Member, reviewer_id)
        if reviewer is None:
            raise Refused(Problem("reviewerId", "No such member.", ErrorCode.NOT_FOUND))
        if not policy.may_review(reviewer.role):
            raise Refused(
                Problem("reviewerId", "This member is not a reviewer.", ErrorCode.NOT_ALLOWED)
            )
        reason = await conflict_reason(work.session, item, ref, reviewer)
        if reason is not None:
            raise Refused(Problem("reviewerId", reason, ErrorCode.CONFLICT_OF_INTEREST))
        already = await work.session.scalar(
            select(ReviewAssignment.id).where(
                ReviewAssignment.item_kind == ref.kind,
                ReviewAssignment.item_id == ref.id,
                ReviewAssignment.reviewer_id == reviewer_id,
            )
        )
        if already is not None:
            raise Refused(Problem("reviewerId", "Already assigned.", ErrorCode.CONFLICT))
        work.session.add(
            ReviewAssignment(
                item_kind=ref.kind,
                item_id=ref.id,
                reviewer_id=reviewer_id,
                assigned_by_id=viewer.member_id,
            )
        )
        if item.state is S.SUBMITTED:
            move(item, S.IN_REVIEW, DECISION_MOVES)

    return await change_item(sessions, events, viewer, ref, change, moderators_only=True)


async def declare_conflict(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, reason: str
) -> ItemResult:
    """A reviewer declares a conflict of interest: their assignment ends, and they cannot be
    assigned to this item again."""
    problems = ProblemList()
    reason = clean_text(problems, "reason", reason, max_length=2_000, multiline=True)

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_review(viewer.role):
            raise Refused(Problem(None, "Only reviewers declare conflicts.", ErrorCode.NOT_ALLOWED))
        assert viewer.member_id is not None
        exists_already = await work.session.scalar(
            select(ConflictOfInterest.id).where(
                ConflictOfInterest.item_kind == ref.kind,
                ConflictOfInterest.item_id == ref.id,
                ConflictOfInterest.reviewer_id == viewer.member_id,
            )
        )
        if exists_already is None:
            work.session.add(
                ConflictOfInterest(
                    item_kind=ref.kind, item_id=ref.id, reviewer_id=viewer.member_id, reason=reason
                )
            )
        assignment = await work.session.scalar(
            select(ReviewAssignment).where(
                ReviewAssignment.item_kind == ref.kind,
                ReviewAssignment.item_id == ref.id,
                ReviewAssignment.reviewer_id == viewer.member_id,
            )
        )
        if assignment is not None:
            await work.session.delete(assignment)

    return await change_item(sessions, events, viewer, ref, change, problems)
