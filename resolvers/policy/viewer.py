"""The viewer, the public audience, the member directory, organisations and admin tools."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    true,
)

from models.member import Member, Role

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


PUBLIC_AUDIENCE = "public"


def shared_audience(viewer: Viewer) -> str | None:
    """The audience whose members all receive the same answer to a document without a
    viewer-specific field, which a shared response cache may then answer for all of them; None:
    this viewer's answers are their own. Only the public (anonymous viewers) is one: every
    predicate here gives every anonymous viewer the same rows. A signed-in viewer's visibility
    depends on their memberships, organisation, registrations, assignments and authorship
    (private communities, drafts, webinar registrations, review assignments), so two members
    of one role do not in general see the same answer; sharing among them would need the
    whole of that state in the key, which is one audience per member."""
    return PUBLIC_AUDIENCE if not viewer.is_signed_in else None


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


def may_manage_deliveries(viewer: Viewer) -> bool:
    """The outbox (every member's deliveries and their failures) is for admins."""
    return viewer.is_admin


def may_read_notification_preferences(viewer: Viewer, member_id: int) -> bool:
    """A member's email preferences are their own business."""
    return viewer.member_id is not None and viewer.member_id == member_id


def may_use_developer_tools(viewer: Viewer, *, development: bool) -> bool:
    """Introspection (the console's documentation and completion): always in development,
    else for moderators and admins. The console page itself loads for anyone."""
    return development or viewer.is_staff


def may_send_any_document(viewer: Viewer, *, trusted_documents_only: bool) -> bool:
    """Whether a request may carry a document that is not a registered trusted document.
    With HUB_TRUSTED_DOCUMENTS_ONLY, only moderators and admins may (the console, like
    introspection); development is not exempt, so that the setting can be tried locally."""
    return not trusted_documents_only or viewer.is_staff
