"""Peer review in GraphQL, the actions: submit, withdraw, assign reviewers, declare conflicts,
review, decide alone, archive, send back to review, set review-by dates; the review queue.

Every action takes the global ID of any reviewed item (a `Resource` or an `Initiative`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

import strawberry

from models.db import AnyRow
from models.review import ReviewItemKind
from resolvers import (
    policy,
    review_assignments,
    review_moderation,
    review_reads,
    review_submissions,
    reviews,
)
from resolvers.errors import ErrorCode
from resolvers.pagination import Page
from resolvers.review_items import ItemRef, ItemResult
from resolvers.review_rules import ReviewRule
from resolvers.reviews import Checklist, NewReview
from schema.context import Info
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.initiatives import Initiative, load_initiative
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    Edge,
    PageInfo,
    connection,
    decode_id,
    decode_int_id,
    int_key,
    page_request,
)
from schema.resources import Resource, load_resource
from schema.reviews import PrincipleAnswer, Reviewable, ReviewDecision

# The reviewed kinds by GraphQL type name, and how to load one.
KINDS = {"Resource": ReviewItemKind.RESOURCE, "Initiative": ReviewItemKind.INITIATIVE}
LOADERS: dict[ReviewItemKind, Callable[[Info, int], Awaitable[Reviewable | None]]] = {
    ReviewItemKind.RESOURCE: load_resource,
    ReviewItemKind.INITIATIVE: load_initiative,
}


def item_ref(global_id: str) -> ItemRef | None:
    decoded = decode_id(global_id)
    if decoded is None or decoded[0] not in KINDS:
        return None
    key = int_key(decoded[1])
    return ItemRef(KINDS[decoded[0]], key) if key is not None else None


async def load_item(info: Info, ref: ItemRef) -> Reviewable | None:
    return await LOADERS[ref.kind](info, ref.id)


@strawberry.type(description="Result of a review action on an item.")
class ReviewItemPayload:
    item: Reviewable | None = strawberry.field(description="The item after the change.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


# How an item's row (read in the transaction that changed it) becomes its GraphQL type.
FROM_ROW: dict[ReviewItemKind, Callable[[AnyRow], Reviewable]] = {
    ReviewItemKind.RESOURCE: Resource.from_row,
    ReviewItemKind.INITIATIVE: Initiative.from_row,
}


def _answer(result: ItemResult) -> ReviewItemPayload:
    item = None
    if result.item is not None and result.row is not None:
        item = FROM_ROW[result.item.kind](result.row)
    return ReviewItemPayload(item=item, errors=user_errors(result.problems))


def _missing() -> ReviewItemPayload:
    return ReviewItemPayload(item=None, errors=not_found("itemId", "No such item."))


def _rule(info: Info) -> ReviewRule:
    return info.context.review_rule


@strawberry.input(description="An item you act on by its global ID.")
class ItemInput:
    item_id: strawberry.ID = strawberry.field(
        description="Global ID of the item (a Resource or an Initiative)."
    )


@strawberry.input(description="An item and why you act on it (recorded in the audit log).")
class ItemReasonInput:
    item_id: strawberry.ID = strawberry.field(
        description="Global ID of the item (a Resource or an Initiative)."
    )
    reason: str = strawberry.field(description="Why (at most 2,000 characters).")


async def submit_for_review(info: Info, input: Annotated[ItemInput, INPUT]) -> ReviewItemPayload:
    ref = item_ref(input.item_id)
    if ref is None:
        return _missing()
    c = info.context
    return _answer(await review_submissions.submit(c.db.sessions, c.events, c.viewer, ref))


async def withdraw_item(info: Info, input: Annotated[ItemInput, INPUT]) -> ReviewItemPayload:
    ref = item_ref(input.item_id)
    if ref is None:
        return _missing()
    c = info.context
    return _answer(await review_submissions.withdraw(c.db.sessions, c.events, c.viewer, ref))


@strawberry.input(description="Ask a reviewer to review an item.")
class AssignReviewerInput:
    item_id: strawberry.ID = strawberry.field(description="Global ID of the item.")
    reviewer_id: strawberry.ID = strawberry.field(description="Global ID of the reviewer.")


async def assign_reviewer(
    info: Info, input: Annotated[AssignReviewerInput, INPUT]
) -> ReviewItemPayload:
    ref = item_ref(input.item_id)
    reviewer = decode_int_id(input.reviewer_id, "Member")
    if ref is None:
        return _missing()
    if reviewer is None:
        return ReviewItemPayload(item=None, errors=not_found("reviewerId", "No such member."))
    c = info.context
    result = await review_assignments.assign_reviewer(
        c.db.sessions, c.events, c.viewer, ref, reviewer
    )
    return _answer(result)


async def declare_conflict_of_interest(
    info: Info, input: Annotated[ItemReasonInput, INPUT]
) -> ReviewItemPayload:
    ref = item_ref(input.item_id)
    if ref is None:
        return _missing()
    c = info.context
    result = await review_assignments.declare_conflict(
        c.db.sessions, c.events, c.viewer, ref, input.reason
    )
    return _answer(result)


@strawberry.input(description="The checklist's answer for one guiding principle.")
class PrincipleCheckInput:
    letter: str = strawberry.field(description="Letter of the guiding principle, a to j.")
    answer: PrincipleAnswer = strawberry.field(description="The answer.")  # type: ignore[valid-type]


@strawberry.input(description="The review checklist.")
class ChecklistInput:
    relates_to_objective: bool = strawberry.field(
        description="It relates to at least one GCM objective."
    )
    accurate_and_sourced: bool = strawberry.field(description="It is accurate and sourced.")
    up_to_date: bool = strawberry.field(description="It is up to date.")
    principles: list[PrincipleCheckInput] = strawberry.field(
        description="Each of the 10 guiding principles, exactly once."
    )


@strawberry.input(description="Your review of an item you are assigned to.")
class SubmitReviewInput:
    item_id: strawberry.ID = strawberry.field(description="Global ID of the item.")
    decision: ReviewDecision = strawberry.field(description="Your decision.")  # type: ignore[valid-type]
    comment: str = strawberry.field(description="Your comment to the author (at most 10,000).")
    checklist: ChecklistInput = strawberry.field(description="The checklist.")


async def submit_review(
    info: Info, input: Annotated[SubmitReviewInput, INPUT]
) -> ReviewItemPayload:
    ref = item_ref(input.item_id)
    if ref is None:
        return _missing()
    answers = {p.letter.strip().lower(): p.answer for p in input.checklist.principles}
    if len(answers) != len(input.checklist.principles):
        return ReviewItemPayload(
            item=None,
            errors=[
                UserError(
                    field="checklist.principles",
                    message="Answer each guiding principle once.",
                    code=ErrorCode.INVALID,
                )
            ],
        )
    review = NewReview(
        decision=input.decision,
        comment=input.comment,
        checklist=Checklist(
            relates_to_objective=input.checklist.relates_to_objective,
            accurate_and_sourced=input.checklist.accurate_and_sourced,
            up_to_date=input.checklist.up_to_date,
            principles=answers,
        ),
    )
    c = info.context
    result = await reviews.submit_review(
        c.db.sessions, c.events, c.viewer, ref, review, _rule(info)
    )
    return _answer(result)


@strawberry.input(description="Decide an item alone, as a moderator, with a written reason.")
class DecideReviewItemInput:
    item_id: strawberry.ID = strawberry.field(description="Global ID of the item.")
    decision: ReviewDecision = strawberry.field(description="The decision.")  # type: ignore[valid-type]
    reason: str = strawberry.field(description="Why (recorded in the audit log).")


async def decide_review_item(
    info: Info, input: Annotated[DecideReviewItemInput, INPUT]
) -> ReviewItemPayload:
    ref = item_ref(input.item_id)
    if ref is None:
        return _missing()
    c = info.context
    result = await review_moderation.decide_alone(
        c.db.sessions, c.events, c.viewer, ref, input.decision, input.reason, _rule(info)
    )
    return _answer(result)


async def archive_item(info: Info, input: Annotated[ItemReasonInput, INPUT]) -> ReviewItemPayload:
    ref = item_ref(input.item_id)
    if ref is None:
        return _missing()
    c = info.context
    result = await review_moderation.archive(c.db.sessions, c.events, c.viewer, ref, input.reason)
    return _answer(result)


async def send_back_to_review(
    info: Info, input: Annotated[ItemReasonInput, INPUT]
) -> ReviewItemPayload:
    ref = item_ref(input.item_id)
    if ref is None:
        return _missing()
    c = info.context
    result = await review_moderation.send_back_to_review(
        c.db.sessions, c.events, c.viewer, ref, input.reason
    )
    return _answer(result)


@strawberry.input(description="Set when a published item is due a re-review.")
class SetReviewByInput:
    item_id: strawberry.ID = strawberry.field(description="Global ID of the item.")
    review_by: datetime = strawberry.field(description="The new review-by date (with time zone).")


async def set_review_by(info: Info, input: Annotated[SetReviewByInput, INPUT]) -> ReviewItemPayload:
    ref = item_ref(input.item_id)
    if ref is None:
        return _missing()
    if input.review_by.tzinfo is None:
        return ReviewItemPayload(
            item=None,
            errors=[
                UserError(
                    field="reviewBy",
                    message="Give a time zone (for example 2028-01-31T00:00:00Z).",
                    code=ErrorCode.INVALID,
                )
            ],
        )
    c = info.context
    result = await review_moderation.set_review_by(
        c.db.sessions, c.events, c.viewer, ref, input.review_by
    )
    return _answer(result)


@strawberry.type(description="How many items of the queue are in one state.")
class QueueStateCount:
    state: str = strawberry.field(
        description="SUBMITTED, IN_REVIEW, or UNDER_RE_REVIEW (published items sent back)."
    )
    count: int = strawberry.field(description="How many.")


@strawberry.type(description="Items waiting for review, oldest submission first.")
class ReviewQueue:
    counts_by_state: list[QueueStateCount] = strawberry.field(
        description="How many items of the queue (of every kind) are in each state."
    )
    mine: strawberry.Private[bool] = False

    @strawberry.field(
        description="Resources (and revisions of resources) waiting for review, oldest "
        "submission first; superseded ones after their successors."
    )
    async def resources(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[Resource]:
        page = await _queue_page(
            info, ReviewItemKind.RESOURCE, self.mine, first, after, last, before
        )
        return connection(page, Resource.from_row)

    @strawberry.field(description="Initiatives waiting for review.")
    async def initiatives(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[Initiative]:
        page = await _queue_page(
            info, ReviewItemKind.INITIATIVE, self.mine, first, after, last, before
        )
        return connection(page, Initiative.from_row)


async def _queue_page(
    info: Info,
    kind: ReviewItemKind,
    mine: bool,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Page:
    c = info.context
    page = await review_reads.review_queue(
        c.db.sessions, c.viewer, kind, mine, page_request(first, after, last, before)
    )
    assert page is not None  # the queue exists only for those who may use it
    return page


async def resolve_review_queue(
    info: Info,
    assigned_to_me: Annotated[
        bool,
        strawberry.argument(
            description="Only the items assigned to the viewer as a reviewer (what a "
            "reviewer's queue always shows; a moderator's shows every pending item otherwise)."
        ),
    ] = False,
) -> ReviewQueue | None:
    c = info.context
    if not policy.may_use_review_queue(c.viewer):
        return None
    counts = await review_reads.queue_counts(c.db.sessions, c.viewer, assigned_to_me)
    return ReviewQueue(
        counts_by_state=[QueueStateCount(state=s, count=n) for s, n in counts],
        mine=assigned_to_me,
    )


# --- freshness: stale content of every kind ----------------------------------------------


async def resolve_stale_content(
    info: Info,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[Reviewable]:
    """One page of stale items; each kind is loaded in one batch (a constant number of
    statements whatever the page size)."""
    c = info.context
    page = await review_reads.stale_page(
        c.db.sessions, c.viewer, page_request(first, after, last, before)
    )
    refs = [ItemRef(review_reads.stale_kind(row), row.id) for row in page.rows]
    items = await asyncio.gather(*(load_item(info, ref) for ref in refs))
    # An item that left publication between the page and its load is left out.
    found = [(cursor, item) for cursor, item in zip(page.cursors, items, strict=True) if item]
    return Connection(
        edges=[Edge(cursor=cursor, node=item) for cursor, item in found],
        nodes=[item for _, item in found],
        page_info=PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=page.cursors[0] if page.cursors else None,
            end_cursor=page.cursors[-1] if page.cursors else None,
        ),
        count=page.count,
    )
