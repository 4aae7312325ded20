"""Support requests: governments ask, the network responds."""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement,
    exists,
    false,
    or_,
)

from models.organization import OrganizationKind
from models.support import ProposalStatus, SupportProposal, SupportRequest
from resolvers.policy.viewer import Audience, Someone, Viewer, audience_of, rule


def visible_support_requests(viewer: Viewer) -> ColumnElement[bool]:
    """Private to the requester's organisation (the government it speaks for), its focal point,
    the experts proposed for it who have not declined, and moderators."""
    return support_requests_seen_by(audience_of(viewer))


def support_requests_seen_by(audience: Audience) -> ColumnElement[bool]:
    """`visible_support_requests` for an audience (one viewer, or every member row at once)."""

    def member(someone: Someone) -> ColumnElement[bool]:
        conditions = [
            SupportRequest.requester_id == someone,
            SupportRequest.focal_point_id == someone,
            exists()
            .where(
                SupportProposal.request_id == SupportRequest.id,
                SupportProposal.expert_id == someone,
                SupportProposal.status != ProposalStatus.DECLINED,
            )
            .correlate(SupportRequest, *audience.rows),
        ]
        if audience.organization_id is not None:
            # a member row without an organisation compares NULL: not a match
            conditions.append(SupportRequest.organization_id == audience.organization_id)
        return or_(*conditions)

    return rule(audience, anonymous=false(), member=member)


def may_submit_support_request(viewer: Viewer, organization_kind: OrganizationKind | None) -> bool:
    """Government members ask for support (the organisation kind is GOVERNMENT)."""
    return viewer.is_signed_in and organization_kind is OrganizationKind.GOVERNMENT


def may_manage_support_request(viewer: Viewer, focal_point_id: int | None) -> bool:
    """Network focal points (moderators) take requests; once taken, the focal point (and any
    moderator or admin) moves it on."""
    return viewer.is_staff or (viewer.member_id is not None and viewer.member_id == focal_point_id)


def may_triage_support_requests(viewer: Viewer) -> bool:
    """Network focal points (moderators and admins) take submitted requests."""
    return viewer.is_staff


def may_see_expert_suggestions(viewer: Viewer) -> bool:
    return viewer.is_staff


def may_document_support_request(
    viewer: Viewer, *, organization_id: int, requester_id: int | None, focal_point_id: int | None
) -> bool:
    """Turn a completed request into an initiative draft (a documented practice) of one's
    own: the requesting government's members (the requester too, should they have moved),
    its focal point, and moderators. Experts who helped see the request but do not publish
    the government's story on their own."""
    if viewer.member_id is None:
        return False
    return (
        viewer.is_staff
        or viewer.member_id in (requester_id, focal_point_id)
        or (viewer.organization_id is not None and viewer.organization_id == organization_id)
    )
