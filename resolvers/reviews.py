"""Peer review, one mechanism for every reviewed kind of item (keyed by kind and id):
lifecycle transitions, reviewer assignment, conflicts of interest, reviews with their
checklist, the publishing rule applied, moderators' decisions. Its rules are in
`review_rules.py`, its reads in `review_reads.py`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.db import AnyRow, AnySelect
from models.initiative import Initiative
from models.member import Member
from models.moderation import AuditEntry, ModerationAction
from models.notification import NotificationKind
from models.organization import Organization, OrganizationKind
from models.reference import GuidingPrinciple
from models.resource import Resource
from models.review import (
    ConflictOfInterest,
    PrincipleAnswer,
    Review,
    ReviewAssignment,
    ReviewDecision,
    ReviewedItem,
    ReviewItemKind,
    ReviewPrincipleAnswer,
    ReviewState,
)
from models.support import SupportRequestPractice
from resolvers import notifications, policy, webhooks
from resolvers.calls import closed_call_problem
from resolvers.errors import ErrorCode, Problem, ProblemList, message_values
from resolvers.initiatives import visible_initiative
from resolvers.moderation_events import ModerationEventKind, emit_moderation_event
from resolvers.policy import Viewer
from resolvers.relations import rerank_superseded_by
from resolvers.resources import visible_resource
from resolvers.review_rules import (
    ARCHIVE_MOVES,
    AUTHOR_MOVES,
    DECISION_MOVES,
    MODELS,
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
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]

MAX_COMMENT = 10_000


@dataclass(frozen=True)
class ItemRef:
    kind: ReviewItemKind
    id: int


@dataclass(frozen=True)
class ItemResult:
    """The item after a change (None when refused), or why nothing changed."""

    item: ItemRef | None = None
    problems: list[Problem] = field(default_factory=list)
    # The item's row as the viewer sees it, read in the transaction that changed it.
    row: AnyRow | None = None


def _not_found(field_name: str | None = "itemId") -> Problem:
    return Problem(field_name, "No such item.", ErrorCode.NOT_FOUND)


NOT_A_MODERATOR = Problem(None, "Only moderators do this.", ErrorCode.NOT_ALLOWED)
# A unique constraint refused the change: the same thing was done at the same time.


async def _visible_item(work: UnitOfWork, viewer: Viewer, ref: ItemRef) -> ReviewedItem:
    model = MODELS[ref.kind]
    item: ReviewedItem | None = await work.session.scalar(
        select(model)
        .where(model.id == ref.id, policy.visible_reviewed_items(viewer, model, ref.kind))
        .with_for_update()
    )
    if item is None:
        raise Refused(_not_found())
    return item


Change = Callable[[UnitOfWork, ReviewedItem], Awaitable[None]]
SUMMARY_REQUIRED = Problem(
    "summary", "Write the practice's public summary before submitting it.", ErrorCode.REQUIRED
)


async def _run(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    ref: ItemRef,
    change: Change,
    problems: Sequence[Problem] = (),
) -> ItemResult:
    """One change to an item in one unit of work, the item's row locked (PostgreSQL) so that
    two reviews never tally at once; a refusal rolls everything back. Should two still meet at
    a unique constraint, the loser answers CONFLICT, not an internal error."""

    async def on_item(work: UnitOfWork) -> AnyRow | None:
        await change(work, await _visible_item(work, viewer, ref))
        return await work.read_back(_answer(viewer, ref))

    done = await mutation(sessions, events, viewer, on_item, problems=problems)
    if done.problems:
        return ItemResult(problems=done.problems)
    return ItemResult(item=ref, row=done.value)


def _answer(viewer: Viewer, ref: ItemRef) -> AnySelect:
    """The item's row as the viewer sees it (as `resource` and `initiative` answer it)."""
    if ref.kind is ReviewItemKind.RESOURCE:
        return visible_resource(viewer, ref.id)
    return visible_initiative(viewer, ref.id)


# --- the author ----------------------------------------------------------------------------


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

    return await _run(sessions, events, viewer, ref, change)


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

    return await _run(sessions, events, viewer, ref, change)


# --- conflicts of interest and assignment -------------------------------------------------


async def _conflict(
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
        if not policy.may_moderate_reviews(viewer):
            raise Refused(NOT_A_MODERATOR)
        if not is_under_review(item):
            raise Refused(transition_problem(item.state, S.IN_REVIEW))
        reviewer = await work.session.get(Member, reviewer_id)
        if reviewer is None:
            raise Refused(Problem("reviewerId", "No such member.", ErrorCode.NOT_FOUND))
        if not policy.may_review(reviewer.role):
            raise Refused(
                Problem("reviewerId", "This member is not a reviewer.", ErrorCode.NOT_ALLOWED)
            )
        reason = await _conflict(work.session, item, ref, reviewer)
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

    return await _run(sessions, events, viewer, ref, change)


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

    return await _run(sessions, events, viewer, ref, change, problems)


# --- reviews and the publishing rule ------------------------------------------------------


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


async def _decide(
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


async def _tell_author(
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
        if not await work.session.scalar(
            select(policy.is_assigned_reviewer(viewer, ref.kind, ref.id))
        ):
            raise Refused(
                Problem(None, "You are not assigned to review this item.", ErrorCode.NOT_ALLOWED)
            )
        reason = await _conflict(work.session, item, ref, reviewer)
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
        if not is_under_review(item):
            raise Refused(transition_problem(item.state, OUTCOME_OF[review.decision]))
        if item.state is S.SUBMITTED:
            move(item, S.IN_REVIEW, DECISION_MOVES)
        await _check_principles(work.session, review.checklist.principles)
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
        wanted, escalate = outcome(await _tally(work.session, item, ref), rule)
        if wanted is not None:
            await _decide(work, item, ref, wanted, rule)
        else:
            item.needs_additional_reviewer = escalate
        await _tell_author(
            work, viewer, item, ref, {"review": row.id, "decision": review.decision.value}
        )

    return await _run(sessions, events, viewer, ref, change, problems)


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
    problems = ProblemList()
    reason = _clean_reason(problems, reason)

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_moderate_reviews(viewer):
            raise Refused(NOT_A_MODERATOR)
        wanted = OUTCOME_OF[decision]
        before = item.state
        if item.state is S.SUBMITTED:
            move(item, S.IN_REVIEW, DECISION_MOVES)
        try:
            await _decide(work, item, ref, wanted, rule)
        except Refused:
            raise Refused(transition_problem(before, wanted)) from None
        details = {"decision": decision.value, "from": before.value, "to": item.state.value}
        _audit(work, viewer, ModerationAction.DECIDE_REVIEW_ITEM, ref, reason, details)
        await _tell_author(work, viewer, item, ref, {"decision": decision.value, "reason": reason})

    return await _run(sessions, events, viewer, ref, change, problems)


async def archive(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, reason: str
) -> ItemResult:
    problems = ProblemList()
    reason = _clean_reason(problems, reason)

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_moderate_reviews(viewer):
            raise Refused(NOT_A_MODERATOR)
        before = item.state
        move(item, S.ARCHIVED, ARCHIVE_MOVES)
        item.under_re_review = False
        if isinstance(item, Resource):
            await rerank_superseded_by(work.session, item.id)
        _audit(
            work, viewer, ModerationAction.ARCHIVE_REVIEW_ITEM, ref, reason, {"from": before.value}
        )
        await _tell_author(work, viewer, item, ref, {"archived": True, "reason": reason})

    return await _run(sessions, events, viewer, ref, change, problems)


async def send_back_to_review(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, reason: str
) -> ItemResult:
    """A published item goes back to review (a new round) and stays visible meanwhile."""
    problems = ProblemList()
    reason = _clean_reason(problems, reason)

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_moderate_reviews(viewer):
            raise Refused(NOT_A_MODERATOR)
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
        await _tell_author(work, viewer, item, ref, {"under_re_review": True, "reason": reason})

    return await _run(sessions, events, viewer, ref, change, problems)


async def set_review_by(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, review_by: datetime
) -> ItemResult:
    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_moderate_reviews(viewer):
            raise Refused(NOT_A_MODERATOR)
        if item.state is not S.APPROVED:
            raise Refused(
                Problem(
                    None,
                    "Only published items have a review-by date.",
                    ErrorCode.INVALID_TRANSITION,
                )
            )
        item.review_by = review_by

    return await _run(sessions, events, viewer, ref, change)
