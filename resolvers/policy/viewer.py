"""The viewer, the public audience, the member directory, organisations and admin tools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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

    def logged_id(self) -> int | None:
        """The member's id for logs, metrics and traces: no access decision reads it."""
        return self.member_id


ANONYMOUS = Viewer()


PUBLIC_AUDIENCE = "public"


def shared_audience(viewer: Viewer) -> str | None:
    """The audience whose members all receive the same answer to a document without a
    viewer-specific field, known before executing it; None: decided by `scope_audience` after
    executing it (a signed-in viewer). The public (anonymous viewers) is one: every predicate
    here gives every anonymous viewer the same rows."""
    return PUBLIC_AUDIENCE if not viewer.is_signed_in else None


# What the policy may read of a viewer. The first three name a group of viewers, the last two
# one viewer (a member's memberships, authorship, registrations and assignments are found by
# `member_id`): an answer that read them is that viewer's own.
SCOPE_FACETS = frozenset({"is_signed_in", "is_staff", "is_admin", "role", "organization_id"})
OWN_FACETS = frozenset({"member_id", "token_id"})
_FACETS = SCOPE_FACETS | OWN_FACETS


class ScopedViewer(Viewer):
    """A signed-in viewer whose execution notes what it read of the viewer (`consulted`),
    while `recording`: every predicate and decision here, and any other code, can only tell
    viewers apart by reading these attributes. Two viewers equal in everything an execution
    read of the first get the same answer from the same data (the execution is the same), so
    the answer may be kept for all viewers with those values (`scope_audience`)."""

    plain: Viewer
    consulted: set[str]
    recording: bool

    def __init__(self, viewer: Viewer) -> None:
        super().__init__(viewer.member_id, viewer.role, viewer.organization_id, viewer.token_id)
        object.__setattr__(self, "plain", viewer)
        object.__setattr__(self, "consulted", set())
        object.__setattr__(self, "recording", False)

    def __getattribute__(self, name: str) -> Any:
        if name in _FACETS:
            if object.__getattribute__(self, "recording"):
                object.__getattribute__(self, "consulted").add(name)
            return getattr(object.__getattribute__(self, "plain"), name)
        return object.__getattribute__(self, name)

    def logged_id(self) -> int | None:
        return self.plain.member_id  # not read by the answer: not recorded

    def record(self) -> None:
        object.__setattr__(self, "recording", True)

    def read(self) -> frozenset[str]:
        """What the execution read; recording stops."""
        object.__setattr__(self, "recording", False)
        return frozenset(object.__getattribute__(self, "consulted"))


def scope_audience(viewer: Viewer, consulted: frozenset[str]) -> tuple[object, ...] | None:
    """The permission scope of the viewers who get the answer `viewer` got from an execution
    that read `consulted` of them: the values of those facets; None when it read who the
    viewer is (the answer is theirs alone)."""
    if consulted & OWN_FACETS or not viewer.is_signed_in:
        return None
    plain = viewer.plain if isinstance(viewer, ScopedViewer) else viewer
    return tuple((facet, getattr(plain, facet)) for facet in sorted(consulted))


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
