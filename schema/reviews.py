"""Peer review in GraphQL: the `Reviewable` interface every reviewed item implements, reviews
with their checklist, and the review enums."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models.base import utcnow
from models.db import AnyRow
from models.review import PrincipleAnswer as PrincipleAnswerModel
from models.review import ReviewDecision as ReviewDecisionModel
from models.review import ReviewState as ReviewStateModel
from schema.context import Info
from schema.enums import described_enum
from schema.members import Member, load_member
from schema.relay import Node

ReviewState = described_enum(
    ReviewStateModel,
    "Where a reviewed item is in its lifecycle.",
    {
        "DRAFT": "Being written by its author; not yet submitted.",
        "SUBMITTED": "Submitted, waiting for reviewers.",
        "IN_REVIEW": "Reviewers are assigned and reviewing.",
        "CHANGES_REQUESTED": "Sent back to the author for changes; resubmitting starts a new round.",
        "APPROVED": "Published: visible to everyone.",
        "REJECTED": "Not published after review.",
        "WITHDRAWN": "Withdrawn by its author.",
        "ARCHIVED": "Taken out of circulation by a moderator.",
    },
)
ReviewDecision = described_enum(
    ReviewDecisionModel,
    "A reviewer's (or a moderator's) decision on an item.",
    {
        "APPROVE": "Publish it.",
        "REQUEST_CHANGES": "Send it back to the author for changes.",
        "REJECT": "Do not publish it.",
    },
)
PrincipleAnswer = described_enum(
    PrincipleAnswerModel,
    "Whether an item is consistent with a guiding principle.",
    {"YES": "Consistent.", "NO": "Not consistent.", "NOT_APPLICABLE": "Not applicable."},
)


@strawberry.interface(
    description="An item that is peer reviewed before it is published (resources, initiatives)."
)
class Reviewable(Node):
    title: str = strawberry.field(
        description="Title, in the best language for the request (`titleText` says which)."
    )
    state: ReviewState = strawberry.field(description="Where it is in its lifecycle.")  # type: ignore[valid-type]
    review_round: int = strawberry.field(
        description="The review round: a resubmission or a re-review starts the next one."
    )
    submitted_at: datetime | None = strawberry.field(
        description="When it was last submitted or sent back to review (UTC)."
    )
    reviewed_at: datetime = strawberry.field(
        description="When the last decision was made (its creation before any) (UTC)."
    )
    approved_at: datetime | None = strawberry.field(description="When first published (UTC).")
    review_by: datetime | None = strawberry.field(
        description="When a published item is due a re-review (UTC)."
    )
    under_re_review: bool = strawberry.field(
        description='Published and back in review: still visible, marked "under re-review".'
    )
    needs_additional_reviewer: bool = strawberry.field(
        description="Reviewers disagreed (an approval and a rejection): one more reviewer must "
        "decide."
    )

    @strawberry.field(description="Published and past its review-by date.")
    def is_stale(self) -> bool:
        return (
            self.state is ReviewStateModel.APPROVED
            and self.review_by is not None
            and self.review_by < utcnow()
        )


@strawberry.type(description="A reviewer's answer for one guiding principle.")
class PrincipleCheck:
    letter: str = strawberry.field(description="Letter of the guiding principle, a to j.")
    answer: PrincipleAnswer = strawberry.field(description="The answer.")  # type: ignore[valid-type]


@strawberry.type(
    description="One reviewer's decision in one round, with the checklist. Visible to the "
    "item's author, its reviewers and moderators."
)
class Review:
    round: int = strawberry.field(description="The review round it belongs to.")
    decision: ReviewDecision = strawberry.field(description="The decision.")  # type: ignore[valid-type]
    comment: str = strawberry.field(description="The reviewer's comment.")
    relates_to_objective: bool = strawberry.field(
        description="Checklist: relates to at least one GCM objective."
    )
    accurate_and_sourced: bool = strawberry.field(description="Checklist: accurate and sourced.")
    up_to_date: bool = strawberry.field(description="Checklist: up to date.")
    created_at: datetime = strawberry.field(description="When it was given (UTC).")
    db_id: strawberry.Private[int]
    reviewer_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AnyRow) -> Review:
        return cls(
            db_id=row.id,
            reviewer_id=row.reviewer_id,
            round=row.round,
            decision=row.decision,
            comment=row.comment,
            relates_to_objective=row.relates_to_objective,
            accurate_and_sourced=row.accurate_and_sourced,
            up_to_date=row.up_to_date,
            created_at=row.created_at,
        )

    @strawberry.field(description="Who reviewed; null if the account is gone or hidden.")
    async def reviewer(self, info: Info) -> Member | None:
        return await load_member(info, self.reviewer_id) if self.reviewer_id else None

    @strawberry.field(description="Checklist: each of the 10 guiding principles.")
    async def principles(self, info: Info) -> list[PrincipleCheck]:
        answers = await info.context.loaders.principle_answers_by_review.load(self.db_id)
        return [PrincipleCheck(letter=letter, answer=answer) for letter, answer in answers]


def reviewable_fields(row: AnyRow) -> dict[str, object]:
    """The `Reviewable` fields of a row of any reviewed kind."""
    return {
        "state": row.state,
        "review_round": row.review_round,
        "submitted_at": row.submitted_at,
        "reviewed_at": row.reviewed_at,
        "approved_at": row.approved_at,
        "review_by": row.review_by,
        "under_re_review": row.under_re_review,
        "needs_additional_reviewer": row.needs_additional_reviewer,
    }
