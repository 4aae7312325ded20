"""Who may see and do what: the one place that decides. Denied reads like not found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from models.base import utcnow
from models.community import Community, CommunityMember, CommunityRole, CommunityVisibility
from models.member import Member, Role
from models.organization import OrganizationKind
from models.support import ProposalStatus, SupportProposal, SupportRequest
from models.thread import Post, Thread

STAFF_ROLES = frozenset({Role.MODERATOR, Role.ADMIN})


@dataclass(frozen=True)
class Viewer:
    """The member behind a request, or nobody. Built once per request from the bearer token."""

    member_id: int | None = None
    role: Role | None = None
    organization_id: int | None = None
    token_id: int | None = None

    @property
    def is_signed_in(self) -> bool:
        return self.member_id is not None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


ANONYMOUS = Viewer()


def visible_members(viewer: Viewer) -> ColumnElement[bool]:
    """Signed-in members see the whole directory; the public sees opted-in experts only."""
    if viewer.is_signed_in:
        return true()
    return Member.is_expert.is_(True)


def visible_organizations(viewer: Viewer) -> ColumnElement[bool]:
    """Organisations are public: they are how the hub says who contributes."""
    return true()


def may_see_email(viewer: Viewer, member_id: int) -> bool:
    return viewer.member_id == member_id or viewer.is_admin


def may_set_roles(viewer: Viewer) -> bool:
    return viewer.is_admin


def may_manage_organizations(viewer: Viewer) -> bool:
    return viewer.is_admin


def may_use_developer_tools(viewer: Viewer, *, development: bool) -> bool:
    """Introspection and GraphiQL: always in development, else for moderators and admins."""
    return development or viewer.is_staff


# --- Communities, threads and posts -------------------------------------------------------


def visible_communities(viewer: Viewer) -> ColumnElement[bool]:
    """That a community exists, its name and description: public ones for everyone, private
    ones for signed-in members too (so they can ask to join). Its threads: `readable_...`."""
    if viewer.is_signed_in:
        return true()
    return Community.visibility == CommunityVisibility.PUBLIC


def readable_communities(viewer: Viewer) -> ColumnElement[bool]:
    """Whose threads and posts the viewer reads: public ones, and private ones the viewer
    belongs to (global staff read everything)."""
    if viewer.is_staff:
        return true()
    public = Community.visibility == CommunityVisibility.PUBLIC
    if viewer.member_id is None:
        return public
    # Correlate the community only: a query already over community_member (a member list) must
    # not swallow the subquery's own FROM.
    return or_(
        public,
        exists()
        .where(
            CommunityMember.community_id == Community.id,
            CommunityMember.member_id == viewer.member_id,
        )
        .correlate(Community),
    )


def visible_threads(viewer: Viewer) -> ColumnElement[bool]:
    """Threads of visible communities; a deleted thread is gone for everyone but global staff."""
    in_visible = Thread.community_id.in_(select(Community.id).where(readable_communities(viewer)))
    return in_visible if viewer.is_staff else and_(in_visible, Thread.deleted_at.is_(None))


def visible_posts(viewer: Viewer) -> ColumnElement[bool]:
    """Posts of visible threads (a deleted post stays, as a placeholder)."""
    return Post.thread_id.in_(select(Thread.id).where(visible_threads(viewer)))


def moderates_community(viewer: Viewer, role: CommunityRole | None) -> bool:
    """Global moderators and admins moderate everywhere; community moderators in theirs."""
    return viewer.is_staff or role is CommunityRole.MODERATOR


def may_post_in(viewer: Viewer, role: CommunityRole | None) -> bool:
    """Members of a community post in it (global staff too)."""
    return viewer.is_signed_in and (role is not None or viewer.is_staff)


def is_open(ends_at: datetime | None) -> bool:
    """A time-boxed consultation is read-only from its end date on."""
    return ends_at is None or utcnow() < ends_at


def may_read_deleted_text(viewer: Viewer, role: CommunityRole | None) -> bool:
    return moderates_community(viewer, role)


def may_edit_post(viewer: Viewer, author_id: int | None) -> bool:
    """Only authors change their words; moderators delete, they do not rewrite."""
    return viewer.member_id is not None and viewer.member_id == author_id


def may_create_communities(viewer: Viewer) -> bool:
    return viewer.is_staff


# --- Support requests (governments ask, the network responds) --------------------------------


def visible_support_requests(viewer: Viewer) -> ColumnElement[bool]:
    """Private to the requester's organisation (the government it speaks for), its focal point,
    the experts proposed for it who have not declined, and moderators."""
    if viewer.is_staff:
        return true()
    if viewer.member_id is None:
        return false()
    conditions = [
        SupportRequest.requester_id == viewer.member_id,
        SupportRequest.focal_point_id == viewer.member_id,
        exists()
        .where(
            SupportProposal.request_id == SupportRequest.id,
            SupportProposal.expert_id == viewer.member_id,
            SupportProposal.status != ProposalStatus.DECLINED,
        )
        .correlate(SupportRequest),
    ]
    if viewer.organization_id is not None:
        conditions.append(SupportRequest.organization_id == viewer.organization_id)
    return or_(*conditions)


def may_submit_support_request(viewer: Viewer, organization_kind: OrganizationKind | None) -> bool:
    """Government members ask for support (the organisation kind is GOVERNMENT)."""
    return viewer.is_signed_in and organization_kind is OrganizationKind.GOVERNMENT


def may_manage_support_request(viewer: Viewer, focal_point_id: int | None) -> bool:
    """Network focal points (moderators) take requests; once taken, the focal point (and any
    moderator or admin) moves it on."""
    return viewer.is_staff or (viewer.member_id is not None and viewer.member_id == focal_point_id)


def may_see_expert_suggestions(viewer: Viewer) -> bool:
    return viewer.is_staff
