"""Peer review, one mechanism for every reviewed kind of item (keyed by kind and id):
reviews with their checklist and the publishing rule applied. The items and the one way to
change one are in `review_items.py`; the author's moves in `review_submissions.py`; reviewer
assignment and conflicts of interest in `review_assignments.py`; moderators' decisions in
`review_moderation.py`; its rules in `review_rules.py`, its reads in `review_reads.py`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.initiative import Initiative
from models.member import Member
from models.notification import NotificationKind
from models.organization import Organization, OrganizationKind
from models.reference import GuidingPrinciple
from models.resource import Resource
from models.review import (
    PrincipleAnswer,
    Review,
    ReviewAssignment,
    ReviewDecision,
    ReviewedItem,
    ReviewPrincipleAnswer,
    ReviewState,
)
from resolvers import notifications, policy, webhooks
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.policy import Viewer
from resolvers.relations import rerank_superseded_by
from resolvers.review_assignments import conflict_reason
from resolvers.review_items import ItemRef, ItemResult, change_item
from resolvers.review_rules import (
    DECISION_MOVES,
    OUTCOME_OF,
    ReviewRule,
    S,
    Tally,
    decision_moves,
    is_under_review,
    move,
    outcome,
    transition_problem,
)
from resolvers.revisions import merge_initiative_revision, merge_revision
from resolvers.search_index import reindex
from resolvers.search_sources import INITIATIVES, RESOURCES
from resolvers.topic_follows import tell_followers_of_item
from resolvers.unit_of_work import Refused, UnitOfWork
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

MAX_COMMENT = 10_000


@dataclass(frozen=True)
class Checklist:
    relates_to_objective: bool
    accurate_and_sourced: bool
    up_to_date: bool
    principles: Mapping[str, PrincipleAnswer]


@dataclass(frozen=True)
class NewReview:
    decision: ReviewDecision
    comment: str
    checklist: Checklist


async def _check_principles(session: AsyncSession, answers: Mapping[str, PrincipleAnswer]) -> None:
    letters = set((await session.execute(select(GuidingPrinciple.letter))).scalars())
    if set(answers) != letters:
        missing = sorted(letters - set(answers))
        unknown = sorted(set(answers) - letters)
        raise Refused(
            Problem(
                "checklist.principles",
                "Answer each of the {count} guiding principles exactly once (missing: {missing}, unknown: {unknown}).",
                ErrorCode.INVALID,
                values=message_values(count=len(letters), missing=missing, unknown=unknown),
            )
        )


async def _tally(session: AsyncSession, item: ReviewedItem, ref: ItemRef) -> Tally:
    decisions = (
        await session.execute(
            select(Review.decision, Review.reviewer_is_un_system).where(
                Review.item_kind == ref.kind,
                Review.item_id == ref.id,
                Review.round == item.review_round,
            )
        )
    ).all()
    counts = Counter(d for d, _ in decisions)
    pending = await session.scalar(
        select(func.count())
        .select_from(ReviewAssignment)
        .where(
            ReviewAssignment.item_kind == ref.kind,
            ReviewAssignment.item_id == ref.id,
            ~exists().where(
                Review.item_kind == ref.kind,
                Review.item_id == ref.id,
                Review.round == item.review_round,
                Review.reviewer_id == ReviewAssignment.reviewer_id,
            ),
        )
    )
    return Tally(
        approvals=counts[ReviewDecision.APPROVE],
        un_system_approvals=sum(1 for d, un in decisions if d is ReviewDecision.APPROVE and un),
        rejections=counts[ReviewDecision.REJECT],
        changes_requested=counts[ReviewDecision.REQUEST_CHANGES],
        pending_reviewers=int(pending or 0),
    )


async def decide(
    work: UnitOfWork, item: ReviewedItem, ref: ItemRef, wanted: ReviewState, rule: ReviewRule
) -> None:
    """Apply a decision's outcome to the item (published items get their review-by date)."""
    now = utcnow()
    move(item, wanted, decision_moves(item))
    item.reviewed_at = now
    item.under_re_review = False
    item.needs_additional_reviewer = False
    if wanted is S.APPROVED:
        item.approved_at = item.approved_at or now
        item.review_by = now + timedelta(days=round(rule.review_by_months * 365.25 / 12))
        if isinstance(item, Resource) and item.revision_of_id is not None:
            await merge_revision(work.session, item, now)
            # The public text changed: the published resource's document follows.
            await reindex(work.session, RESOURCES, [item.revision_of_id])
        if isinstance(item, Initiative) and item.revision_of_id is not None:
            await merge_initiative_revision(work.session, item, now)
            await reindex(work.session, INITIATIVES, [item.revision_of_id])
        if isinstance(item, Resource | Initiative) and item.revision_of_id is None:
            await webhooks.announce_published(work, ref.kind, ref.id, item.title)
            await tell_followers_of_item(work, ref.kind, ref.id, item.author_id)
    if isinstance(item, Resource):
        await rerank_superseded_by(work.session, item.id)


async def tell_author(
    work: UnitOfWork, viewer: Viewer, item: ReviewedItem, ref: ItemRef, details: dict[str, Any]
) -> None:
    if item.author_id is not None:
        await notifications.notify(
            work,
            [item.author_id],
            NotificationKind.REVIEW_DECISION,
            actor_id=viewer.member_id,
            subject={
                "item_kind": ref.kind.value,
                "item": ref.id,
                "state": item.state.value,
                **details,
            },
        )


async def submit_review(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    ref: ItemRef,
    review: NewReview,
    rule: ReviewRule,
) -> ItemResult:
    """An assigned reviewer's decision with the checklist; the publishing rule then decides
    whether the item is published, sent back, rejected, or needs one more reviewer."""
    problems = ProblemList()
    comment = clean_text(
        problems, "comment", review.comment, max_length=MAX_COMMENT, multiline=True
    )

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        assert viewer.member_id is not None
        reviewer = await work.session.get_one(Member, viewer.member_id)
        await _refuse_unless_free_to_review(work, viewer, item, ref, reviewer)
        if not is_under_review(item):
            raise Refused(transition_problem(item.state, OUTCOME_OF[review.decision]))
        if item.state is S.SUBMITTED:
            move(item, S.IN_REVIEW, DECISION_MOVES)
        await _check_principles(work.session, review.checklist.principles)
        row = await _record_review(work, viewer, item, ref, review, comment, reviewer)
        wanted, escalate = outcome(await _tally(work.session, item, ref), rule)
        if wanted is not None:
            await decide(work, item, ref, wanted, rule)
        else:
            item.needs_additional_reviewer = escalate
        await tell_author(
            work, viewer, item, ref, {"review": row.id, "decision": review.decision.value}
        )

    return await change_item(sessions, events, viewer, ref, change, problems)


async def _refuse_unless_free_to_review(
    work: UnitOfWork, viewer: Viewer, item: ReviewedItem, ref: ItemRef, reviewer: Member
) -> None:
    """The viewer is assigned to the item, has no conflict of interest, and has not reviewed
    this round yet."""
    if not await work.session.scalar(select(policy.is_assigned_reviewer(viewer, ref.kind, ref.id))):
        raise Refused(
            Problem(None, "You are not assigned to review this item.", ErrorCode.NOT_ALLOWED)
        )
    reason = await conflict_reason(work.session, item, ref, reviewer)
    if reason is not None:
        raise Refused(Problem(None, reason, ErrorCode.CONFLICT_OF_INTEREST))
    # Before the state: a double submission whose first copy closed the round (published
    # or rejected the item) is still a duplicate (CONFLICT), not an invalid transition.
    done = await work.session.scalar(
        select(Review.id).where(
            Review.item_kind == ref.kind,
            Review.item_id == ref.id,
            Review.round == item.review_round,
            Review.reviewer_id == viewer.member_id,
        )
    )
    if done is not None:
        raise Refused(Problem(None, "You already reviewed this round.", ErrorCode.CONFLICT))


async def _record_review(
    work: UnitOfWork,
    viewer: Viewer,
    item: ReviewedItem,
    ref: ItemRef,
    review: NewReview,
    comment: str,
    reviewer: Member,
) -> Review:
    """The review and its answers for each guiding principle, written (and flushed)."""
    un_system = (
        reviewer.organization_id is not None
        and (
            await work.session.scalar(
                select(Organization.kind).where(Organization.id == reviewer.organization_id)
            )
        )
        is OrganizationKind.UN_SYSTEM
    )
    row = Review(
        item_kind=ref.kind,
        item_id=ref.id,
        round=item.review_round,
        reviewer_id=viewer.member_id,
        decision=review.decision,
        comment=comment,
        relates_to_objective=review.checklist.relates_to_objective,
        accurate_and_sourced=review.checklist.accurate_and_sourced,
        up_to_date=review.checklist.up_to_date,
        reviewer_is_un_system=un_system,
    )
    work.session.add(row)
    await work.session.flush()
    work.session.add_all(
        ReviewPrincipleAnswer(review_id=row.id, principle_letter=letter, answer=answer)
        for letter, answer in review.checklist.principles.items()
    )
    await work.session.flush()
    return row
