"""Members in GraphQL: the directory, profiles, roles."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from graphql.pyutils import AwaitableOrValue

from models.db import AnyRow
from models.member import Role as RoleModel
from resolvers import members, policy
from resolvers.members import MemberFilter
from resolvers.policy import Viewer
from schema.context import Info
from schema.edits import sent_fields
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.organizations import (
    Organization,
    OrganizationKind,
    load_organization,
    organization_key,
)
from schema.prefetch import MISSING, Missing, load_at_hand, node_fields
from schema.push import PushSubscription, resolve_push_subscriptions
from schema.reference import Country, GcmObjective, country, objectives_of
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    Node,
    connection,
    decode_int_id,
    encode_id,
    page_request,
)
from schema.topic_follows import TopicFollow, resolve_follows

if TYPE_CHECKING:
    from schema.deliveries import NotificationPreference

Role = described_enum(
    RoleModel,
    "What a member may do in the hub beyond their own content.",
    {
        "MEMBER": "Takes part: posts, proposes content, registers for webinars.",
        "REVIEWER": "Also peer-reviews resources and initiatives assigned to them.",
        "MODERATOR": "Also moderates communities and the review queue (a network focal point).",
        "ADMIN": "Also manages roles and organisations.",
    },
)


@strawberry.type(description="A member of the hub: a person with a profile and expertise.")
class Member(Node):
    name: str = strawberry.field(description="Full name as the member wants it shown.")
    country: Country | None = strawberry.field(description="Country the member works from.")
    bio: str = strawberry.field(description="Short biography (plain text).")
    is_expert: bool = strawberry.field(
        description="Opted in to the public expert directory (visible to people not signed in)."
    )
    role: Role = strawberry.field(description="What the member may do in the hub.")  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When the member joined (UTC).")
    updated_at: datetime = strawberry.field(description="Last change to the profile (UTC).")
    db_id: strawberry.Private[int]
    email_address: strawberry.Private[str]
    organization_id: strawberry.Private[int | None]
    # Set when the member is read for someone other than the request's viewer (sign-in).
    reader: strawberry.Private[Viewer | None] = None
    # Filled by the page that loaded the member (prefetch_members), else loaded by the resolver.
    organization_at_hand: strawberry.Private[Organization | Missing | None] = MISSING

    @classmethod
    def from_row(cls, row: AnyRow, reader: Viewer | None = None) -> Member:
        return cls(
            reader=reader,
            id=encode_id("Member", row.id),
            db_id=row.id,
            email_address=row.email,
            organization_id=row.organization_id,
            name=row.name,
            country=country(row.country),
            bio=row.bio,
            is_expert=row.is_expert,
            role=row.role,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    @strawberry.field(description="Email address; visible to the member and to admins only.")
    def email(self, info: Info) -> str | None:
        viewer = self.reader or info.context.viewer
        return self.email_address if policy.may_see_email(viewer, self.db_id) else None

    @strawberry.field(
        description="How each kind of notification reaches the member by email; the member "
        "alone reads it (null for everyone else)."
    )
    async def notification_preferences(
        self, info: Info
    ) -> list[Annotated[NotificationPreference, strawberry.lazy("schema.deliveries")]] | None:
        from schema.deliveries import resolve_notification_preferences

        return await resolve_notification_preferences(info, self.db_id, self.reader)

    @strawberry.field(
        description="The member's Web Push subscriptions, newest first; the member alone "
        "reads them (null for everyone else)."
    )
    async def push_subscriptions(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> Connection[PushSubscription] | None:
        reader = self.reader or info.context.viewer
        return await resolve_push_subscriptions(info, self.db_id, reader, first, after)

    @strawberry.field(
        description="The GCM objectives, guiding principles, countries and regions the member "
        "follows, newest first; the member alone reads them (null for everyone else)."
    )
    async def follows(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
    ) -> Connection[TopicFollow] | None:
        reader = self.reader or info.context.viewer
        return await resolve_follows(info, self.db_id, reader, first, after)

    @strawberry.field(
        description="The organisation the member speaks for, if any.",
        graphql_type=Organization | None,
    )
    def organization(self, info: Info) -> AwaitableOrValue[Organization | None]:
        if not isinstance(self.organization_at_hand, Missing):
            return self.organization_at_hand
        if self.organization_id is None:
            return None
        return load_organization(info, self.organization_id)

    @strawberry.field(
        description="Languages the member works in (BCP 47), in their order of "
        "preference (the first is what they read first)."
    )
    async def languages(self, info: Info) -> list[str]:
        return await info.context.loaders.languages_by_member.load(self.db_id)

    @strawberry.field(description="GCM objectives the member has expertise in.")
    async def expertise(self, info: Info) -> list[GcmObjective]:
        return await objectives_of(
            info, await info.context.loaders.expertise_by_member.load(self.db_id)
        )


@strawberry.input(description="Filters of the member directory; all given must match.")
class MemberFilterInput:
    objectives: list[int] | None = strawberry.field(
        default=None, description="Expertise in any of these GCM objective numbers."
    )
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2 code.")
    language: str | None = strawberry.field(
        default=None, description="Works in this language (BCP 47; `es` also matches `es-MX`)."
    )
    languages: list[str] | None = strawberry.field(
        default=None, description="Works in any of these languages (BCP 47, as `language`)."
    )
    organization_kind: OrganizationKind | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Belongs to an organisation of this kind."
    )
    is_expert: bool | None = strawberry.field(
        default=None, description="Only opted-in experts (true) or only others (false)."
    )
    roles: list[Role] | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="Has any of these hub roles (finding a reviewer, a moderator).",
    )


def member_filter(filter: MemberFilterInput | None) -> MemberFilter:
    """The resolver's filter of the directory for the argument `filter`."""
    if filter is None:
        return MemberFilter()
    return MemberFilter(
        objectives=filter.objectives or (),
        country=filter.country,
        language=filter.language,
        languages=filter.languages or (),
        organization_kind=filter.organization_kind,
        is_expert=filter.is_expert,
        roles=filter.roles or (),
    )


async def resolve_members(
    info: Info,
    filter: Annotated[
        MemberFilterInput | None, strawberry.argument(description="Narrow the directory.")
    ] = None,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[Member]:
    request = page_request(first, after, last, before)
    criteria = member_filter(filter)
    page = await members.members_page(info.context.db.reads, info.context.viewer, criteria, request)
    listed = connection(page, Member.from_row)
    await prefetch_members(info, listed.nodes, node_fields(info))
    return listed


async def prefetch_members(info: Info, listed: list[Member], wanted: frozenset[str]) -> None:
    """The organisations of a page of members, in one batch, when the page asks for them: the
    members' resolvers then answer without awaiting (schema/prefetch.py)."""
    if "organization" not in wanted:
        return
    loader = info.context.loaders.organization_by_id
    rows = await load_at_hand(loader, (m.organization_id for m in listed))
    for member in listed:
        row = rows.get(member.organization_id) if member.organization_id is not None else None
        member.organization_at_hand = Organization.from_row(row) if row is not None else None


async def load_member(info: Info, member_id: int) -> Member | None:
    row = await info.context.loaders.member_by_id.load(member_id)
    return Member.from_row(row) if row is not None else None


async def resolve_member(
    info: Info,
    id: Annotated[strawberry.ID, strawberry.argument(description="Global ID of the member.")],
) -> Member | None:
    key = decode_int_id(id, "Member")
    return await load_member(info, key) if key is not None else None


async def resolve_viewer(info: Info) -> Member | None:
    member_id = info.context.viewer.member_id
    return await load_member(info, member_id) if member_id is not None else None


@strawberry.input(
    description="Changes to your own profile: fields left out stay as they are; null clears "
    "`country`, and is refused (REQUIRED) for the others."
)
class UpdateProfileInput:
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Full name (≤200).")
    country: str | None = strawberry.field(
        default=strawberry.UNSET, description="ISO 3166-1 alpha-2 code; null clears it."
    )
    bio: str | None = strawberry.field(default=strawberry.UNSET, description="Biography (≤5,000).")
    languages: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Languages you work in (BCP 47 tags, ≤20), in your order of preference: "
        "texts come in the first of them they exist in. Replaces the list.",
    )
    expertise: list[int] | None = strawberry.field(
        default=strawberry.UNSET,
        description="GCM objective numbers of your expertise; replaces the list.",
    )
    is_expert: bool | None = strawberry.field(
        default=strawberry.UNSET, description="List yourself in the public expert directory."
    )


@strawberry.type(description="Result of a change to a member.")
class MemberPayload:
    member: Member | None = strawberry.field(description="The member after the change.")
    errors: list[UserError] = strawberry.field(description="Why nothing was changed, if so.")


async def update_profile(info: Info, input: Annotated[UpdateProfileInput, INPUT]) -> MemberPayload:
    result = await members.update_profile(
        info.context.db.sessions, info.context.viewer, sent_fields(input)
    )
    return _member_payload(result)


def _member_payload(result: members.MemberResult) -> MemberPayload:
    return MemberPayload(
        member=Member.from_row(result.member) if result.member is not None else None,
        errors=user_errors(result.problems),
    )


@strawberry.input(description="Give a member a role (admins only); ends the member's sessions.")
class SetMemberRoleInput:
    member_id: strawberry.ID = strawberry.field(description="Global ID of the member.")
    role: Role = strawberry.field(description="The new role.")  # type: ignore[valid-type]


async def set_member_role(info: Info, input: Annotated[SetMemberRoleInput, INPUT]) -> MemberPayload:
    key = decode_int_id(input.member_id, "Member")
    if key is None:
        return MemberPayload(member=None, errors=not_found("memberId", "No such member."))
    result = await members.set_member_role(
        info.context.db.sessions, info.context.events, info.context.viewer, key, input.role
    )
    return _member_payload(result)


@strawberry.input(description="Say which organisation a member speaks for (admins only).")
class AssignMemberOrganizationInput:
    member_id: strawberry.ID = strawberry.field(description="Global ID of the member.")
    organization_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="Global ID of the organisation; null removes the member from theirs; "
        "left out, it stays as it is.",
    )


async def assign_member_organization(
    info: Info, input: Annotated[AssignMemberOrganizationInput, INPUT]
) -> MemberPayload:
    member_key = decode_int_id(input.member_id, "Member")
    changes = dict(sent_fields(input, leave_out=("member_id",)))
    errors: list[UserError] = []
    if changes.get("organization_id") is not None:
        changes["organization_id"], errors = organization_key(info, changes["organization_id"])
    if member_key is None:
        errors = [*not_found("memberId", "No such member."), *errors]
    if errors or member_key is None:
        return MemberPayload(member=None, errors=errors)
    result = await members.assign_member_organization(
        info.context.db.sessions, info.context.viewer, member_id=member_key, changes=changes
    )
    return _member_payload(result)
