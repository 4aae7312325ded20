"""Peer review, one mechanism for every reviewed kind of item (keyed by kind and id):
lifecycle transitions, reviewer assignment, conflicts of interest, reviews with their
checklist, the publishing rule and its escalation, moderators' decisions, the review queue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
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
from resolvers import notifications, policy
from resolvers.calls import closed_call_problem
from resolvers.errors import NOT_SIGNED_IN, ErrorCode, Problem, ProblemList
from resolvers.initiatives import INITIATIVE_COLUMNS
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.relations import rerank_superseded_by
from resolvers.resources import RESOURCE_COLUMNS
from resolvers.revisions import merge_revision
from resolvers.unit_of_work import Refused, UnitOfWork, unit_of_work
from resolvers.validation import clean_text
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]
S = ReviewState

# Each reviewed kind, its table (they share the `ReviewedItem` lifecycle columns) and the
# columns its rows are read with.
MODELS: Mapping[ReviewItemKind, Any] = {
    ReviewItemKind.RESOURCE: Resource,
    ReviewItemKind.INITIATIVE: Initiative,
}
COLUMNS: Mapping[ReviewItemKind, Sequence[Any]] = {
    ReviewItemKind.RESOURCE: RESOURCE_COLUMNS,
    ReviewItemKind.INITIATIVE: INITIATIVE_COLUMNS,
}

PENDING = (S.SUBMITTED, S.IN_REVIEW)
# Who moves an item from which state to which: anything else is INVALID_TRANSITION.
AUTHOR_MOVES = frozenset(
    {
        (S.DRAFT, S.SUBMITTED),
        (S.CHANGES_REQUESTED, S.SUBMITTED),
        (S.DRAFT, S.WITHDRAWN),
        (S.SUBMITTED, S.WITHDRAWN),
        (S.IN_REVIEW, S.WITHDRAWN),
        (S.CHANGES_REQUESTED, S.WITHDRAWN),
    }
)
DECISION_MOVES = frozenset(
    {
        (S.SUBMITTED, S.IN_REVIEW),
        (S.IN_REVIEW, S.CHANGES_REQUESTED),
        (S.IN_REVIEW, S.APPROVED),
        (S.IN_REVIEW, S.REJECTED),
    }
)
# A published item sent back to review stays APPROVED (visible) until the new decision.
RE_REVIEW_MOVES = frozenset(
    {(S.APPROVED, S.APPROVED), (S.APPROVED, S.CHANGES_REQUESTED), (S.APPROVED, S.REJECTED)}
)
ARCHIVE_MOVES = frozenset({(S.APPROVED, S.ARCHIVED), (S.REJECTED, S.ARCHIVED)})
OUTCOME_OF = {
    ReviewDecision.APPROVE: S.APPROVED,
    ReviewDecision.REQUEST_CHANGES: S.CHANGES_REQUESTED,
    ReviewDecision.REJECT: S.REJECTED,
}
MAX_COMMENT = 10_000


@dataclass(frozen=True)
class ReviewRule:
    """The publishing rule (from the settings): how many approvals publish an item, how many
    of them from reviewers of UN_SYSTEM organisations, and how long until it is due a
    re-review."""

    min_approvals: int = 2
    min_un_system_approvals: int = 1
    review_by_months: int = 24


@dataclass(frozen=True)
class Tally:
    """The decisions of one review round."""

    approvals: int = 0
    un_system_approvals: int = 0
    rejections: int = 0
    changes_requested: int = 0
    pending_reviewers: int = 0


def outcome(tally: Tally, rule: ReviewRule) -> tuple[ReviewState | None, bool]:
    """The state a round's decisions lead to (None: wait for more) and whether one more
    reviewer is needed.

    Any request for changes sends the item back to its author. Without rejections, the item is
    published once the approvals meet the rule. Approvals and rejections together escalate: an
    additional reviewer is required, and the round is settled only by a strict majority among
    more reviewers than the rule needs (a majority of approvals must still meet the rule).
    Rejections alone reject once every assigned reviewer has decided.
    """
    if tally.changes_requested:
        return S.CHANGES_REQUESTED, False
    rule_met = (
        tally.approvals >= rule.min_approvals
        and tally.un_system_approvals >= rule.min_un_system_approvals
    )
    if tally.rejections and tally.approvals:
        settled = tally.approvals + tally.rejections > rule.min_approvals
        if settled and tally.rejections > tally.approvals:
            return S.REJECTED, False
        if settled and tally.approvals > tally.rejections and rule_met:
            return S.APPROVED, False
        return None, True
    if tally.rejections:
        return (S.REJECTED, False) if tally.pending_reviewers == 0 else (None, False)
    return (S.APPROVED, False) if rule_met else (None, False)


def _transition_problem(current: ReviewState, wanted: ReviewState) -> Problem:
    return Problem(
        None,
        f"Cannot move from {current.value} to {wanted.value}.",
        ErrorCode.INVALID_TRANSITION,
    )


def _move(item: ReviewedItem, wanted: ReviewState, allowed: frozenset[tuple[S, S]]) -> None:
    if (item.state, wanted) not in allowed:
        raise Refused(_transition_problem(item.state, wanted))
    item.state = wanted


def _decision_moves(item: ReviewedItem) -> frozenset[tuple[S, S]]:
    return DECISION_MOVES | (RE_REVIEW_MOVES if item.under_re_review else frozenset())


def _is_under_review(item: ReviewedItem) -> bool:
    return item.state in PENDING or (item.state is S.APPROVED and item.under_re_review)


@dataclass(frozen=True)
class ItemRef:
    kind: ReviewItemKind
    id: int


@dataclass(frozen=True)
class ItemResult:
    """The item after a change (None when refused), or why nothing changed."""

    item: ItemRef | None = None
    problems: list[Problem] = field(default_factory=list)


def _not_found(field_name: str | None = "itemId") -> Problem:
    return Problem(field_name, "No such item.", ErrorCode.NOT_FOUND)


NOT_A_MODERATOR = Problem(None, "Only moderators do this.", ErrorCode.NOT_ALLOWED)


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


async def _run(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, change: Change
) -> ItemResult:
    """One change to an item in one unit of work, the item's row locked (PostgreSQL) so that
    two reviews never tally at once; a refusal rolls everything back."""
    if viewer.member_id is None:
        return ItemResult(problems=[NOT_SIGNED_IN])
    try:
        async with unit_of_work(sessions, events) as work:
            item = await _visible_item(work, viewer, ref)
            await change(work, item)
    except Refused as refusal:
        return ItemResult(problems=refusal.problems)
    return ItemResult(item=ref)


# --- the author ----------------------------------------------------------------------------


async def submit(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef
) -> ItemResult:
    """Send a draft, or an item whose changes were requested, to review (a new round)."""

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_act_as_author(viewer, item.author_id):
            raise Refused(Problem(None, "Only the author submits an item.", ErrorCode.NOT_ALLOWED))
        resubmission = item.state is S.CHANGES_REQUESTED
        _move(item, S.SUBMITTED, AUTHOR_MOVES)
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

    return await _run(sessions, events, viewer, ref, change)


async def withdraw(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef
) -> ItemResult:
    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_act_as_author(viewer, item.author_id):
            raise Refused(
                Problem(None, "Only the author withdraws an item.", ErrorCode.NOT_ALLOWED)
            )
        _move(item, S.WITHDRAWN, AUTHOR_MOVES)

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
        if not _is_under_review(item):
            raise Refused(_transition_problem(item.state, S.IN_REVIEW))
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
            _move(item, S.IN_REVIEW, DECISION_MOVES)

    return await _run(sessions, events, viewer, ref, change)


async def declare_conflict(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, reason: str
) -> ItemResult:
    """A reviewer declares a conflict of interest: their assignment ends, and they cannot be
    assigned to this item again."""
    problems = ProblemList()
    reason = clean_text(problems, "reason", reason, max_length=2_000, multiline=True)
    if problems:
        return ItemResult(problems=problems)

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

    return await _run(sessions, events, viewer, ref, change)


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
                f"Answer each of the {len(letters)} guiding principles exactly once "
                f"(missing: {missing}, unknown: {unknown}).",
                ErrorCode.INVALID,
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
    _move(item, wanted, _decision_moves(item))
    item.reviewed_at = now
    item.under_re_review = False
    item.needs_additional_reviewer = False
    if wanted is S.APPROVED:
        item.approved_at = item.approved_at or now
        item.review_by = now + timedelta(days=round(rule.review_by_months * 365.25 / 12))
        if isinstance(item, Resource) and item.revision_of_id is not None:
            await merge_revision(work.session, item, now)
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
    if problems:
        return ItemResult(problems=problems)

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        assert viewer.member_id is not None
        reviewer = await work.session.get_one(Member, viewer.member_id)
        assigned = await work.session.scalar(
            select(ReviewAssignment.id).where(
                ReviewAssignment.item_kind == ref.kind,
                ReviewAssignment.item_id == ref.id,
                ReviewAssignment.reviewer_id == viewer.member_id,
            )
        )
        if assigned is None:
            raise Refused(
                Problem(None, "You are not assigned to review this item.", ErrorCode.NOT_ALLOWED)
            )
        reason = await _conflict(work.session, item, ref, reviewer)
        if reason is not None:
            raise Refused(Problem(None, reason, ErrorCode.CONFLICT_OF_INTEREST))
        if not _is_under_review(item):
            raise Refused(_transition_problem(item.state, OUTCOME_OF[review.decision]))
        if item.state is S.SUBMITTED:
            _move(item, S.IN_REVIEW, DECISION_MOVES)
        await _check_principles(work.session, review.checklist.principles)
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

    return await _run(sessions, events, viewer, ref, change)


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
    if problems:
        return ItemResult(problems=problems)

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_moderate_reviews(viewer):
            raise Refused(NOT_A_MODERATOR)
        wanted = OUTCOME_OF[decision]
        before = item.state
        if item.state is S.SUBMITTED:
            _move(item, S.IN_REVIEW, DECISION_MOVES)
        try:
            await _decide(work, item, ref, wanted, rule)
        except Refused:
            raise Refused(_transition_problem(before, wanted)) from None
        details = {"decision": decision.value, "from": before.value, "to": item.state.value}
        _audit(work, viewer, ModerationAction.DECIDE_REVIEW_ITEM, ref, reason, details)
        await _tell_author(work, viewer, item, ref, {"decision": decision.value})

    return await _run(sessions, events, viewer, ref, change)


async def archive(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, reason: str
) -> ItemResult:
    problems = ProblemList()
    reason = _clean_reason(problems, reason)
    if problems:
        return ItemResult(problems=problems)

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_moderate_reviews(viewer):
            raise Refused(NOT_A_MODERATOR)
        before = item.state
        _move(item, S.ARCHIVED, ARCHIVE_MOVES)
        item.under_re_review = False
        if isinstance(item, Resource):
            await rerank_superseded_by(work.session, item.id)
        _audit(
            work, viewer, ModerationAction.ARCHIVE_REVIEW_ITEM, ref, reason, {"from": before.value}
        )
        await _tell_author(work, viewer, item, ref, {"archived": True})

    return await _run(sessions, events, viewer, ref, change)


async def send_back_to_review(
    sessions: Sessions, events: EventPublisher, viewer: Viewer, ref: ItemRef, reason: str
) -> ItemResult:
    """A published item goes back to review (a new round) and stays visible meanwhile."""
    problems = ProblemList()
    reason = _clean_reason(problems, reason)
    if problems:
        return ItemResult(problems=problems)

    async def change(work: UnitOfWork, item: ReviewedItem) -> None:
        if not policy.may_moderate_reviews(viewer):
            raise Refused(NOT_A_MODERATOR)
        if item.state is not S.APPROVED or item.under_re_review:
            raise Refused(
                Problem(
                    None,
                    f"Only a published item not already under re-review goes back to review "
                    f"(it is {item.state.value}).",
                    ErrorCode.INVALID_TRANSITION,
                )
            )
        item.under_re_review = True
        item.review_round += 1
        item.needs_additional_reviewer = False
        item.submitted_at = utcnow()
        _audit(work, viewer, ModerationAction.SEND_BACK_TO_REVIEW, ref, reason, {})
        await _tell_author(work, viewer, item, ref, {"under_re_review": True})

    return await _run(sessions, events, viewer, ref, change)


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


# --- reading -------------------------------------------------------------------------------


async def reviews_by_item(
    sessions: Sessions, viewer: Viewer, kind: ReviewItemKind, rows: Sequence[tuple[int, int | None]]
) -> list[list[AnyRow]]:
    """Reviews of each (item id, author id), oldest first; empty for viewers who may not read
    them (the public, unassigned members)."""
    ids = [i for i, _ in rows]
    async with sessions() as session:
        assigned = set()
        if viewer.member_id is not None:
            assigned = set(
                (
                    await session.execute(
                        select(ReviewAssignment.item_id).where(
                            ReviewAssignment.item_kind == kind,
                            ReviewAssignment.item_id.in_(ids),
                            ReviewAssignment.reviewer_id == viewer.member_id,
                        )
                    )
                ).scalars()
            )
        readable = [
            i for i, author in rows if policy.may_read_reviews(viewer, author, i in assigned)
        ]
        found = (
            await session.execute(
                select(
                    Review.id,
                    Review.item_id,
                    Review.round,
                    Review.reviewer_id,
                    Review.decision,
                    Review.comment,
                    Review.relates_to_objective,
                    Review.accurate_and_sourced,
                    Review.up_to_date,
                    Review.created_at,
                )
                .where(Review.item_kind == kind, Review.item_id.in_(readable))
                .order_by(Review.id)
            )
        ).all()
    by_item: dict[int, list[AnyRow]] = {i: [] for i in ids}
    for row in found:
        by_item[row.item_id].append(row)
    return [by_item[i] for i in ids]


async def principle_answers_by_review(
    sessions: Sessions, review_ids: Sequence[int]
) -> list[list[tuple[str, PrincipleAnswer]]]:
    async with sessions() as session:
        rows = (
            await session.execute(
                select(
                    ReviewPrincipleAnswer.review_id,
                    ReviewPrincipleAnswer.principle_letter,
                    ReviewPrincipleAnswer.answer,
                ).where(ReviewPrincipleAnswer.review_id.in_(review_ids))
            )
        ).all()
    answers: dict[int, list[tuple[str, PrincipleAnswer]]] = {i: [] for i in review_ids}
    for review_id, letter, answer in rows:
        answers[review_id].append((letter, answer))
    return [sorted(answers[i]) for i in review_ids]


async def reviewers_by_item(
    sessions: Sessions, viewer: Viewer, kind: ReviewItemKind, rows: Sequence[tuple[int, int | None]]
) -> list[list[int]]:
    """Assigned reviewers of each (item id, author id), for those who may read reviews."""
    ids = [i for i, _ in rows]
    async with sessions() as session:
        found = (
            await session.execute(
                select(ReviewAssignment.item_id, ReviewAssignment.reviewer_id)
                .where(ReviewAssignment.item_kind == kind, ReviewAssignment.item_id.in_(ids))
                .order_by(ReviewAssignment.id)
            )
        ).all()
    reviewers: dict[int, list[int]] = {i: [] for i in ids}
    for item_id, reviewer_id in found:
        reviewers[item_id].append(reviewer_id)
    return [
        reviewers[i]
        if policy.may_read_reviews(viewer, author, viewer.member_id in reviewers[i])
        else []
        for i, author in rows
    ]


QUEUE_ORDERS = {
    kind: Keyset(f"review-queue-{kind.value.lower()}", (model.submitted_at, model.id))
    for kind, model in MODELS.items()
}


def _pending(model: Any) -> Any:
    return or_(
        model.state.in_(PENDING), and_(model.state == S.APPROVED, model.under_re_review.is_(True))
    )


def _queue(viewer: Viewer, kind: ReviewItemKind, *columns: Any) -> AnySelect:
    """Reviewers: pending items assigned to them; moderators: every pending item."""
    model = MODELS[kind]
    statement = select(*columns).where(
        _pending(model), policy.visible_reviewed_items(viewer, model, kind)
    )
    if not policy.may_moderate_reviews(viewer):
        statement = statement.where(
            exists().where(
                ReviewAssignment.item_kind == kind,
                ReviewAssignment.item_id == model.id,
                ReviewAssignment.reviewer_id == viewer.member_id,
            )
        )
    return statement


def may_use_queue(viewer: Viewer) -> bool:
    return viewer.member_id is not None and policy.may_review(viewer.role)


async def review_queue(
    sessions: Sessions, viewer: Viewer, kind: ReviewItemKind, request: PageRequest
) -> Page | None:
    """The queue's items of one kind, oldest submission first; None for non-reviewers."""
    if not may_use_queue(viewer):
        return None
    statement = _queue(viewer, kind, *COLUMNS[kind])
    return await fetch_page(sessions, statement, QUEUE_ORDERS[kind], request)


async def queue_counts(sessions: Sessions, viewer: Viewer) -> list[tuple[str, int]]:
    """How many pending items of every kind the queue holds in each state (published items
    back in review count as UNDER_RE_REVIEW)."""
    if not may_use_queue(viewer):
        return []
    counts: Counter[str] = Counter()
    async with sessions() as session:
        for kind, model in MODELS.items():
            statement = _queue(viewer, kind, model.state, model.under_re_review, func.count())
            grouped = statement.group_by(model.state, model.under_re_review)
            for state, re_review, count in (await session.execute(grouped)).all():
                label = "UNDER_RE_REVIEW" if re_review and state is S.APPROVED else state.value
                counts[label] += int(count)
    return sorted(counts.items())
