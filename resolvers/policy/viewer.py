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


# Every member row of the enclosing query (which selects from `member`), as an audience.
MEMBERS = Audience(
    member_id=Member.id,
    organization_id=Member.organization_id,
    staff=Member.role.in_(sorted(STAFF_ROLES, key=lambda role: role.value)),
    rows=(Member,),
)
