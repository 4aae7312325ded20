"""Curated knowledge: reviewed items (resources, initiatives), relations, calls for practices."""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    Exists,
    SQLColumnExpression,
    and_,
    exists,
    false,
    or_,
    select,
    true,
)

from models.initiative import Initiative
from models.member import Role
from models.resource import RelationStatus, Resource, ResourceRelation
from models.review import ReviewAssignment, ReviewedItem, ReviewItemKind, ReviewState
from resolvers.policy.viewer import Audience, Someone, Viewer, audience_of, rule

REVIEWER_ROLES = frozenset({Role.REVIEWER, Role.MODERATOR, Role.ADMIN})


def visible_reviewed_items(
    viewer: Viewer, model: type[ReviewedItem], kind: ReviewItemKind
) -> ColumnElement[bool]:
    """The public sees published (APPROVED) items; authors their own; assigned reviewers what
    they review; moderators and admins everything."""
    return reviewed_items_seen_by(audience_of(viewer), model, kind)


def reviewed_items_seen_by(
    audience: Audience, model: type[ReviewedItem], kind: ReviewItemKind
) -> ColumnElement[bool]:
    """`visible_reviewed_items` for an audience (one viewer, or every member row at once)."""
    published = model.state == ReviewState.APPROVED

    def member(someone: Someone) -> ColumnElement[bool]:
        assigned = _assigned(someone, kind, model.id).correlate(model, *audience.rows)
        return or_(published, model.author_id == someone, assigned)

    return rule(audience, anonymous=published, member=member)


def _assigned(
    someone: Someone, kind: ReviewItemKind, item_id: SQLColumnExpression[int] | int
) -> Exists:
    return exists().where(
        ReviewAssignment.item_kind == kind,
        ReviewAssignment.item_id == item_id,
        ReviewAssignment.reviewer_id == someone,
    )


def is_assigned_reviewer(
    viewer: Viewer, kind: ReviewItemKind, item_id: SQLColumnExpression[int] | int
) -> ColumnElement[bool]:
    """The viewer is one of the item's assigned reviewers."""
    if viewer.member_id is None:
        return false()
    return _assigned(viewer.member_id, kind, item_id)


def assigned_to_review(
    viewer: Viewer, model: type[ReviewedItem], kind: ReviewItemKind
) -> ColumnElement[bool]:
    """Items (rows of `model`) the viewer is assigned to review."""
    clause = is_assigned_reviewer(viewer, kind, model.id)
    return clause.correlate(model) if isinstance(clause, Exists) else clause


def in_review_queue(
    viewer: Viewer, model: type[ReviewedItem], kind: ReviewItemKind, *, assigned_only: bool = False
) -> ColumnElement[bool]:
    """Whose pending items a queue shows: moderators every one (or, when they ask, those
    assigned to them), reviewers those assigned to them."""
    if may_moderate_reviews(viewer) and not assigned_only:
        return true()
    return assigned_to_review(viewer, model, kind)


def may_use_review_queue(viewer: Viewer) -> bool:
    return viewer.member_id is not None and may_review(viewer.role)


def visible_resources(viewer: Viewer) -> ColumnElement[bool]:
    return visible_reviewed_items(viewer, Resource, ReviewItemKind.RESOURCE)


def may_moderate_reviews(viewer: Viewer) -> bool:
    """Assign reviewers, decide alone, archive, send back to review, set review-by dates."""
    return viewer.is_staff


def may_act_as_author(viewer: Viewer, author_id: int | None) -> bool:
    """Submit, edit and withdraw an item: its author only."""
    return viewer.member_id is not None and viewer.member_id == author_id


def may_review(role: Role | None) -> bool:
    """Who can be assigned as a reviewer (and confirm or reject proposed relations)."""
    return role in REVIEWER_ROLES


def conflict_of_interest(
    *,
    reviewer_id: int,
    reviewer_organization_id: int | None,
    author_id: int | None,
    author_organization_ids: set[int],
    declared: bool,
) -> str | None:
    """Why a reviewer may not review an item, or None. The author, and members of the
    author's (or the item's) organisation, never review it; nor does a reviewer who declared
    a conflict."""
    if reviewer_id == author_id:
        return "The author cannot review their own item."
    if reviewer_organization_id is not None and reviewer_organization_id in author_organization_ids:
        return "Members of the author's organisation cannot review the item."
    if declared:
        return "The reviewer declared a conflict of interest with this item."
    return None


def may_read_reviews(viewer: Viewer, author_id: int | None, assigned: bool) -> bool:
    """Reviews (decisions, comments, checklists) are for the author, the item's reviewers and
    moderators, not for the public."""
    return viewer.is_staff or assigned or may_act_as_author(viewer, author_id)


def may_decide_relations(viewer: Viewer) -> bool:
    """Confirm or reject a proposed relation between resources: reviewers and moderators."""
    return may_review(viewer.role)


def visible_relations(viewer: Viewer) -> ColumnElement[bool]:
    """A relation shows when the viewer sees both its ends, and it is confirmed, or the viewer
    proposed it, or decides on relations."""
    visible = select(Resource.id).where(visible_resources(viewer))
    ends = and_(ResourceRelation.from_id.in_(visible), ResourceRelation.to_id.in_(visible))
    if may_decide_relations(viewer):
        return ends
    confirmed = ResourceRelation.status == RelationStatus.CONFIRMED
    if viewer.member_id is None:
        return and_(ends, confirmed)
    return and_(ends, or_(confirmed, ResourceRelation.proposed_by_id == viewer.member_id))


def visible_initiatives(viewer: Viewer) -> ColumnElement[bool]:
    return visible_reviewed_items(viewer, Initiative, ReviewItemKind.INITIATIVE)


def may_feature(viewer: Viewer) -> bool:
    """Mark published initiatives `featured` (the flagship showcase): moderators."""
    return viewer.is_staff


def visible_calls(viewer: Viewer) -> ColumnElement[bool]:
    """Calls for practices are public (their answers follow the initiatives' policy)."""
    return calls_seen_by(audience_of(viewer))


def calls_seen_by(audience: Audience) -> ColumnElement[bool]:
    """`visible_calls` for an audience: everyone."""
    return true()
