"""Peer review's items (keyed by kind and id) and the one way to change one: in a unit of
work, the item's row locked and visible to the viewer, read back as the viewer sees it. The
changes themselves are in `review_submissions.py` (the author's), `review_assignments.py`,
`reviews.py` (reviews and the publishing rule) and `review_moderation.py`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.db import AnyRow, AnySelect
from models.review import ReviewedItem, ReviewItemKind
from resolvers import policy
from resolvers.errors import ErrorCode, Problem
from resolvers.initiatives import visible_initiative
from resolvers.policy import Viewer
from resolvers.resources import visible_resource
from resolvers.review_rules import MODELS
from resolvers.unit_of_work import Refused, UnitOfWork, mutation
from subscriptions.events import EventPublisher

Sessions = async_sessionmaker[AsyncSession]


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


async def change_item(
    sessions: Sessions,
    events: EventPublisher,
    viewer: Viewer,
    ref: ItemRef,
    change: Change,
    problems: Sequence[Problem] = (),
    *,
    moderators_only: bool = False,
) -> ItemResult:
    """One change to an item in one unit of work, the item's row locked (PostgreSQL) so that
    two reviews never tally at once; a refusal rolls everything back. Should two still meet at
    a unique constraint, the loser answers CONFLICT, not an internal error. With
    `moderators_only`, anyone else who may see the item is refused."""

    async def on_item(work: UnitOfWork) -> AnyRow | None:
        item = await _visible_item(work, viewer, ref)
        if moderators_only and not policy.may_moderate_reviews(viewer):
            raise Refused(NOT_A_MODERATOR)
        await change(work, item)
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
