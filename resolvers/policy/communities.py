"""Communities, threads and posts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    and_,
    exists,
    false,
    or_,
    select,
    true,
)

from models.base import utcnow
from models.community import Community, CommunityMember, CommunityRole, CommunityVisibility
from models.thread import Post, Thread
from resolvers.policy.viewer import Audience, Someone, Viewer, audience_of, rule


def visible_communities(viewer: Viewer) -> ColumnElement[bool]:
    """That a community exists, its name and description: public ones for everyone, private
    ones for signed-in members too (so they can ask to join). Its threads: `readable_...`."""
    if viewer.is_signed_in:
        return true()
    return Community.visibility == CommunityVisibility.PUBLIC


def readable_communities(viewer: Viewer) -> ColumnElement[bool]:
    """Whose threads and posts the viewer reads: public ones, and private ones the viewer
    belongs to (global staff read everything)."""
    return communities_read_by(audience_of(viewer))


def communities_read_by(audience: Audience) -> ColumnElement[bool]:
    """`readable_communities` for an audience (one viewer, or every member row at once)."""
    public = Community.visibility == CommunityVisibility.PUBLIC

    def member(someone: Someone) -> ColumnElement[bool]:
        # Correlate the community (and the audience's rows) only: a query already over
        # community_member (a member list) must not swallow the subquery's own FROM.
        belongs = (
            exists()
            .where(
                CommunityMember.community_id == Community.id,
                CommunityMember.member_id == someone,
            )
            .correlate(Community, *audience.rows)
        )
        return or_(public, belongs)

    return rule(audience, anonymous=public, member=member)


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


def moderated_by(viewer: Viewer, community_id: SQLColumnExpression[int]) -> ColumnElement[bool]:
    """Rows of communities the viewer moderates (`community_id` names the column): every
    community for global staff, their own for community moderators."""
    if viewer.is_staff:
        return true()
    if viewer.member_id is None:
        return false()
    return community_id.in_(
        select(CommunityMember.community_id).where(
            CommunityMember.member_id == viewer.member_id,
            CommunityMember.role == CommunityRole.MODERATOR,
        )
    )


def may_read_audit_log(
    viewer: Viewer, community_role: CommunityRole | None, *, whole: bool
) -> bool:
    """The whole audit log: global staff. One community's: those who moderate it."""
    if whole:
        return viewer.is_staff
    return moderates_community(viewer, community_role)


def may_delete_post(viewer: Viewer, author_id: int | None, role: CommunityRole | None) -> bool:
    """Authors delete their own posts; moderators of the community any post (with a reason)."""
    return may_edit_post(viewer, author_id) or moderates_community(viewer, role)


def watches_all_moderation(viewer: Viewer) -> bool:
    """Global moderators and admins watch every moderation event; nobody else needs to know
    which communities a viewer moderates to answer it."""
    return viewer.is_staff


def moderation_watch_scope(viewer: Viewer, moderated: frozenset[int]) -> tuple[object, ...] | None:
    """Who may follow `moderationEvents`, and in which scope (viewers with equal scopes see the
    same events): global staff all of them; a community moderator the events of the
    communities in `moderated` (those they moderate); nobody else."""
    if viewer.member_id is None:
        return None
    if watches_all_moderation(viewer):
        return ("all",)
    if moderated:
        return ("communities", *sorted(moderated))
    return None


def may_see_moderation_event(
    viewer: Viewer, moderated: frozenset[int], community_id: int | None
) -> bool:
    """A community's events (flags, join requests) for its moderators; the hub's own (items
    submitted for review, support requests) for global staff only."""
    if watches_all_moderation(viewer):
        return True
    return community_id is not None and community_id in moderated


def may_join_at_once(visibility: CommunityVisibility, *, invited: bool) -> bool:
    """A public community is joined at once; a private one on an invitation, else by asking
    its moderators."""
    return visibility is CommunityVisibility.PUBLIC or invited


def may_edit_post(viewer: Viewer, author_id: int | None) -> bool:
    """Only authors change their words; moderators delete, they do not rewrite."""
    return viewer.member_id is not None and viewer.member_id == author_id


def may_create_communities(viewer: Viewer) -> bool:
    return viewer.is_staff
