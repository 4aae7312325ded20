"""Reading peer review: an item's reviews and reviewers (for those who may read them), and the
review queue of reviewers and moderators."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Integer, and_, func, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.base import utcnow
from models.db import AnyRow, AnySelect
from models.initiative import Initiative
from models.resource import Resource
from models.review import (
    PrincipleAnswer,
    Review,
    ReviewAssignment,
    ReviewItemKind,
    ReviewPrincipleAnswer,
)
from resolvers import policy
from resolvers.pagination import Keyset, Page, PageRequest, fetch_page
from resolvers.policy import Viewer
from resolvers.review_rules import COLUMNS, MODELS, PENDING, S

Sessions = async_sessionmaker[AsyncSession]


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


# Oldest submission first; superseded resources after their successors, as in every listing.
QUEUE_ORDERS = {
    ReviewItemKind.RESOURCE: Keyset(
        "review-queue-resource",
        (Resource.supersession_depth, Resource.submitted_at, Resource.id),
    ),
    ReviewItemKind.INITIATIVE: Keyset(
        "review-queue-initiative", (Initiative.submitted_at, Initiative.id)
    ),
}


def _pending(model: Any) -> Any:
    return or_(
        model.state.in_(PENDING), and_(model.state == S.APPROVED, model.under_re_review.is_(True))
    )


def _queue(viewer: Viewer, kind: ReviewItemKind, mine: bool, *columns: Any) -> AnySelect:
    """Reviewers: pending items assigned to them; moderators: every pending item (only those
    assigned to them when `mine`)."""
    model = MODELS[kind]
    return select(*columns).where(
        _pending(model),
        policy.visible_reviewed_items(viewer, model, kind),
        policy.in_review_queue(viewer, model, kind, assigned_only=mine),
    )


async def review_queue(
    sessions: Sessions, viewer: Viewer, kind: ReviewItemKind, mine: bool, request: PageRequest
) -> Page | None:
    """The queue's items of one kind, oldest submission first; None for non-reviewers."""
    if not policy.may_use_review_queue(viewer):
        return None
    statement = _queue(viewer, kind, mine, *COLUMNS[kind])
    return await fetch_page(sessions, statement, QUEUE_ORDERS[kind], request)


async def queue_counts(sessions: Sessions, viewer: Viewer, mine: bool) -> list[tuple[str, int]]:
    """How many pending items of every kind the queue holds in each state (published items
    back in review count as UNDER_RE_REVIEW)."""
    if not policy.may_use_review_queue(viewer):
        return []
    counts: Counter[str] = Counter()
    async with sessions() as session:
        for kind, model in MODELS.items():
            statement = _queue(viewer, kind, mine, model.state, model.under_re_review, func.count())
            grouped = statement.group_by(model.state, model.under_re_review)
            for state, re_review, count in (await session.execute(grouped)).all():
                label = "UNDER_RE_REVIEW" if re_review and state is S.APPROVED else state.value
                counts[label] += int(count)
    return sorted(counts.items())


# --- freshness: stale content of every reviewed kind ---------------------------------------

# The kinds in the stale listing, by the rank that orders them (and keys them) in it.
STALE_KINDS = (ReviewItemKind.RESOURCE, ReviewItemKind.INITIATIVE)


def _stale_items() -> Any:
    """Published items of every kind past their review-by date: (kind rank, id, supersession
    depth, review-by). Resources are visible before policy is applied; initiatives are never
    superseded (depth 0)."""
    now = utcnow()
    resources = select(
        literal_column("0", Integer).label("kind_rank"),
        Resource.id.label("id"),
        Resource.supersession_depth.label("depth"),
        Resource.review_by.label("review_by"),
    ).where(
        Resource.revision_of_id.is_(None),
        Resource.state == S.APPROVED,
        Resource.review_by < now,
    )
    initiatives = select(
        literal_column("1", Integer).label("kind_rank"),
        Initiative.id.label("id"),
        literal_column("0", Integer).label("depth"),
        Initiative.review_by.label("review_by"),
    ).where(
        Initiative.revision_of_id.is_(None),
        Initiative.state == S.APPROVED,
        Initiative.review_by < now,
    )
    return resources, initiatives


def _stale_statement(viewer: Viewer) -> tuple[AnySelect, Keyset]:
    resources, initiatives = _stale_items()
    stale = union_all(
        resources.where(policy.visible_resources(viewer)),
        initiatives.where(policy.visible_initiatives(viewer)),
    ).subquery("stale")
    columns = (stale.c.depth, stale.c.review_by, stale.c.kind_rank, stale.c.id)
    # Most overdue first; superseded resources after the others (after their successors).
    keyset = Keyset("stale-content", cast(Any, columns))
    return select(*columns), keyset


async def stale_page(sessions: Sessions, viewer: Viewer, request: PageRequest) -> Page:
    """Published resources and initiatives past their review-by date that the viewer may see,
    most overdue first, superseded resources after their successors. Rows are (depth,
    review_by, kind_rank, id): `stale_kind(row)` names the kind, loaders fetch the items."""
    statement, keyset = _stale_statement(viewer)
    return await fetch_page(sessions, statement, keyset, request)


def stale_kind(row: AnyRow) -> ReviewItemKind:
    return STALE_KINDS[row.kind_rank]
