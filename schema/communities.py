"""Communities of practice in GraphQL: type, lists, membership mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.community import CommunityRole as CommunityRoleModel
from models.community import CommunityVisibility as CommunityVisibilityModel
from models.community import JoinRequestKind as JoinRequestKindModel
from models.db import AnyRow
from models.notification import WatchLevel as WatchLevelModel
from models.translation import TranslatableKind
from resolvers import communities
from resolvers.errors import Problem
from resolvers.policy import is_open
from schema.context import Info
from schema.enums import described_enum
from schema.errors import INPUT, UserError, not_found, user_errors
from schema.members import Member, load_member
from schema.reference import GcmObjective, objectives_of
from schema.relay import (
    AFTER,
    BEFORE,
    FIRST,
    LAST,
    Connection,
    Node,
    connection,
    decode_int_id,
    encode_event_cursor,
    encode_id,
    page_request,
)
from schema.translations import (
    Original,
    text_detail_field,
    text_field,
    translations_field,
)
from subscriptions.events import community_stream

CommunityVisibility = described_enum(
    CommunityVisibilityModel,
    "Who reads a community's threads.",
    {
        "PUBLIC": "Anyone reads; members join to post.",
        "PRIVATE": "Only its members read; join by a request a moderator accepts, or by invitation.",
    },
)
CommunityRole = described_enum(
    CommunityRoleModel,
    "A member's role inside one community.",
    {
        "MEMBER": "Reads and posts.",
        "MODERATOR": "Also accepts members, pins, locks, moves and deletes, with a reason.",
    },
)
JoinRequestKind = described_enum(
    JoinRequestKindModel,
    "How a pending membership started.",
    {
        "REQUEST": "The member asked to join.",
        "INVITATION": "A moderator invited the member.",
    },
)
WatchLevel = described_enum(
    WatchLevelModel,
    "How closely a member follows a thread or community.",
    {
        "MUTED": "No notifications from it, not even mentions.",
        "NORMAL": "Replies to you and mentions of you.",
        "WATCHING": "Every new post (thread) or every new thread (community).",
    },
)


@strawberry.type(description="A community of practice: a space for discussion threads.")
class Community(Node):
    name = text_field(
        "name",
        "Name of the community. In the best language for the request (`nameText` says which).",
    )
    description = text_field(
        "description",
        "Description in Markdown, as written. In the best language for the request (`descriptionText` says which).",
    )
    name_text = text_detail_field("name", "Name of the community. With its language and status.")
    description_text = text_detail_field(
        "description", "Description in Markdown, as written. With its language and status."
    )
    description_html = text_field(
        "description", "Description in Markdown, as written. Rendered to sanitized HTML.", html=True
    )
    text_translations = translations_field()
    original: strawberry.Private[Original]
    slug: str = strawberry.field(description="Unique short name used in links.")
    visibility: CommunityVisibility = strawberry.field(  # type: ignore[valid-type]
        description="Who reads its threads."
    )
    ends_at: datetime | None = strawberry.field(
        description="For a time-boxed consultation: when posting closes (UTC)."
    )
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    db_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AnyRow) -> Community:
        return cls(
            original=Original.of(TranslatableKind.COMMUNITY, row),
            id=encode_id("Community", row.id),
            db_id=row.id,
            slug=row.slug,
            visibility=row.visibility,
            ends_at=row.ends_at,
            created_at=row.created_at,
        )

    @strawberry.field(description="Posting is open (the end date, if any, has not passed).")
    def is_open(self) -> bool:
        return is_open(self.ends_at)

    @strawberry.field(
        description="Cursor of the community's latest event, for `communityActivity(after:)`. "
        "Null unless you may follow its activity (a private community: its members)."
    )
    async def event_cursor(self, info: Info) -> str | None:
        if not await info.context.loaders.readable_by_community.load(self.db_id):
            return None
        stream = community_stream(self.db_id)
        return encode_event_cursor(
            stream, await info.context.loaders.position_by_stream.load(stream)
        )

    @strawberry.field(description="GCM objectives the community works on.")
    async def objectives(self, info: Info) -> list[GcmObjective]:
        return await objectives_of(
            info, await info.context.loaders.objectives_by_community.load(self.db_id)
        )

    @strawberry.field(description="Languages of the community (BCP 47).")
    async def languages(self, info: Info) -> list[str]:
        return await info.context.loaders.languages_by_community.load(self.db_id)

    @strawberry.field(description="Your role in it; null when you are not a member.")
    async def viewer_role(self, info: Info) -> CommunityRole | None:  # type: ignore[valid-type]
        return await info.context.loaders.viewer_role_by_community.load(self.db_id)

    @strawberry.field(description="How you follow it; null when you never chose.")
    async def viewer_watch_level(self, info: Info) -> WatchLevel | None:  # type: ignore[valid-type]
        return await info.context.loaders.follow_level_by_community.load(self.db_id)

    @strawberry.field(description="Members and their roles (empty unless you may read it).")
    async def members(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[CommunityMembership]:
        page = await communities.community_members_page(
            info.context.db.reads,
            info.context.viewer,
            self.db_id,
            page_request(first, after, last, before),
        )
        return connection(page, CommunityMembership.from_row)

    @strawberry.field(
        description="Pending requests and invitations; null unless you moderate the community."
    )
    async def join_requests(
        self,
        info: Info,
        first: Annotated[int | None, FIRST] = None,
        after: Annotated[str | None, AFTER] = None,
        last: Annotated[int | None, LAST] = None,
        before: Annotated[str | None, BEFORE] = None,
    ) -> Connection[JoinRequest] | None:
        page = await communities.join_requests_page(
            info.context.db.reads,
            info.context.viewer,
            self.db_id,
            page_request(first, after, last, before),
        )
        return connection(page, JoinRequest.from_row) if page is not None else None


@strawberry.type(description="A member's place in a community.")
class CommunityMembership:
    role: CommunityRole = strawberry.field(description="Role in the community.")  # type: ignore[valid-type]
    joined_at: datetime = strawberry.field(description="When they joined (UTC).")
    member_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AnyRow) -> CommunityMembership:
        return cls(role=row.role, joined_at=row.joined_at, member_id=row.member_id)

    @strawberry.field(description="The member; null if their profile is not visible to you.")
    async def member(self, info: Info) -> Member | None:
        return await load_member(info, self.member_id)


@strawberry.type(description="A request to join a private community, or an invitation to it.")
class JoinRequest(Node):
    kind: JoinRequestKind = strawberry.field(description="Request or invitation.")  # type: ignore[valid-type]
    message: str = strawberry.field(description="What the member wrote with the request.")
    created_at: datetime = strawberry.field(description="When it was made (UTC).")
    member_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: AnyRow) -> JoinRequest:
        return cls(
            id=encode_id("JoinRequest", row.id),
            kind=row.kind,
            message=row.message,
            created_at=row.created_at,
            member_id=row.member_id,
        )

    @strawberry.field(description="Who would join.")
    async def member(self, info: Info) -> Member | None:
        return await load_member(info, self.member_id)


async def load_community(info: Info, community_id: int) -> Community | None:
    row = await info.context.loaders.community_by_id.load(community_id)
    return Community.from_row(row) if row is not None else None


async def resolve_community(
    info: Info,
    id: Annotated[
        strawberry.ID | None, strawberry.argument(description="Global ID of the community.")
    ] = None,
    slug: Annotated[str | None, strawberry.argument(description="Or its slug.")] = None,
) -> Community | None:
    if id is not None:
        key = decode_int_id(id, "Community")
        return await load_community(info, key) if key is not None else None
    if slug is not None:
        row = await communities.community_by_slug(
            info.context.db.sessions, info.context.viewer, slug.strip().lower()
        )
        return Community.from_row(row) if row is not None else None
    return None


async def resolve_communities(
    info: Info,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
    last: Annotated[int | None, LAST] = None,
    before: Annotated[str | None, BEFORE] = None,
) -> Connection[Community]:
    page = await communities.communities_page(
        info.context.db.reads, info.context.viewer, page_request(first, after, last, before)
    )
    return connection(page, Community.from_row)


# --- mutations --------------------------------------------------------------------------------


@strawberry.input(description="A new community (global moderators and admins).")
class CreateCommunityInput:
    slug: str = strawberry.field(description="Unique short name: a-z, 0-9 and hyphens.")
    name: str = strawberry.field(description="Name (at most 200 characters).")
    description: str = strawberry.field(default="", description="Markdown description.")
    visibility: CommunityVisibility = strawberry.field(  # type: ignore[valid-type]
        description="Who reads its threads."
    )
    objectives: list[int] = strawberry.field(
        default_factory=list, description="GCM objective numbers."
    )
    languages: list[str] = strawberry.field(default_factory=list, description="BCP 47 tags.")
    ends_at: datetime | None = strawberry.field(
        default=None, description="When posting closes, with a time zone; null: never."
    )
    language: str = strawberry.field(
        default="en",
        description="The language its name and description are written in (BCP 47): "
        "translations are into others.",
    )


@strawberry.type(description="Result of `createCommunity`.")
class CommunityPayload:
    community: Community | None = strawberry.field(description="The community.")
    errors: list[UserError] = strawberry.field(description="Why nothing changed, if so.")


async def create_community(
    info: Info, input: Annotated[CreateCommunityInput, INPUT]
) -> CommunityPayload:
    result = await communities.create_community(
        info.context.db.sessions,
        info.context.events,
        info.context.viewer,
        communities.NewCommunity(
            slug=input.slug,
            name=input.name,
            description=input.description,
            visibility=input.visibility,
            objectives=input.objectives,
            languages=input.languages,
            ends_at=input.ends_at,
            language=input.language,
        ),
    )
    community = Community.from_row(result.community) if result.community is not None else None
    return CommunityPayload(community=community, errors=user_errors(result.problems))


def community_key(global_id: strawberry.ID) -> tuple[int, list[UserError]]:
    key = decode_int_id(global_id, "Community")
    return (key, []) if key is not None else (0, not_found("communityId", "No such community."))


def community_and_member_keys(
    community_id: strawberry.ID, member_id: strawberry.ID
) -> tuple[int, int, list[UserError]]:
    """Both keys of an input, or every NOT_FOUND error at once."""
    community, errors = community_key(community_id)
    member = decode_int_id(member_id, "Member")
    if member is None:
        errors = [*errors, *not_found("memberId", "No such member.")]
    return community, member or 0, errors


@strawberry.input(description="Join a public community, or ask to join a private one.")
class JoinCommunityInput:
    community_id: strawberry.ID = strawberry.field(description="Global ID of the community.")
    message: str = strawberry.field(default="", description="A note for the moderators.")


@strawberry.type(description="Result of `joinCommunity`.")
class JoinCommunityPayload:
    joined: bool = strawberry.field(description="You are now a member.")
    pending: bool = strawberry.field(description="Your request waits for a moderator.")
    community: Community | None = strawberry.field(description="The community.")
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


async def join_community(
    info: Info, input: Annotated[JoinCommunityInput, INPUT]
) -> JoinCommunityPayload:
    key, errors = community_key(input.community_id)
    if errors:
        return JoinCommunityPayload(joined=False, pending=False, community=None, errors=errors)
    result = await communities.join_community(
        info.context.db.sessions, info.context.events, info.context.viewer, key, input.message
    )
    return JoinCommunityPayload(
        joined=result.joined,
        pending=result.pending,
        community=Community.from_row(result.community) if result.community is not None else None,
        errors=user_errors(result.problems),
    )


@strawberry.input(description="Leave a community.")
class LeaveCommunityInput:
    community_id: strawberry.ID = strawberry.field(description="Global ID of the community.")


@strawberry.type(description="Result of a membership change.")
class MembershipPayload:
    ok: bool = strawberry.field(description="The change was made.")
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


def membership_payload(problems: list[Problem]) -> MembershipPayload:
    return MembershipPayload(ok=not problems, errors=user_errors(problems))


async def leave_community(
    info: Info, input: Annotated[LeaveCommunityInput, INPUT]
) -> MembershipPayload:
    key, errors = community_key(input.community_id)
    if errors:
        return MembershipPayload(ok=False, errors=errors)
    return membership_payload(
        await communities.leave_community(
            info.context.db.sessions, info.context.events, info.context.viewer, key
        )
    )


@strawberry.input(description="Accept or decline a request to join (community moderators).")
class DecideJoinRequestInput:
    request_id: strawberry.ID = strawberry.field(description="Global ID of the join request.")
    accept: bool = strawberry.field(description="True accepts, false declines.")


async def decide_join_request(
    info: Info, input: Annotated[DecideJoinRequestInput, INPUT]
) -> MembershipPayload:
    key = decode_int_id(input.request_id, "JoinRequest")
    if key is None:
        return MembershipPayload(ok=False, errors=not_found("requestId", "No such join request."))
    return membership_payload(
        await communities.decide_join_request(
            info.context.db.sessions, info.context.events, info.context.viewer, key, input.accept
        )
    )


@strawberry.input(description="Invite a member to a community (community moderators).")
class InviteToCommunityInput:
    community_id: strawberry.ID = strawberry.field(description="Global ID of the community.")
    member_id: strawberry.ID = strawberry.field(description="Global ID of the member.")


async def invite_to_community(
    info: Info, input: Annotated[InviteToCommunityInput, INPUT]
) -> MembershipPayload:
    key, member_key, errors = community_and_member_keys(input.community_id, input.member_id)
    if errors:
        return MembershipPayload(ok=False, errors=errors)
    return membership_payload(
        await communities.invite_member(
            info.context.db.sessions, info.context.events, info.context.viewer, key, member_key
        )
    )


@strawberry.input(description="Remove a member from a community, with a reason (moderators).")
class RemoveCommunityMemberInput:
    community_id: strawberry.ID = strawberry.field(description="Global ID of the community.")
    member_id: strawberry.ID = strawberry.field(description="Global ID of the member.")
    reason: str = strawberry.field(description="Why; recorded in the audit log.")


async def remove_community_member(
    info: Info, input: Annotated[RemoveCommunityMemberInput, INPUT]
) -> MembershipPayload:
    key, member_key, errors = community_and_member_keys(input.community_id, input.member_id)
    if errors:
        return MembershipPayload(ok=False, errors=errors)
    return membership_payload(
        await communities.remove_community_member(
            info.context.db.sessions,
            info.context.events,
            info.context.viewer,
            key,
            member_key,
            input.reason,
        )
    )


@strawberry.input(description="Change a member's role in a community (moderators).")
class SetCommunityRoleInput:
    community_id: strawberry.ID = strawberry.field(description="Global ID of the community.")
    member_id: strawberry.ID = strawberry.field(description="Global ID of the member.")
    role: CommunityRole = strawberry.field(description="The new role.")  # type: ignore[valid-type]


async def set_community_role(
    info: Info, input: Annotated[SetCommunityRoleInput, INPUT]
) -> MembershipPayload:
    key, member_key, errors = community_and_member_keys(input.community_id, input.member_id)
    if errors:
        return MembershipPayload(ok=False, errors=errors)
    return membership_payload(
        await communities.set_community_role(
            info.context.db.sessions,
            info.context.events,
            info.context.viewer,
            key,
            member_key,
            input.role,
        )
    )
