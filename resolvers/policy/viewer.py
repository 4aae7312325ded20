"""The viewer, the public audience, the member directory, organisations and admin tools."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    or_,
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

# A member as the rules see them: a viewer's id (an int), or the member column of a query over
# many members at once.
Someone = int | SQLColumnExpression[int]


@dataclass(frozen=True)
class Audience:
    """Whom a visibility rule is written for. Either one viewer (`audience_of`): its facts are
    Python values, and a rule keeps only the branch that applies to them; or every member row
    of a query at once (`MEMBERS`): its facts are the `member` table's columns, and a rule's
    branches become SQL over them. A rule written once over an `Audience` (`rule`) thus
    answers both "may this viewer see it?" and "which of these members may see it?" in one
    statement, the same decision either way (tests/test_policy_audiences.py)."""

    member_id: Someone | None
    organization_id: int | SQLColumnExpression[int | None] | None
    staff: bool | ColumnElement[bool]
    # What correlated subqueries take from the enclosing query: the member table, for MEMBERS.
    rows: tuple[Any, ...] = ()


def audience_of(viewer: Viewer) -> Audience:
    return Audience(viewer.member_id, viewer.organization_id, viewer.is_staff)


def taking_rows(audience: Audience, statement: Select[Any]) -> Select[Any]:
    """`statement` (a subquery of a rule), taking the audience's member rows from the
    enclosing query: SQLAlchemy's automatic correlation looks one level up only, and a rule's
    subqueries sit deeper than that in a check over many members."""
    return statement.correlate(*audience.rows) if audience.rows else statement


def rule(
    audience: Audience,
    *,
    anonymous: ColumnElement[bool],
    member: Callable[[Someone], ColumnElement[bool]],
) -> ColumnElement[bool]:
    """A visibility rule's three branches: global staff see everything, the anonymous public
    what `anonymous` allows, a signed-in member what `member(their id)` allows. Member rows are
    all signed in: for them, staff or the member's branch."""
    if audience.staff is True:
        return true()
    if audience.member_id is None:
        return anonymous
    if audience.staff is False:
        return member(audience.member_id)
    assert isinstance(audience.staff, ColumnElement)
    return or_(audience.staff, member(audience.member_id))


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


def member_visible_to(viewer: Viewer, is_expert: bool) -> bool:
    """`visible_members` for one member already read (a mail's actor, among a batch's)."""
    return viewer.is_signed_in or is_expert


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


# Every member row of the enclosing query (which selects from `member`), as an audience.
MEMBERS = Audience(
    member_id=Member.id,
    organization_id=Member.organization_id,
    staff=Member.role.in_(sorted(STAFF_ROLES, key=lambda role: role.value)),
    rows=(Member,),
)
