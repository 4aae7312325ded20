"""Who may see and do what: the one place that decides. Denied reads like not found."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true

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
